"""LLM-as-judge, as LLaVA-Med scores its chat answers: a judge model rates the reference (Assistant 1)
and the candidate (Assistant 2) from 1 to 10; the relative score is 100 * mean(candidate) / mean(reference).

The judge is any OpenAI-compatible endpoint; the prompt is `assets/eval/judge_prompt.txt`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..config import GenerationSettings
from ..errors import BackendError, UserInputError
from ..paths import ASSETS, output_file, read_text_file
from .resume import read_predictions

JUDGE_PROMPT = ASSETS / "eval" / "judge_prompt.txt"
_TWO_SCORES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[, ]\s*(\d+(?:\.\d+)?)")
JUDGE_SETTINGS = GenerationSettings(max_new_tokens=256, temperature=0.0, repetition_penalty=1.0, stop_on_repeat=False)


def parse_scores(text: str) -> tuple[float, float] | None:
    """(reference, candidate) from the judge's first line, or None when it did not follow the format."""
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    match = _TWO_SCORES.match(first)
    if not match:
        return None
    scores = float(match.group(1)), float(match.group(2))
    return scores if all(1 <= s <= 10 for s in scores) else None


TEMPLATE_FIELDS = ("context", "question", "reference", "candidate")


def read_template(prompt_file: Path | None) -> str:
    """The judge prompt (--prompt, else the shipped one), checked before any answer is judged: a placeholder other
    than {context} {question} {reference} {candidate}, or a lone brace, was a KeyError / ValueError traceback at
    the first answer."""
    template = read_text_file(prompt_file or JUDGE_PROMPT, "judge prompt")
    try:
        template.format(**dict.fromkeys(TEMPLATE_FIELDS, ""))
    except (KeyError, IndexError, ValueError) as exc:
        problem = f"an unknown placeholder {{{exc.args[0]}}}" if isinstance(exc, KeyError) else f"a stray brace ({exc})"
        raise UserInputError(f"judge prompt {prompt_file} has {problem}; it may use "
                             f"{' '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}, and {{{{ }}}} for a literal "
                             "brace") from None
    return template


def judge_prompt(record: dict, template: str) -> str:
    return template.format(context=record.get("context") or "(none)", question=record["question"],
                           reference=record["reference"], candidate=record["prediction"])


def summarize(judged: list[dict]) -> dict:
    scored = [r for r in judged if r.get("scores")]
    reference = sum(r["scores"][0] for r in scored)
    candidate = sum(r["scores"][1] for r in scored)
    return {
        "n_judged": len(judged),
        "n_parsed": len(scored),
        "reference_mean": round(reference / len(scored), 3) if scored else None,
        "candidate_mean": round(candidate / len(scored), 3) if scored else None,
        "relative_score": round(100 * candidate / reference, 2) if reference else None,
    }


def judge_file(predictions: Path, llm, out: Path, prompt_file: Path | None = None, limit: int | None = None) -> dict:
    """Judge every generated answer in `predictions` (resumable: ids already scored in `out` are skipped; a reply
    without scores in the asked format is asked again on the next run). No parsable score at all is a BackendError
    (the judge model cannot follow the format), after the replies and the summary are written."""
    if not predictions.is_file():
        raise UserInputError(f"predictions file not found: {predictions}")
    template = read_template(prompt_file)
    records = [r for r in read_predictions(predictions) if r.get("prediction")]
    if not records:
        raise UserInputError(f"{predictions} holds no generated answers to judge (log-likelihood runs have none)")
    output_file(out, "judged .jsonl file")  # a folder there, or a parent that cannot be made: one line, now
    records = records[:limit] if limit else records
    done = {r["id"] for r in read_predictions(out, repair=True) if r.get("scores")}
    from tqdm import tqdm

    with out.open("a", encoding="utf-8") as handle:
        for record in tqdm([r for r in records if r["id"] not in done], desc="judge", unit="answer"):
            reply = "".join(llm.stream(judge_prompt(record, template), JUDGE_SETTINGS))
            handle.write(json.dumps({"id": record["id"], "scores": parse_scores(reply), "judge_reply": reply[:2000]},
                                    ensure_ascii=False) + "\n")
            handle.flush()
    wanted = {r["id"] for r in records}
    latest = {r["id"]: r for r in read_predictions(out) if r["id"] in wanted}  # a re-asked answer's last reply
    summary = summarize(list(latest.values()))
    summary.update(judge=getattr(llm, "name", "judge"), prompt=str(prompt_file or "assets/eval/judge_prompt.txt"))
    out.with_name("judge_metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    if latest and not summary["n_parsed"]:
        first = next(iter(latest.values())).get("judge_reply", "")
        raise BackendError(f"the judge ({summary['judge']}) gave no scores in the asked format in any of "
                           f"{len(latest)} replies (first: {first[:60]!r}; all in {out}): use a more capable judge "
                           "model (--judge-model / --base-url); a rerun asks those answers again")
    return summary

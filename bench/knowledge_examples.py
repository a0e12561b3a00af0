"""20 consumer questions answered before (no knowledge: the model alone) and after (knowledge stage, the
shipped settings), side by side with the sources, written to docs/knowledge_examples.md.

  python bench/knowledge_examples.py --n 20

The questions are consumer health questions of MEDIQA 2019 RQE (test file, then validation file), in file
order, skipping the TREC LiveQA'17 benchmark questions and near copies of them (`mediqa.is_liveqa`). Long questions are
shown cut to 300 characters; answers are shown cut to 600 characters.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import load_average, run, utc_now  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.data.sources.mediqa import MediqaRQE, is_liveqa  # noqa: E402
from visual_med_alpaca.knowledge import evaluate  # noqa: E402
from visual_med_alpaca.knowledge.rqe import load_model  # noqa: E402
from visual_med_alpaca.pipeline import Assistant  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "knowledge_examples.md"


def cell(text: str, limit: int) -> str:
    text = " ".join(text.split())
    text = text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
    return text.replace("|", "\\|")


def rqe_note(k) -> str:
    """Which trained RQE model the shipped re-ranker reads (its training data and validation AUC)."""
    if "rqe" not in k.reranker:
        return "not used"
    meta = load_model(k.rqe_model).meta
    extra = sum(meta.get("medquad_pairs", {}).values())
    return (f"trained on {meta.get('pairs', '?'):,} MEDIQA RQE pairs" + (f" + {extra:,} MedQuAD pairs" if extra else "")
            + (" with the question-type feature" if "qtype" in meta else "") + f", validation AUC {meta.get('validation_auc')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    args = parser.parse_args()
    root = paths.data_dir(None, "mediqa2019")
    benchmark = is_liveqa(root / evaluate.MEDIQA_QA_DIR)
    questions: list[str] = []
    for name in reversed(evaluate.RQE_DEV_FILES):  # test file first
        for _, chq, _, _ in MediqaRQE.pairs(root / name):
            if chq not in questions and not benchmark(chq):
                questions.append(chq)
    questions = questions[: args.n]
    sets = [f"generation.max_new_tokens={args.max_new_tokens}"]
    assistant = Assistant.from_config(None, sets=sets)
    load = load_average(one_minute=True)
    rows = []
    started = time.perf_counter()
    for question in questions:
        before = assistant.ask(question, knowledge=False)
        after = assistant.ask(question)
        links = "<br>".join(f"[{s['title']}]({s['url']}) ({s['relevance']:.2f})" for s in after.sources) or "—"
        rows.append(f"| {cell(question, 300)} | {cell(before.answer, 600)} | "
                    f"{cell(after.answer.split(chr(10) * 2 + 'Sources:')[0], 600)} | {links} |")
    k = assistant.config.knowledge
    OUT.write_text(
        "# Knowledge stage: 20 consumer questions before and after\n\n"
        f"Made by `python bench/knowledge_examples.py --n {args.n}` on {utc_now()} "
        f"(load average {load}; {time.perf_counter() - started:.0f} s for all). *Before*: `--no-knowledge` (the "
        f"embedded Gemma-3-270M base alone, greedy, {args.max_new_tokens} new tokens). *After*: the shipped settings "
        f"(method `{k.method}`, re-ranker `{k.reranker}` (rules {k.focus_bonus:g} / {k.type_bonus:g} / {k.info_bonus:g}, "
        f"RQE x {k.rqe_weight:g}: {rqe_note(k)}), mode `{k.mode}`, min_relevance {k.min_relevance}). "
        "The questions are MEDIQA 2019 RQE "
        "consumer questions (not TREC LiveQA'17 benchmark questions); sources show their relevance in brackets. "
        "Answers are cut to 600 characters here.\n\n"
        "> Research use only: not medical advice and not for clinical use.\n\n"
        "| question | before (model alone) | after (knowledge) | sources |\n|---|---|---|---|\n" + "\n".join(rows) + "\n")
    print(f"wrote {OUT} ({len(rows)} questions)")


if __name__ == "__main__":
    run(main)

"""20 consumer questions answered before (no knowledge: the model alone) and after (knowledge stage, the
shipped settings), side by side with the sources, written to docs/knowledge_examples.md.

  python bench/knowledge_examples.py --n 20

The questions are consumer health questions of MEDIQA 2019 RQE (test file, then validation file), in file
order, skipping the TREC LiveQA'17 benchmark questions and near copies of them (`mediqa.is_liveqa`). Long questions are
shown cut to 300 characters; answers are shown cut to 600 characters.

Each `--compare "LABEL:key=value,key=value"` (knowledge settings; default: the previous default, rounds 7-11) searches
the same questions with other knowledge settings and adds a section listing the questions whose answer (the top
source, in extractive mode) or sources differ from the shipped settings'. `--against-git REV` adds a section comparing
the table with this file's version at commit REV (answers and sources as written there, made by the code of then).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import load_average, run, utc_now  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.data.sources.mediqa import QA_FOLDER, MediqaRQE, is_liveqa  # noqa: E402
from visual_med_alpaca.errors import UserInputError  # noqa: E402
from visual_med_alpaca.knowledge import evaluate  # noqa: E402
from visual_med_alpaca.knowledge.rqe import load_model  # noqa: E402
from visual_med_alpaca.knowledge.stage import KnowledgeStage  # noqa: E402
from visual_med_alpaca.pipeline import Assistant  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "knowledge_examples.md"
PREVIOUS_DEFAULT = "the previous default (rounds 7-11):synonyms=focus+rqe,clean_synonyms=false"


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


def compare_option(text: str) -> tuple[str, dict[str, str]]:
    """`LABEL:key=value,key=value` -> the label and the knowledge settings."""
    label, _, sets = text.rpartition(":")
    pairs = [item.split("=", 1) for item in sets.split(",") if item.strip()]
    if not label.strip() or not pairs or any(len(pair) != 2 for pair in pairs):
        raise argparse.ArgumentTypeError(f"--compare takes LABEL:key=value[,key=value], not '{text}'")
    return label.strip(), {key.strip(): value.strip() for key, value in pairs}


def source_list(sources) -> str:
    return "<br>".join(f"[{s['title']}]({s['url']}) `{s['id']}`" for s in sources) or "— (no source found)"


def changes(label: str, settings: dict[str, str], questions: list[str], now: list, stage: KnowledgeStage) -> str:
    """The section naming the questions whose top source (the extractive answer) or sources differ under `settings`."""
    rows, top_moved, listed_moved = [], 0, 0
    for question, shipped in zip(questions, now):
        before = stage.consult(question).source_dicts()
        ids = [s["id"] for s in before], [s["id"] for s in shipped]
        if ids[0] == ids[1]:
            continue
        moved = ids[0][:1] != ids[1][:1]
        top_moved += moved
        listed_moved += not moved
        rows.append(f"| {cell(question, 160)} | {'**another answer**' if moved else 'same answer, other sources'} | "
                    f"{source_list(before)} | {source_list(shipped)} |")
    sets = ", ".join(f"`knowledge.{key}={value}`" for key, value in settings.items())
    head = (f"\n## Against {label} ({sets})\n\n{top_moved} of {len(questions)} questions get another answer (another "
            f"top source) with the shipped settings, {listed_moved} the same answer with other sources listed; the "
            f"other {len(questions) - top_moved - listed_moved} are unchanged.\n")
    if not rows:
        return head
    return head + ("\n| question | what changed | sources then | sources now |\n|---|---|---|---|\n"
                   + "\n".join(rows) + "\n")


def table_rows(text: str) -> dict[str, list[str]]:
    """The question -> [before, after, sources] rows of a version of this file."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 4 and cells[0] not in ("question", "---"):
            rows.setdefault(cells[0], cells[1:])
    return rows


def against_version(rev: str, rows: list[str]) -> str:
    """The section comparing this table with the file's version at commit `rev`: which questions' answers (model
    alone, knowledge) and sources differ; sources are compared without their relevance."""
    try:
        text = subprocess.run(["git", "show", f"{rev}:docs/{OUT.name}"], cwd=OUT.parents[1], capture_output=True,
                              text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise UserInputError(f"--against-git {rev}: no docs/{OUT.name} there ({exc})") from None
    then, now = table_rows(text), table_rows("\n".join(rows))
    links = lambda cell: re.sub(r" \(\d\.\d\d\)", "", cell)  # noqa: E731 (the relevance aside)
    counts, lines = {"answer": 0, "sources": 0, "model alone": 0, "not in it": 0}, []
    for question, (before, after, sources) in now.items():
        if question not in then:
            counts["not in it"] += 1
            continue
        old = then[question]
        changed = [name for name, differs in (("answer", old[1] != after), ("sources", links(old[2]) != links(sources)),
                                              ("model alone", old[0] != before)) if differs]
        for name in changed:
            counts[name] += 1
        if {"answer", "sources"} & set(changed):
            lines.append(f"| {cell(question, 160)} | {', '.join(changed)} | {cell(old[1], 160)}<br>{old[2]} | "
                         f"{cell(after, 160)}<br>{sources} |")
    made = re.search(r" on (\d{4}-\d\d-\d\d \d\d:\d\d UTC)", text)
    head = (f"\n## Against this file's previous version (`git show {rev}:docs/{OUT.name}`"
            f"{', made ' + made.group(1) if made else ''}, by the code and settings of then)\n\n"
            f"Of {len(now)} questions: {counts['answer']} with another knowledge answer, {counts['sources']} with other "
            f"sources (relevance aside), {counts['model alone']} with another model-alone answer"
            f"{', ' + str(counts['not in it']) + ' not in that version' if counts['not in it'] else ''}.\n")
    if not lines:
        return head
    return head + ("\n| question | what changed | then | now |\n|---|---|---|---|\n" + "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--compare", type=compare_option, action="append",
                        help=f"LABEL:key=value,... other knowledge settings to list the changes against, repeatable "
                             f"(default: '{PREVIOUS_DEFAULT}')")
    parser.add_argument("--against-git", metavar="REV", help="also compare with this file's version at commit REV")
    args = parser.parse_args()
    compare = args.compare or [compare_option(PREVIOUS_DEFAULT)]
    root = paths.data_dir(None, "mediqa2019")
    benchmark = is_liveqa(root / QA_FOLDER)
    questions: list[str] = []
    for name in reversed(evaluate.RQE_DEV_FILES):  # test file first
        for _, chq, _, _ in MediqaRQE.pairs(root / name):
            if chq not in questions and not benchmark(chq):
                questions.append(chq)
    questions = questions[: args.n]
    sets = [f"generation.max_new_tokens={args.max_new_tokens}"]
    assistant = Assistant.from_config(None, sets=sets)
    k = assistant.config.knowledge
    try:  # the settings checked as a config file's
        others = [(label, settings, KnowledgeStage(type(k).model_validate({**k.model_dump(), **settings})))
                  for label, settings in compare]
    except ValidationError as exc:
        raise UserInputError(f"--compare: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}") from None
    load = load_average(one_minute=True)
    rows, now = [], []
    started = time.perf_counter()
    for question in questions:
        before = assistant.ask(question, knowledge=False)
        after = assistant.ask(question)
        now.append(after.sources)
        links = "<br>".join(f"[{s['title']}]({s['url']}) ({s['relevance']:.2f})" for s in after.sources) or "—"
        rows.append(f"| {cell(question, 300)} | {cell(before.answer, 600)} | "
                    f"{cell(after.answer.split(chr(10) * 2 + 'Sources:')[0], 600)} | {links} |")
    sections = "".join(changes(label, settings, questions, now, stage) for label, settings, stage in others)
    sections += against_version(args.against_git, rows) if args.against_git else ""
    OUT.write_text(
        "# Knowledge stage: 20 consumer questions before and after\n\n"
        f"Made by `python bench/knowledge_examples.py --n {args.n}"
        + "".join(f" --compare \"{label}:{','.join(f'{a}={b}' for a, b in settings.items())}\""
                  for label, settings in (compare if args.compare else []))
        + (f" --against-git {args.against_git}" if args.against_git else "") + f"` on {utc_now()} "
        f"(load average {load}; {time.perf_counter() - started:.0f} s for all). *Before*: `--no-knowledge` (the "
        f"embedded Gemma-3-270M base alone, greedy, {args.max_new_tokens} new tokens). *After*: the shipped settings "
        f"(method `{k.method}`, re-ranker `{k.reranker}` (rules {k.focus_bonus:g} / {k.type_bonus:g} / {k.info_bonus:g}, "
        f"RQE x {k.rqe_weight:g}: {rqe_note(k)}), synonyms `{k.synonyms}`"
        f"{' with the broader names left out' if k.clean_synonyms else ''}, mode `{k.mode}`, "
        f"min_relevance {k.min_relevance}). "
        "The questions are MEDIQA 2019 RQE "
        "consumer questions (not TREC LiveQA'17 benchmark questions); sources show their relevance in brackets. "
        "Answers are cut to 600 characters here. What changed against other settings: the sections after the table.\n\n"
        "> Research use only: not medical advice and not for clinical use.\n\n"
        "| question | before (model alone) | after (knowledge) | sources |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
        + sections)
    print(f"wrote {OUT} ({len(rows)} questions)")


if __name__ == "__main__":
    run(main)

"""Extractive vs generative answers from the knowledge stage, on the development set (never LiveQA).

  python bench/bench_knowledge_answers.py --method bm25-question --limit 34

For each development question (MEDIQA RQE consumer questions whose entailed FAQ is a MedQuAD question; see
knowledge/evaluate.py), both modes answer through the one pipeline (`Assistant.ask`) with the same retrieved
sources. Scores: ROUGE-L F1 against the reference MedQuAD answer(s) of the entailed FAQ (best over references);
"supported" = share of the answer's content words (>3 letters) that occur in the passages it was given
(1.0 = nothing added beyond the sources; a faithfulness proxy); seconds per answer; load average printed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import measured_at, run  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.knowledge import evaluate  # noqa: E402
from visual_med_alpaca.knowledge.index import open_index  # noqa: E402
from visual_med_alpaca.pipeline import Assistant  # noqa: E402

WORD = re.compile(r"[a-z]{4,}")


def supported(answer: str, passages: list[str]) -> float:
    words = WORD.findall(answer.lower())
    pool = set(WORD.findall(" ".join(passages).lower()))
    return sum(w in pool for w in words) / len(words) if words else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="bm25-question")
    parser.add_argument("--limit", type=int, default=34)
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="extra config overrides")
    args = parser.parse_args()
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    root = paths.data_dir(None, "medquad", "mediqa2019")
    index = open_index("medquad")
    by_id = {p.id: p for p in index.docs.passages(list(range(index.docs.count()))).values()}
    index.close()
    dev = evaluate.dev_set(root, list(by_id.values()))[: args.limit]
    print(f"{len(dev)} development questions; method {args.method}; {measured_at()}")
    rows = {}
    for mode in ("extractive", "generative"):
        assistant = Assistant.from_config(None, sets=[f"knowledge.mode={mode}", f"knowledge.method={args.method}",
                                                     f"generation.max_new_tokens={args.max_new_tokens}", *args.sets])
        rouge, support, seconds = [], [], []
        for question, gold in dev:
            start = time.perf_counter()
            answer = assistant.ask(question)
            seconds.append(time.perf_counter() - start)
            text = answer.answer.split("\n\nSources:\n")[0]
            rouge.append(max(scorer.score(by_id[g].text, text)["rougeL"].fmeasure for g in gold))
            support.append(supported(text, [s["text"] for s in answer.sources]))
        rows[mode] = (statistics.mean(rouge), statistics.mean(support), statistics.median(seconds))
    print("\n| mode | ROUGE-L F1 vs reference | supported by sources | s/answer (median) |\n|---|---|---|---|")
    for mode, (r, s, t) in rows.items():
        print(f"| {mode} | {r:.3f} | {s:.3f} | {t:.2f} |")


if __name__ == "__main__":
    run(main)

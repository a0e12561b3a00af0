"""Knowledge round 7: the development questions (dev, 34; never LiveQA) whose gold rank or top passage differs
between S, C1 and C2 (bench_knowledge_round7.py), with the name of the topic the top passage was matched by.

  python bench/knowledge_round7_dev_moves.py > bench/results/knowledge_round7_dev_moves.log
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run  # noqa: E402
from bench_knowledge_round7 import CONFIGS, RULES  # noqa: E402
from bench_liveqa import development_sets  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.knowledge.retrieve import WORD, Reranker, Retriever, topic_match  # noqa: E402


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    index, _, dev, _, _ = development_sets("medquad", paths.data_dir(None, "medquad", "mediqa2019"))
    retrievers = {name: Retriever(index, "dense-question", Reranker(*RULES, rqe_weight=1.0, synonyms=synonyms),
                                  encoder_threads=2) for name, synonyms in CONFIGS}
    generic = retrievers["C1"].generic()
    for question, gold in dev:
        found = {name: r.search(question, 10) for name, r in retrievers.items()}
        ranks = {name: next((i + 1 for i, x in enumerate(f) if x.passage.id in gold), None) for name, f in found.items()}
        if len(set(ranks.values())) == 1 and len({f[0].passage.id for f in found.values()}) == 1:
            continue
        words = set(WORD.findall(question.lower()))
        print("Q:", question[:300].replace("\n", " "))
        for name, f in found.items():
            top = f[0].passage
            print(f"  {name}: gold rank {ranks[name]}; top {top.question!r} (focus {top.focus!r}; "
                  f"match {topic_match(top, question, words, True, generic)})")
    index.close()


if __name__ == "__main__":
    run(main)

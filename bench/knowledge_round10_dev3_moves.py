"""Knowledge, tenth round: which dev3 questions (LiveQA'17 training questions; development, never LiveQA's test set)
the written names (C6 of bench_knowledge_round10b.py) move, against the shipped S: per question whose top answer's
grade differs, the top passage's question and grade under both, and whether the question writes a MedQuAD synonym
(not the focus) of the top passage it gained: how much of the gain is a topic the user named by another name.

  VMED_KNOWLEDGE_DIR=/tmp/vmed-know9/knowledge python bench/knowledge_round10_dev3_moves.py --threads 2
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measured_at, run  # noqa: E402
from bench_knowledge_round7 import RULES  # noqa: E402
from bench_knowledge_round10 import open_round10  # noqa: E402
from bench_knowledge_round10b import CONFIGS  # noqa: E402

from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever, focus_in_question  # noqa: E402
from visual_med_alpaca.knowledge.stores.fts5 import WORD  # noqa: E402


def main() -> None:
    args, index, passages, dev, *_, dev3, qrels3 = open_round10(__doc__)
    print(f"index {index.folder}; dev3 {len(dev3)} questions; {measured_at()}")
    settings = dict(CONFIGS)
    tops = {}
    for name in ("S", "C6"):
        retriever = Retriever(index, "dense-question", Reranker(*RULES, rqe_weight=1.0,
                                                                **{"synonyms": "focus+rqe", **settings[name]}),
                              encoder_threads=args.threads)
        tops[name] = [(retriever.search(text, 1) or [None])[0] for _, text in dev3]
    moved = gained = lost = by_other_name = 0
    for (qid, text), s, c in zip(dev3, tops["S"], tops["C6"]):
        gs, gc = (qrels3.grade(qid, r.passage) if r else 1 for r in (s, c))
        if gs == gc:
            continue
        moved += 1
        gained += gc >= 3 > gs
        lost += gs >= 3 > gc
        words = set(WORD.findall(text.lower()))
        other = c is not None and gc > gs and focus_in_question(c.passage.focus, words) < 1.0
        by_other_name += other
        print(f"\n{qid} grade {gs} -> {gc}{'  (C6 top named by a synonym, not its focus)' if other else ''}\n  {text[:150]!r}"
              f"\n  S:  {s.passage.question if s else None}\n  C6: {c.passage.question if c else None}")
    print(f"\n{moved} dev3 questions change their top answer's grade: {gained} to correct, {lost} from correct; "
          f"{by_other_name} of the improvements put first a passage whose focus the question does not write in full")
    index.close()


if __name__ == "__main__":
    run(main)

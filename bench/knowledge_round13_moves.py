"""Knowledge, thirteenth round: which development questions (dev, dev3, Train-1; never LiveQA's test set) the list
penalty (L1 / L2 of bench_knowledge_round13.py) moves, against the shipped S: per question whose top answer changes,
the top passage under both (source, MedQuAD question, grade, retrieve.pointer_share), and how many top answers were
passages that point elsewhere (pointer_share >= 0.5) under each.

  python bench/knowledge_round13_moves.py --threads 2 [--config L1]

Round 14: --config M moves the shipped S against the learned re-ranker (knowledge.reranker=learned, the shipped
assets/knowledge/ranker_lr.json; bench_knowledge_round14.py); Train-1 is then its training set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measured_at, run  # noqa: E402
from bench_knowledge_round7 import RULES  # noqa: E402
from bench_knowledge_round13 import CONFIGS, SHIPPED  # noqa: E402
from bench_liveqa import dev3_set, development_arguments, open_development, train1_set  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever, pointer_share  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    development_arguments(parser)
    parser.add_argument("--config", choices=[name for name, _ in CONFIGS[1:]] + ["M"], default="L1",
                        help="L1 / L2: round 13's list penalties; M: round 14's learned re-ranker")
    args = parser.parse_args()
    index, passages, dev, dev2, _, _ = open_development(args)
    root = paths.data_dir(args.data_dir, "medquad", "mediqa2019")
    sets = {"dev3": dev3_set(root, passages, dev, 2), "train1": train1_set(root, passages, dev, dev2, 2)}
    questions = {"dev": ([(f"dev-{i}", text) for i, (text, _) in enumerate(dev)], None), **sets}
    gold = {f"dev-{i}": ids for i, (_, ids) in enumerate(dev)}
    print(f"index {index.folder}; S against {args.config}; {measured_at()}")
    tops = {}
    for name, options in (CONFIGS[0], next((c for c in CONFIGS if c[0] == args.config), ("M", None))):
        reranker = Reranker(learned=True, **SHIPPED) if options is None else \
            Reranker(*RULES, rqe_weight=1.0, **SHIPPED, **options)
        retriever = Retriever(index, "dense-question", reranker, encoder_threads=args.threads)
        tops[name] = {key: [(retriever.search(text, 1) or [None])[0] for _, text in qs] for key, (qs, _) in questions.items()}

    def grade(key, qid, item):
        if item is None:
            return 0
        return (4 if item.passage.id in gold[qid] else 1) if key == "dev" else questions[key][1].grade(qid, item.passage)

    for key, (qs, _) in questions.items():
        pointing = {name: sum(t is not None and pointer_share(t.passage.text) >= 0.5 for t in tops[name][key])
                    for name in tops}
        moved = []
        for i, (qid, text) in enumerate(qs):
            s, c = tops["S"][key][i], tops[args.config][key][i]
            if (s and s.passage.id) != (c and c.passage.id):
                moved.append((qid, text, s, c, grade(key, qid, s), grade(key, qid, c)))
        print(f"\n## {key}: {len(qs)} questions; top answers pointing elsewhere: S {pointing['S']}, "
              f"{args.config} {pointing[args.config]}; {len(moved)} top answers change")
        for qid, text, s, c, gs, gc in moved:
            print(f"\n{qid} grade {gs} -> {gc}\n  {text[:140]!r}")
            for name, item in (("S", s), (args.config, c)):
                print(f"  {name}: {item.passage.source} [{item.passage.qtype}] {item.passage.question!r} pointer_share "
                      f"{pointer_share(item.passage.text):.2f}: {item.passage.text[:90]!r}")
    index.close()


if __name__ == "__main__":
    run(main)

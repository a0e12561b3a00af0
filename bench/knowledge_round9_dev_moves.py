"""Knowledge, ninth round: which development questions each candidate moves (dev only, never LiveQA), beside the
rule's aggregate decision (bench/bench_knowledge_round9.py): per dev question whose gold rank or top passage differs
from S's, the gold rank and the top passage's question under S and the candidate, and (C7) the types each reading
gives.

  python bench/knowledge_round9_dev_moves.py --threads 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measured_at, run  # noqa: E402
from bench_knowledge_round7 import RULES  # noqa: E402
from bench_knowledge_round9 import CONFIGS  # noqa: E402
from bench_liveqa import development_arguments, open_development  # noqa: E402

from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever, asked_types, question_types  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    development_arguments(parser)
    args = parser.parse_args()
    index, _, dev, _, _, _ = open_development(args)
    print(f"index {index.folder}; dev {len(dev)} questions; {measured_at()}")
    ranked = {}
    for name, synonyms, options in CONFIGS:
        retriever = Retriever(index, "dense-question", Reranker(*RULES, rqe_weight=1.0, synonyms=synonyms, **options),
                              encoder_threads=args.threads)
        ranked[name] = []
        for question, gold in dev:
            found = retriever.search(question, 10)
            rank = next((i + 1 for i, r in enumerate(found) if r.passage.id in gold), None)
            ranked[name].append((rank, found[0].passage.question if found else None))
    for name, *_ in CONFIGS[1:]:
        moved = [(i, ranked["S"][i], ranked[name][i]) for i in range(len(dev)) if ranked["S"][i] != ranked[name][i]]
        print(f"\n{name}: {len(moved)} dev questions move (gold rank in the top 10, top passage)")
        for i, before, after in moved:
            print(f"  {dev[i][0][:110]!r}\n     S: {before}\n    {name}: {after}")
    typed = [(q, question_types(q), asked_types(q)) for q, _ in dev]
    changed = [(q, whole, asked) for q, whole, asked in typed if whole != asked]
    print(f"\ntypes_from=asking reads other types for {len(changed)} of {len(dev)} dev questions:")
    for q, whole, asked in changed:
        print(f"  {q[:90]!r}: {sorted(whole)} -> {sorted(asked)}")
    index.close()


if __name__ == "__main__":
    run(main)

"""Knowledge, sixth round: what the mined hard negatives look like (MEDIQA RQE training + validation pairs only; no
development-set or LiveQA question is printed): word Jaccard per kind of pair, and 12 mined examples.

  PYTHONPATH=$PWD python bench/knowledge_round6_pairs.py     # under the CPU lock: embeds ~9,300 texts (~20 s)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run  # noqa: E402
from bench_liveqa import all_passages  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.knowledge import encoder, evaluate, rqe  # noqa: E402
from visual_med_alpaca.knowledge.index import ENCODER_DIR, open_index  # noqa: E402


def jaccard(a: str, b: str) -> float:
    x, y = rqe.cached_side(a).stems, rqe.cached_side(b).stems
    return len(x & y) / len(x | y) if x | y else 0.0


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    root = paths.data_dir(None, "medquad", "mediqa2019")
    index = open_index("medquad", need_dense=True)
    dev = evaluate.dev_set(root, all_passages(index))
    kept, valid, _ = rqe.mediqa_pairs(root, [q for q, _ in dev], lambda _: None)  # what train-rqe trains on
    mined = rqe.mediqa_hard_pairs(kept, rqe.memoised(encoder.OnnxEncoder(index.folder / ENCODER_DIR, 2).encode))
    own: dict[str, str] = {}
    for q, f, y in kept:
        if y:
            own.setdefault(q, f)
    kinds = {"positives": [(q, f) for q, f, y in kept if y], "random negatives": [(q, f) for q, f, y in kept if not y],
             "mined negatives": [(q, f) for q, f, _ in mined], "validation positives": [(q, f) for q, f, y in valid if y],
             "validation negatives": [(q, f) for q, f, y in valid if not y]}
    for name, pairs in kinds.items():
        print(f"{name}: {len(pairs)}, median word Jaccard {statistics.median(jaccard(q, f) for q, f in pairs):.3f}, "
              f"identical text {sum(q.strip() == f.strip() for q, f in pairs)}")
    random.seed(0)
    for q, f, _ in random.sample(mined, 12):
        print("Q:", " ".join(q.split())[:140], "\n  own FAQ:", " ".join(own[q].split())[:100],
              "\n  mined  :", " ".join(f.split())[:100])
    index.close()


if __name__ == "__main__":
    run(main)

"""Train RQE re-ranker variants on the same embeddings (choices on dev/validation only, never LiveQA).

  python bench/bench_rqe_train.py --out runs/rqe      # then: python bench/bench_rqe_grid.py --rqe-model shipped,runs/rqe/...

Variants: a = MEDIQA RQE training pairs only (the model shipped before), b = + hard pairs from MedQuAD itself
(rqe.medquad_pairs), c = + the question-type classifier's feature (rqe.crossfit_qtype), d = both; b10, b25,
b50, d25 = b / d with each MedQuAD pair weighing 0.1 / 0.25 / 0.5 MEDIQA pairs; b4k25 = 4,000 sampled questions. Each picks C
by ROC AUC on the MEDIQA RQE validation pairs; the MEDIQA pairs are embedded once for all variants. MedQuAD
passages judged for LiveQA and the development set's gold passages are left out of the MedQuAD pairs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import measured_at, run, threads  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.knowledge import encoder, evaluate, rqe  # noqa: E402
from visual_med_alpaca.knowledge.index import ENCODER_DIR, open_index  # noqa: E402

# name: (MedQuAD questions sampled for hard pairs, question-type feature, weight of a MedQuAD pair)
VARIANTS = {"a": (0, False, 1.0), "b": (2000, False, 1.0), "c": (0, True, 1.0), "d": (2000, True, 1.0),
            "b10": (2000, False, 0.1), "b25": (2000, False, 0.25), "b50": (2000, False, 0.5),
            "d25": (2000, True, 0.25), "b4k25": (4000, False, 0.25)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/rqe")
    parser.add_argument("--variants", default="a,b,c,d")
    parser.add_argument("--queries", type=int, default=None, help="MedQuAD questions sampled for the hard pairs "
                                                                   "(default: the variant's)")
    parser.add_argument("--threads", type=threads, default=2)
    args = parser.parse_args()
    root = paths.data_dir(None, "medquad", "mediqa2019")
    index = open_index("medquad", need_dense=True)
    rows = list(range(index.docs.count()))
    by_row = index.docs.passages(rows)
    passages = [by_row[i] for i in rows]  # row order: passage i is the index's vector row i
    dev = evaluate.dev_set(root, passages)
    source = rqe.medquad_source(index, root, passages, {i for _, gold in dev for i in gold})
    onnx = encoder.OnnxEncoder(index.folder / ENCODER_DIR, args.threads)
    memo: dict[str, object] = {}

    def encode(texts):
        missing = [t for t in dict.fromkeys(texts) if t not in memo]
        if missing:
            memo.update(zip(missing, onnx.encode(missing)))
        import numpy as np

        return np.stack([memo[t] for t in texts])

    print(f"{measured_at()}; MedQuAD passages left out of the MedQuAD pairs: "
          f"{len(source.excluded):,} (LiveQA-judged + development gold)")
    for name in args.variants.split(","):
        queries, use_qtype, weight = VARIANTS[name]
        started = time.perf_counter()
        model = rqe.train(root, encode, [q for q, _ in dev], print, source if (queries or use_qtype) else None,
                          queries and (queries if args.queries is None else args.queries), use_qtype, weight)
        model.save(Path(args.out) / name / "rqe_lr.json")
        coef = ", ".join(f"{f} {c:+.2f}" for f, c in zip(model.features, model.coef))
        print(f"variant {name}: C={model.meta['C']:g} validation AUC {model.meta['validation_auc']:.4f} accuracy "
              f"{model.meta['validation_accuracy']:.3f}; {time.perf_counter() - started:.0f} s; coefficients: {coef}\n",
              flush=True)
    if any(VARIANTS[name][1] for name in args.variants.split(",")):  # the classifier on consumer questions (dev)
        import numpy as np

        qtype, _ = rqe.crossfit_qtype(source)
        by_id = {p.id: p.qtype for p in passages}
        gold = [max(sorted({by_id[i] for i in ids}), key=lambda t: sum(by_id[i] == t for i in ids)) for _, ids in dev]
        predicted = qtype.probabilities(encode([q for q, _ in dev])).argmax(1)
        print(f"question-type classifier on the {len(dev)} development questions (gold: their FAQ's MedQuAD type): "
              f"accuracy {np.mean([qtype.labels[j] == t for j, t in zip(predicted, gold)]):.3f}")
    print(measured_at())
    index.close()


if __name__ == "__main__":
    run(main)

"""Held-out accuracy of the shipped radiology heads (modality, plane, region), per head and per class.

    python bench/bench_radiology.py [--heads visual_med_alpaca/assets/radiology] [--cache runs/radiology/features.npz]

Held out = MedPix 2.0 test images + every VQA-RAD test image (none of them is trained on). Features are
cached by `vmed train radiology`, so this runs in seconds after training.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from visual_med_alpaca.experts.radiology import HEADS  # noqa: E402
from visual_med_alpaca.features import LinearHead  # noqa: E402
from visual_med_alpaca.train.radiology_heads import HEAD_DIR, RadiologyHeadsConfig, collect_examples, embed_examples  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", default=str(HEAD_DIR))
    parser.add_argument("--cache", default="runs/radiology/features.npz")
    args = parser.parse_args()
    cfg = RadiologyHeadsConfig(cache=args.cache)
    examples = [e for e in collect_examples(cfg) if e.held_out]
    start = time.perf_counter()
    features = embed_examples(examples, Path(cfg.cache))
    print(f"held-out images: {len(examples)} (features in {time.perf_counter() - start:.1f} s)\n")
    print("| head | held-out images | accuracy | majority-class baseline | per class (correct/total) |")
    print("|---|---|---|---|---|")
    for head in HEADS:
        model = LinearHead(Path(args.heads) / f"{head}.npz", "")
        rows = [i for i, e in enumerate(examples) if e.labels.get(head) in model.classes]
        truth = [examples[i].labels[head] for i in rows]
        scores = model.predict(features[rows])
        predicted = [max(s.items(), key=lambda kv: kv[1])[0] for s in scores]
        accuracy = sum(p == t for p, t in zip(predicted, truth)) / len(truth)
        majority = Counter(truth).most_common(1)[0][1] / len(truth)
        per_class = ", ".join(f"{c} {sum(p == t == c for p, t in zip(predicted, truth))}/{truth.count(c)}"
                              for c in model.classes)
        print(f"| {head} | {len(truth)} | {accuracy:.3f} | {majority:.3f} | {per_class} |")
    unlabelled = {h: sum(1 for e in examples if e.labels.get(h) and e.labels[h] not in LinearHead(Path(args.heads) / f"{h}.npz", "").classes)
                  for h in HEADS}
    print(f"\nheld-out images whose label is not a head class (not scored): {unlabelled}")


if __name__ == "__main__":
    main()

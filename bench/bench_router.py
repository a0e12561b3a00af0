"""Router benchmark: held-out accuracy + confusion matrix of the shipped head, recomputed from the images
(features cached under runs/router by `vmed train router`; embedded first when absent), and measured ms per
image after warm-up.

python bench/bench_router.py --images 40
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import measured_at, run, threads  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from visual_med_alpaca.images import load_image  # noqa: E402
from visual_med_alpaca.router import IMAGE_CLASSES, load_router  # noqa: E402
from visual_med_alpaca.train.router import TEST_FRACTION, held_out_scores, in_test, labelled_features  # noqa: E402
from visual_med_alpaca.paths import data_dir  # noqa: E402

SHARED = data_dir()  # --data-dir is not a flag here: $VMED_DATA_DIR, else ../shared/data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--threads", type=threads, default=1)
    parser.add_argument("--cache", default="runs/router")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    router = load_router("trained")
    x, y, groups = labelled_features(SHARED, Path(args.cache))
    test = np.array([in_test(g, TEST_FRACTION) for g in groups])
    report = held_out_scores(y[test], router.probabilities(x[test]).argmax(axis=1))
    print(f"held-out accuracy {report['held_out_accuracy']:.3f} on {test.sum()} images (shipped head, recomputed; "
          f"split by group, {TEST_FRACTION:.0%} of groups held out)")
    print(f"held-out expert accuracy {report['held_out_expert_accuracy']:.3f} (the expert the true class gets)")
    print("true \\ predicted " + " ".join(f"{c:>10}" for c in IMAGE_CLASSES))
    for name, row in zip(IMAGE_CLASSES, report["confusion_matrix_rows_true_cols_predicted"]):
        print(f"{name:>16} " + " ".join(f"{v:>10}" for v in row))
    files = sorted((SHARED / "vqa_rad" / "images").glob("*.jpg"))[:args.images // 2]
    files += sorted((SHARED / "opencqa_charts_dev" / "chart_images").glob("*.png"))[:args.images // 2]
    images = [load_image(p) for p in files] or [load_image(Path(__file__).parents[1] / "examples" / "bar_chart.png")]
    router.classify(images[0])  # warm-up: backbone load
    start = time.perf_counter()
    for image in images:
        router.classify(image)
    ms = 1000 * (time.perf_counter() - start) / len(images)
    print(f"{ms:.1f} ms/image over {len(images)} images (one at a time, {args.threads} torch threads, "
          f"image already decoded; {measured_at()})")


if __name__ == "__main__":
    run(main)

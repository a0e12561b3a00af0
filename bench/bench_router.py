"""Router benchmark: held-out accuracy + confusion matrix of the shipped head (from its training report)
and measured ms per image after warm-up.

python bench/bench_router.py --images 40
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from visual_med_alpaca.images import load_image  # noqa: E402
from visual_med_alpaca.router import IMAGE_CLASSES, load_router  # noqa: E402
from visual_med_alpaca.train.router import REPORT_PATH  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report = json.loads(REPORT_PATH.read_text())
    print(f"held-out accuracy {report['held_out_accuracy']:.3f} on {report['test_images']} images "
          f"(train {report['train_images']}; {report['split']})")
    print(f"held-out expert accuracy {report['held_out_expert_accuracy']:.3f} (the expert the true class gets)")
    print("true \\ predicted " + " ".join(f"{c:>10}" for c in IMAGE_CLASSES))
    for name, row in zip(IMAGE_CLASSES, report["confusion_matrix_rows_true_cols_predicted"]):
        print(f"{name:>16} " + " ".join(f"{v:>10}" for v in row))
    files = sorted((SHARED / "vqa_rad" / "images").glob("*.jpg"))[:args.images // 2]
    files += sorted((SHARED / "opencqa_charts_dev" / "chart_images").glob("*.png"))[:args.images // 2]
    images = [load_image(p) for p in files] or [load_image(Path(__file__).parents[1] / "examples" / "bar_chart.png")]
    router = load_router("trained")
    router.classify(images[0])  # warm-up: backbone load
    start = time.perf_counter()
    for image in images:
        router.classify(image)
    ms = 1000 * (time.perf_counter() - start) / len(images)
    print(f"{ms:.1f} ms/image over {len(images)} images (one at a time, {args.threads} torch threads, "
          f"image already decoded; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()

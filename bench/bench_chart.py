"""Chart expert benchmark: RMS-F1 / RNSS / failures / s per chart on a fresh synthetic set, plus the seed's bar.png.

python bench/bench_chart.py --n 40 --seed 2024   (the set is drawn with a seed never used while developing)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from visual_med_alpaca.data.charts import make_chart_set  # noqa: E402
from visual_med_alpaca.eval.charts import evaluate_chart_set  # noqa: E402
from visual_med_alpaca.experts import load_expert  # noqa: E402
from visual_med_alpaca.images import load_image  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--set-dir", type=Path, default=None)
    args = parser.parse_args()
    set_dir = args.set_dir or Path(f"runs/bench_charts_seed{args.seed}_n{args.n}")
    make_chart_set(set_dir, args.n, args.seed, progress=False)
    m = evaluate_chart_set(set_dir, "chart", progress=False)
    print(f"machine: {os.cpu_count()} CPUs, load average at end {os.getloadavg()[0]:.1f}")
    print(f"{'style':<14} {'n':>3} {'RMS-F1':>7} {'RNSS':>6} {'fail':>5} {'s/chart':>8}")
    for style, s in m["by_style"].items():
        print(f"{style:<14} {s['n']:>3} {s['rms_f1']:>7.3f} {s['rnss']:>6.3f} {s['failure_rate']:>5.0%} {s['seconds_per_chart']:>8.2f}")
    print(f"{'ALL':<14} {m['n']:>3} {m['rms_f1']:>7.3f} {m['rnss']:>6.3f} {m['failure_rate']:>5.0%} {m['seconds_per_chart']:>8.2f}")
    seed_bar = Path(__file__).resolve().parents[2] / "shared" / "data" / "seed_samples" / "bar.png"
    if seed_bar.is_file():
        print("seed bar.png ->", load_expert("chart").describe(load_image(seed_bar)))
    print(f"metrics: {m['metrics_file']}")


if __name__ == "__main__":
    main()

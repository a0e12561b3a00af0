"""Chart expert benchmark: RMS-F1 / RNSS / unread / s per chart, overall and per kind, on real or synthetic charts.

Real charts (any folder with a DePlot-format gold.jsonl; chartqa_dev is split by file-name hash, see docs/charts.md):
    python bench/bench_chart.py --set-dir ../shared/data/chartqa_dev --split report
Fresh synthetic charts from one of the two generators, with a seed never looked at while developing:
    python bench/bench_chart.py --generator plain --n 60 --seed 31337
(the third generator, `survey`, draws Pew-style survey charts for a development pool only: it was built from the
dev half's Pew charts, so its scores are development figures, never held-out ones); the fourth, `ends`, draws OWID/OECD
line charts named at their line ends, likewise a development pool only)
Only some styles (a set of line charts):
    python bench/bench_chart.py --generator plain --n 30 --seed 31337 --styles line,line_markers
OpenCQA's real Pew charts, scored against their printed values and labels only (a proxy; docs/benchmarks.md); the
dev half is the development set, the report half is scored by the lead only:
    python bench/bench_chart.py --opencqa --split dev
Run it under the CPU lock (docs/benchmarks.md records the load average printed at the start and the end).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from visual_med_alpaca.errors import UserInputError  # noqa: E402
from visual_med_alpaca.paths import data_dir  # noqa: E402
from visual_med_alpaca.data.charts import GENERATORS, make_chart_set  # noqa: E402
from visual_med_alpaca.eval.charts import (SPLITS, evaluate_chart_set, evaluate_printed_set, format_metrics,  # noqa: E402
                                           format_printed_metrics)
from visual_med_alpaca.experts import load_expert  # noqa: E402
from visual_med_alpaca.images import load_image  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set-dir", type=Path, default=None, help="an existing chart set (gold.jsonl); else one is drawn")
    parser.add_argument("--split", choices=SPLITS, default="all")
    parser.add_argument("--generator", choices=sorted(GENERATORS), default="studio")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--styles", default="", help="only these generator styles, comma-separated (line,line_markers)")
    parser.add_argument("--out", type=Path, default=None, help="metrics JSON (default: beside the set)")
    parser.add_argument("--opencqa", action="store_true", help="OpenCQA's Pew charts (data folder's opencqa_charts_dev/, "
                        "$VMED_DATA_DIR), --split dev or report, scored against their printed text")
    args = parser.parse_args()
    if args.opencqa:
        print(f"machine: {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.1f}")
        try:
            m = evaluate_printed_set(args.split, args.out or Path(f"runs/bench_charts_opencqa_{args.split}.json"),
                                     progress=False)
        except UserInputError as exc:
            parser.exit(2, f"error: {exc}\n")
        for line in format_printed_metrics(m):
            print(line)
        print(f"metrics: {m['metrics_file']}; load average at end {os.getloadavg()[0]:.1f}")
        return
    print(f"machine: {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.1f}")
    set_dir = args.set_dir
    if set_dir is None:
        styles = tuple(s for s in args.styles.split(",") if s)
        only = "_" + "-".join(styles) if styles else ""
        set_dir = Path(f"runs/bench_charts_{args.generator}_seed{args.seed}_n{args.n}{only}")
        make_chart_set(set_dir, args.n, args.seed, progress=False, generator=args.generator, styles=styles)
    m = evaluate_chart_set(set_dir, "chart", progress=False, split=args.split, out=args.out)
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    for line in format_metrics(m):
        print(line)
    try:
        seed_bar = data_dir(None, "seed_samples") / "seed_samples" / "bar.png"
    except UserInputError:  # no shared data here: skip the seed sample
        seed_bar = None
    if seed_bar and seed_bar.is_file():
        print("seed bar.png ->", load_expert("chart").describe(load_image(seed_bar)))
    print(f"metrics: {m['metrics_file']}")


if __name__ == "__main__":
    from _common import run  # bad input (no data folder, a --set-dir without gold.jsonl) as one 'error:' line, exit 2

    run(main)

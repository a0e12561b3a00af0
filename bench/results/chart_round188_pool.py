"""Round 188's evidence pool `portalG` (a development pool, drawn once; not one of the 19 sets).

The landed portal generator's grouped bar charts (style `grouped`), drawn from new seeds exactly as
`random_portal_spec` makes them, with 1-2 cells then set very small (a random category and series; 0 with
probability 0.4, else 0.2-0.8 % of the largest value, rounded as the chart prints): Statista's `0%` / `1%` printed
over a grouped series' bar too short to see (ChartQA dev multi_col_80008, multi_col_80102). Specs with a negative
value are skipped. The generator's drawing is unchanged (draw_portal on a spec whose values were replaced); the gold
is the spec's own table. Written after round 187's `chart_round187_pool.py` (its single-series twin).

    python bench/results/chart_round188_pool.py OUT SEED [SEED ...]   # 15 charts a seed
"""

import sys
from pathlib import Path

from chart_round187_pool import draw_pool  # its single-series twin's loop (this script's folder is on sys.path when run)


def _shrink(rng, values, spec):
    n, k = values.shape
    top = float(values.max())
    for _ in range(1 if rng.random() < 0.5 else 2):
        i, j = int(rng.integers(n)), int(rng.integers(k))
        values[i, j] = 0.0 if rng.random() < 0.4 else round(top * rng.uniform(0.002, 0.008), spec.decimals) + 0.0
    return values


def main() -> None:
    draw_pool(Path(sys.argv[1]), [int(s) for s in sys.argv[2:]], lambda spec: spec.style == "grouped", _shrink, 188)

if __name__ == "__main__":
    main()

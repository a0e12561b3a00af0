"""Round 187's evidence pool `portalZ` (a development pool, drawn once; not one of the 19 sets).

The landed portal generator's single-series bar charts (styles `bar` and `barh`) whose categories are all years,
drawn from new seeds exactly as `random_portal_spec` makes them, with 1-2 values then set very small (the first
year's with probability 0.6, else a random one; 0 with probability 0.4, else 0.2-0.8 % of the largest value, rounded
as the chart prints): Statista's `6` beside `7 982` (ChartQA dev two_col_1827). Specs with a negative value are
skipped. The generator's drawing is unchanged (draw_portal on a spec whose values were replaced); the gold is the
spec's own table.

    python bench/results/chart_round187_pool.py OUT SEED [SEED ...]   # 15 charts a seed
"""

import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from visual_med_alpaca.data.charts import STREAMS, draw_portal, random_portal_spec


def draw_pool(out: Path, seeds: list[int], keep, shrink, stream: int) -> None:
    """15 charts a seed: the portal generator's specs (its own seeding) that `keep(spec)` accepts, with no negative
    value, their values replaced by `shrink(rng, values, spec)` (rng seeded [seed, index, stream]), drawn unchanged;
    gold = the spec's table. Round 188's `chart_round188_pool.py` draws its grouped pool with it too."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    records = []
    for seed in seeds:
        kept, index = 0, 0
        while kept < 15:
            spec = random_portal_spec(np.random.default_rng([seed, index, STREAMS["portal"]]))
            index += 1
            if not keep(spec) or (spec.values < 0).any():
                continue
            rng = np.random.default_rng([seed, index - 1, stream])
            spec = replace(spec, values=shrink(rng, spec.values.copy(), spec))
            stem = out / "images" / f"chart_{seed}_{index - 1:05d}"
            image = draw_portal(spec, stem)
            records.append({"id": stem.name, "image": str(image.relative_to(out)), "style": spec.style,
                            "generator": "portal", "theme": spec.theme, "jpeg": spec.jpeg_quality is not None,
                            "table": spec.table().linearize()})
            kept += 1
    (out / "gold.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def _years_bars(spec) -> bool:
    return spec.style in ("bar", "barh") and all(re.fullmatch(r"\d{4}\*?", c) for c in spec.categories)


def _shrink(rng, values, spec):
    n = len(spec.categories)
    picks = [0 if rng.random() < 0.6 else int(rng.integers(n))]
    if rng.random() < 0.5:
        picks.append(int(rng.integers(n)))
    top = float(values.max())
    for i in picks:
        values[i, 0] = 0.0 if rng.random() < 0.4 else round(top * rng.uniform(0.002, 0.008), spec.decimals) + 0.0
    return values


def main() -> None:
    draw_pool(Path(sys.argv[1]), [int(s) for s in sys.argv[2:]], _years_bars, _shrink, 187)

if __name__ == "__main__":
    main()

"""Where the router sends charts: the share of each chart set that reaches the chart expert.

`vmed eval charts` calls the chart expert directly, so its scores never meet the router; `vmed ask --image` and
`vmed serve` do. This prints, per set, how many of its pictures the shipped router classifies as `chart` (and where
the rest go), for chart folders as they are (`images/`, `png/` or `chart_images/` inside, or the folder's own
pictures) and for sets drawn on the spot by any chart generator:

    python bench/bench_router_charts.py ../shared/data/chartqa_dev ../shared/data/opencqa_charts_dev \
        --draw plain:354185:60 --draw studio:354185:60
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

PICTURES = (".png", ".jpg", ".jpeg")


def pictures(folder: Path) -> list[Path]:
    for sub in ("images", "png", "chart_images", "."):
        found = sorted(p for p in (folder / sub).glob("*") if p.suffix.lower() in PICTURES)
        if found:
            return found
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="chart sets (folders of pictures)")
    parser.add_argument("--draw", action="append", default=[], metavar="GENERATOR:SEED:N",
                        help="also draw N charts with a generator and seed (into runs/router_charts/)")
    parser.add_argument("--router", default="trained")
    args = parser.parse_args()

    from visual_med_alpaca.data.charts import make_chart_set
    from visual_med_alpaca.images import load_image
    from visual_med_alpaca.router.base import IMAGE_CLASSES, load_router

    sets = {str(folder): pictures(folder) for folder in args.folders}
    for spec in args.draw:
        generator, seed, n = spec.split(":")
        out = Path("runs/router_charts") / f"{generator}_seed{seed}_n{n}"
        make_chart_set(out, int(n), seed=int(seed), progress=False, generator=generator)
        sets[f"{generator} generator, seed {seed}"] = pictures(out)
    router = load_router(args.router)
    started = time.perf_counter()
    print(f"| set | pictures | routed to chart | {' | '.join(c for c in IMAGE_CLASSES if c != 'chart')} |")
    print("|---|---:|---:|" + "---:|" * (len(IMAGE_CLASSES) - 1))
    for name, paths in sets.items():
        counts = collections.Counter()
        for path in paths:
            probabilities = router.classify(load_image(path))
            counts[max(probabilities, key=probabilities.get)] += 1
        n = max(1, len(paths))
        others = " | ".join(str(counts[c]) for c in IMAGE_CLASSES if c != "chart")
        print(f"| {name} | {len(paths)} | {counts['chart']} ({counts['chart'] / n:.1%}) | {others} |")
    print(f"({time.perf_counter() - started:.0f} s, router `{args.router}`)")


if __name__ == "__main__":
    main()

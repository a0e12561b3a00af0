"""Where the router sends charts: the share of each chart set that reaches the chart expert.

`vmed eval charts` calls the chart expert directly, so its scores never meet the router; `vmed ask --image` and
`vmed serve` do. This prints, per set, how many of its pictures the shipped router classifies as `chart` (and where
the rest go), for chart folders as they are (`images/`, `png/` or `chart_images/` inside, or the folder's own
pictures) and for sets drawn on the spot by any chart generator:

    python bench/bench_router_charts.py ../shared/data/chartqa_dev ../shared/data/opencqa_charts_dev \\
        --draw plain:354185:60 --draw studio:354185:60
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

from _common import measured_at, run

PICTURES = (".png", ".jpg", ".jpeg")


def pictures(folder: Path) -> list[Path]:
    """A chart set's pictures: those its gold.jsonl lists (`data.charts.read_gold`, the chart sets' one reader), else
    those in its chart_images/ folder (OpenCQA's), else its own."""
    if (folder / "gold.jsonl").is_file():
        from visual_med_alpaca.data.charts import read_gold

        return sorted(folder / item["image"] for item in read_gold(folder))
    for sub in ("chart_images", "."):
        found = sorted(p for p in (folder / sub).glob("*") if p.suffix.lower() in PICTURES)
        if found:
            return found
    return []


def drawn(spec: str) -> tuple[str, int, int]:
    """'plain:354185:60' -> (generator, seed, n)."""
    from visual_med_alpaca.errors import UserInputError

    parts = spec.split(":")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit() or int(parts[2]) < 1:
        raise UserInputError(f"--draw takes GENERATOR:SEED:N (e.g. plain:354185:60), not {spec!r}")
    return parts[0], int(parts[1]), int(parts[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="chart sets (folders of pictures)")
    parser.add_argument("--draw", action="append", default=[], metavar="GENERATOR:SEED:N",
                        help="also draw N charts with a generator and seed (into runs/router_charts/)")
    parser.add_argument("--router", default="trained")
    args = parser.parse_args()

    from visual_med_alpaca.data.charts import make_chart_set
    from visual_med_alpaca.errors import UserInputError
    from visual_med_alpaca.images import load_image
    from visual_med_alpaca.router.base import IMAGE_CLASSES, load_router

    draws = [drawn(spec) for spec in args.draw]  # every argument checked before anything is drawn or loaded
    sets = {}
    for folder in args.folders:
        sets[str(folder)] = pictures(folder)
        if not sets[str(folder)]:
            raise UserInputError(f"no pictures (.png, .jpg) in {folder}")
    for generator, seed, n in draws:
        out = Path("runs/router_charts") / f"{generator}_seed{seed}_n{n}"
        make_chart_set(out, n, seed=seed, progress=False, generator=generator)
        sets[f"{generator} generator, seed {seed}"] = pictures(out)
    if not sets:
        raise UserInputError("give chart folders or --draw GENERATOR:SEED:N")
    router = load_router(args.router)
    print(measured_at())
    started = time.perf_counter()
    print(f"| set | pictures | routed to chart | {' | '.join(c for c in IMAGE_CLASSES if c != 'chart')} |")
    print("|---|---:|---:|" + "---:|" * (len(IMAGE_CLASSES) - 1))
    for name, paths in sets.items():
        counts = collections.Counter()
        for path in paths:
            probabilities = router.classify(load_image(path))
            counts[max(probabilities, key=probabilities.get)] += 1
        others = " | ".join(str(counts[c]) for c in IMAGE_CLASSES if c != "chart")
        print(f"| {name} | {len(paths)} | {counts['chart']} ({counts['chart'] / len(paths):.1%}) | {others} |")
    print(f"({time.perf_counter() - started:.0f} s, router `{args.router}`); {measured_at()}")


if __name__ == "__main__":
    run(main)

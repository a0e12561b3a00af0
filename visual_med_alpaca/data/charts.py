"""Synthetic charts with gold tables: matplotlib draws a random table, the table is the answer key.

Each chart is drawn from its own RNG (seed, index), so a set is reproducible and an interrupted run
resumes where it stopped. Styles: vertical / horizontal bars, grouped, stacked, lines with and without
markers, printed value labels, percent axes, light / dark / ggplot themes, legends inside or outside,
and JPEG re-encoding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..eval.metrics.chart import Table

STYLES = ("bar", "barh", "grouped", "stacked", "line", "line_markers", "labelled_bar")
CATEGORY_SETS = [
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug"],
    ["2016", "2017", "2018", "2019", "2020", "2021", "2022"],
    ["Aspirin", "Ibuprofen", "Placebo", "Naproxen", "Codeine", "Metformin"],
    ["Cardiology", "Oncology", "Neurology", "Pediatrics", "Surgery", "Radiology"],
    ["Group A", "Group B", "Group C", "Group D", "Group E"],
    ["North", "South", "East", "West", "Central"],
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
]
SERIES_NAMES = ["Before", "After", "Male", "Female", "Treatment", "Control", "Urban", "Rural", "Day", "Night"]
MEASURES = ["Patients", "Admissions", "Cases", "Visits", "Doses", "Samples", "Score", "Length of stay"]
TITLES = ["{m} by {c}", "Number of {m}", "{m} per group", "Hospital {m}", "Monthly {m}", "{m} in the study"]
CATEGORY_NAMES = ["Month", "Year", "Drug", "Department", "Group", "Region", "Day"]


@dataclass
class ChartSpec:
    style: str
    theme: str
    title: str
    category_name: str
    categories: list[str]
    series: list[str]
    values: np.ndarray  # (categories, series)
    percent: bool
    decimals: int
    legend_outside: bool
    jpeg_quality: int | None
    size: tuple[float, float]

    def table(self) -> Table:
        suffix = "%" if self.percent else ""
        rows = [[cat] + [f"{v:.{self.decimals}f}{suffix}" for v in self.values[i]] for i, cat in enumerate(self.categories)]
        return Table(self.title, [self.category_name] + self.series, rows)


def random_spec(rng: np.random.Generator) -> ChartSpec:
    style = str(rng.choice(STYLES))
    which = int(rng.integers(len(CATEGORY_SETS)))
    pool = CATEGORY_SETS[which]
    n_cat = int(rng.integers(3, min(7, len(pool)) + 1))
    start = int(rng.integers(0, len(pool) - n_cat + 1))
    categories = pool[start:start + n_cat]
    n_series = 1 if style in ("bar", "barh", "labelled_bar") else int(rng.integers(2, 4))
    if style.startswith("line"):
        n_series = int(rng.integers(1, 4))
    series = [str(s) for s in rng.choice(SERIES_NAMES, n_series, replace=False)]
    measure = str(rng.choice(MEASURES))
    percent = style not in ("stacked",) and rng.random() < 0.2
    scale = 100.0 if percent else float(rng.choice([10, 50, 100, 500, 1000, 5000]))
    low = 0.1 if not style.startswith("line") else rng.uniform(0.2, 0.6)
    values = rng.uniform(low, 1.0, size=(n_cat, n_series)) * scale
    if style == "stacked":
        values /= n_series
    decimals = 1 if scale <= 10 or (percent and rng.random() < 0.5) else 0
    values = np.round(values, decimals)
    if n_series == 1:
        series = [measure]
    title = str(rng.choice(TITLES)).format(m=measure, c=CATEGORY_NAMES[which].lower())
    return ChartSpec(
        style=style, theme=str(rng.choice(["default", "default", "dark_background", "ggplot", "seaborn-v0_8-whitegrid"])),
        title=title, category_name=CATEGORY_NAMES[which], categories=list(categories), series=series,
        values=values, percent=percent, decimals=decimals, legend_outside=bool(rng.random() < 0.25),
        jpeg_quality=int(rng.integers(60, 90)) if rng.random() < 0.3 else None,
        size=(float(rng.uniform(5.5, 8.0)), float(rng.uniform(3.8, 5.0))),
    )


def draw(spec: ChartSpec, path: Path) -> Path:
    """Render the chart to `path` (.png or .jpg by spec) and return the path written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    with plt.style.context(spec.theme):
        fig, ax = plt.subplots(figsize=spec.size, dpi=100)
        n_cat, n_series = spec.values.shape
        x = np.arange(n_cat)
        if spec.style in ("bar", "labelled_bar"):
            bars = ax.bar(x, spec.values[:, 0], 0.6)
            if spec.style == "labelled_bar":
                ax.bar_label(bars, labels=[f"{v:.{spec.decimals}f}" for v in spec.values[:, 0]], padding=2)
        elif spec.style == "barh":
            ax.barh(x, spec.values[:, 0], 0.6)
        elif spec.style == "grouped":
            width = 0.8 / n_series
            for j in range(n_series):
                ax.bar(x - 0.4 + width * (j + 0.5), spec.values[:, j], width, label=spec.series[j])
        elif spec.style == "stacked":
            bottom = np.zeros(n_cat)
            for j in range(n_series):
                ax.bar(x, spec.values[:, j], 0.6, bottom=bottom, label=spec.series[j])
                bottom += spec.values[:, j]
        else:
            marker = "o" if spec.style == "line_markers" else None
            for j in range(n_series):
                ax.plot(x, spec.values[:, j], marker=marker, linewidth=2, label=spec.series[j])
        if spec.style == "barh":
            ax.set_yticks(x, spec.categories)
            ax.set_ylabel(spec.category_name)
            ax.set_xlabel(spec.series[0])
            value_axis = ax.xaxis
        else:
            ax.set_xticks(x, spec.categories)
            ax.set_xlabel(spec.category_name)
            ax.set_ylabel(spec.series[0] if n_series == 1 else "Value")
            value_axis = ax.yaxis
        if spec.percent:
            value_axis.set_major_formatter(PercentFormatter(decimals=0))
        if n_series > 1:
            if spec.legend_outside:
                ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
            else:
                ax.legend()
        ax.set_title(spec.title)
        fig.tight_layout()
        png = path.with_suffix(".png")
        fig.savefig(png)
        plt.close(fig)
    if spec.jpeg_quality is None:
        return png
    from PIL import Image

    jpg = path.with_suffix(".jpg")
    Image.open(png).convert("RGB").save(jpg, quality=spec.jpeg_quality)
    png.unlink()
    return jpg


def make_chart_set(out: Path, n: int, seed: int = 0, progress: bool = True) -> Path:
    """Write `n` charts and `gold.jsonl` (id, image, style, theme, table) under `out`; resumes."""
    from tqdm import tqdm

    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    records = []
    for index in tqdm(range(n), desc="charts", disable=not progress):
        spec = random_spec(np.random.default_rng([seed, index]))
        stem = out / "images" / f"chart_{index:05d}"
        existing = [p for p in (stem.with_suffix(".png"), stem.with_suffix(".jpg")) if p.exists()]
        image = existing[0] if existing else draw(spec, stem)
        records.append({"id": f"chart_{index:05d}", "image": str(image.relative_to(out)), "style": spec.style,
                        "theme": spec.theme, "jpeg": spec.jpeg_quality is not None, "table": spec.table().linearize()})
    gold = out / "gold.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in records))
    (out / "README.txt").write_text(f"Synthetic charts: vmed data make-charts --out {out} --n {n} --seed {seed}\n")
    return gold

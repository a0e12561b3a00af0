"""Synthetic charts with gold tables: matplotlib draws a random table, the table is the answer key.

Two generators, so a score is not the fit to one drawing style:
- `studio` (the first): vertical / horizontal bars, grouped, stacked, lines with and without markers,
  printed value labels, percent axes, light / dark / ggplot themes, legends inside or outside, JPEG.
- `plain`: matplotlib's own defaults and built-in styles (classic, bmh, fivethirtyeight, Solarize_Light2,
  grayscale, tableau-colorblind10, seaborn-v0_8-*, dark_background), legends where matplotlib puts them
  ('best', any corner, outside, none), value labels on or off, horizontal grouped / stacked bars, pies (named beside
  them or in a legend, percentages printed inside, beside the name or not at all),
  lines without markers, thousand-separated, percent and log axes, small and large pictures, JPEG.
Each chart is drawn from its own RNG (generator, seed, index), so a set is reproducible and an interrupted
run resumes where it stopped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..chart_table import Table

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


def _save(fig, spec: ChartSpec, path: Path) -> Path:
    """Write the figure as PNG, re-encoded as JPEG when the spec asks for it; return the path written."""
    import matplotlib.pyplot as plt

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


def _random_categories(rng: np.random.Generator) -> tuple[int, list[str]]:
    """A run of 3-7 consecutive categories from one of CATEGORY_SETS (both generators draw them this way)."""
    which = int(rng.integers(len(CATEGORY_SETS)))
    pool = CATEGORY_SETS[which]
    n_cat = int(rng.integers(3, min(7, len(pool)) + 1))
    start = int(rng.integers(0, len(pool) - n_cat + 1))
    categories = pool[start:start + n_cat]
    return which, categories


def _category_axes(ax, x, spec, horizontal: bool, several: str):
    """Category ticks and both axis names; the value axis is named after the series when there is one, else
    `several`. Returns the value axis (for its number format)."""
    value_name = spec.series[0] if spec.values.shape[1] == 1 else several
    if horizontal:
        ax.set_yticks(x, spec.categories)
        ax.set_ylabel(spec.category_name)
        ax.set_xlabel(value_name)
        return ax.xaxis
    ax.set_xticks(x, spec.categories)
    ax.set_xlabel(spec.category_name)
    ax.set_ylabel(value_name)
    return ax.yaxis


def random_spec(rng: np.random.Generator) -> ChartSpec:
    style = str(rng.choice(STYLES))
    which, categories = _random_categories(rng)
    n_cat = len(categories)
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
        value_axis = _category_axes(ax, x, spec, spec.style == "barh", several="Value")
        if spec.percent:
            value_axis.set_major_formatter(PercentFormatter(decimals=0))
        if n_series > 1:
            if spec.legend_outside:
                ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
            else:
                ax.legend()
        ax.set_title(spec.title)
        fig.tight_layout()
        return _save(fig, spec, path)


# -- the second generator: matplotlib as people use it --------------------------------------------------------
PLAIN_STYLES = ("bar", "barh", "grouped", "grouped_h", "stacked", "stacked_h", "line", "line_markers", "pie")
PLAIN_THEMES = ("default", "classic", "bmh", "fivethirtyeight", "Solarize_Light2", "grayscale", "tableau-colorblind10",
                "seaborn-v0_8", "seaborn-v0_8-darkgrid", "seaborn-v0_8-white", "dark_background", "ggplot")
# how a pie names its slices: names beside them + percentages inside (matplotlib's autopct), a legend + percentages
# inside, 'Name 12.5%' beside them (Statista), names only (the share must be measured)
PIE_LABELS = ("labels", "legend", "name_percent", "names_only")
LEGEND_PLACES = ("best", "upper right", "upper left", "lower right", "lower left", "center right", "outside", "none")


@dataclass
class PlainSpec(ChartSpec):
    legend: str = "best"
    value_labels: bool = False
    thousands: bool = False
    log: bool = False
    grid: bool = False
    dpi: int = 100
    pie_labels: str = "labels"  # pies: one of PIE_LABELS

    def table(self) -> Table:
        if self.style == "pie":
            rows = [[cat, f"{v:.{self.decimals}f}%"] for cat, v in zip(self.categories, self.values[:, 0])]
            return Table(self.title, [self.category_name, self.series[0]], rows)
        return super().table()


def random_plain_spec(rng: np.random.Generator) -> PlainSpec:
    style = str(rng.choice(PLAIN_STYLES))
    which, categories = _random_categories(rng)
    n_cat = len(categories)
    single = style in ("bar", "barh", "pie")
    n_series = 1 if single else int(rng.integers(2, 4))
    if style.startswith("line"):
        n_series = int(rng.integers(1, 4))
    measure = str(rng.choice(MEASURES))
    series = [measure] if n_series == 1 else [str(s) for s in rng.choice(SERIES_NAMES, n_series, replace=False)]
    log = style in ("bar", "line", "line_markers") and rng.random() < 0.12
    percent = style != "pie" and not style.startswith("stacked") and not log and rng.random() < 0.2
    thousands = not percent and not log and style != "pie" and rng.random() < 0.25
    scale = 100.0 if percent else (float(rng.choice([2000, 5000, 20000, 90000])) if thousands else float(rng.choice([10, 40, 100, 800])))
    if style == "pie":
        shares = rng.dirichlet(np.full(n_cat, 2.0)) * 100
        values = np.round(shares, 1)[:, None]
        decimals = 1
    else:
        low = 0.1 if not style.startswith("line") else rng.uniform(0.2, 0.6)
        values = rng.uniform(low, 1.0, size=(n_cat, n_series)) * scale
        if log:
            values = 10 ** rng.uniform(0.3, 3.7, size=(n_cat, n_series))
        if style.startswith("stacked"):
            values /= n_series
        decimals = 1 if scale <= 10 and not log else 0
        values = np.round(values, decimals)
    title = str(rng.choice(TITLES)).format(m=measure, c=CATEGORY_NAMES[which].lower())
    small = rng.random() < 0.15
    return PlainSpec(
        style=style, theme=str(rng.choice(PLAIN_THEMES)), title=title, category_name=CATEGORY_NAMES[which],
        categories=list(categories), series=series, values=values, percent=percent, decimals=decimals,
        legend_outside=False, jpeg_quality=int(rng.integers(55, 90)) if rng.random() < 0.3 else None,
        size=(4.2, 3.2) if small else (float(rng.uniform(6.0, 10.0)), float(rng.uniform(4.0, 6.5))),
        legend=str(rng.choice(LEGEND_PLACES)), value_labels=bool(rng.random() < 0.4), thousands=thousands,
        log=log, grid=bool(rng.random() < 0.4), dpi=int(rng.choice([72, 100, 100, 150])),
        pie_labels=str(rng.choice(PIE_LABELS)),  # drawn last: every earlier draw (and chart) stays as it was
    )


def draw_plain(spec: PlainSpec, path: Path) -> Path:
    """Render a `plain` chart: matplotlib's styles and defaults, as a user would plot it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    with plt.style.context(spec.theme):
        fig, ax = plt.subplots(figsize=spec.size, dpi=spec.dpi)
        n_cat, n_series = spec.values.shape
        x = np.arange(n_cat)
        fmt = (lambda v: f"{v:,.{spec.decimals}f}") if spec.thousands else (lambda v: f"{v:.{spec.decimals}f}")
        containers = []
        horizontal = spec.style in ("barh", "grouped_h", "stacked_h")
        if spec.style == "pie":
            autopct = f"%1.{spec.decimals}f%%" if spec.pie_labels in ("labels", "legend") else None
            labels = {"legend": None, "name_percent": [f"{c} {v:.{spec.decimals}f}%" for c, v in zip(spec.categories, spec.values[:, 0])]}
            wedges = ax.pie(spec.values[:, 0], labels=labels.get(spec.pie_labels, spec.categories), autopct=autopct, startangle=90)[0]
            if spec.pie_labels == "legend":
                ax.legend(wedges, spec.categories, loc="center left", bbox_to_anchor=(1.0, 0.5))
            ax.axis("equal")
            ax.set_ylabel(spec.series[0])  # as pandas' plot.pie does: the measure names the column
        elif spec.style in ("bar", "barh"):
            plot = ax.barh if horizontal else ax.bar
            containers.append(plot(x, spec.values[:, 0]))
        elif spec.style in ("grouped", "grouped_h"):
            width = 0.8 / n_series
            for j in range(n_series):
                offset = x - 0.4 + width * (j + 0.5)
                plot = ax.barh if horizontal else ax.bar
                containers.append(plot(offset, spec.values[:, j], width, label=spec.series[j]))
        elif spec.style in ("stacked", "stacked_h"):
            bottom = np.zeros(n_cat)
            for j in range(n_series):
                if horizontal:
                    containers.append(ax.barh(x, spec.values[:, j], 0.7, left=bottom, label=spec.series[j]))
                else:
                    containers.append(ax.bar(x, spec.values[:, j], 0.7, bottom=bottom, label=spec.series[j]))
                bottom += spec.values[:, j]
        else:
            marker = "o" if spec.style == "line_markers" else None
            for j in range(n_series):
                ax.plot(x, spec.values[:, j], marker=marker, label=spec.series[j])
                if spec.value_labels:
                    for xi, v in zip(x, spec.values[:, j]):
                        ax.annotate(fmt(v) + ("%" if spec.percent else ""), (xi, v), textcoords="offset points",
                                    xytext=(0, 5), ha="center", fontsize=8)
        if spec.value_labels and containers:
            for container in containers:
                values = container.datavalues
                texts = [fmt(v) + ("%" if spec.percent else "") for v in values]
                ax.bar_label(container, labels=texts, label_type="center" if spec.style.startswith("stacked") else "edge",
                             padding=2, fontsize=8)
        if spec.style != "pie":
            value_axis = _category_axes(ax, x, spec, horizontal, several="")
            if spec.log:
                (ax.set_xscale if horizontal else ax.set_yscale)("log")
            elif spec.percent:
                value_axis.set_major_formatter(PercentFormatter(decimals=0))
            elif spec.thousands:
                value_axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
            if spec.grid:
                ax.grid(True, axis="x" if horizontal else "y", alpha=0.5)
        if n_series > 1 and spec.legend != "none":
            if spec.legend == "outside":
                ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
            else:
                ax.legend(loc=spec.legend)
        ax.set_title(spec.title)
        fig.tight_layout()
        return _save(fig, spec, path)


GENERATORS = {"studio": (random_spec, draw), "plain": (random_plain_spec, draw_plain)}


def make_chart_set(out: Path, n: int, seed: int = 0, progress: bool = True, generator: str = "studio",
                   styles: tuple[str, ...] = ()) -> Path:
    """Write `n` charts and `gold.jsonl` (id, image, style, theme, table) under `out`; resumes.

    `styles` keeps only charts of those styles (e.g. a set of line charts): chart i is still drawn from the
    RNG (seed, i), so a filtered set holds the same charts as the unfiltered sets of that seed."""
    from tqdm import tqdm

    from ..errors import UserInputError

    if generator not in GENERATORS:
        raise UserInputError(f"unknown chart generator '{generator}'; choose one of: {', '.join(GENERATORS)}")
    make_spec, render = GENERATORS[generator]
    known = STYLES if generator == "studio" else PLAIN_STYLES
    unknown = [s for s in styles if s not in known]
    if unknown:
        raise UserInputError(f"unknown {generator} chart style(s) {', '.join(unknown)}; choose from: {', '.join(known)}")
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    records = []
    index = 0
    with tqdm(total=n, desc="charts", disable=not progress) as bar:
        while len(records) < n:
            # the studio generator keeps its original RNG stream, so its earlier sets are drawn again unchanged
            rng = np.random.default_rng([seed, index] if generator == "studio" else [seed, index, 2])
            spec = make_spec(rng)
            stem = out / "images" / f"chart_{index:05d}"
            index += 1
            if styles and spec.style not in styles:
                continue
            existing = [p for p in (stem.with_suffix(".png"), stem.with_suffix(".jpg")) if p.exists()]
            image = existing[0] if existing else render(spec, stem)
            record = {"id": stem.name, "image": str(image.relative_to(out)), "style": spec.style,
                      "generator": generator, "theme": spec.theme, "jpeg": spec.jpeg_quality is not None,
                      "table": spec.table().linearize()}
            if isinstance(spec, PlainSpec) and len(spec.series) > 1:
                record["legend"] = spec.legend  # 'none': the picture never prints the series' names
            records.append(record)
            bar.update(1)
    gold = out / "gold.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in records))
    only = f" --styles {','.join(styles)}" if styles else ""
    (out / "README.txt").write_text(f"Synthetic charts: vmed data make-charts --out {out} --n {n} --seed {seed} "
                                    f"--generator {generator}{only}\n")
    return gold

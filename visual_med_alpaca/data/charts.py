"""Synthetic charts with gold tables: matplotlib draws a random table, the table is the answer key.

Ten generators (`GENERATORS`, the one list: `vmed data make-charts --generator` takes these names), so a score is
not the fit to one drawing style; the first two draw the held-out seeds, the other eight development pools only:
- `studio` (the first): vertical / horizontal bars, grouped, stacked, lines with and without markers,
  printed value labels, percent axes, light / dark / ggplot themes, legends inside or outside, JPEG.
- `plain`: matplotlib's own defaults and built-in styles (classic, bmh, fivethirtyeight, Solarize_Light2,
  grayscale, tableau-colorblind10, seaborn-v0_8-*, dark_background), legends where matplotlib puts them
  ('best', any corner, outside, none), value labels on or off, horizontal grouped / stacked bars, pies (named beside
  them or in a legend, percentages printed inside, beside the name or not at all),
  lines without markers, thousand-separated, percent and log axes, small and large pictures, JPEG.
A third, `survey`, draws what makes the survey-research charts of chartqa_dev hard (Pew's layouts; a development
pool only, never a held-out figure): no value axis at all, horizontal bars (stacked in tints of one or two hues,
single, or one column of bars per answer) with the values printed inside them, one legend row whose small square
swatches sit between the words (or the answers named above their columns), short first segments, category labels
wrapped over two or three lines, a bold two-line title, an italic question and notes under the chart.
A fourth, `ends` (round 17, a development pool only), draws OWID's and OECD's line charts: no legend, each line named
by a word beside its last point (OWID: in the line's colour; OECD: black in a white box), lines that cross.
A fifth, `trend` (round 40, a development pool only), draws Pew's trend charts: thick lines with round markers, every
point's value printed in its line's colour, series named by coloured words beside the lines, a value axis printing
only `0` and `100 %`; the gold holds the labelled years only.
A sixth, `thinned` (round 41, a development pool only), draws the plain generator's vertical bars and lines over 10-28
consecutive years, quarters ("Q1 '11") or months ("Jan '19") with a category label under every second or third point
only (Statista's long series); the gold lists every period.
A seventh, `pew` (round 53, a development pool only), draws Pew's horizontal stacked and diverging bars as the dev
half's Pew pictures show them: Pew's palettes (two to five answers, some with two pale shades under 45 apart), the
answers named above the first row (one row of swatches where the names would touch), values inside their segments (a
narrow end segment's beside the bar, the first row's with '%' or not), an optional bold `NET` column at the right,
wrapped row labels, rows in groups set apart (with bold sub-headings or not), never one text over another; the gold
holds the printed values, the answers (and `NET`) as its columns.
An eighth, `portal` (round 50, a development pool only), draws Statista's portal charts as the dev half's Statista
pictures show them: a white card with a column of grey tool buttons, `© Statista 2021`, `Additional Information` and
`Show source` under the plot, no title; Statista's blue bars (vertical or horizontal, 3-25 categories: years with
`2020*` estimates, quarters, months, countries, companies, age groups, long survey answers wrapped or slanted 45 / 90
degrees) with each value printed in bold at its bar, grouped and stacked bars and lines of 1-3 series (a dot and the
value at every point, grey bands behind every other category) with a legend of round swatches under the plot,
light grey gridlines, a rotated value-axis title, values with `,` or space thousands separators, decimals, `%` and
negatives, 20% JPEG; the gold is Statista's table (`Characteristic`, the value-axis title for one series).
A ninth, `kinds` (round 61, a development pool only), draws chart kinds Statista, Pew, OWID and OECD publish that the
other eight never draw, from general knowledge of those sites and the dev half's pictures: donut / ring charts (values
in the ring with a legend, or `Name: 12%` beside it; a centre total), area and stacked-area charts over 8-21 years
(a legend, or names at the right edge), Pew's dot plots (two coloured dots per row joined by a grey bar, the values
beside or above them, the two series named above the top row), lines without markers of 5-10 series with a legend
(inside or right of the plot), vertical bars with no value axis or a broken one (a break mark, the axis starting above
zero), bars with error whiskers, a map-like inset beside a small horizontal bar chart; a bold title with the value
title under it, a source line; 15% very wide and 15% very tall pictures, 20% JPEG. The gold is the table the site would
publish: `Characteristic` (or `Year`), then the value title for one series or the series' names, every year of an
area or line chart.
A tenth, `pewfig` (round 62, a development pool only; RNG stream 10), draws Pew's figures beyond stacked bars:
grouped horizontal bars with each value beside its bar, dot plots (each row's dots on a grey line, the lowest value
left of its dot, the highest right, a middle one above) and grouped columns with each value above, no value axis,
the series named in their colour beside the first row or in a row of swatches above; the gold holds the printed
values under the series' names.
Each chart is drawn from its own RNG (generator, seed, index), so a set is reproducible and an interrupted
run resumes where it stopped; a folder holding another generator's or seed's charts is refused (its make_charts.json,
written before the first chart, says which; a set drawn before that file existed, its README.txt), as its pictures
would be kept under the new gold tables.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..chart_table import Table
from ..errors import UserInputError
from .store import jsonl_rows

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
    """Write the figure as PNG, re-encoded as JPEG when the spec asks for it; return the path written.

    Both are written under a `.part` name first and renamed when whole: make_chart_set resumes by taking a chart
    whose file exists as drawn, so an interrupt must never leave a half-written file (or the PNG of a JPEG chart)."""
    import matplotlib.pyplot as plt

    png = path.with_name(path.name + ".part.png")
    fig.savefig(png)
    plt.close(fig)
    if spec.jpeg_quality is None:
        return png.replace(path.with_suffix(".png"))
    from PIL import Image

    jpg = path.with_name(path.name + ".part.jpg")
    Image.open(png).convert("RGB").save(jpg, quality=spec.jpeg_quality)
    png.unlink()
    return jpg.replace(path.with_suffix(".jpg"))


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
    label_every: int = 1  # (round 41, the `thinned` generator) a category label under every n-th point only
    label_offset: int = 0  # ... the first labelled point
    label_rotation: int = 0  # ... the labels' slant in degrees

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
            if spec.label_every > 1:  # the `thinned` generator: every point drawn, only every n-th one labelled
                for i, label in enumerate(ax.get_xticklabels()):
                    label.set_visible(i % spec.label_every == spec.label_offset)
                if spec.label_rotation:
                    ax.tick_params(axis="x", labelrotation=spec.label_rotation)
        if n_series > 1 and spec.legend != "none":
            if spec.legend == "outside":
                ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
            else:
                ax.legend(loc=spec.legend)
        ax.set_title(spec.title)
        fig.tight_layout()
        return _save(fig, spec, path)


# -- the third generator: survey-research charts (Pew's layouts) -------------------------------------------------
SURVEY_STYLES = ("stacked_h", "barh", "columns")
# how the answers are named: one legend row (swatch, then word) above the bars, or each word above its column
SURVEY_LEGENDS = ("row", "headings")
SURVEY_ANSWERS = [
    ["Frequently", "Sometimes", "Hardly ever", "Never"], ["Major", "Minor", "No arguments"], ["Oppose", "Support"],
    ["Not at all", "Not too", "Somewhat", "Very"], ["A great deal", "A fair amount", "Not too much", "Not at all"],
    ["Worse", "About the same", "Better"], ["Disapprove", "Approve"], ["Bad", "Good"], ["More", "About the same", "Less"],
    ["Mainly are incidents of individual misconduct", "Mainly reflect widespread problems in society"],
]
SURVEY_GROUPS = [
    ["Total", "Men", "Women"], ["Total", "Rep/Lean Rep", "Dem/Lean Dem"], ["Ages 18-29", "30-49", "50-64", "65+"],
    ["College grad+", "Some college", "HS or less"], ["White", "Black", "Hispanic", "Asian"],
    ["Seem obviously false or untrue", "Show people engaging in dangerous or troubling behavior",
     "Are abusive or demeaning toward others"],
    ["Negotiate favorable trade agreements", "Make good decisions about economic policy", "Use military force wisely",
     "Handle an international crisis", "Work effectively with Congress"],
    ["U.S.", "Germany", "France", "Japan", "Canada"], ["The news media", "Religious leaders", "The military",
                                                     "Large corporations", "Labor unions", "Banks and financial institutions"],
]
SURVEY_TITLES = ["Majority of U.S. adults say the {w} is often hard to judge", "Few Americans describe their {w} as major",
                 "Views of the {w} differ sharply by party", "Most say recent reports of {w} reflect broader problems"]
SURVEY_WORDS = ["economy", "news", "situation", "election", "health care system", "arguments"]
SURVEY_HUES = [(0.05, 0.30, 0.50), (0.65, 0.50, 0.10), (0.50, 0.56, 0.20), (0.55, 0.28, 0.10), (0.10, 0.45, 0.45)]


@dataclass
class SurveySpec(ChartSpec):
    legend: str = "row"  # one of SURVEY_LEGENDS (columns: always headings)
    legend_gap: float = 1.0  # the space between one legend entry and the next swatch, in widths of a space
    colours: tuple = ()  # one RGB per series
    group_gap: bool = False  # an empty row after the first category (Pew's 'Total' apart from the groups)
    first_percent: bool = True  # the top bar's first value printed with '%'


def _wrapped(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def random_survey_spec(rng: np.random.Generator) -> SurveySpec:
    style = str(rng.choice(SURVEY_STYLES))
    groups = SURVEY_GROUPS[int(rng.integers(len(SURVEY_GROUPS)))]
    n_cat = int(rng.integers(2, min(5, len(groups)) + 1))
    categories = groups[:n_cat]
    answers = SURVEY_ANSWERS[int(rng.integers(len(SURVEY_ANSWERS)))]
    if style == "barh":  # one answer's share, named by a heading over its bars (never a name the picture lacks)
        series = [answers[-1]]
    elif style == "columns":
        start = int(rng.integers(0, len(answers) - 1))
        series = answers[start:start + 2]
    else:
        series = list(answers)
    n_series = len(series)
    if style == "stacked_h":  # shares of 100 less a few 'no answer'; the first answer is often a short one
        weights = rng.dirichlet(np.full(n_series, 2.0), size=n_cat)
        if rng.random() < 0.5:
            weights[:, 0] *= 0.3
            weights /= weights.sum(axis=1, keepdims=True)
        values = weights * (100 - rng.integers(0, 7, size=(n_cat, 1)))
        values = np.maximum(values, 2)
    else:
        values = rng.uniform(8, 80, size=(n_cat, n_series))
    values = np.round(values, 0)
    hues = [SURVEY_HUES[i] for i in rng.choice(len(SURVEY_HUES), 2, replace=False)]
    if style == "stacked_h" and n_series >= 3 and rng.random() < 0.4:  # two hues, each in tints (diverging scale)
        half = n_series // 2
        tints = [np.linspace(0.0, 0.55, max(half, 1))[::-1], np.linspace(0.0, 0.55, n_series - half)]
        colours = [_tint(hues[0], t) for t in tints[0]] + [_tint(hues[1], t) for t in tints[1]]
    else:  # one hue, dark to light (or light to dark)
        tints = np.linspace(0.0, 0.75 if n_series > 1 else 0.0, n_series)
        colours = [_tint(hues[0], t) for t in (tints if rng.random() < 0.6 else tints[::-1])]
    if style == "barh" and rng.random() < 0.5:  # one colour per bar (a single series drawn in graded tints)
        colours = [_tint(hues[0], 0.0)]
    title = str(rng.choice(SURVEY_TITLES)).format(w=str(rng.choice(SURVEY_WORDS)))
    row_gap = float(rng.uniform(0.45, 0.7))  # inches per category row
    rows_in = row_gap * (n_cat + 1.2) + (row_gap if n_cat >= 3 else 0.0)
    return SurveySpec(
        style=style, theme="default", title=title, category_name="Entity", categories=list(categories), series=series,
        values=values, percent=False, decimals=0, legend_outside=False,
        jpeg_quality=int(rng.integers(70, 92)) if rng.random() < 0.15 else None,
        size=(float(rng.uniform(3.1, 4.4)), float(_survey_header_inches(title, style) + rows_in + 0.5)),
        legend="headings" if style == "columns" else _one_heading(style, str(rng.choice(SURVEY_LEGENDS))),
        legend_gap=float(rng.choice([0.5, 1.0, 2.0, 3.0])), colours=tuple(tuple(c) for c in colours),
        group_gap=bool(n_cat >= 3 and rng.random() < 0.4), first_percent=bool(rng.random() < 0.6),
    )


def _one_heading(style: str, drawn: str) -> str:
    """A single series (`barh`) is named by a heading over its bars, as the columns are; the legend drawn for it
    is kept only so that every later draw of the RNG stays as it was."""
    return "headings" if style == "barh" else drawn


def _survey_header_inches(title: str, style: str) -> float:
    """The height above the bars: the title's lines, the question's two lines, the legend or the headings."""
    return 0.2 * (_wrapped(title, 34).count("\n") + 1) + 0.45 + (0.5 if style in ("columns", "barh") else 0.3)


def _tint(rgb, t: float) -> tuple:
    """`rgb` mixed with white by `t` (0: the colour, 1: white)."""
    return tuple(float(c + (1.0 - c) * t) for c in rgb)


def _ink_on(rgb) -> str:
    return "white" if 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 0.55 else "#333333"


def draw_survey(spec: SurveySpec, path: Path) -> Path:
    """Render a `survey` chart: no axes, values printed inside the bars, answers named in one row or above them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n_cat, n_series = spec.values.shape
    fig = plt.figure(figsize=spec.size, dpi=100)
    title = fig.text(0.03, 0.985, _wrapped(spec.title, 34), fontsize=11.5, fontweight="bold", va="top", ha="left")
    width, height_in = spec.size
    fig.text(0.03, 0.985 - (0.2 * (title.get_text().count("\n") + 1) + 0.05) / height_in,
             _wrapped("% of U.S. adults who say they ___ about the " + spec.categories[0].lower(), 48),
             fontsize=8, style="italic", color="#666666", va="top", ha="left")
    fig.text(0.03, 0.015, "Note: Don't know responses not shown.\nSource: Survey of U.S. adults.\nSURVEY RESEARCH CENTER",
             fontsize=6, color="#777777", va="bottom", ha="left")
    bottom, top = 0.5 / height_in, 1.0 - (_survey_header_inches(spec.title, spec.style) + 0.05) / height_in
    ax = fig.add_axes((0.38, bottom, 0.58, top - bottom))
    rows = list(range(n_cat))
    y = np.array([-(i + (1 if spec.group_gap and i > 0 else 0)) for i in rows], float)
    height = 0.55
    ax.set_yticks(y, [_wrapped(c, 18) for c in spec.categories], fontsize=8)
    ax.tick_params(length=0)
    ax.set_xticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    total = spec.values.sum(axis=1).max() if spec.style == "stacked_h" else spec.values.max()
    column_width = total * 1.15  # columns: each answer its own column of bars
    heads = []
    for j in range(n_series):
        left = np.zeros(n_cat) if spec.style != "stacked_h" else spec.values[:, :j].sum(axis=1)
        if spec.style == "columns":
            left = np.full(n_cat, j * column_width)
        colour = spec.colours[j % len(spec.colours)]
        bar_colours = [colour] * n_cat
        if spec.style == "barh" and len(spec.colours) > 1:
            bar_colours = [spec.colours[i % len(spec.colours)] for i in rows]
        ax.barh(y, spec.values[:, j], height, left=left, color=bar_colours)
        for i in rows:
            value = f"{spec.values[i, j]:.0f}" + ("%" if spec.first_percent and i == 0 and j == 0 else "")
            ax.text(left[i] + spec.values[i, j] / 2, y[i], value, ha="center", va="center", fontsize=8,
                    color=_ink_on(bar_colours[i]))
        heads.append((left[0] + spec.values[0, j] / 2, colour))
    ax.set_xlim(0, column_width * n_series if spec.style == "columns" else total * 1.02)
    ax.set_ylim(y.min() - 0.6, 0.6)
    if spec.legend == "headings":  # each series (a single one too) named above its bars
        for (x, colour), name in zip(heads, spec.series):
            ax.text(x, 0.45, _wrapped(name, 14), ha="center", va="bottom", fontsize=8, fontweight="bold",
                    color=tuple(c * 0.8 for c in colour) if _ink_on(colour) == "white" else "#555555")
    elif n_series > 1:  # one row: a small square swatch, its word, a gap, the next swatch
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        box = ax.get_position()
        top = box.y1 + 0.15 / height_in
        size_w, size_h = 7 / (width * 100), 7 / (height_in * 100)
        space = 2.5 / (width * 100)
        words = [fig.text(0, top, name, fontsize=7.5, va="center", ha="left", color="#333333") for name in spec.series]
        widths = [w.get_window_extent(renderer).width / (width * 100) for w in words]
        x = max(0.02, min(box.x0 + 0.02, 0.98 - sum(widths) - n_series * (size_w + 0.01) - n_series * spec.legend_gap * space))
        for colour, word, w in zip(spec.colours, words, widths):
            fig.add_artist(Rectangle((x, top - size_h / 2), size_w, size_h, transform=fig.transFigure, color=colour))
            x += size_w + 1.5 / (width * 100)
            word.set_x(x)
            x += w + spec.legend_gap * space
    return _save(fig, spec, path)


# -- the fourth generator: line charts named at their line ends (OWID's and OECD's layouts) -------------------------
ENDS_STYLES = ("owid", "oecd")
ENDS_NAMES = [
    ["Botswana", "Nigeria", "Honduras", "American Samoa", "Tonga", "Jamaica", "Solomon Islands", "North Macedonia"],
    ["Belgium", "Mexico", "Australia", "Italy", "Chile", "South Africa", "Finland", "Georgia"],
    ["70+ years old", "50-69 years old", "Age-standardized", "15-49 years old", "All ages", "5-14 years old"],
    ["Western Asia", "Southern Africa", "Latin America", "Eastern Europe", "South Asia", "Oceania"],
]
ENDS_MEASURES = [  # (title, subtitle, y tick format, scale of the values)
    ("International tourism: Number of arrivals", "Overnight visitors who travel to a country whose main purpose in "
     "visiting is not commercial.", "thousands", 1_500_000.0),
    ("Country Programmable Aid (CPA) received", "Total annual country programmable aid received from all donors. "
     "This is measured in constant 2016 USD.", "usd_million", 300e6),
    ("Suicide death rate by age", "Death rates from suicide measured per 100,000 individuals across various age "
     "categories.", "plain", 60.0),
    ("Share of the population with access to electricity", "Access to electricity is defined as having an "
     "electricity source that can provide basic lighting.", "percent", 100.0),
    ("Saving rate", "Total, % of GDP", "plain", 12.0),
    ("Investment by sector", "Household, % of GFCF", "plain", 45.0),
]
# OWID's line colours (teal, purple, rust, navy, maroon, magenta) and OECD's (blue, red, purple, orange, green)
OWID_COLOURS = ["#00847e", "#6d3e91", "#c05917", "#3c4e66", "#883039", "#c15065", "#18470f"]
OECD_COLOURS = ["#1f9bd7", "#e3242b", "#8e3a8e", "#e0541d", "#6aa842"]


@dataclass
class EndsSpec(ChartSpec):
    subtitle: str = ""
    years: tuple = ()  # every year drawn (a marker each); `categories` are the years printed on the axis
    lines: np.ndarray | None = None  # (years, series): every drawn point
    y_format: str = "plain"  # how the value axis prints its ticks: plain, thousands, usd_million, percent
    colours: tuple = ()
    label_dy: tuple = ()  # OECD: each box's offset above its line's last point, in points


def random_ends_spec(rng: np.random.Generator) -> EndsSpec:
    style = str(rng.choice(ENDS_STYLES))
    oecd = style == "oecd"
    names = ENDS_NAMES[int(rng.integers(2)) if oecd else int(rng.integers(len(ENDS_NAMES)))]
    n_series = int(rng.integers(2, 6 if oecd else 7))
    series = [str(s) for s in rng.choice(names, n_series, replace=False)]
    title, subtitle, y_format, scale = ENDS_MEASURES[int(rng.integers(4, 6) if oecd else rng.integers(0, 4))]
    n_years = int(rng.integers(8, 24))
    first = int(rng.integers(1973, 2006 - n_years + 2))
    years = list(range(first, first + n_years))
    step = 2 if n_years <= 14 else 5 if oecd else 4
    printed = [y for y in years if (y - first) % step == 0]
    if years[-1] not in printed and not oecd:  # OWID prints the last year; OECD prints its own grid of years
        printed.append(years[-1])
    # random walks with a level each: lines cross, some lie close together
    levels = rng.uniform(0.15, 0.85, n_series) * scale
    steps = rng.normal(0, 0.045, size=(n_years, n_series)) * scale
    lines = np.clip(levels + np.cumsum(steps, axis=0) - steps[0], 0.03 * scale, scale)
    decimals = 0 if scale >= 1000 else 1
    lines = np.round(lines, decimals if scale < 1000 else -3)
    values = np.array([lines[years.index(y)] for y in printed])
    if y_format == "usd_million":  # every tick says `$N million`: the gold is in millions (dev 18143564004789: 236.11)
        values, decimals = values / 1e6, 3
    colours = [str(c) for c in rng.choice(OECD_COLOURS if oecd else OWID_COLOURS, n_series, replace=False)]
    return EndsSpec(
        style=style, theme="default", title=title if oecd else f"{title}, {years[0]} to {years[-1]}",
        category_name="Entity", categories=[str(y) for y in printed],
        series=series, values=values, percent=False, decimals=decimals, legend_outside=False,
        jpeg_quality=int(rng.integers(70, 92)) if rng.random() < 0.15 else None,
        size=(8.58, 5.07) if oecd else (8.5, float(rng.uniform(5.6, 6.2))),
        subtitle=f"{subtitle}, {years[0]} \u2013 {years[-1]}" if oecd else subtitle, years=tuple(years), lines=lines,
        y_format=y_format, colours=tuple(colours), label_dy=tuple(float(d) for d in rng.uniform(-2, 12, n_series)),
    )


def _ends_ticks(spec: EndsSpec):
    """A tick formatter as the source prints its value axis."""
    from matplotlib.ticker import FuncFormatter

    def owid(v, _):
        if spec.y_format == "thousands":
            return f"{v / 1e6:g} million" if v >= 1e6 else f"{v:,.0f}"
        if spec.y_format == "usd_million":
            return f"${v / 1e6:,.0f} million" if v else "$0"
        if spec.y_format == "percent":
            return f"{v:.0f}%"
        return f"{v:g}"

    return FuncFormatter(owid)


def _spread(positions: list[float], gap: float) -> list[float]:
    """Label heights (display units) pushed apart to at least `gap`, in their order, as the sources place them."""
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    placed = list(positions)
    for before, i in zip(order, order[1:]):
        placed[i] = max(placed[i], placed[before] + gap)
    return placed


def draw_ends(spec: EndsSpec, path: Path) -> Path:
    """Render an `ends` chart: lines named by words at their ends, no legend (OWID: the word in the line's colour
    right of its last point; OECD: a black word in a white box left of it, on a blue-grey plot area)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    oecd = spec.style == "oecd"
    width, height = spec.size
    fig = plt.figure(figsize=spec.size, dpi=100)
    years = np.array(spec.years, float)
    if oecd:
        head = fig.text(0.0, 0.985, spec.title, fontsize=14, family="DejaVu Serif", color="#333333", va="top")
        fig.canvas.draw()
        right = head.get_window_extent(fig.canvas.get_renderer()).x1 / (width * 100)
        fig.text(right + 0.012, 0.968, spec.subtitle, fontsize=7, fontweight="bold", color="#555555", va="top")
        fig.text(0.995, 0.968, "Source: National Accounts at a Glance", fontsize=7, fontweight="bold", color="#555555",
                 va="top", ha="right")
        ax = fig.add_axes((0.0, 0.07, 1.0, 0.82))
        ax.set_facecolor("#dde8f0")
        ax.grid(axis="y", color="white", linewidth=1.2)
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", direction="in", pad=-14, labelsize=7, length=0, labelcolor="#333333")
        ax.tick_params(axis="x", labelsize=7, length=3, labelcolor="#333333")
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
    else:
        lines_of = max(1, len(spec.subtitle) // 95 + 1)
        fig.text(0.02, 0.975, spec.title, fontsize=16,
                 family="DejaVu Serif", color="#444444", va="top")
        fig.text(0.02, 0.93, _wrapped(spec.subtitle, 95), fontsize=9.5, color="#666666", va="top")
        fig.patches.append(plt.Rectangle((0.915, 0.915), 0.07, 0.07, transform=fig.transFigure, color="#002147"))
        fig.text(0.95, 0.95, "Our World\nin Data", fontsize=7, color="white", ha="center", va="center")
        fig.text(0.02, 0.02, "Source: World Bank", fontsize=9, color="#777777")
        fig.text(0.98, 0.02, "OurWorldInData.org/data/ \u2022 CC BY", fontsize=9, color="#777777", ha="right")
        ax = fig.add_axes((0.14, 0.1, 0.67, 0.82 - 0.04 * lines_of))
        ax.grid(axis="y", color="#dddddd", linestyle="--")
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0, labelsize=11, labelcolor="#666666")
        ax.tick_params(axis="x", labelsize=11, labelcolor="#666666")
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_color("#999999")
    for j in range(len(spec.series)):
        ax.plot(years, spec.lines[:, j], color=spec.colours[j], linewidth=1.5 if oecd else 1.2, marker="o",
                markersize=4 if oecd else 2.5, zorder=3)
    ax.set_xticks([int(c) for c in spec.categories], spec.categories)
    top = spec.lines.max() * 1.08
    low = spec.lines.min()
    ax.set_ylim(0 if not oecd else max(0.0, low - 0.08 * (top - low)), top)
    ax.set_xlim(years[0] - 0.3, years[-1] + (0.6 if oecd else 0.3))
    ax.yaxis.set_major_formatter(_ends_ticks(spec))
    # the names at the line ends, pushed apart as the sources do so none overlaps another
    ends = [ax.transData.transform((years[-1], spec.lines[-1, j]))[1] for j in range(len(spec.series))]
    if oecd:
        ends = [e + dy * 100 / 72 for e, dy in zip(ends, spec.label_dy)]
    placed = _spread(ends, (20 if oecd else 15))
    to_data = ax.transData.inverted()
    for j, name in enumerate(spec.series):
        y = to_data.transform((0, placed[j]))[1]
        if oecd:
            ax.annotate(name, (years[-1], spec.lines[-1, j]), xytext=(years[-1] - 0.35, y), textcoords="data",
                        ha="right", va="center", fontsize=8, color="#222222", zorder=4,
                        bbox=dict(boxstyle="square,pad=0.35", fc="white", ec="#aaaaaa", lw=0.6),
                        arrowprops=dict(arrowstyle="-", color="#aaaaaa", lw=0.6))
        else:
            ax.annotate(name, (years[-1], y), xytext=(4, 0), textcoords="offset points", va="center",
                        fontsize=10.5, color=spec.colours[j], annotation_clip=False)
    return _save(fig, spec, path)


# -- the fifth generator: Pew's trend charts (round 40, a development pool only) --------------------------------------
TREND_STYLES = ("filled", "white")  # the round markers: filled in the line's colour, or white with a coloured rim
TREND_SERIES = [
    ["Satisfied", "Dissatisfied"], ["Democrat", "Republican"], ["Favorable", "Unfavorable"], ["Approve", "Disapprove"],
    ["Dem/Lean Dem", "Rep/Lean Rep"], ["Good", "Bad"], ["Better off", "Worse off", "Same"],
    ["Ages 18-29", "30-49", "50+"], ["Too far", "Not far enough", "About right"], ["U.S.", "China", "EU"],
]
TREND_TITLES = ["Since {y}, most Americans have been {w} with the economy", "Views of {w} remain divided",
                "Public's views of {w} over time", "Fewer say {w} is working well", "{w} ratings hold steady"]
TREND_WORDS = ["the country's direction", "NATO", "the UN", "trade", "the courts", "the news media", "Congress"]
# Pew's line colours: dark blue, olive, red, gold, teal, grey-brown
TREND_COLOURS = ["#1f5c8c", "#a39e3b", "#bf3a2b", "#d8a31a", "#4a8c9f", "#7a6a58"]


@dataclass
class TrendSpec(ChartSpec):
    subtitle: str = ""
    years: tuple = ()  # every year with a point; `categories` are the years printed on the axis
    lines: np.ndarray | None = None  # (years, series): every plotted point (its value printed beside it)
    colours: tuple = ()
    top: int = 100  # the value axis runs 0..top and prints only `0` and `{top} %`
    linewidth: float = 3.0
    markersize: float = 6.0
    name_at: tuple = ()  # each series' name: (index of the year it stands over, above (1) or below (-1) its line)


def random_trend_spec(rng: np.random.Generator) -> TrendSpec:
    style = str(rng.choice(TREND_STYLES))
    names = TREND_SERIES[int(rng.integers(len(TREND_SERIES)))]
    n_series = min(len(names), int(rng.integers(2, 4)))
    series = [str(s) for s in names[:n_series]]
    n_years = int(rng.integers(5, 18))
    step = 1 if n_years <= 9 and rng.random() < 0.5 else 2
    first = int(rng.integers(1990, 2019 - n_years + 2))
    years = list(range(first, first + n_years))
    printed = [y for y in years if (y - first) % step == 0]
    # random walks apart from each other: lines that cross now and then, values 3-92
    levels = rng.uniform(15, 75, n_series)
    steps = rng.normal(0, 6.0, size=(n_years, n_series))
    lines = np.round(np.clip(levels + np.cumsum(steps, axis=0) - steps[0], 3, 92), 0)
    top = 100 if lines.max() > 70 or rng.random() < 0.5 else 80
    values = np.array([lines[years.index(y)] for y in printed])
    colours = [str(c) for c in rng.choice(TREND_COLOURS, n_series, replace=False)]
    side = float(rng.uniform(3.5, 4.5))
    title = str(rng.choice(TREND_TITLES)).format(w=str(rng.choice(TREND_WORDS)), y=first + n_years // 2)
    return TrendSpec(
        style=style, theme="default", title=title[0].upper() + title[1:],
        category_name="Year", categories=[str(y) for y in printed], series=series, values=values, percent=False,
        decimals=0, legend_outside=False, jpeg_quality=int(rng.integers(70, 92)) if rng.random() < 0.15 else None,
        size=(side, float(np.clip(side + rng.uniform(-0.4, 0.4), 3.5, 4.5))),
        subtitle=str(rng.choice(["% who say they are ___ with", "% who have a favorable view of", "% who approve of"])),
        years=tuple(years), lines=lines, colours=tuple(colours), top=top,
        linewidth=float(rng.uniform(2.5, 3.5)), markersize=float(rng.uniform(5.0, 7.0)), name_at=_trend_names_at(lines, top),
    )


def _trend_names_at(lines: np.ndarray, top: int) -> tuple:
    """Where Pew puts each series' name: over an inner year, above or below its line, where the name stands
    farthest from every point of that year and from the names already placed."""
    n_years, n_series = lines.shape
    placed: list[tuple[int, float]] = []
    out = []
    for j in range(n_series):
        best = None
        for i in range(1, n_years - 1) if n_years > 2 else range(n_years):
            for sign in (1, -1):
                y = lines[i, j] + sign * 0.16 * top
                if not 0.06 * top <= y <= 0.94 * top:
                    continue
                clear = min(abs(y - v) for v in lines[max(0, i - 1):i + 2].ravel())
                clear = min([clear] + [abs(y - py) + 0.1 * top * abs(i - pi) for pi, py in placed])
                if best is None or clear > best[0]:
                    best = (clear, i, sign, y)
        if best is None:
            best = (0.0, n_years // 2, 1, lines[n_years // 2, j])
        placed.append((best[1], best[3]))
        out.append((best[1], best[2]))
    return tuple(out)


def draw_trend(spec: TrendSpec, path: Path) -> Path:
    """Render a `trend` chart (Pew's): thick lines with round markers, each point's value printed above or below it in
    the line's colour, each series named by a coloured word beside its line (no legend), a value axis that prints only
    `0` and the top (`100 %`), the years every one or two printed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width, height = spec.size
    fig = plt.figure(figsize=spec.size, dpi=100)
    title = fig.text(0.03, 0.985, _wrapped(spec.title, int(width * 9.5)), fontsize=10.5, fontweight="bold", va="top", ha="left",
                     color="#222222")
    lines_in = 0.19 * (title.get_text().count("\n") + 1)
    fig.text(0.03, 0.985 - (lines_in + 0.04) / height, spec.subtitle, fontsize=8, style="italic", color="#666666",
             va="top", ha="left")
    fig.text(0.03, 0.065, "Source: Survey of U.S. adults.", fontsize=6.5, color="#888888", va="bottom", ha="left")
    fig.text(0.03, 0.02, "PEW RESEARCH CENTER", fontsize=6.5, fontweight="bold", color="#444444", va="bottom")
    bottom, top = 0.62 / height, 1.0 - (lines_in + 0.45) / height
    ax = fig.add_axes((0.12, bottom, 0.83, top - bottom))
    years = np.array(spec.years, float)
    for j in range(len(spec.series)):
        face = "white" if spec.style == "white" else spec.colours[j]
        ax.plot(years, spec.lines[:, j], color=spec.colours[j], linewidth=spec.linewidth, marker="o",
                markersize=spec.markersize, markerfacecolor=face, markeredgewidth=1.5, zorder=3)
    for i in range(len(years)):
        column = spec.lines[i]
        for j, v in enumerate(column):
            above = v >= column.max() or (len(column) > 2 and v > column.min())
            ax.annotate(f"{v:.0f}", (years[i], v), xytext=(0, 7 if above else -7), textcoords="offset points",
                        ha="center", va="bottom" if above else "top", fontsize=7.5, color=spec.colours[j])
    for j, name in enumerate(spec.series):
        i, sign = spec.name_at[j]
        v = spec.lines[i, j]
        y = float(v + sign * 0.16 * spec.top)
        ax.text(years[i], y, name, ha="center", va="center", fontsize=8, fontweight="bold", color=spec.colours[j])
    ax.set_ylim(0, spec.top)
    ax.set_yticks([0, spec.top], ["0", f"{spec.top} %"])
    ax.set_xticks([int(c) for c in spec.categories], spec.categories)
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    ax.tick_params(axis="y", length=0, labelsize=8, labelcolor="#555555", pad=2)
    ax.tick_params(axis="x", length=3, labelsize=8, labelcolor="#444444", color="#999999")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#999999")
    return _save(fig, spec, path)


# -- the sixth generator: category labels under every other point (Statista's long lines and bars) -----------------
THINNED_STYLES = ("bar", "line", "line_markers")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _sequence(rng: np.random.Generator) -> tuple[str, list[str]]:
    """A long run of consecutive periods: years ('2005'), quarters ("Q1 '11") or months ("Jan '19")."""
    kind = str(rng.choice(["Year", "Quarter", "Month"]))
    if kind == "Year":
        start, n = int(rng.integers(1990, 2013)), int(rng.integers(10, 21))
        return kind, [str(start + i) for i in range(n)]
    first, n = int(rng.integers(2008, 2018)) * 4 + int(rng.integers(4)), int(rng.integers(12, 29))
    if kind == "Quarter":
        return kind, [f"Q{(q % 4) + 1} '{(q // 4) % 100:02d}" for q in range(first, first + n)]
    first = first * 3
    return kind, [f"{MONTHS[m % 12]} '{(m // 12) % 100:02d}" for m in range(first, first + min(n, 24))]


def random_thinned_spec(rng: np.random.Generator) -> PlainSpec:
    """(round 41, a development pool only) The plain generator's vertical bars and lines over 10-28 consecutive
    periods, a category label printed under every second (or third) point only, as Statista prints long series."""
    style = str(rng.choice(THINNED_STYLES))
    kind, categories = _sequence(rng)
    n_cat = len(categories)
    n_series = 1 if style == "bar" else int(rng.integers(1, 3))
    measure = str(rng.choice(MEASURES))
    series = [measure] if n_series == 1 else [str(s) for s in rng.choice(SERIES_NAMES, n_series, replace=False)]
    scale = float(rng.choice([10, 40, 100, 800]))
    walk = np.cumsum(rng.normal(0, 0.12, size=(n_cat, n_series)), axis=0) + rng.uniform(0.4, 0.7, size=n_series)
    values = np.clip(walk, 0.05, 1.5) * scale
    decimals = 1 if scale <= 10 else 0
    values = np.round(values, decimals)
    every = int(rng.choice([2, 2, 3]))
    return PlainSpec(
        style=style, theme=str(rng.choice(PLAIN_THEMES)), title=f"{measure} by {kind.lower()}", category_name=kind,
        categories=categories, series=series, values=values, percent=False, decimals=decimals, legend_outside=False,
        jpeg_quality=int(rng.integers(55, 90)) if rng.random() < 0.3 else None,
        size=(float(rng.uniform(8.0, 11.0)), float(rng.uniform(4.5, 6.5))), legend=str(rng.choice(LEGEND_PLACES[:-1])),
        value_labels=bool(rng.random() < 0.4), grid=bool(rng.random() < 0.4), dpi=int(rng.choice([72, 100, 100])),
        label_every=every, label_offset=int(rng.integers(every)), label_rotation=int(rng.choice([0, 0, 45, 90])),
    )


# -- the seventh generator: Pew's stacked and diverging horizontal bars (round 53) ----------------------------------
PEW_STYLES = ("stacked", "diverging")
PEW_ANSWERS = {  # answer scales, first to last as Pew orders them left to right
    2: [["Oppose", "Support"], ["Bad", "Good"], ["Unfavorable", "Favorable"], ["Disapprove", "Approve"],
        ["Oppose", "Favor"], ["Worse off", "Better off"]],
    3: [["More", "About the same", "Less"], ["Major", "Minor", "No arguments"], ["Too much", "About right", "Too little"],
        ["Better", "About the same", "Worse"]],
    4: [["Frequently", "Sometimes", "Hardly ever", "Never"], ["Not at all", "Not too", "Somewhat", "Very"],
        ["A great deal", "A fair amount", "Not too much", "None at all"], ["Excellent", "Good", "Only fair", "Poor"],
        ["Strongly disagree", "Disagree", "Agree", "Strongly agree"], ["Very unfavorable", "Mostly unfavorable",
                                                                        "Mostly favorable", "Very favorable"]],
    5: [["Very", "Somewhat", "Not too", "Not at all", "Not sure"], ["A lot", "Some", "Not much", "None at all",
                                                                     "No answer"],
        ["Extremely", "Very", "Somewhat", "Not too", "Not at all"]],
}
# Pew's palettes, measured on the dev half's pictures (4393, 4027, 7780, 1319, 9814, 4300) and extended to five
# answers; several hold two pale shades under 45 apart (4393's (198,217,241) and (217,217,217))
PEW_PALETTES = {
    2: [((0, 102, 153), (148, 157, 72)), ((234, 158, 44), (148, 157, 72)), ((209, 167, 48), (227, 202, 131)),
        ((31, 73, 125), (85, 142, 213)), ((191, 57, 39), (236, 171, 162))],
    3: [((148, 157, 72), (220, 216, 199), (31, 73, 125)), ((209, 167, 48), (227, 202, 131), (246, 237, 214)),
        ((31, 73, 125), (85, 142, 213), (198, 217, 241)), ((31, 73, 125), (198, 217, 241), (217, 217, 217))],
    4: [((31, 73, 125), (85, 142, 213), (198, 217, 241), (217, 217, 217)),
        ((233, 220, 177), (222, 201, 140), (203, 168, 72), (153, 126, 53)),
        ((153, 126, 53), (203, 168, 72), (222, 201, 140), (233, 220, 177)),
        ((31, 73, 125), (85, 142, 213), (222, 201, 140), (153, 126, 53))],
    5: [((31, 73, 125), (85, 142, 213), (156, 189, 228), (198, 217, 241), (217, 217, 217)),
        ((153, 126, 53), (203, 168, 72), (222, 201, 140), (233, 220, 177), (217, 217, 217))],
}
PEW_ROW_GROUPS = [("Gender", ["Men", "Women"]), ("Age", ["Ages 18-29", "30-49", "50-64", "65+"]),
                  ("Race", ["White", "Black", "Hispanic"]), ("Party", ["Rep/Lean Rep", "Dem/Lean Dem"]),
                  ("Education", ["College grad+", "Some college", "HS or less"])]
PEW_ITEMS = [
    ["Negotiate favorable trade agreements with other countries", "Make good decisions about economic policy",
     "Use military force wisely", "Handle an international crisis", "Manage the executive branch effectively",
     "Work effectively with Congress"],
    ["Seem obviously false or untrue", "Show people engaging in dangerous or troubling behavior",
     "Are abusive or demeaning toward others", "Are aimed at children"],
    ["U.S.", "China", "Germany", "Japan", "Russia", "France", "Canada"],
    ["Military", "Police", "National gov't", "Religious leaders", "Court system", "Media"],
    ["The news media", "Scientists", "Large corporations", "Labor unions", "Banks and financial institutions"],
]
PEW_TITLES = ["Majority of Americans say the {w} is often hard to judge", "Public more confident on {w} than on Congress",
              "Views of the {w} differ sharply by party", "Few describe the {w} as major",
              "Americans see the {w} harming global influence"]
PEW_WORDS = ["economy", "news", "coronavirus outbreak", "election", "health care system", "trade"]


@dataclass
class PewSpec(ChartSpec):
    colours: tuple = ()  # one RGB (0-255) per answer
    row_groups: tuple = ()  # (sub-heading or '', number of rows) in order; rows of consecutive groups sit apart
    net: bool = False  # a bold `NET` column at the right: the sum of the right half's (stacked: the first two) answers
    values_outside: bool = False  # diverging, two answers: each value beside its bar's outer end (Pew 9814)
    first_row_percent: bool = False  # the first row's values printed with '%'
    label_inches: float = 1.3  # the row labels' column
    dpi: int = 100

    def net_values(self) -> np.ndarray:
        k = self.values.shape[1]
        part = self.values[:, k // 2:] if self.style == "diverging" else self.values[:, :2]
        return part.sum(axis=1)

    def table(self) -> Table:
        series = list(self.series) + (["NET"] if self.net else [])
        nets = self.net_values()
        rows = [[cat] + [f"{v:.0f}" for v in self.values[i]] + ([f"{nets[i]:.0f}"] if self.net else [])
                for i, cat in enumerate(self.categories)]
        return Table(self.title, [self.category_name] + series, rows)


def random_pew_spec(rng: np.random.Generator) -> PewSpec:
    style = str(rng.choice(PEW_STYLES))
    k = int(rng.choice([2, 4])) if style == "diverging" else int(rng.choice([2, 3, 3, 4, 4, 5]))
    answers = PEW_ANSWERS[k][int(rng.integers(len(PEW_ANSWERS[k])))]
    colours = PEW_PALETTES[k][int(rng.integers(len(PEW_PALETTES[k])))]
    if rng.random() < 0.5:  # demographic rows: Total, then one or two groups set apart
        picks = rng.choice(len(PEW_ROW_GROUPS), int(rng.integers(1, 3)), replace=False)
        groups = [("", ["Total"])] + [PEW_ROW_GROUPS[int(p)] for p in picks]
        headed = bool(rng.random() < 0.35)
        row_groups = tuple((name if headed else "", len(rows)) for name, rows in groups)
        categories = [r for _, rows in groups for r in rows]
    else:
        items = PEW_ITEMS[int(rng.integers(len(PEW_ITEMS)))]
        n = int(rng.integers(2, min(6, len(items)) + 1))
        categories = list(items[:n])
        row_groups = (("", n),)
    n_cat = len(categories)
    weights = rng.dirichlet(np.full(k, 2.0), size=n_cat)
    values = weights * (100 - rng.integers(0, 7, size=(n_cat, 1)))
    low = np.full(k, 8.0)
    low[0] = low[-1] = 2.0  # a narrow end segment's value is printed beside the bar
    values = np.round(np.maximum(values, low), 0)
    title = str(rng.choice(PEW_TITLES)).format(w=str(rng.choice(PEW_WORDS)))
    longest = max(len(c) for c in categories)
    label_inches = float(np.clip(longest * 0.065, 0.6, 1.5)) if longest <= 22 else float(rng.uniform(1.2, 1.6))
    return PewSpec(
        style=style, theme="pew", title=title, category_name="Entity", categories=categories, series=list(answers),
        values=values, percent=False, decimals=0, legend_outside=False,
        jpeg_quality=int(rng.integers(75, 92)) if rng.random() < 0.1 else None,
        size=(float(rng.uniform(3.1, 4.6)), 0.0), colours=tuple(tuple(int(v) for v in c) for c in colours),
        row_groups=row_groups, net=bool(k >= 3 and rng.random() < 0.35),
        values_outside=bool(style == "diverging" and k == 2 and rng.random() < 0.4),
        first_row_percent=bool(rng.random() < 0.5), label_inches=label_inches, dpi=int(rng.choice([100, 100, 150, 200])),
    )


def _pew_rows(spec: PewSpec) -> tuple[list[float], list[tuple[str, float]], float]:
    """Each row's centre (inches below the first heading), the sub-headings' positions, and the rows' total height."""
    centres, headings, y = [], [], 0.0
    for g, (name, count) in enumerate(spec.row_groups):
        if g:
            y += 0.2
        if name:
            headings.append((name, y + 0.1))
            y += 0.22
        for i in range(count):
            lines = _wrapped(spec.categories[len(centres)], _pew_label_chars(spec)).count("\n") + 1
            height = max(0.36, 0.14 * lines + 0.12)
            centres.append(y + height / 2)
            y += height
    return centres, headings, y


def _pew_label_chars(spec: PewSpec) -> int:
    return max(8, int(spec.label_inches / 0.068))


def draw_pew(spec: PewSpec, path: Path) -> Path:
    """Render a `pew` chart: answers named above the first row (or in one swatch row where the names would touch),
    values inside their segments (a narrow end segment's beside the bar), rows in groups, no axes."""
    return _in_reference_font(_draw_pew, spec, path)


def _text_inches(renderer, dpi: int, s: str, size: float, bold: bool = False) -> float:
    """How wide `s` is drawn, in inches, at `size` points (bold or not)."""
    from matplotlib.font_manager import FontProperties

    w, _, _ = renderer.get_text_width_height_descent(s, FontProperties(size=size, weight="bold" if bold else "normal"),
                                                     ismath=False)
    return w / dpi


def _in_reference_font(draw_with, spec, path: Path) -> Path:
    """draw_with(spec, path) under matplotlib's Agg backend with Liberation Sans first (the pew and pewfig generators)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context({"font.family": "sans-serif", "font.sans-serif": [REFERENCE_FONT, "DejaVu Sans"]}):
        return draw_with(spec, path)


def _draw_pew(spec: PewSpec, path: Path) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n_cat, k = spec.values.shape
    rgb = [tuple(c / 255 for c in colour) for colour in spec.colours]
    title_text = _wrapped(spec.title, 36)
    question = _wrapped("% who say they are ___ about the " + spec.title.split()[-1].lower() + " ...", 52)
    top = 0.08 + 0.21 * (title_text.count("\n") + 1) + 0.16 * (question.count("\n") + 1) + 0.08
    head = 0.42  # the answers' headings (or the swatch row) above the first row
    centres, subheads, rows_height = _pew_rows(spec)
    width = spec.size[0]
    net_inches = 0.42 if spec.net else 0.0
    left_in = 0.1 + spec.label_inches + 0.3  # where the bars' region starts (a gap for a narrow first value)
    span = width - left_in - 0.35 - net_inches
    if span < 2.0:
        width += 2.0 - span
        span = 2.0
    height = top + head + rows_height + 0.7
    fig = plt.figure(figsize=(width, height), dpi=spec.dpi)
    renderer = fig.canvas.get_renderer()
    fig.text(0.1 / width, 1 - 0.08 / height, title_text, fontsize=11, fontweight="bold", va="top", ha="left")
    fig.text(0.1 / width, 1 - (0.1 + 0.21 * (title_text.count("\n") + 1)) / height, question, fontsize=8,
             style="italic", color="#666666", va="top", ha="left")
    fig.text(0.1 / width, 0.2 / height, "Note: Don't know responses not shown.\nSource: Survey of U.S. adults.",
             fontsize=6.5, color="#888888", va="bottom", ha="left")
    fig.text(0.1 / width, 0.02 / height, "PEW RESEARCH CENTER", fontsize=6.5, fontweight="bold", va="bottom", ha="left")
    y0 = top + head  # inches from the top where the rows start

    def fy(inches_from_top: float) -> float:
        return 1 - inches_from_top / height

    def text_width(s: str, size: float, bold: bool = False) -> float:  # inches
        return _text_inches(renderer, spec.dpi, s, size, bold)

    if spec.style == "diverging":
        lefts = spec.values[:, :k // 2].sum(axis=1)
        rights = spec.values[:, k // 2:].sum(axis=1)
        lo, hi = float(lefts.max()), float(rights.max())
        scale = span / (lo + hi + 24.0)  # inches per point of percent; room for values beside the ends
        zero = left_in + (lo + 12.0) * scale
        starts = zero - lefts * scale
    else:
        totals = spec.values.sum(axis=1)
        scale = span / float(totals.max() + 12.0)
        starts = np.full(n_cat, left_in)
    bar_h = 0.26
    segment_x = np.zeros((n_cat, k))
    ends = np.zeros(n_cat)
    for i in range(n_cat):
        x = starts[i]
        for j in range(k):
            w = spec.values[i, j] * scale
            fig.add_artist(Rectangle((x / width, fy(y0 + centres[i] + bar_h / 2)), w / width, bar_h / height,
                                     transform=fig.transFigure, color=rgb[j], linewidth=0))
            segment_x[i, j] = x + w / 2
            text = f"{spec.values[i, j]:.0f}" + ("%" if spec.first_row_percent and i == 0 else "")
            size = 8.0
            if spec.values_outside:
                place, ha = (x - 0.04, "right") if j == 0 else (x + w + 0.04, "left")
            elif text_width(text, size) + 0.03 <= w:
                place, ha = x + w / 2, "center"
            elif j == k - 1:
                place, ha = x + w + 0.04, "left"
            elif j == 0:
                place, ha = x - 0.04, "right"
            else:  # a middle segment narrower than its value (rare: at least 8 points): a smaller font
                size, place, ha = 6.0, x + w / 2, "center"
            inside = ha == "center"
            fig.text(place / width, fy(y0 + centres[i]), text, fontsize=size, ha=ha, va="center",
                     color=_ink_on(rgb[j]) if inside else "#333333")
            x += w
        ends[i] = x
    label_x = (0.1 + spec.label_inches) / width
    for i, category in enumerate(spec.categories):
        fig.text(label_x, fy(y0 + centres[i]), _wrapped(category, _pew_label_chars(spec)), fontsize=8, ha="right",
                 va="center", color="#333333", linespacing=1.1)
    for name, at in subheads:
        fig.text(0.1 / width, fy(y0 + at), name, fontsize=8, fontweight="bold", ha="left", va="center", color="#111111")
    net_x = width - 0.12 - net_inches / 2
    if spec.net:
        for i, value in enumerate(spec.net_values()):
            fig.text(net_x / width, fy(y0 + centres[i]), f"{value:.0f}", fontsize=8, fontweight="bold", ha="center",
                     va="center", color="#222222")
    # the answers' headings above the first row, centred on its segments; a swatch row where two would touch
    names = [_wrapped(s, 13) for s in spec.series]
    widths = [max(text_width(line, 7.5, bold=True) for line in n.split("\n")) for n in names]
    centres_x = list(segment_x[0])
    boxes = sorted((c - w / 2, c + w / 2) for c, w in zip(centres_x, widths))
    if spec.net:
        boxes.append((net_x - text_width("NET", 7.5, True) / 2, net_x + text_width("NET", 7.5, True) / 2))
        boxes.sort()
    clear = all(b[0] - a[1] >= 0.06 for a, b in zip(boxes, boxes[1:])) and boxes[0][0] >= label_x * width + 0.05 \
        and boxes[-1][1] <= width - 0.05
    head_y = fy(y0 - 0.06)
    if clear:
        for c, name in zip(centres_x, names):
            fig.text(c / width, head_y, name, fontsize=7.5, fontweight="bold", ha="center", va="bottom",
                     color="#333333", linespacing=1.05)
    else:  # one row of small squares and words from the bars' left; a second line where the row is full
        x, line = left_in, 0
        for colour, name in zip(rgb, spec.series):
            need = 0.11 + text_width(name, 7.5) + 0.12
            if x + need > width - 0.05 and x > left_in:
                x, line = left_in, line + 1
            yy = y0 - 0.12 - 0.17 * (1 - line)
            fig.add_artist(Rectangle((x / width, fy(yy + 0.04)), 0.08 / width, 0.08 / height,
                                     transform=fig.transFigure, color=colour, linewidth=0))
            fig.text((x + 0.11) / width, fy(yy), name, fontsize=7.5, ha="left", va="center", color="#333333")
            x += need
    if spec.net:
        fig.text(net_x / width, head_y, "NET", fontsize=7.5, fontweight="bold", ha="center", va="bottom", color="#333333")
    return _save(fig, spec, path)


# -- the tenth generator: Pew's figures beyond stacked bars (round 62, a development pool only) -------------------------
PEWFIG_STYLES = ("grouped_h", "dots", "columns")
PEWFIG_SERIES = [["2017", "2018"], ["2019", "2020"], ["2002", "2012", "2018"], ["Rep/Lean Rep", "Dem/Lean Dem"],
                 ["Men", "Women"], ["Ages 18-29", "Ages 50+"], ["U.S.", "Median"], ["Adults", "Teens"],
                 ["White", "Black", "Hispanic"], ["Favorable", "Unfavorable"]]
PEWFIG_ROWS = [["U.S.", "Canada", "Mexico", "Brazil", "Germany", "France", "UK", "Italy", "Spain", "Japan", "India"],
               ["Sweden", "Netherlands", "Poland", "Hungary", "Greece", "Russia", "Turkey", "Israel"],
               ["Economy", "Health care", "Immigration", "Climate change", "Terrorism", "Gun policy", "Education"],
               ["Total", "Men", "Women", "Ages 18-29", "30-49", "50-64", "65+"],
               ["Use social media", "Own a smartphone", "Have home broadband", "Read a print book", "Play video games"],
               ["Scientists", "The military", "Religious leaders", "The news media", "Business leaders",
                "Elected officials"]]
PEWFIG_TITLES = ["Views of {w} have grown more positive", "Partisan gap on {w} widens", "Most see {w} as a major threat",
                 "Younger adults more likely to say {w} matters", "Ratings of {w} vary widely across countries"]
PEWFIG_WORDS = ["the U.S.", "the economy", "climate change", "trade", "the UN", "China", "the news media"]
# Pew's series colours, dark and light of one hue or two hues (measured on the pew generator's palettes)
PEWFIG_PALETTES = [((31, 73, 125), (85, 142, 213), (198, 217, 241)), ((153, 126, 53), (222, 201, 140), (233, 220, 177)),
                   ((0, 102, 153), (148, 157, 72), (209, 167, 48)), ((191, 57, 39), (31, 73, 125), (148, 157, 72)),
                   ((234, 158, 44), (0, 102, 153), (120, 120, 120))]


@dataclass
class PewFigSpec(ChartSpec):
    colours: tuple = ()  # one RGB (0-255) per series
    names_beside: bool = False  # series named in their colour beside the first row (else a row of swatches above)
    first_row_percent: bool = False  # the first row's (first column's) values printed with '%'
    dpi: int = 100

    def table(self) -> Table:
        rows = [[cat] + [f"{v:.0f}" for v in self.values[i]] for i, cat in enumerate(self.categories)]
        return Table(self.title, [self.category_name] + self.series, rows)


def random_pewfig_spec(rng: np.random.Generator) -> PewFigSpec:
    style = str(rng.choice(PEWFIG_STYLES))
    series = list(PEWFIG_SERIES[int(rng.integers(len(PEWFIG_SERIES)))])
    if style != "dots" and len(series) == 3 and rng.random() < 0.5:
        series = series[1:]
    k = len(series)
    if style == "columns" and rng.random() < 0.5:  # years along the bottom, the series side by side
        start = int(rng.integers(2004, 2014))
        step = int(rng.choice([1, 2, 3]))
        categories = [str(start + step * i) for i in range(int(rng.integers(3, 6)))]
        category_name = "Year"
    else:
        rows = PEWFIG_ROWS[int(rng.integers(len(PEWFIG_ROWS)))]
        n = int(rng.integers(3, min(6 if style == "columns" else 9, len(rows)) + 1))
        categories = [rows[int(i)] for i in sorted(rng.choice(len(rows), n, replace=False))]
        category_name = "Entity"
    n_cat = len(categories)
    values = np.round(rng.uniform(5, 92, size=(n_cat, k)), 0)
    if style == "dots":  # the dots of a row stand apart (values printed beside them, Pew's dot plots)
        for i in range(n_cat):
            while np.min(np.diff(np.sort(values[i]))) < 9:
                values[i] = np.round(rng.uniform(5, 92, size=k), 0)
    palette = PEWFIG_PALETTES[int(rng.integers(len(PEWFIG_PALETTES)))]
    title = str(rng.choice(PEWFIG_TITLES)).format(w=str(rng.choice(PEWFIG_WORDS)))
    return PewFigSpec(
        style=style, theme="pew", title=title, category_name=category_name, categories=categories, series=series,
        values=values, percent=False, decimals=0, legend_outside=False,
        jpeg_quality=int(rng.integers(75, 92)) if rng.random() < 0.1 else None,
        size=(float(rng.uniform(3.4, 4.8)), 0.0), colours=tuple(tuple(int(v) for v in c) for c in palette[:k]),
        names_beside=bool(rng.random() < 0.5), first_row_percent=bool(rng.random() < 0.4),
        dpi=int(rng.choice([100, 100, 150, 200])),
    )


def draw_pewfig(spec: PewFigSpec, path: Path) -> Path:
    """Render a `pewfig` chart: grouped horizontal bars with each value beside its bar, a dot plot with each value
    beside its dot, or grouped columns with each value above; no value axis; Pew's title, question and footer."""
    return _in_reference_font(_draw_pewfig, spec, path)


def _draw_pewfig(spec: PewFigSpec, path: Path) -> Path:
    import textwrap

    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse, Rectangle

    n_cat, k = spec.values.shape
    rgb = [tuple(c / 255 for c in colour) for colour in spec.colours]
    width = spec.size[0]
    title_text = _wrapped(spec.title, int(width * 8.5))
    question = _wrapped("% of adults who say ...", int(width * 12))
    top = 0.08 + 0.21 * (title_text.count("\n") + 1) + 0.16 * (question.count("\n") + 1) + 0.1
    head = 0.3  # the legend above the plot
    horizontal = spec.style != "columns"
    if horizontal:
        row_h = 0.16 * k + 0.16 if spec.style == "grouped_h" else 0.34
        plot_h = row_h * n_cat
    else:
        plot_h = 1.9
    height = top + head + plot_h + 0.55 + (0.0 if horizontal else 0.5)
    fig = plt.figure(figsize=(width, height), dpi=spec.dpi)
    renderer = fig.canvas.get_renderer()

    def fy(inches_from_top: float) -> float:
        return 1 - inches_from_top / height

    def text_width(s: str, size: float, bold: bool = False) -> float:  # inches
        return _text_inches(renderer, spec.dpi, s, size, bold)

    fig.text(0.1 / width, fy(0.08), title_text, fontsize=11, fontweight="bold", va="top", ha="left")
    fig.text(0.1 / width, fy(0.1 + 0.21 * (title_text.count("\n") + 1)), question, fontsize=8, style="italic",
             color="#666666", va="top", ha="left")
    fig.text(0.1 / width, 0.2 / height, "Source: Survey conducted in 2018.", fontsize=6.5, color="#888888",
             va="bottom", ha="left")
    fig.text(0.1 / width, 0.02 / height, "PEW RESEARCH CENTER", fontsize=6.5, fontweight="bold", va="bottom", ha="left")
    y0 = top + head

    def value_text(i: int, j: int) -> str:
        first = (i == 0) if horizontal else (i == 0 and j == 0)
        return f"{spec.values[i, j]:.0f}" + ("%" if spec.first_row_percent and first else "")

    label_in = max(text_width(c, 8) for c in spec.categories) + 0.15 if horizontal else 0.3
    left = 0.1 + label_in
    span = width - left - 0.45
    scale = span / 100.0  # inches per point
    anchors = []  # where each series of the first row stands (x inches, y inches from top), for its name
    if horizontal:
        for i, category in enumerate(spec.categories):
            centre = y0 + row_h * (i + 0.5)
            fig.text((left - 0.08) / width, fy(centre), category, fontsize=8, ha="right", va="center", color="#333333")
            if spec.style == "grouped_h":
                bar_h = 0.15
                for j in range(k):
                    yc = centre + (j - (k - 1) / 2) * bar_h
                    w = spec.values[i, j] * scale
                    fig.add_artist(Rectangle((left / width, fy(yc + bar_h * 0.45)), w / width, bar_h * 0.9 / height,
                                             transform=fig.transFigure, color=rgb[j], linewidth=0))
                    fig.text((left + w + 0.04) / width, fy(yc), value_text(i, j), fontsize=7, ha="left", va="center",
                             color="#333333")
                    if i == 0:
                        anchors.append((left + w + 0.04 + text_width(value_text(i, j), 7) + 0.08, yc))
            else:  # dots on a thin grey line; the lowest value left of its dot, the highest right, others above
                fig.add_artist(Rectangle((left / width, fy(centre + 0.007)), span / width, 0.014 / height,
                                         transform=fig.transFigure, color="#d0d0d0", linewidth=0))
                order = np.argsort(spec.values[i])
                for rank, j in enumerate(order):
                    x = left + spec.values[i, j] * scale
                    fig.add_artist(Ellipse((x / width, fy(centre)), 0.11 / width, 0.11 / height,
                                           transform=fig.transFigure, color=rgb[j], linewidth=0))
                    if rank == 0:
                        place, ha, yy = x - 0.08, "right", centre
                    elif rank == k - 1:
                        place, ha, yy = x + 0.08, "left", centre
                    else:
                        place, ha, yy = x, "center", centre - 0.13
                    fig.text(place / width, fy(yy), value_text(i, int(j)), fontsize=7, ha=ha, va="center",
                             color=tuple(c * 0.8 for c in rgb[j]),
                             bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none"))
                if i == 0:
                    anchors = [(left + spec.values[0, j] * scale, centre) for j in range(k)]
    else:
        base = y0 + plot_h
        slot = (width - 0.5) / n_cat
        col_w = min(0.28, slot * 0.8 / k)
        biggest = float(spec.values.max())
        for i, category in enumerate(spec.categories):
            cx = 0.3 + slot * (i + 0.5)
            fig.text(cx / width, fy(base + 0.08), "\n".join(textwrap.wrap(category, max(4, int(slot / 0.075)), break_long_words=False)), fontsize=8,
                     ha="center", va="top", color="#333333", linespacing=1.05)
            for j in range(k):
                x = cx + (j - k / 2) * col_w
                h = spec.values[i, j] / biggest * (plot_h - 0.25)
                fig.add_artist(Rectangle((x / width, fy(base)), col_w * 0.92 / width, h / height,
                                         transform=fig.transFigure, color=rgb[j], linewidth=0))
                fig.text((x + col_w * 0.46) / width, fy(base - h - 0.03), value_text(i, j), fontsize=6.5 if k == 3 else 7,
                         ha="center", va="bottom", color="#333333")
        fig.add_artist(Rectangle((0.25 / width, fy(base + 0.004)), (width - 0.4) / width, 0.008 / height,
                                 transform=fig.transFigure, color="#999999", linewidth=0))
    # the series' names: bold, in their colour, above the first row's dots (dots) or right of the first row's bars
    # (grouped_h) where they fit clear of each other; else one row of small squares and words above the plot
    beside = spec.names_beside and spec.style != "columns"
    if beside and spec.style == "grouped_h":
        beside = all(x + text_width(name, 7, True) <= width - 0.05 for (x, _), name in zip(anchors, spec.series))
    if beside and spec.style == "dots":
        boxes = sorted((x - text_width(n, 7, True) / 2, x + text_width(n, 7, True) / 2)
                       for (x, _), n in zip(anchors, spec.series))
        beside = all(b[0] - a[1] >= 0.06 for a, b in zip(boxes, boxes[1:])) and boxes[0][0] >= left - 0.05 \
            and boxes[-1][1] <= width - 0.05
    if beside:
        for (x, yy), name, colour in zip(anchors, spec.series, rgb):
            if spec.style == "grouped_h":
                fig.text(x / width, fy(yy), name, fontsize=7, fontweight="bold", ha="left", va="center", color=colour)
            else:
                fig.text(x / width, fy(y0 - 0.04), name, fontsize=7, fontweight="bold", ha="center", va="bottom",
                         color=colour)
    else:
        x = left if horizontal else 0.3
        for colour, name in zip(rgb, spec.series):
            fig.add_artist(Rectangle((x / width, fy(y0 - 0.1)), 0.08 / width, 0.08 / height, transform=fig.transFigure,
                                     color=colour, linewidth=0))
            fig.text((x + 0.11) / width, fy(y0 - 0.14), name, fontsize=7.5, ha="left", va="center", color="#333333")
            x += 0.11 + text_width(name, 7.5) + 0.15
    return _save(fig, spec, path)


# -- the eighth generator: Statista's portal charts (round 50, a development pool only) ---------------------------------
PORTAL_STYLES = ("bar", "barh", "grouped", "stacked", "line")
# Statista's series colours: its blue, a near-black navy, grey, red, green, yellow
PORTAL_COLOURS = ["#2876dd", "#0f1e33", "#a5a5a5", "#c1161c", "#8dc43a", "#f0b323"]
# value-axis titles (the gold's column for one series): (title, percent, scale, negatives allowed)
PORTAL_MEASURES = [
    ("Revenue in million U.S. dollars", False, 5000, False), ("Share of respondents", True, 80, False),
    ("Number of users in millions", False, 400, False), ("Sales in billion euros", False, 60, False),
    ("Unemployment rate", True, 25, False), ("Index score on a scale from 0 to 100", False, 100, False),
    ("Number of visitors in thousands", False, 20000, False), ("Market share", True, 60, False),
    ("Year-on-year change", True, 12, True), ("Population in millions", False, 300, False),
    ("Average price in U.S. dollars", False, 40, False), ("Number of employees", False, 90000, False),
    ("Percentage of GDP", True, 8, False), ("GDP growth rate", True, 6, True),
    ("Production in thousand metric tons", False, 3000, False), ("Net income in million euros", False, 900, True),
    ("Turnover in million GBP", False, 12000, False), ("Number of stores", False, 1500, False),
    ("Transport volume in million tonne-kilometers", False, 25000, False), ("Inflation rate", True, 5, True),
]
PORTAL_COUNTRIES = ["United States", "China", "Germany", "United Kingdom", "France", "Japan", "India", "Brazil", "Italy",
                    "Canada", "South Korea", "Russia", "Australia", "Spain", "Mexico", "Indonesia", "Netherlands",
                    "Saudi Arabia", "Turkey", "Switzerland", "Poland", "Sweden", "Belgium", "Argentina", "Norway",
                    "United Arab Emirates", "South Africa", "Democratic Republic of the Congo", "Other countries"]
PORTAL_COMPANIES = ["Apple", "Samsung", "Huawei", "Xiaomi", "Amazon", "Alphabet (Google)", "Microsoft", "Meta", "Walmart",
                    "Procter & Gamble", "Johnson & Johnson", "Berkshire Hathaway", "Toyota", "Volkswagen Group",
                    "Nestlé", "PepsiCo", "Coca-Cola Company", "Unilever", "L'Oréal", "Tencent", "Alibaba", "Sony",
                    "Netflix", "Nike", "Adidas", "H&M", "Inditex", "Others"]
PORTAL_ANSWERS = ["Price", "Quality of the product", "Recommendations from friends and family", "Brand reputation",
                  "Free shipping", "Easy returns", "Customer reviews on the website", "Sustainability of the production",
                  "Discounts and special offers (e.g. coupons, loyalty points)", "Fast delivery",
                  "Availability of the product in local stores", "Payment options", "Design", "Other", "Don't know",
                  "None of the above", "Data privacy and security concerns", "Lack of time"]
PORTAL_AGES = ["18-24 years", "25-34 years", "35-44 years", "45-54 years", "55-64 years", "65 years and older"]
PORTAL_SERIES = [["Male", "Female"], ["Online", "In-store"], ["Domestic", "International"], ["Exports", "Imports"],
                 ["Facebook fans", "Twitter followers"], ["Urban", "Rural"], ["Smartphones", "Tablets", "PCs"],
                 ["Electric power sector", "Industrial sector", "Commercial sector", "Residential sector"],
                 ["Very satisfied", "Somewhat satisfied", "Not very satisfied", "Not at all satisfied"],
                 ["North America", "Europe", "Asia Pacific", "Latin America", "Middle East & Africa"],
                 ["Men", "Women"], ["Passenger cars", "Commercial vehicles"], ["2019", "2020"], ["Q1", "Q2", "Q3", "Q4"]]


@dataclass
class PortalSpec(ChartSpec):
    value_title: str = ""  # the rotated value-axis title (the gold's column for one series)
    sep: str = ","  # the thousands separator printed: ',' or ' ' (Statista's pictures print both)
    trim: bool = False  # printed values drop trailing zeros ('18%' beside '15.4%')
    rotation: int = 0  # the category labels' slant (vertical charts)
    bands: bool = False  # light grey bands behind every other category (Statista's line charts)
    colours: tuple = ()
    footer: bool = True  # '© Statista 2021', 'Additional Information', 'Show source'

    def printed(self, v: float, sep: str | None = None) -> str:
        """A value as the picture prints it (`sep` None: with the chart's thousands separator; '' for the gold)."""
        text = f"{abs(v):,.{self.decimals}f}"
        if self.trim and "." in text:
            text = text.rstrip("0").rstrip(".")
        text = text.replace(",", self.sep if sep is None else sep)
        return ("-" if v < 0 else "") + text + ("%" if self.percent else "")

    def table(self) -> Table:
        headers = ["Characteristic"] + ([self.value_title] if len(self.series) == 1 else list(self.series))
        rows = [[cat] + [self.printed(v, "") for v in self.values[i]] for i, cat in enumerate(self.categories)]
        if self.category_name == "Year":  # Statista publishes a time series newest first
            rows = rows[::-1]
        return Table("", headers, rows)


def _portal_categories(rng: np.random.Generator, style: str) -> tuple[str, list[str]]:
    """3-25 categories: years ('2020*' marks an estimate), quarters, months, countries, companies, age groups or
    survey answers (long ones mostly on horizontal bars)."""
    kinds = ["Year", "Year", "Quarter", "Month", "Country", "Company", "Age", "Answer"]
    if style == "line":
        kinds = ["Year", "Year", "Year", "Quarter", "Month"]
    elif style == "barh":
        kinds = ["Country", "Company", "Answer", "Answer", "Age", "Year"]
    kind = str(rng.choice(kinds))
    low, high = (5, 25) if kind in ("Year", "Quarter", "Month") else (3, 15)
    n = int(rng.integers(low, high + 1))
    if kind == "Year":
        start = int(rng.integers(1995, 2022 - n + 2))
        years = [str(start + i) for i in range(n)]
        stars = int(rng.choice([0, 0, 0, 1, 2]))
        for i in range(1, stars + 1):
            years[-i] += "*"
        return "Year", years
    if kind == "Quarter":
        first = int(rng.integers(2012, 2019)) * 4 + int(rng.integers(4))
        quarter = str(rng.choice(["Q{q} {y}", "Q{q} '{yy}"]))
        return "Year", [quarter.format(q=q % 4 + 1, y=q // 4, yy=f"{q // 4 % 100:02d}") for q in range(first, first + n)]
    if kind == "Month":
        first = int(rng.integers(2015, 2021)) * 12 + int(rng.integers(12))
        long = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December"]
        names = MONTHS if rng.random() < 0.6 else long
        step = 1 if rng.random() < 0.7 else 6
        n = n if step == 1 else min(n, 12)
        return "Year", [f"{names[m % 12]} {m // 12}" for m in range(first, first + n * step, step)]
    pool = {"Country": PORTAL_COUNTRIES, "Company": PORTAL_COMPANIES, "Age": PORTAL_AGES, "Answer": PORTAL_ANSWERS}[kind]
    n = min(n, len(pool))
    if kind == "Age":
        return kind, list(pool[:n]) if rng.random() < 0.5 else list(pool[len(pool) - n:])
    return kind, [str(c) for c in rng.choice(pool, n, replace=False)]


def random_portal_spec(rng: np.random.Generator) -> PortalSpec:
    """(round 50, a development pool only) Statista's portal charts: its blue bars with the value printed at each bar,
    light grey gridlines, a rotated value-axis title, no title, 3-25 categories (long ones wrapped or slanted), the
    footer; horizontal bars, grouped / stacked bars and lines of 1-3 series with a legend under the plot."""
    style = str(rng.choice(["bar", "bar", "barh", "grouped", "stacked", "line", "line"]))
    kind, categories = _portal_categories(rng, style)
    if style in ("grouped", "stacked"):
        categories = categories[:int(rng.integers(3, 13))]
    n_cat = len(categories)
    title, percent, scale, negatives = PORTAL_MEASURES[int(rng.integers(len(PORTAL_MEASURES)))]
    if style == "bar" or style == "barh":
        series = [title]
    else:
        names = PORTAL_SERIES[int(rng.integers(len(PORTAL_SERIES)))]
        most = 3 if style == "line" else len(names)
        n_series = int(rng.integers(1 if style == "line" else 2, min(most, len(names)) + 1))
        series = [title] if n_series == 1 else list(names[:n_series])
    n_series = len(series)
    if style == "line":
        walk = np.cumsum(rng.normal(0, 0.08, size=(n_cat, n_series)), axis=0) + rng.uniform(0.35, 0.8, size=n_series)
        values = np.clip(walk, 0.02, 1.3) * scale
    else:
        values = rng.uniform(0.05, 1.0, size=(n_cat, n_series)) * scale
    if negatives and style != "stacked" and rng.random() < 0.7:
        values -= scale * rng.uniform(0.2, 0.5)
    if style == "stacked" and percent:  # shares that add up to 100
        values = rng.dirichlet(np.full(n_series, 2.0), size=n_cat) * 100
    if style == "barh" and rng.random() < 0.7 and kind != "Age":  # Statista ranks the categories
        order = np.argsort(-values[:, 0], kind="stable")
        values, categories = values[order], [categories[i] for i in order]
    decimals = int(rng.choice([0, 1, 1, 2])) if scale <= 100 else int(rng.choice([0, 0, 0, 1]))
    values = np.round(values, decimals) + 0.0
    values[np.abs(values) < 10 ** -(decimals + 1)] = 0.0
    longest = max(len(c) for c in categories)
    if style == "barh":
        rotation = 0
    elif longest * n_cat > 90 or longest > 12:
        rotation = int(rng.choice([45, 90]))
    else:
        rotation = int(rng.choice([0, 0, 45]))
    colours = [PORTAL_COLOURS[0]] if n_series == 1 else list(PORTAL_COLOURS[:n_series])
    if n_series > 1 and rng.random() < 0.3:
        colours = [str(c) for c in rng.permutation(PORTAL_COLOURS)[:n_series]]
    height = 5.57 if style != "barh" or n_cat <= 10 else float(min(14.0, 1.9 + 0.42 * n_cat * (1.3 if longest > 30 else 1.0)))
    return PortalSpec(
        style=style, theme="statista", title="", category_name=kind, categories=list(categories), series=series,
        values=values, percent=percent, decimals=decimals, legend_outside=False,
        jpeg_quality=int(rng.integers(70, 93)) if rng.random() < 0.2 else None, size=(8.0, height),
        value_title=title, sep=str(rng.choice([",", " "])), trim=bool(rng.random() < 0.3), rotation=rotation,
        bands=bool(rng.random() < (0.7 if style == "line" else 0.2)), colours=tuple(colours),
        footer=bool(rng.random() < 0.9),
    )


def _portal_card(fig, spec: PortalSpec) -> None:
    """The portal's frame: a white card, the column of grey tool buttons on the right, the footer lines."""
    from matplotlib.patches import Circle, FancyBboxPatch, Rectangle

    width, height = spec.size
    fig.patches.append(FancyBboxPatch((0.006, 0.006), 0.988, 0.988, boxstyle="round,pad=0,rounding_size=0.006",
                                      transform=fig.transFigure, fc="white", ec="#dddddd", lw=0.8, zorder=-5))
    for k in range(6):  # the tool buttons (star, bell, gear, share, quote, print), drawn as plain grey marks
        y = 1 - (0.3 + 0.42 * k) / height
        fig.patches.append(FancyBboxPatch((0.955, y - 0.14 / height), 0.03, 0.28 / height, boxstyle="round,pad=0",
                                          transform=fig.transFigure, fc="#f3f3f3", ec="#e2e2e2", lw=0.6))
        fig.patches.append(Circle((0.97, y), 0.045 / height, transform=fig.transFigure, fc="#9a9a9a", ec="none"))
    if not spec.footer:
        return
    fig.text(0.915, 0.32 / height, "© Statista 2021", fontsize=6.5, color="#444444", ha="right", va="center")
    fig.patches.append(Rectangle((0.92, 0.28 / height), 0.008, 0.08 / height, transform=fig.transFigure, fc="#222222"))
    fig.patches.append(Circle((0.025, 0.12 / height), 0.05 / height, transform=fig.transFigure, fc="#2876dd"))
    fig.text(0.04, 0.12 / height, "Additional Information", fontsize=6.5, color="#2876dd", va="center")
    fig.text(0.905, 0.12 / height, "Show source", fontsize=6.5, color="#2876dd", ha="right", va="center")
    fig.patches.append(Circle((0.925, 0.12 / height), 0.05 / height, transform=fig.transFigure, fc="#2876dd"))


def draw_portal(spec: PortalSpec, path: Path) -> Path:
    """Render a `portal` chart (Statista's): see random_portal_spec."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.patheffects as effects
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    width, height = spec.size
    n_cat, n_series = spec.values.shape
    horizontal = spec.style == "barh"
    fig = plt.figure(figsize=spec.size, dpi=100, facecolor="#f4f5f7")
    _portal_card(fig, spec)
    longest = max(len(c) for c in spec.categories)
    below = 0.62 if spec.footer else 0.3  # inches under the plot: the footer
    if n_series > 1:
        below += 0.35  # the legend row
    button = below + 0.15  # a tall chart's `Collapse statistic` button, under the value-axis title
    if height > 8:
        below += 0.4
    if horizontal:
        names = [_wrapped(c, 38) for c in spec.categories]
        left = min(0.42, 0.08 + 0.0105 * min(longest, 38))
        ax = fig.add_axes((left, (below + 0.5) / height, 0.925 - left, 1 - (below + 0.7) / height))
    else:
        names = [_wrapped(c, 18) if longest > 24 else c for c in spec.categories]
        widest = max(len(line) for name in names for line in name.split("\n"))
        rows = max(name.count("\n") + 1 for name in names)
        label_in = {0: 0.1 + 0.12 * rows, 45: 0.08 + 0.052 * widest + 0.1 * rows,
                    90: 0.08 + 0.072 * widest + 0.1 * rows}[spec.rotation]
        ax = fig.add_axes((0.085, (below + label_in + 0.12) / height, 0.84, 1 - (below + label_in + 0.3) / height))
    x = np.arange(n_cat)
    ax.set_axisbelow(True)
    ax.grid(True, axis="x" if horizontal else "y", color="#e3e3e3", linewidth=0.8)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#cccccc")
    if horizontal:
        ax.spines["bottom"].set_visible(False)
        ax.spines["left"].set_visible(True)
        ax.spines["left"].set_color("#cccccc")
    if spec.bands:
        for i in range(1, n_cat, 2):
            (ax.axhspan if horizontal else ax.axvspan)(i - 0.5, i + 0.5, color="#f5f5f5", zorder=0, lw=0)
    bold = dict(fontsize=7.5, fontweight="bold", color="#333333")
    span = max(float(np.abs(spec.values).max()), 1e-9)
    if spec.style in ("bar", "barh", "grouped"):
        group = 0.7 if spec.style != "grouped" else 0.8
        w = group / n_series
        for j in range(n_series):
            pos = x - group / 2 + w * (j + 0.5)
            vals = spec.values[:, j]
            if horizontal:
                ax.barh(pos, vals, w * 0.92, color=spec.colours[j])
                for p, v in zip(pos, vals):
                    ax.annotate(spec.printed(v), (v, p), xytext=(4 if v >= 0 else -4, 0), textcoords="offset points",
                                ha="left" if v >= 0 else "right", va="center", **bold)
            else:
                ax.bar(pos, vals, w * 0.92, color=spec.colours[j])
                for p, v in zip(pos, vals):
                    ax.annotate(spec.printed(v), (p, v), xytext=(0, 3 if v >= 0 else -3), textcoords="offset points",
                                ha="center", va="bottom" if v >= 0 else "top", **bold,
                                rotation=90 if n_series * n_cat > 30 else 0)
    elif spec.style == "stacked":
        bottom = np.zeros(n_cat)
        for j in range(n_series):
            vals = spec.values[:, j]
            ax.bar(x, vals, 0.6, bottom=bottom, color=spec.colours[j])
            for xi, b, v in zip(x, bottom, vals):
                ax.text(xi, b + v / 2, spec.printed(v), ha="center", va="center", fontsize=7, fontweight="bold",
                        color="white", path_effects=[effects.withStroke(linewidth=1.6, foreground="#333333")])
            bottom += vals
        span = float(bottom.max())
    else:
        for j in range(n_series):
            vals = spec.values[:, j]
            ax.plot(x, vals, color=spec.colours[j], linewidth=2, marker="o", markersize=3.5, zorder=3)
            for xi, v in zip(x, vals):
                ax.annotate(spec.printed(v), (xi, v), xytext=(0, 5), textcoords="offset points", ha="center",
                            va="bottom", **bold)
    lowest = min(0.0, float(spec.values.min()))
    if spec.style == "line":
        lo, hi = float(spec.values.min()), float(spec.values.max())
        pad = (hi - lo) * 0.12 + 1e-9
        limits = (lo - pad if lo - pad > 0 or lo < 0 else 0, hi + 2 * pad)
    else:
        # room for the value printed past a negative bar's end (left of a horizontal one, before the category names;
        # under a vertical one, above the category labels)
        limits = (lowest * 1.15 - ((0.12 if horizontal else 0.08) * span if lowest < 0 else 0.0), span * 1.12)
    (ax.set_xlim if horizontal else ax.set_ylim)(*limits)
    axis = ax.xaxis if horizontal else ax.yaxis
    ticks = [t for t in axis.get_majorticklocs() if limits[0] <= t <= limits[1]]
    places = next((d for d in range(4) if all(abs(t * 10 ** d - round(t * 10 ** d)) < 1e-6 for t in ticks)), 3)
    axis.set_major_formatter(FuncFormatter(lambda v, _: ("-" if v < -1e-12 else "") + f"{abs(v):,.{places}f}".replace(",", spec.sep)
                                           + ("%" if spec.percent else "")))
    ax.tick_params(length=0, labelsize=7, labelcolor="#555555", pad=4)
    if horizontal:
        ax.set_yticks(x, names)
        ax.set_ylim(n_cat - 0.5, -0.5)
        ax.set_xlabel(spec.value_title, fontsize=7, color="#555555")
    else:
        ax.set_xticks(x, names)
        ax.set_xlim(-0.6, n_cat - 0.4)
        if spec.rotation:
            ax.tick_params(axis="x", labelrotation=spec.rotation)
            for label in ax.get_xticklabels():
                label.set_ha("right" if spec.rotation == 45 else "center")
                label.set_rotation_mode("anchor" if spec.rotation == 45 else "default")
        ax.set_ylabel(spec.value_title, fontsize=7, color="#555555")
    if n_series > 1:
        handles = [Line2D([], [], marker="o", linestyle="", markersize=6, color=c) for c in spec.colours]
        fig.legend(handles, spec.series, loc="center", ncol=min(n_series, 5), frameon=False, fontsize=7.5,
                   bbox_to_anchor=(0.5, (0.62 if spec.footer else 0.3) / height + 0.15 / height), handletextpad=0.2,
                   columnspacing=1.5)
    if height > 8:
        fig.text(0.5, button / height, "Collapse statistic", fontsize=7, color="#2876dd", ha="center",
                 va="center", bbox=dict(boxstyle="round,pad=0.4", fc="white", ec="#2876dd", lw=0.6))
    return _save(fig, spec, path)


# -- the ninth generator: chart kinds no other generator draws (round 61, a development pool only) ---------------------
KINDS_STYLES = ("donut", "area", "dumbbell", "manylines", "noaxis", "whiskers", "inset")
KINDS_TITLES = ["Share of {w} worldwide", "{W} in selected countries", "How {w} changed", "{W} by region",
                "Distribution of {w}", "{W}, 2010 to 2021"]
KINDS_WORDS = ["internet users", "energy consumption", "smartphone sales", "tourist arrivals", "health spending",
               "CO2 emissions", "vaccination coverage", "online shoppers"]
KINDS_MEASURES = [  # (value title, percent, scale)
    ("Share of respondents", True, 80), ("Revenue in billion U.S. dollars", False, 400),
    ("Number of users in millions", False, 900), ("Market share", True, 45), ("Life expectancy in years", False, 85),
    ("Emissions in million metric tons", False, 2500), ("Spending per capita in U.S. dollars", False, 9000),
    ("Share of the population", True, 100), ("Index score", False, 100), ("Price in euros", False, 60),
]
KINDS_SHARES = [["Android", "iOS", "KaiOS", "Samsung", "Other"], ["Coal", "Oil", "Gas", "Nuclear", "Hydropower",
                "Wind", "Solar"], ["Very satisfied", "Somewhat satisfied", "Not too satisfied", "Not at all satisfied"],
                ["Asia", "Europe", "North America", "Latin America", "Africa", "Oceania"],
                ["Under 18", "18-34", "35-54", "55 and older"], ["Online", "Supermarkets", "Discounters",
                "Specialist stores", "Other"]]
KINDS_ENTITIES = ["United States", "China", "Germany", "India", "Brazil", "Japan", "France", "Nigeria", "Mexico",
                  "Canada", "Italy", "Spain", "Kenya", "Australia", "World", "Europe", "Africa", "Asia"]
KINDS_GROUPS = ["Total", "Men", "Women", "Ages 18-29", "30-49", "50-64", "65+", "Rep/Lean Rep", "Dem/Lean Dem",
                "White", "Black", "Hispanic", "College grad+", "No college degree"]
KINDS_PAIRS = [["2016", "2020"], ["Rep/Lean Rep", "Dem/Lean Dem"], ["Men", "Women"], ["2019", "2022"],
               ["Urban", "Rural"], ["Before", "After"]]
# a wider palette for charts of 5-10 lines (OWID's colours, then matplotlib's tab10 for the rest)
KINDS_COLOURS = OWID_COLOURS + ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b"]


@dataclass
class KindsSpec(ChartSpec):
    value_title: str = ""  # printed under the title (the gold's value column for one series)
    labels: str = ""  # per style: where the values / names are printed
    colours: tuple = ()
    source: str = ""  # the source line under the chart

    def printed(self, v: float) -> str:
        text = f"{v:,.{self.decimals}f}"
        return text + ("%" if self.percent else "")

    def table(self) -> Table:
        first = "Year" if self.category_name == "Year" else "Characteristic"
        headers = [first] + ([self.value_title] if len(self.series) == 1 else list(self.series))
        rows = [[cat] + [self.printed(v).replace(",", "") for v in self.values[i]] for i, cat in enumerate(self.categories)]
        return Table(self.title, headers, rows)


def random_kinds_spec(rng: np.random.Generator) -> KindsSpec:
    """(round 61, a development pool only) Chart kinds Statista, Pew, OWID and OECD publish that the other generators
    never draw: donut / ring charts, (stacked) area charts, Pew's dot plots (dumbbells), lines without markers of 5-10
    series with a legend, vertical bars with no value axis or a broken one, bars with error whiskers, a map-like
    inset beside a small bar chart; some very wide or very tall pictures."""
    style = str(rng.choice(KINDS_STYLES))
    word = str(rng.choice(KINDS_WORDS))
    title = str(rng.choice(KINDS_TITLES)).format(w=word, W=word[0].upper() + word[1:])
    value_title, percent, scale = KINDS_MEASURES[int(rng.integers(len(KINDS_MEASURES)))]
    decimals = int(rng.choice([0, 0, 1]))
    category_name = "Characteristic"
    if style == "donut":
        categories = list(KINDS_SHARES[int(rng.integers(len(KINDS_SHARES)))])
        categories = categories[:int(rng.integers(3, len(categories) + 1))]
        values = rng.dirichlet(np.full(len(categories), 2.0))[:, None] * 100
        percent, value_title = True, "Share"
        labels = str(rng.choice(["below", "beside", "legend"]))  # names in a legend under or right of it, or beside
        series = [value_title]
    elif style in ("area", "manylines"):
        n = int(rng.integers(8, 22))
        start = int(rng.integers(1990, 2022 - n + 1))
        categories, category_name = [str(start + i) for i in range(n)], "Year"
        k = int(rng.integers(2, 6)) if style == "area" else int(rng.integers(5, 11))
        series = [str(s) for s in rng.choice(KINDS_ENTITIES, k, replace=False)]
        walk = np.cumsum(rng.normal(0, 0.06, size=(n, k)), axis=0) + rng.uniform(0.2, 0.9, size=k)
        values = np.clip(walk, 0.03, 1.4) * scale / (k if style == "area" else 1)
        labels = str(rng.choice(["legend", "ends"])) if style == "area" else str(rng.choice(["legend", "outside"]))
        if style == "area" and k == 2 and rng.random() < 0.3:
            series, values = [value_title], values[:, :1]
    elif style == "dumbbell":
        categories = [str(c) for c in rng.choice(KINDS_GROUPS, int(rng.integers(4, 10)), replace=False)]
        series = list(KINDS_PAIRS[int(rng.integers(len(KINDS_PAIRS)))])
        values = rng.uniform(0.1, 0.9, size=(len(categories), 2)) * 100
        percent, decimals, labels = True, 0, str(rng.choice(["beside", "above"]))
        value_title = "Share of adults who say so"
    else:  # noaxis, whiskers, inset: Statista-like bars of one series
        n = int(rng.integers(3, 9 if style == "inset" else 13))
        if rng.random() < 0.5 and style != "inset":
            start = int(rng.integers(2005, 2022 - n + 1))
            categories, category_name = [str(start + i) for i in range(n)], "Year"
        else:
            categories = [str(c) for c in rng.choice(KINDS_ENTITIES[:14], n, replace=False)]
        series = [value_title]
        values = rng.uniform(0.15, 1.0, size=(n, 1)) * scale
        if style == "noaxis" and rng.random() < 0.5:  # a broken axis: values far from zero
            values = rng.uniform(0.75, 1.0, size=(n, 1)) * scale
        labels = {"noaxis": str(rng.choice(["none", "broken"])), "whiskers": str(rng.choice(["above", "inside"])),
                  "inset": str(rng.choice(["left", "right"]))}[style]
    values = np.round(values, decimals) + 0.0
    colours = [str(c) for c in rng.permutation(KINDS_COLOURS)[:max(len(series), len(categories))]]
    shape = rng.random()
    if shape < 0.15:
        size = (float(rng.uniform(12, 15)), float(rng.uniform(3.6, 4.6)))  # very wide
    elif shape < 0.3 and style not in ("area", "manylines"):
        size = (float(rng.uniform(4.5, 5.5)), float(rng.uniform(8.5, 11)))  # very tall
    else:
        size = (float(rng.uniform(6.5, 9)), float(rng.uniform(4.8, 6.2)))
    source = str(rng.choice(["Source: World Bank", "Source: Our World in Data", "Source: OECD",
                             "Source: Survey of U.S. adults", "Source: Statista 2021"]))
    return KindsSpec(
        style=style, theme="kinds", title=title, category_name=category_name, categories=categories, series=series,
        values=values, percent=percent, decimals=decimals, legend_outside=False,
        jpeg_quality=int(rng.integers(70, 93)) if rng.random() < 0.2 else None, size=size,
        value_title=value_title, labels=labels, colours=tuple(colours), source=source,
    )


def draw_kinds(spec: KindsSpec, path: Path) -> Path:
    """Render a `kinds` chart: see random_kinds_spec. A bold title and the value title under it at the top, the
    source line at the bottom, the plot between."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon

    width, height = spec.size
    n_cat, n_series = spec.values.shape
    fig = plt.figure(figsize=spec.size, dpi=100, facecolor="white")
    fig.text(0.03, 1 - 0.3 / height, spec.title, fontsize=11, fontweight="bold", va="center")
    fig.text(0.03, 1 - 0.58 / height, spec.value_title, fontsize=8.5, color="#555555", va="center")
    fig.text(0.03, 0.18 / height, spec.source, fontsize=7, color="#777777", va="center")
    top, bottom = 1 - 0.95 / height, 0.55 / height
    rect = (0.1, bottom + 0.35 / height, 0.85, top - bottom - 0.35 / height)
    if spec.style == "donut":
        ax = fig.add_axes((0.05, bottom, 0.6 if spec.labels == "legend" else 0.9, top - bottom))
        vals = spec.values[:, 0]
        names = spec.categories if spec.labels == "beside" else None
        wedges, texts = ax.pie(vals, labels=[f"{c}: {spec.printed(v)}" for c, v in zip(spec.categories, vals)]
                               if names else None, colors=spec.colours[:n_cat], startangle=90, counterclock=False,
                               wedgeprops=dict(width=0.4, edgecolor="white"), textprops=dict(fontsize=8))
        if spec.labels != "beside":
            for w, v in zip(wedges, vals):
                angle = np.deg2rad((w.theta1 + w.theta2) / 2)
                ax.text(0.8 * np.cos(angle), 0.8 * np.sin(angle), spec.printed(v), ha="center", va="center",
                        fontsize=8, color="white", fontweight="bold")
        ax.text(0, 0, "Total\n100%", ha="center", va="center", fontsize=10, fontweight="bold", color="#333333")
        ax.set_aspect("equal")
        if spec.labels == "legend":
            fig.legend(wedges, spec.categories, loc="center left", bbox_to_anchor=(0.66, 0.5), frameon=False,
                       fontsize=8.5)
        elif spec.labels == "below":
            ax.set_position((0.05, bottom + 0.45 / height, 0.9, top - bottom - 0.45 / height))
            fig.legend(wedges, spec.categories, loc="lower center", bbox_to_anchor=(0.5, 0.32 / height),
                       frameon=False, fontsize=8, ncol=min(n_cat, 4))
        return _save(fig, spec, path)
    if spec.style == "inset":  # a choropleth-like map of blobs on one side, the bars on the other
        left = spec.labels == "left"
        mp = fig.add_axes((0.03 if left else 0.52, bottom, 0.45, top - bottom))
        mp.set_axis_off()
        rng = np.random.default_rng(int(spec.values.sum() * 100) % 2 ** 32)  # the blobs are decoration only
        for _ in range(9):
            cx, cy, r = rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85), rng.uniform(0.08, 0.2)
            angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
            radius = r * rng.uniform(0.6, 1.0, 9)
            shade = plt.cm.Blues(rng.uniform(0.2, 0.9))
            mp.add_patch(Polygon(np.c_[cx + radius * np.cos(angles), cy + radius * np.sin(angles)], fc=shade,
                                 ec="white", lw=0.8))
        mp.set_xlim(0, 1)
        mp.set_ylim(0, 1)
        rect = (0.62 if left else 0.2, bottom + 0.2 / height, 0.33 if left else 0.28, top - bottom - 0.3 / height)
    if spec.style == "dumbbell":  # room for the row labels left of the dots
        rect = (0.08 + 0.1 * max(len(c) for c in spec.categories) / width, rect[1], 0.0, rect[3])
        rect = (rect[0], rect[1], 0.93 - rect[0], rect[3])
    ax = fig.add_axes(rect)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    x = np.arange(n_cat)
    if spec.style in ("area", "manylines"):
        if spec.style == "area":
            ax.stackplot(x, spec.values.T, colors=spec.colours[:n_series], alpha=0.85,
                         labels=spec.series)
        else:
            for j in range(n_series):
                ax.plot(x, spec.values[:, j], color=KINDS_COLOURS[j], linewidth=1.6, label=spec.series[j])
        step = max(1, n_cat // 6)
        ax.set_xticks(x[::step], [spec.categories[i] for i in x[::step]])
        ax.set_xlim(0, n_cat - 1)
        ax.grid(True, axis="y", color="#dddddd", linestyle="--", linewidth=0.7)
        ax.tick_params(labelsize=8)
        if n_series > 1 and spec.labels in ("legend", "outside"):
            ax.legend(fontsize=7.5, frameon=False, ncol=2 if n_series > 5 else 1,
                      loc="upper left", bbox_to_anchor=(1.0, 1.0) if spec.labels == "outside" else None)
            if spec.labels == "outside":
                ax.set_position((rect[0], rect[1], rect[2] * 0.72, rect[3]))
        elif n_series > 1:  # names at the right edge, in the middle of each band
            ax.set_position((rect[0], rect[1], rect[2] * 0.8, rect[3]))
            middle = np.cumsum(spec.values[-1]) - spec.values[-1] / 2
            for j in range(n_series):
                ax.text(n_cat - 1 + 0.2, middle[j], spec.series[j], color=spec.colours[j], fontsize=8, va="center")
    elif spec.style == "dumbbell":
        y = np.arange(n_cat)[::-1]
        a, b = spec.values[:, 0], spec.values[:, 1]
        ax.hlines(y, np.minimum(a, b), np.maximum(a, b), color="#cccccc", linewidth=4, zorder=1)
        for j, vals in enumerate((a, b)):
            ax.scatter(vals, y, s=60, color=spec.colours[j], zorder=2)
            for yi, v, other in zip(y, vals, (b, a)[j]):
                right = v >= other
                if spec.labels == "beside":
                    ax.annotate(spec.printed(v), (v, yi), xytext=(7 if right else -7, 0), textcoords="offset points",
                                ha="left" if right else "right", va="center", fontsize=8, color=spec.colours[j])
                else:
                    ax.annotate(spec.printed(v), (v, yi), xytext=(0, 6), textcoords="offset points", ha="center",
                                va="bottom", fontsize=7.5, color=spec.colours[j])
        ax.set_yticks(y, spec.categories)
        ax.set_xlim(0, 100)
        ax.set_ylim(-0.7, n_cat - 0.3 + 0.6)
        ax.xaxis.set_visible(False)
        ax.spines["bottom"].set_visible(False)
        ax.spines["left"].set_visible(False)
        ax.tick_params(length=0, labelsize=8.5)
        first = int(np.argmax(y))
        for j, vals in enumerate((a, b)):  # the two series named above the top row, in their colours
            ax.text(vals[first], n_cat - 0.2 + 0.3, spec.series[j], color=spec.colours[j], fontsize=8.5,
                    fontweight="bold", ha="center", va="bottom")
    else:  # bars of one series: noaxis, whiskers, inset
        horizontal = spec.style == "inset"
        vals = spec.values[:, 0]
        colour = spec.colours[0]
        if horizontal:
            y = np.arange(n_cat)[::-1]
            ax.barh(y, vals, 0.6, color=colour)
            for yi, v in zip(y, vals):
                ax.annotate(spec.printed(v), (v, yi), xytext=(3, 0), textcoords="offset points", va="center",
                            fontsize=8)
            ax.set_yticks(y, spec.categories)
            ax.xaxis.set_visible(False)
            ax.spines["bottom"].set_visible(False)
            ax.set_xlim(0, vals.max() * 1.3)
        else:
            err = None
            if spec.style == "whiskers":
                err = np.abs(np.sin(vals * 7.3)) * 0.12 * vals.max() + 0.02 * vals.max()
            ax.bar(x, vals, 0.62, color=colour, yerr=err, capsize=3, error_kw=dict(ecolor="#333333", lw=0.9))
            for xi, v, e in zip(x, vals, err if err is not None else np.zeros(n_cat)):
                inside = spec.labels == "inside"
                ax.annotate(spec.printed(v), (xi, v * 0.5 if inside else v + e), xytext=(0, 0 if inside else 3),
                            textcoords="offset points", ha="center", va="center" if inside else "bottom",
                            fontsize=8, color="white" if inside else "#222222", fontweight="bold",
                            rotation=90 if n_cat > 9 and width < 9 else 0)
            ax.set_xticks(x, spec.categories, rotation=45 if max(map(len, spec.categories)) * n_cat > 60 else 0,
                          ha="right" if max(map(len, spec.categories)) * n_cat > 60 else "center")
            if spec.style == "noaxis" and spec.labels == "none":
                ax.yaxis.set_visible(False)
                ax.spines["left"].set_visible(False)
                ax.set_ylim(0, vals.max() * 1.15)
            elif spec.style == "noaxis":  # a broken value axis: it starts well above zero, a break mark at its foot
                low = float(np.floor(vals.min() * 0.9 / 10 ** np.floor(np.log10(vals.min()))) *
                            10 ** np.floor(np.log10(vals.min())))
                ax.set_ylim(low, vals.max() * 1.08)
                ax.plot([-0.012, 0.012], [0.02, 0.05], transform=ax.transAxes, color="black", lw=1, clip_on=False)
                ax.plot([-0.012, 0.012], [0.05, 0.08], transform=ax.transAxes, color="black", lw=1, clip_on=False)
            else:
                ax.set_ylim(0, (vals + err).max() * 1.15)
            ax.tick_params(labelsize=8)
    return _save(fig, spec, path)


GENERATORS = {"studio": (random_spec, draw), "plain": (random_plain_spec, draw_plain),
              "survey": (random_survey_spec, draw_survey), "ends": (random_ends_spec, draw_ends),
              "trend": (random_trend_spec, draw_trend), "thinned": (random_thinned_spec, draw_plain),
              "pew": (random_pew_spec, draw_pew), "portal": (random_portal_spec, draw_portal),
              "kinds": (random_kinds_spec, draw_kinds), "pewfig": (random_pewfig_spec, draw_pewfig)}
STYLES_OF = {"studio": STYLES, "plain": PLAIN_STYLES, "survey": SURVEY_STYLES, "ends": ENDS_STYLES,
             "trend": TREND_STYLES, "thinned": THINNED_STYLES, "pew": PEW_STYLES, "portal": PORTAL_STYLES,
             "kinds": KINDS_STYLES, "pewfig": PEWFIG_STYLES}
STREAMS = {"plain": 2, "survey": 3, "ends": 4, "trend": 5, "thinned": 6, "pew": 7, "portal": 8, "kinds": 9, "pewfig": 10}  # each generator's own RNG stream for a seed (studio keeps its original one)


# The font the seaborn styles of the `plain` generator ask for first that a Linux machine has (Debian's fonts-liberation,
# installed by .ci/install-browser.sh); without it matplotlib falls back to DejaVu Sans and the same seed draws other
# pictures (measured 2026-12-04: two chart tests failed and every plain pool scored differently).
REFERENCE_FONT = "Liberation Sans"


def drawing_differences() -> list[str]:
    """Why charts drawn here would differ from the project's pools and tests: an empty list when they would not."""
    import matplotlib
    from matplotlib import font_manager

    try:
        font_manager.findfont(REFERENCE_FONT, fallback_to_default=False)
    except ValueError:
        return [f"matplotlib finds no '{REFERENCE_FONT}' font, so the seaborn styles are drawn with DejaVu Sans and a "
                "seed's charts differ from the project's (install Debian's fonts-liberation, then delete matplotlib's "
                f"font cache {matplotlib.get_cachedir()}/fontlist-*.json, which lists the fonts it saw when it was built)"]
    return []


SET_RECORD = "make_charts.json"  # beside gold.jsonl: what drew the set (make_chart_set resumes or refuses by it)


def read_gold(set_dir: Path) -> list[dict]:
    """A chart set's gold.jsonl (as `make_chart_set` writes it, or ChartQA's / OpenCQA's converted): its items, each
    with an `id` (the image's stem unless given), in file order: the chart sets' one reader (`vmed eval charts`, the
    router's chart class, the bench scripts)."""
    gold = Path(set_dir) / "gold.jsonl"
    if Path(set_dir).is_file():  # the hint below told the user to draw charts into that file
        raise UserInputError(f"--set {set_dir} is a file: give the folder that holds gold.jsonl (and the images)")
    if not gold.is_file():
        raise UserInputError(f"{set_dir} has no gold.jsonl; make one with: vmed data make-charts --out {set_dir}")
    items, lines = [], {}
    for number, item in jsonl_rows(gold, torn_tail_ok=False):
        if not isinstance(item, dict) or "image" not in item or "table" not in item:
            raise UserInputError(f"{gold} line {number} needs 'image' and 'table'")
        item.setdefault("id", Path(item["image"]).stem)
        if item["id"] in lines:  # predictions are kept (and resumed) by id
            raise UserInputError(f"{gold} line {number}: id {item['id']!r} is on line {lines[item['id']]} too; "
                                 "give each chart its own 'id'")
        lines[item["id"]] = number
        items.append(item)
    return items


def make_chart_set(out: Path, n: int, seed: int = 0, progress: bool = True, generator: str = "studio",
                   styles: tuple[str, ...] = ()) -> Path:
    """Write `n` charts and `gold.jsonl` (id, image, style, theme, table) under `out`; resumes.

    `styles` keeps only charts of those styles (e.g. a set of line charts): chart i is still drawn from the
    RNG (seed, i), so a filtered set holds the same charts as the unfiltered sets of that seed.
    `out/make_charts.json` records what drew the set (generator, seed, styles, n, command, package version) before
    the first chart; a rerun resumes a set of the same generator and seed and refuses another's. README.txt says the
    same for people: a user's edits to it are kept, and a set drawn before the record existed resumes by it."""
    from tqdm import tqdm

    from .. import __version__
    from ..errors import UserInputError
    from .store import write_json_atomic

    if generator not in GENERATORS:
        raise UserInputError(f"unknown chart generator '{generator}'; choose one of: {', '.join(GENERATORS)}")
    make_spec, render = GENERATORS[generator]
    known = STYLES_OF[generator]
    unknown = [s for s in styles if s not in known]
    if unknown:
        raise UserInputError(f"unknown {generator} chart style(s) {', '.join(unknown)}; choose from: {', '.join(known)}")
    out = Path(out)
    only = f" --styles {','.join(styles)}" if styles else ""
    readme = out / "README.txt"
    drawn = _drawn_with(out)
    if drawn and (drawn["generator"], drawn["seed"]) != (generator, seed):
        # its images would be taken as this set's charts (a rerun resumes by file name): another run's pictures
        # under this run's gold tables
        raise UserInputError(f"{out} holds charts of --generator {drawn['generator']} --seed {drawn['seed']} "
                             f"(its {drawn['file']}): give another --out, or that generator and seed to resume it")
    (out / "images").mkdir(parents=True, exist_ok=True)
    command = f"vmed data make-charts --out {out} --n {n} --seed {seed} --generator {generator}{only}"
    # README.txt is make-charts' to rewrite while it says what make-charts last wrote there (or is missing)
    said = f"Synthetic charts: {drawn['command']}\n" if drawn.get("command") else None
    ours = not drawn or drawn["file"] == "README.txt" or _text_or_none(readme) in (None, said)
    # said before the first chart, so an interrupted set says what it holds
    write_json_atomic(out / SET_RECORD, {"generator": generator, "seed": seed, "styles": list(styles), "n": n,
                                         "command": command, "version": __version__}, indent=1)
    if not drawn:
        readme.write_text(f"Synthetic charts: {command}\n")
    for difference in drawing_differences():
        logging.getLogger(__name__).warning("%s", difference)
    records = []
    index = 0
    with tqdm(total=n, desc="charts", disable=not progress) as bar:
        while len(records) < n:
            # the studio generator keeps its original RNG stream, so its earlier sets are drawn again unchanged
            rng = np.random.default_rng([seed, index] if generator == "studio" else [seed, index, STREAMS[generator]])
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
    if ours:
        readme.write_text(f"Synthetic charts: {command}\n")
    return gold


def _drawn_with(out: Path) -> dict:
    """What drew the set in `out`: its make_charts.json (generator, seed, command, ...; `file` names where it was
    read), else, for a set drawn before that file existed, the seed and generator its README.txt's command line names;
    {} for a new folder. A folder in place of either file, a make_charts.json that is not make-charts' record, or a
    README.txt make-charts did not write (and no record) is one UserInputError naming it."""
    import re

    from ..errors import UserInputError

    readme, record = out / "README.txt", out / SET_RECORD
    for path in (readme, record):
        if path.is_dir():
            raise UserInputError(f"{path} is a folder: make-charts writes its {path.name} there; give another --out")
    text = _text_or_none(record)
    if text is not None or record.is_symlink():
        try:
            drawn = json.loads(text or "")
            if not (isinstance(drawn, dict) and isinstance(drawn.get("generator"), str)
                    and isinstance(drawn.get("seed"), int)):
                raise ValueError
        except ValueError:
            raise UserInputError(f"{out} has a {SET_RECORD} that make-charts did not write: give another --out (a "
                                 "set's folder holds make-charts' own record of what drew it)") from None
        return {**drawn, "file": SET_RECORD}
    text = _text_or_none(readme)
    seed = re.search(r" --seed (\d+)", text or "")
    if text is not None and text.startswith("Synthetic charts: vmed data make-charts") and seed:
        generator = re.search(r" --generator (\S+)", text)
        return {"generator": generator.group(1) if generator else "studio", "seed": int(seed.group(1)),
                "file": "README.txt"}
    if text is not None or readme.is_symlink():
        # the user's own file (make-charts writes README.txt when it starts and when it ends): never overwritten
        raise UserInputError(f"{out} has a README.txt that make-charts did not write: give another --out (a set's "
                             "folder holds make-charts' own README.txt)")
    return {}


def _text_or_none(path: Path) -> str | None:
    """A file's text; None when it is missing (or not UTF-8 text, which make-charts never wrote: "" then)."""
    try:
        return path.read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnicodeDecodeError:
        return ""


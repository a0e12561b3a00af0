"""The chart expert: ChartExpert reads a picture into DePlot's table (OCR, then the pie, bar, dot-plot and axis-first
readers in that order), ChartReading (the text and the chart type it saw) and ChartReadError."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from ...chart_table import parse_table
from ...errors import BackendError
from ...images import LoadedImage
from .axes import Axis, find_value_axis, prints_only_ends, two_label_axis, _all_years, _format, _groups, _in_axis_unit, _looks_like_years, _misread, _x_title
from .bars import Component, _YEAR_1900, _bars_fit_axis, _group_centres, read_bar_chart, _standing
from .colours import _after_leading_swatches, _backdrop, border_colour, _colour_clusters, _legend_names, _split_at_swatches, _word_ink, _year_or_band, coloured_ink, commonest_colour
from .dots import read_dot_plot
from .lines import (first_value_on_axis, legend_swatch_pieces, lone_colourless_line, rules_erased, _chromatic, own_scale,
                    point_label_in_axis_column, printed_value_axis, level_with_point, years_at_period_ticks,
                    labels_for_an_axis, value_in_name, value_point, names_in_own_ink,
                    _between, _beside_the_end, _drop_duplicate_lines, _ends_past_last, _evenly_spaced, _hidden_point,
                    _ink_under, _last_drawn, _line_end_names, _marker_xs, markers_under_labels, _names_under_titles, _dark_tint,
                    _end_names_left_over, _names_beside_ends, _rim_of, _runs, _tick_columns, _trace_at, _value_ink_owner)
from .panels import find_panels, find_row_panels, join_panels, panel_boxes
from .ocr import _denormal_flushing_detection, _parallel_recognition, _table_normalised_detection
from .pies import read_pie_chart
from .table import UNNAMED_SERIES, _linearize, _page_title, _two_line_labels, _printed_rows_table, _printed_values_table, _title_without_subtitle, _without_percent
from .text import (_CHROME, _OWID, _PEW, SUPERSCRIPT_DIGITS, TextBox, _bare, _nearest_first, _period, evenly_stepped, grouped_run, names_something, parse_number, parse_value, _powers_of_ten, thousands_group,
                   _reading_order, respace, fill_thinned_labels, scale_words_spelled_out, split_merged_labels, split_run_together_periods, split_merged_years, stacked_label_lines, unaccent)

MIN_SIDE = 48  # below this nothing in a chart is legible
WORK_SIDE = 1000  # larger charts are downscaled before OCR: text stays readable, OCR time stays bounded

log = logging.getLogger(__name__)


class ChartReadError(Exception):
    """Raised inside the reader when a chart cannot be read; the message goes to the user."""


@dataclass
class ChartReading:
    """What the expert read: the DePlot table text (or the could-not-be-read sentence) and the chart type it
    took the picture for (bar, hbar, grouped, stacked, line, ...; 'unread' when it gave no table)."""

    text: str
    kind: str


def _unnamed_series(boxes: list[TextBox]) -> str:
    """The name of a single series that nothing printed names, by the publisher's convention (round 27): Pew Research
    Center's data tables (ChartQA's Pew tables) call it `Values`, where Statista's and Our World in Data's take the
    chart's title or axis title. '' on any other page (the caller falls back to the title or `Value`)."""
    return "Values" if any(_PEW.search(b.text) for b in boxes) else ""


def _cut_at_gaps(rgb: np.ndarray, box: TextBox, least: float = 4, ratio: float = 2) -> list[TextBox] | None:
    """`box`, numbers (or, round 193, one-word labels) OCR read as one box, cut into a box per word at its
    len(words) - 1 widest runs of blank columns, each clearly wider than any blank run inside a word (between digits,
    at a comma, between letters: `ratio` times the widest of those, and `least` px at least); None when the gaps are
    not that clear. (round 213) A line that crosses the box from end to end (the plot frame's edge over a row of tick
    labels) is left out of the ink: it filled every gap."""
    parts, x0, y0, x1, y1 = box.text.split(), box.x0, box.y0, box.x1, box.y1
    a, b = max(0, int(x0)), min(rgb.shape[1], int(np.ceil(x1)) + 1)
    band = rgb[max(0, int(y0)):min(rgb.shape[0], int(np.ceil(y1)) + 1), a:b].astype(float).mean(axis=2)
    if band.size == 0:
        return None
    border = np.concatenate([band[0], band[-1], band[:, 0], band[:, -1]])
    ink = np.abs(band - np.median(border)) > 60
    inked = np.flatnonzero(ink[ink.mean(axis=1) < 0.9].any(axis=0))  # (round 213) a rule across the box is no glyph
    if len(inked) < 2:
        return None
    runs = [(int(p) + 1, int(q) - 1) for p, q in zip(inked[:-1], inked[1:]) if q - p > 1]  # blank runs between ink
    if len(runs) < len(parts) - 1:
        return None
    widest = sorted(runs, key=lambda r: r[1] - r[0], reverse=True)
    cuts, rest = sorted(widest[:len(parts) - 1]), widest[len(parts) - 1:]
    narrowest = min(r[1] - r[0] + 1 for r in cuts)
    if narrowest < least or (rest and narrowest < ratio * (rest[0][1] - rest[0][0] + 1)):
        return None
    edges = [int(inked[0])] + [c for r in cuts for c in (r[0] - 1, r[1] + 1)] + [int(inked[-1])]
    return [TextBox(part, a + float(edges[2 * k]), y0, a + float(edges[2 * k + 1]), y1) for k, part in enumerate(parts)]


def _touching_ticks_cut(rgb: np.ndarray, box: TextBox, gaps: bool = True) -> list[TextBox] | None:
    """(round 216) A row of tick labels in which some numbers touch (`2,500 5,000 7,500 10,00012,50015,00017,500`): a
    box per number where the numbers, the touching ones split by `grouped_run`, rise by one step; the spaced parts are
    cut at their gaps (`_cut_at_gaps`, else by their share of the box), a touching run by its characters' share of its
    part (a comma or a space counted half a digit: the widths of the fonts charts use; no OCR gives per-character
    positions). None where the numbers do not rise evenly. (round 220) Also a spaced row of tick labels whose gaps
    `_cut_at_gaps` finds too narrow (`10,000 20,000 ... 90,000` with 2-3 px between labels): each by its share;
    `gaps` False says the caller's cut at the gaps already failed, so it is not tried again."""
    parts = box.text.split()
    pieces = [grouped_run(p) or [p] for p in parts]
    numbers = [parse_number(n) for piece in pieces for n in piece]
    if any(n is None for n in numbers) or not evenly_stepped([float(n) for n in numbers]):
        return None

    def width(text: str) -> float:
        return sum(0.5 if ch in ", ." else 1.0 for ch in text)

    cut = _cut_at_gaps(rgb, box) if gaps and len(parts) > 1 else None
    if cut is None:  # each part by its share of the box
        total, at, cut = width(box.text), 0.0, []
        for n, part in enumerate(parts):
            start = at + (width(" ") if n else 0.0)
            at = start + width(part)
            cut.append(TextBox(part, box.x0 + (box.x1 - box.x0) * start / total, box.y0,
                               box.x0 + (box.x1 - box.x0) * at / total, box.y1))
    out = []
    for part, piece in zip(cut, pieces):
        total, at = width(part.text), 0.0
        for number in piece:
            start, at = at, at + width(number)
            out.append(TextBox(number, part.x0 + (part.x1 - part.x0) * start / total, part.y0,
                               part.x0 + (part.x1 - part.x0) * at / total, part.y1))
    return out


def _without_repeated_number_rows(rows: list[list[TextBox]]) -> list[list[TextBox]]:
    """(round 223) Rows of text under a plot, top to bottom, less those that are a line's printed values rather than
    its category labels: numbers only, one of them printed three times or more and in half the row or more (`40 40
    40`, the values of a line lying along its floor; round 222 dropped any row with a number printed twice, and so a
    row of years over two panels, `2013 2014 2015 2013 2014 2015`). Such a row is dropped only where another is left."""
    def values(row: list[TextBox]) -> bool:
        texts = [b.text.strip() for b in row]
        most = Counter(texts).most_common(1)[0][1] if texts else 0
        return all(parse_value(t) is not None for t in texts) and most >= 3 and 2 * most >= len(texts)

    kept = [row for row in rows if not values(row)]
    return kept if kept else rows


def _centred_on_columns(labels: list[TextBox], ends: list[TextBox], columns: list[float]) -> bool:
    """(round 226) Slanted category labels stand centred on their points, not ending at them: where the plot's tick or
    gridline columns (evenly spaced, three or more) hold the labels' centres (on average within 0.15 of their spacing)
    and not the labels' right ends (0.3 of it or more off), as matplotlib turns a label about its centre by default;
    Statista's slanted labels end at their tick."""
    if len(columns) < 3 or not labels:
        return False
    pitch = float(np.median(np.diff(columns)))
    cols = np.asarray(columns)

    def off(boxes: list[TextBox]) -> float:
        return float(np.mean([np.abs(cols - b.cx).min() for b in boxes]))

    return off(labels) <= 0.15 * pitch and off(ends) >= 0.3 * pitch


def _words_at_gaps(rgb: np.ndarray, labels: list[TextBox]) -> list[TextBox]:
    """(round 193) A line chart's category row with no marker or tick to cut it at: a box of three or more words and
    no number (`Cardiology Oncology Neurology`) cut into its words where each gap is at least 0.4 of the box's height
    and 3 times any other blank run in it (a space between words of one label is far narrower); others as they are."""
    out = []
    for box in labels:
        parts = box.text.split()
        words = len(parts) > 2 and not any(parse_number(p) is not None for p in parts)
        out.extend((_cut_at_gaps(rgb, box, least=0.4 * box.h, ratio=3) if words else None) or [box])
    return out


def _agrees_with_axis(number: float, measured: float, axis: Axis) -> bool:
    """A printed number agrees with the value the axis gives its point: within a tenth of the axis' span, in
    decades on a log axis (a label `20` at a point the log axis reads 1.9 does not; round 33's G2)."""
    if not axis.log:
        return abs(number - measured) <= 0.1 * axis.span
    ticks = [b.number for b in axis.ticks if b.number and b.number > 0]
    decades = np.log10(max(ticks) / min(ticks)) if ticks else 0.0
    return bool(number > 0 and measured > 0 and abs(np.log10(number / measured)) <= 0.1 * decades)


def _line_end(points: list, categories: list[TextBox], colour: np.ndarray, mask: np.ndarray, text, x0r: int,
              gap: int = 4) -> tuple[float, float]:
    """Where a traced line ends, for naming it: its last traced point; a coloured line's last drawn point past it
    (round 32: OECD's lines run on past the last printed year; a grey line is followed no further: gridlines)."""
    r = max(r for r, y in enumerate(points) if y is not None)
    if colour.max() - colour.min() > 60:
        return _last_drawn(mask, int(round(categories[r].cx)) - x0r, points[r], list(text), x0r, gap=gap)
    return categories[r].cx, points[r]


def _wrapped_name(rgb: np.ndarray, name: str, text, taken: set[str], colour: np.ndarray, others: list[np.ndarray],
                  background: np.ndarray, categories: list[TextBox]) -> str:
    """(round 133) A line's name printed on two or three lines beside the line (Pew wraps a long name: `Married or
    cohabiting in` over `own household`, `Living in parent(s)'` over `home`), of which the reader took one box: the
    whole name, its lines top to bottom. The name's own word box (the one box of `text` whose bare text is the name;
    none or several: the name as it is) is extended by a word box stacked right above or under it: their gap between
    -0.25 and 0.4 of a line's height, their heights within 1.5x, aligned at their left edges, middles or right edges
    (within half a line's height), printed in the same ink (within 30) and that ink a colour (its channels spread over
    30: black or grey words, a legend's or a note's, name no line by their ink) and the line's own (within 80 of its
    colour, no other traced line's colour in `others` nearer); exactly one such box (two: the name as it is); never a
    number, page chrome, a turned word, a category label or another line's name (`taken`). Up to three lines."""
    boxes = [b for b in text if _bare(b.text) == name or b.text.strip() == name]
    if len(boxes) != 1:
        return name
    box = boxes[0]
    ink = coloured_ink(rgb, box, background)
    if ink is None or float(np.linalg.norm(ink - colour)) >= 80:
        return name  # black or grey words (titles, notes, a legend's words) are no line's by their ink
    if any(float(np.linalg.norm(ink - other)) < float(np.linalg.norm(ink - colour)) for other in others):
        return name
    lines, used = [box], {id(box)}
    for _ in range(2):
        found: list[tuple[TextBox, int]] = []
        for b in text:
            word = _bare(b.text)
            if (id(b) in used or b.number is not None or parse_value(b.text) is not None or b.turned or not names_something(word)
                    or _CHROME.search(word) or word in taken or any(b == c for c in categories)):
                continue
            if max(b.h, box.h) > 1.5 * min(b.h, box.h):
                continue
            for edge, side in ((lines[0], -1), (lines[-1], 1)):
                height = max(b.h, edge.h, 6.0)
                gap = edge.y0 - b.y1 if side < 0 else b.y0 - edge.y1
                if not -0.25 * height <= gap <= 0.4 * height:
                    continue
                if min(abs(b.x0 - edge.x0), abs(b.cx - edge.cx), abs(b.x1 - edge.x1)) > 0.5 * height:
                    continue
                other = _word_ink(rgb, b, background)
                if other is not None and float(np.linalg.norm(other - ink)) <= 30:
                    found.append((b, side))
        if len(found) != 1:
            break
        b, side = found[0]
        lines = [b] + lines if side < 0 else lines + [b]
        used.add(id(b))
    return " ".join(name if line is box else _bare(line.text) for line in lines)


def _baseline_row(rgb: np.ndarray, top: TextBox, years: Axis) -> float | None:
    """The rule a plot stands on: the lowest pixel row between a value label `top` and the row of years under the
    plot, within three label heights of the years, whose pixels differ from the page (the corner's colour) across
    half the picture's width or more. None when there is no such row."""
    height = float(np.median([b.h for b in years.ticks]))
    below = int(min(b.y0 for b in years.ticks))
    above = max(int(top.y1) + 1, int(below - 3 * height))
    if above >= below:
        return None
    band = rgb[above:below].astype(np.int16)
    inked = (np.abs(band - rgb[0, 0].astype(np.int16)).max(axis=2) > 25).sum(axis=1) >= 0.5 * rgb.shape[1]
    rows = np.nonzero(inked)[0]
    return float(above + rows[-1]) if len(rows) else None


def _printed_top(rgb: np.ndarray, axis: Axis) -> bool:
    """(round 185) The top label of a value axis that prints only its two ends (`two_label_axis`) is printed in a
    coloured ink (`coloured_ink`: channels spread over 30): it is a line's first value printed in the line's own ink
    (Pew's trend lines with no value axis), not an axis' top, whose labels are black or grey."""
    top = min(axis.ticks, key=lambda b: b.cy)
    return top.text.strip() != "0" and coloured_ink(rgb, top, border_colour(rgb)) is not None


def _frame_piece(inside: np.ndarray) -> bool:
    """(round 122) A traced piece (its bounding box's pixels, True on the piece) that is a rectangle's sides, no line
    of data: at least 20 pixels each way, nine in ten of its pixels within 5 pixels of its box's edges, and one
    horizontal side and one vertical side of the box each drawn along 80% of their length (a figure's frame cut by the
    plot's region, a callout's border: a line of data runs across its box, never along two of its sides)."""
    h, w = inside.shape
    total = int(inside.sum())
    if total == 0:
        return False
    if h < 20 or w < 20:
        return False
    band = 5
    edge = inside.copy()
    edge[band:h - band, band:w - band] = False
    if edge.sum() < 0.9 * total:
        return False
    across = max(inside[:band].any(axis=0).mean(), inside[h - band:].any(axis=0).mean())
    down = max(inside[:, :band].any(axis=1).mean(), inside[:, w - band:].any(axis=1).mean())
    return bool(across >= 0.8 and down >= 0.8)


def _no_axis_numbers(categories: list[TextBox], axis: Axis) -> list[TextBox]:
    """(round 144) A line chart's category row without the numbers in it that name no category: the value axis' own
    bottom label beside the first year (`$0`, left out of the axis' fit of its other ticks) or a low point's printed
    value hanging in the row (`3` under a point at 3). Such a box reads as a number (`parse_value`) but as no period
    (`_period`: a year, quarter or month), stands off the row's grid (nearer than half the row's median spacing to a
    neighbouring label), and its number is what the value axis reads at its own height (`_agrees_with_axis`). The row
    is returned as given when fewer than three labels would be left."""
    if len(categories) < 3 or not (axis.log or axis.span > 0):
        return categories
    xs = [c.cx for c in categories]
    spacing = float(np.median(np.diff(xs)))
    kept = []
    for n, box in enumerate(categories):
        parsed = parse_value(box.text)
        near = min(abs(box.cx - xs[m]) for m in (n - 1, n + 1) if 0 <= m < len(xs))
        if parsed is None or _period(box.text) is not None or near >= 0.5 * spacing \
                or not _agrees_with_axis(parsed[0], axis.value(box.cy), axis):
            kept.append(box)
    return kept if len(kept) >= 3 else categories


def _axis_chart_legend(rgb: np.ndarray, boxes: list[TextBox], centres, background) -> tuple[set[str], set[int]]:
    """The legend of a chart read by its value axis (lines): (the names of its entries that are words, the ids of the
    boxes of its entries that are numbers). (round 175) A legend may name its series by years (Statista's `● 2019
    ● 2020`, the same years printed as category labels under the plot): such words parse as numbers, so they were
    never offered to `_legend_names` and the lines came out `Series 1 | Series 2`. A year or an age band
    (`colours._year_or_band`) is offered too, and an entry it wins is kept by its box, never by its text: the words are
    left out of the category labels by text (`_bare(b.text) not in legend`), which would drop the categories `2019`
    and `2020` as well. A number-like entry is the box that a swatch of the entry's colour stands beside, read alone
    (`_legend_names` on that one box), and only for a colour no word names (the words' legend stays as it was), and
    only where two or more such entries with different years are found (Y2)."""
    if not len(centres):
        return set(), set()
    words = [b for b in boxes if parse_value(b.text) is None]
    cut_words = _after_leading_swatches(rgb, words, centres, background, codes=True)  # one box out per box in
    named = _legend_names((rgb, cut_words), centres, background, codes=True)
    legend = {name for _, name in named.values()}
    years = [b for b in boxes if parse_value(b.text) is not None and _year_or_band(b.text)]
    if not years:
        return legend, set()
    cut_years = _after_leading_swatches(rgb, years, centres, background, codes=True)  # each box trimmed alone
    trimmed = cut_words + cut_years
    entries: dict[int, str] = {}
    alone: dict[int, dict] = {}  # a year box's own legend, read once however many colours ask for it
    for colour, (_, name) in _legend_names((rgb, trimmed), centres, background, codes=True).items():
        if colour in named or parse_value(name) is None:
            continue  # a colour a word names keeps that word
        for i, (box, cut) in enumerate(zip(years, cut_years)):
            if _bare(cut.text) != name:
                continue
            if i not in alone:
                alone[i] = _legend_names((rgb, [cut]), centres, background, codes=True)
            if colour in alone[i]:
                entries[id(box)] = name
    # (Y2) a legend that names its series by years names two or more: one lone `year` beside a line is a point's
    # printed value misread (`6764` for `67.64`, `9996` for `99%`), the line through it no swatch
    return legend, set(entries) if len(set(entries.values())) >= 2 else set()


def _area(box: TextBox) -> float:
    return max(0.0, box.x1 - box.x0) * max(0.0, box.y1 - box.y0)


def _on_backdrop(rgb: np.ndarray, boxes: list[TextBox], share: float = 0.5) -> list[TextBox]:
    """(round 72, S1e) The boxes printed on the picture's backdrop: at least `share` of a box's pixels within 40 (per
    channel) of the picture's commonest colour. A value printed inside a narrow bar gets an OCR box as tall as the
    bar, `turned` by its shape (survey5 00014: `8`, `15`, 0.29-0.35 of backdrop); a turned label under the axis sits
    on the page (0.76-0.89 on every chart S1 mends)."""
    codes = (rgb[::2, ::2] // 8).reshape(-1, 3).astype(np.int32)
    values, counts = np.unique(codes[:, 0] * 1024 + codes[:, 1] * 32 + codes[:, 2], return_counts=True)
    top = int(values[counts.argmax()])
    backdrop = np.array([top // 1024, top // 32 % 32, top % 32]) * 8 + 4
    kept = []
    for b in boxes:
        patch = rgb[max(0, int(b.y0)):int(np.ceil(b.y1)), max(0, int(b.x0)):int(np.ceil(b.x1))].astype(np.int32)
        if patch.size and (np.abs(patch - backdrop).max(axis=2) <= 40).mean() >= share:
            kept.append(b)
    return kept


def _overlap(a: TextBox, b: TextBox) -> float:
    return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))


def _same_text(a: TextBox, b: TextBox) -> bool:
    """Two boxes that meet over more than a third of the smaller one's area: one piece of text read twice (two OCR
    passes, or neighbouring lines whose boxes only touch)."""
    return _overlap(a, b) > 0.3 * min(_area(a), _area(b))


_BAR_KINDS = {"bar", "hbar", "grouped", "hgrouped", "stacked", "hstacked"}


def _gutter_words(rgb: np.ndarray, boxes: list[TextBox], panels, bars: bool) -> tuple[list[TextBox], list[TextBox], str, list[TextBox]]:
    """(rounds 138, 142) The picture's own words in a picture of panels side by side: the boxes crossing the gutter,
    a wrapped title's second line, the title's text, and the boxes painted out of every panel's crop."""
    shared = [b for b in boxes if b.x0 < panels[0][2] < b.x1]
    first = _page_title(shared, rgb.shape[0]) if shared else ""
    # (round 142) a title crossing the gutter, wrapped: its second line may lie in one panel only (the title's own
    # rule, `_page_title` over every box, gives it); it is the picture's, painted out of the panel like the first
    whole = _page_title(boxes, rgb.shape[0]) if first else ""
    wrapped = []
    if whole.startswith(first + " ") and first:
        rest = whole[len(first) + 1:]
        line = [b for b in shared if first.startswith(b.text) or b.text in first]
        top = min((b.cy for b in line), default=0.0)
        wrapped = [b for b in boxes if b not in shared and b.y0 > top and b.text in rest
                   and b.y0 < max(b.y1 for b in line) + 0.6 * float(np.median([b.h for b in line]))] if line else []
        if wrapped:
            first = whole
    # bar panels (round 142): a line of words crossing the gutter (a subtitle OCR cut into boxes) is the picture's:
    # its boxes next to the crossing one (gaps under two letter heights, on its line) are painted out of the panels
    # too (not for line panels: a legend crossing the gutter may hold a left panel's own line name)
    # (a box reaching over the gutter by OCR's padding only, 3 px or less, is its panel's own: no seed)
    chain = [b for b in shared if min(panels[0][2] - b.x0, b.x1 - panels[0][2]) > 3]
    for b in sorted(boxes, key=lambda t: min((abs(t.cx - c.cx) for c in shared), default=0.0)) if bars else ():
        if b not in chain and any(abs(b.cy - c.cy) < 0.5 * min(b.h, c.h) and max(b.x0 - c.x1, c.x0 - b.x1) < 2 * c.h
                                  for c in chain):
            chain.append(b)
    out = wrapped + [b for b in chain if b not in shared and b not in wrapped]
    return shared, wrapped, first, out


_ROW_BARS = ("hbar", "hgrouped", "hstacked")  # (round 142) horizontal bars: a column of row labels per panel


def _attempt(read, rgb: np.ndarray, boxes: list[TextBox]) -> tuple[str, str, ChartReadError | None]:
    """(text, kind, None) of `read(rgb, boxes)`, or ("", "unread", the error) where it raises ChartReadError."""
    try:
        text, kind = read(rgb, boxes)
    except ChartReadError as exc:
        return "", "unread", exc
    return text, kind, None


def _wants_second_look(text: str, kind: str, boxes: list[TextBox]) -> bool:
    """A first reading that leaves the chart unread, or a bar chart without category labels: one row only, or every
    row named by its number (1, 2, 3: the reader's name for a group with no label under it) where no such text was
    read. A chart with some of its labels read is left as it is (its missing ones are read again one by one)."""
    if kind == "unread":
        return True
    if kind not in _BAR_KINDS:
        return False
    rows = [row for row in parse_table(text).rows if row]
    read = {b.text.strip() for b in boxes}
    return len(rows) < 2 or all(re.fullmatch(r"[1-9]\d?", row[0]) and row[0] not in read for row in rows)


_YEAR_MARK = r"['\u2018\u2019`\u00b4]"  # the mark of an abbreviated year label: '93 (Pew's year axes)
_SHORT_YEAR = re.compile(_YEAR_MARK + r"\d\d")


def _year_marks_restored(boxes: list[TextBox]) -> list[TextBox]:
    """(round 117) A row of abbreviated year labels ('93 '97 '01 '05) where OCR dropped the mark of some (`93`, `05`):
    those read as numbers (a value, a tick), so the row is no row of category labels. Where a row of 3+ boxes (centres
    within half a box height) holds nothing but two-digit labels, 2+ of them marked, and their years rise left to right
    (past a century's end once at most: '97 '01), the bare ones get the mark the others print. Boxes are returned as
    given elsewhere."""
    short = [b for b in boxes if re.fullmatch(_YEAR_MARK + r"?\d\d", b.text.strip())]
    fixed: dict[int, TextBox] = {}
    for row in _groups(short, lambda b: b.cy, tol=0.5 * float(np.median([b.h for b in short])) if short else 0.0):
        row = sorted(row, key=lambda b: b.cx)
        marked = [b for b in row if _SHORT_YEAR.fullmatch(b.text.strip())]
        bare = [b for b in row if b not in marked]
        if len(row) < 3 or len(marked) < 2 or not bare:
            continue
        if {id(b) for b in boxes if abs(b.cy - row[0].cy) <= 0.5 * row[0].h and row[0].x0 <= b.cx <= row[-1].x1} != {id(b) for b in row}:
            continue  # other words in the row: not a row of year labels only
        years = [int(b.text.strip()[-2:]) for b in row]
        wrap = next((n + 1 for n, (a, b) in enumerate(zip(years, years[1:])) if b < a), len(years))
        full = years[:wrap] + [y + 100 for y in years[wrap:]]  # '97 '01: 97, 101
        if any(b <= a for a, b in zip(full, full[1:])) or full[-1] >= years[0] + 100:
            continue
        fixed.update({id(b): replace(b, text="'" + b.text.strip()) for b in bare})
    return [fixed.get(id(b), b) for b in boxes] if fixed else boxes


_TICK_END = re.compile(r"[\s\-\u2013\u2014_|]+$")  # a tick mark's ink read at a turned label's end (round 65)


def _tinted_backdrop(rgb: np.ndarray) -> bool:
    """(round 155) The picture's commonest colour (`colours._backdrop`) is a light tint: every channel 150+, channels
    12-60 apart (Solarize's cream (238, 232, 213), OECD's pale blue (221, 232, 240)); white, grey and black backdrops
    and coloured bars covering most of the picture are none."""
    commonest, _ = _backdrop(rgb.reshape(-1, 3))
    return bool(commonest.min() >= 150 and 12 <= np.ptp(commonest) <= 60)


def _characters(boxes: list[TextBox]) -> int:
    """The letters and digits a reading's boxes hold."""
    return sum(ch.isalnum() for b in boxes for ch in b.text)


def _grey(rgb: np.ndarray) -> np.ndarray:
    """The picture as a grey copy (the mean of its channels, in three channels): what the OCR detector reads where it
    misses text in colour (rounds 155, 211)."""
    return np.ascontiguousarray(np.repeat(rgb.mean(axis=2).round().astype(np.uint8)[..., None], 3, axis=2))


def _missed_boxes(grey: list[TextBox], boxes: list[TextBox]) -> list[TextBox]:
    """(round 211) The grey copy's words where the colour reading has none: names, what `_text_missed` finds missing
    (numbers are left to colour and to the bars' measures: the grey copy misread a small printed `31` as `21`); a box
    that meets a colour box (`_same_text`) is left to the colour reading's. (round 212) A year (1900-2099) is a name
    too: the category labels of bars over years."""
    return [box for box in grey if (any(ch.isalpha() for ch in box.text) or _YEAR_1900.fullmatch(box.text.strip()))
            and not any(_same_text(box, b) for b in boxes)]


def _text_missed(text: str, kind: str) -> bool:
    """(round 211) A reading that shows text the OCR should have found and did not: the chart unread, a series named
    `Series N` (no legend word found for it), or a row named by its bare number (the reader's name for a row with no
    label; round 212: even where such text was read, a value axis' `1 2 3 4 5` under horizontal bars)."""
    if kind == "unread":
        return True
    table = parse_table(text)
    if any(UNNAMED_SERIES.fullmatch(name.strip()) for name in table.headers):
        return True
    return any(row and row[0].strip() == str(n + 1) for n, row in enumerate(r for r in table.rows if r))


class ChartExpert:
    """`chart` expert: describe(image) -> DePlot table text, or a sentence saying why there is none.

    Safe to share between threads: a call keeps all its state in local variables; only the OCR engine is
    shared, and its calls are serialised by a lock (rapidocr keeps the last call's flags on the engine)."""

    name = "chart"

    def __init__(self, threads: int = 2):
        try:
            from rapidocr import RapidOCR  # noqa: F401
            from spellchecker import SpellChecker  # noqa: F401  (respace: the word list for turned titles)
        except ImportError:
            raise BackendError("the chart expert needs 'rapidocr', 'onnxruntime' and 'pyspellchecker' "
                               "(pip install 'visual-med-alpaca[vision]')") from None
        self._threads = threads
        self.ocr = self._engine(("min", 736))  # small charts are upscaled: tick labels need it
        self._strip_ocr = None  # detection at the picture's own scale (long thin strips), made on first use
        self._ocr_lock = threading.Lock()

    def _engine(self, limit: tuple[str, int]):
        """One rapidocr engine, configured through its public params only (`Det.limit_*` is fixed per engine)."""
        from rapidocr import RapidOCR

        return RapidOCR(params={
            "Global.log_level": "critical", "Global.use_cls": False,
            "Det.limit_type": limit[0], "Det.limit_side_len": limit[1],
            "EngineConfig.onnxruntime.intra_op_num_threads": self._threads,
            # the recogniser pads every batch to at least Rec.rec_img_shape's width (320 px by default) and to its
            # widest box; chart text is mostly short numbers, so each box is read alone at its own width (a
            # 48 px floor): recognition ~45% faster on dev charts (docs/benchmarks.md). The memory arena saves
            # re-allocating for every box width.
            "Rec.rec_batch_num": 1, "Rec.rec_img_shape": [3, 48, 48],
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
        })

    # -- OCR -------------------------------------------------------------------------------------------
    def _run_ocr(self, rgb: np.ndarray, detect: bool, native: bool = False):
        """`native`: detect at the picture's own scale. A whole chart is enlarged to a short side of 736 for
        small tick labels; a long thin strip (a rotated axis title, already enlarged) would become ~736 x 9000,
        so strips go to a second engine that only shrinks pictures longer than 4096."""
        with self._ocr_lock:  # explicit flags on every call: an engine keeps the last call's
            engine = self.ocr
            if native:
                if self._strip_ocr is None:
                    self._strip_ocr = self._engine(("max", 4096))
                engine = self._strip_ocr
            result = engine(rgb, use_det=detect, use_cls=False, use_rec=True)
            _table_normalised_detection(engine)  # the detector is made on first use: from the next call on
            _denormal_flushing_detection(engine, self._threads)
            _parallel_recognition(engine, self._threads)  # so is the recogniser
            return result

    def read_text(self, rgb: np.ndarray, native: bool = False) -> list[TextBox]:
        """The picture's text boxes (`native`: detected at the picture's own scale, see `_run_ocr`).

        (round 155) A picture on a tinted backdrop (`_tinted_backdrop`: matplotlib's Solarize cream) is read twice, in
        colour and as a grey copy, and the reading with more letters and digits stands: on the cream the detector
        missed most of a chart's tick labels, printed values and legend words (plain3 chart 23: no value axis, no
        legend) that it finds in the grey copy. Elsewhere the one reading in colour, as before."""
        boxes = self._text_boxes(rgb, native)
        if not _tinted_backdrop(rgb):
            return boxes
        other = self._text_boxes(_grey(rgb), native)
        return other if _characters(other) > _characters(boxes) else boxes

    def _text_boxes(self, rgb: np.ndarray, native: bool) -> list[TextBox]:
        """One OCR pass's text boxes (`read_text`)."""
        result = self._run_ocr(rgb, detect=True, native=native)
        boxes = []
        if result.boxes is None:
            return boxes
        for quad, text, score in zip(result.boxes, result.txts, result.scores):
            text = unaccent(text.strip())
            if score < 0.5 or (len(text) == 1 and score < 0.9) or not text or not any(ch.isascii() and ch.isalnum() for ch in text):
                continue
            quad = np.asarray(quad)
            x0, y0, x1, y1 = float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max())
            parts = text.split()
            if len(parts) > 1 and all(p.endswith("%") and parse_number(p) is not None for p in parts):
                # '60% 58%': a tick label and a point label read as one box; each part gets its share of the width
                start = 0
                for part in parts:
                    at = text.index(part, start)
                    boxes.append(TextBox(part, x0 + (x1 - x0) * at / len(text), y0, x0 + (x1 - x0) * (at + len(part)) / len(text), y1))
                    start = at + len(part)
                continue
            box = TextBox(text, x0, y0, x1, y1)
            if any(grouped_run(p) for p in parts):  # (round 216) tick labels printed touching: cut into numbers
                boxes.extend(_touching_ticks_cut(rgb, box) or [box])
                continue
            # (round 117) "'50 '60 '70", a row of abbreviated years, or '5,000 10,000 15,000', a row of tick labels,
            # read as one box: cut at the widest blank columns
            row = len(parts) > 1 and (all(_SHORT_YEAR.fullmatch(p) for p in parts) or (
                all(parse_number(p) is not None for p in parts) and not any(thousands_group(p) for p in parts[1:])))
            # (round 220) a row of tick labels whose gaps are too narrow to cut at: by their share, where they rise evenly
            boxes.extend(((_cut_at_gaps(rgb, box) or _touching_ticks_cut(rgb, box, gaps=False)) if row else None) or [box])
        return scale_words_spelled_out(_powers_of_ten(_year_marks_restored(boxes)))

    # -- entry points ----------------------------------------------------------------------------------
    def describe(self, image: LoadedImage) -> str:
        return self.read(image).text

    def read(self, image: LoadedImage) -> ChartReading:
        rgb = np.asarray(image.image.convert("RGB"))
        h, w = rgb.shape[:2]
        if min(h, w) < MIN_SIDE:
            return ChartReading(f"The chart could not be read: the image is only {w}x{h} pixels, too small for any text to be legible.", "unread")
        if max(h, w) > WORK_SIDE:
            import cv2

            scale = WORK_SIDE / max(h, w)
            rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        try:
            text, kind = self.read_table(rgb)
            return ChartReading(text, kind)
        except ChartReadError as exc:
            return ChartReading(f"The chart could not be read: {exc}.", "unread")
        except Exception as exc:  # noqa: BLE001 - a reader bug on one picture must not end an answer or an eval run
            log.warning("the chart reader failed on a %dx%d picture (a bug: please report it with the image)", w, h,
                        exc_info=True)
            return ChartReading(f"The chart could not be read: the reader failed ({type(exc).__name__}).", "unread")

    def read_table(self, rgb: np.ndarray) -> tuple[str, str]:
        """(DePlot table, chart type); raises ChartReadError when there is nothing it can stand behind.

        A chart the first OCR pass leaves unread, or reads as bars without category labels (every row numbered 1,
        2, 3, or one row only), is read again with the text of a second look at its margins
        (`_second_look`: small text the detector missed at the whole picture's scale). A chart still unread then gives
        the values printed beside a column of row labels, where there are such (round 82, `_printed_rows_table`).

        (round 138) A picture of small multiples (`panels.find_panels`: plot panels side by side or one above the
        other, each with its own category axis) that the whole reading gives as lines, a partial table or nothing is
        read panel by panel (`_read_panels`).

        (round 211) A reading that shows text the OCR missed (`_text_missed`: unread, a `Series N`, a row named by its
        number) is read again with the text a grey copy's OCR finds where colour found none (`_missed_boxes`): fed the
        picture in colour, the detector misses whole rows of text on some charts (a ggplot chart's category labels and
        legend, a dark-background chart's labels and printed values) that it finds in grey; in grey it misses or
        misreads text on other charts (round 210: `31` read `21`, a Pew chart's `54` and `57` lost), so the grey copy
        only adds to what colour read. The new reading stands where it reads (or the first did not)."""
        boxes = self.read_text(rgb)
        text, kind, error = _attempt(self._read_found, rgb, boxes)
        if _text_missed(text, kind) and not _tinted_backdrop(rgb):  # a tinted one was read in grey already
            added = _missed_boxes(self._text_boxes(_grey(rgb), native=False), boxes)
            if added:
                again = _attempt(self._read_found, rgb, boxes + added)
                if again[2] is None or error is not None:  # a chart read in colour is never lost to the grey copy
                    text, kind, error = again
        if error is not None:
            raise error
        return text, kind

    def _read_found(self, rgb: np.ndarray, boxes: list[TextBox]) -> tuple[str, str]:
        """read_table from the picture's text boxes (one OCR pass's)."""
        if not boxes:
            raise ChartReadError("no text was found in the image (no axis labels, legend or printed values)")
        boxes = self._log_labels_enlarged(rgb, boxes)
        text, kind, error = _attempt(self._read_boxes, rgb, boxes)
        if kind in ("line", "partial", "unread"):
            find, kinds = find_panels, None
        elif kind in _ROW_BARS:  # (round 142) bar panels side by side, each with its own column of row labels
            find, kinds = find_row_panels, _ROW_BARS
        else:
            find, kinds = None, None
        panels = find(rgb, boxes) if find is not None else None
        joined = self._read_panels(rgb, boxes, panels, kinds=kinds) if panels is not None else None
        if joined is not None:
            return joined
        if error is not None:
            raise error
        return text, kind

    def _read_panels(self, rgb: np.ndarray, boxes: list[TextBox], panels, kinds=None) -> tuple[str, str] | None:
        """(round 138) Each panel's crop read through the whole reader (its text boxes shifted to the crop, the text of
        the others painted out) and the panel tables joined (`panels.join_panels`: one row per category, the columns of
        every panel; DePlot's one table, and the panels' headings kept as column names where series names repeat,
        which OpenCQA's label recall counts). The picture's title (its first line of words above the panels) heads the
        joined table. None (the whole reading stands) unless every panel reads."""
        side = len({crop[1] for crop in panels}) == 1
        shared, wrapped, first, out = _gutter_words(rgb, boxes, panels, bars=kinds is not None) if side else ([], [], "", [])
        tables, read = [], []
        for crop in panels:
            picture, own = panel_boxes(rgb, boxes, crop, out=out)
            if not own:
                return None
            try:
                text, kind = self._read_boxes(picture, own)
            except ChartReadError:
                return None
            if kinds is not None and kind not in kinds:  # (round 142) bar panels: each panel must read as bars too
                return None
            tables.append(text)
            read.append(kind)
        if side:  # side by side: the words above both panels, crossing the gutter
            title = _title_without_subtitle(rgb, shared + wrapped, first) if shared else ""
        else:  # stacked: the first panel's crop holds the picture's title
            title = parse_table(tables[0]).title or ""
        kind = read[0] if len(set(read)) == 1 else "partial" if "partial" in read else read[0]  # a note closes it
        return join_panels(title, tables), kind

    def _read_boxes(self, rgb: np.ndarray, boxes: list[TextBox]) -> tuple[str, str]:
        """The whole reading of a picture (or a panel's crop) from its text boxes; raises ChartReadError."""
        upright = self._upright_labels(rgb, boxes)
        text, kind, error = _attempt(self._reading, rgb, upright)
        if upright is not boxes:
            (text, kind, error), upright = self._upright_guard(rgb, boxes, upright, (text, kind, error))
        boxes = upright
        if not _wants_second_look(text, kind, boxes):
            return text, kind
        more = self._second_look(rgb, boxes)
        if more:
            try:
                return self._reading(rgb, boxes + more)
            except ChartReadError:
                pass  # the first reading stands
        if error is not None:  # (round 82) no reader could read it: the values printed beside a column of row labels
            rows = _printed_rows_table(boxes + more, str(error))
            if rows is None:
                try:  # (round 218) the last try: bars whose every printed value the detector missed, read at their ends
                    return self._reading(rgb, boxes + more, blind=True)
                except ChartReadError:
                    raise error from None
            return rows, "partial"
        return text, kind

    def _upright_guard(self, rgb: np.ndarray, boxes: list[TextBox], upright: list[TextBox], reading):
        """(round 67, S1d) The upright re-read of turned category labels stands only where its reading keeps as many
        table rows as the first pass's boxes give: a row of 25 turned years read right (Statista's line over 1996-2020)
        made the reader take the value axis' ticks for the categories (6 rows for 25). The chart is read once more
        from the first pass's boxes (geometry only, on the charts the re-read was made for); the reading with fewer
        rows (an unread chart has none) gives way. Returns ((text, kind, error), the boxes read)."""
        try:
            first = (*self._reading(rgb, boxes), None)
        except ChartReadError:
            return reading, upright
        rows = [len(parse_table(text).rows) if error is None else 0 for text, _, error in (reading, first)]
        return (reading, upright) if rows[0] >= rows[1] else (first, boxes)

    def _reading(self, rgb: np.ndarray, boxes: list[TextBox], blind: bool = False) -> tuple[str, str]:
        """read_table on the text boxes found: the full reading, else the partial table of printed values. `blind`: the
        last try on an unread chart (`bars._values_read_again`)."""
        try:
            text, kind = self._table_of(rgb, boxes, blind)
        except ChartReadError as exc:  # the part it is sure of: the values printed over a row of category labels
            text = _printed_values_table(rgb, boxes, str(exc))
            if text is None:
                raise
            kind = "partial"
        if any(_OWID.search(b.text) for b in boxes):  # Our World in Data's tables give shares as plain numbers
            text = _without_percent(text)
        return text, kind

    def _table_of(self, rgb: np.ndarray, boxes: list[TextBox], blind: bool = False) -> tuple[str, str]:
        clusters = _colour_clusters(rgb, [], 0)
        boxes = _split_at_swatches(rgb, boxes, clusters[1], clusters[2])  # a legend row OCR read as one text
        page = (rgb, boxes)
        pie = read_pie_chart(rgb, boxes, clusters, self._read_words)
        if pie is not None:
            kind, header, series, rows, title = pie
            title = _title_without_subtitle(rgb, boxes, title)
            bottom = max(b.y1 for b in boxes)
            name = self._bar_series_title(rgb, boxes, "bar", bottom, (min(rgb.shape[1] * 0.25, rgb.shape[1] / 2), 0))
            return _linearize(title, header, [name or series[0]], rows), kind
        bars = read_bar_chart(rgb, boxes, clusters, self._read_words, blind)  # most real charts are bars with printed values
        if bars is not None:
            kind, header, series, rows, (top, bottom, span) = bars
            title = _title_without_subtitle(rgb, boxes, _page_title(boxes, top))
            if series == ["Value"]:  # one unnamed series: the value axis' title, else the chart's title names it
                series = [self._bar_series_title(rgb, boxes, kind, bottom, span) or _unnamed_series(boxes) or title or "Value"]
            return _linearize(title, header, series, rows), kind
        dots = read_dot_plot(rgb, boxes, clusters, self._read_words)  # round 62: Pew's dot plots, no value axis
        if dots is not None:
            header, series, rows, top = dots
            return _linearize(_title_without_subtitle(rgb, boxes, _page_title(boxes, top)), header, series, rows), "dots"
        return self._read_by_axis(page, clusters)

    def _read_by_axis(self, page, clusters) -> tuple[str, str]:
        """Charts without standing bars (lines; bars the bar reader could not stand on a baseline): the value
        axis' tick labels give the scale, colour clusters give the marks."""
        rgb, boxes = page
        _, centres, background = clusters  # the legend's words are neither category labels nor under the plot
        legend, numbered = _axis_chart_legend(rgb, boxes, centres, background)
        if numbered:  # (round 175) a legend entry that is a year (`● 2019`) is no category label, by its box: the
            boxes = [b for b in boxes if id(b) not in numbered]  # labels `2019` under the plot stay
        y_axis = find_value_axis(boxes, vertical=True)
        x_axis = find_value_axis(boxes, vertical=False)
        if y_axis is None and x_axis is None:  # faint small tick labels: look again at the left margin, enlarged
            margin = self._margin_text(rgb, boxes)
            boxes = boxes + margin
            page = (rgb, page[1] + margin)
            y_axis = find_value_axis(boxes, vertical=True)
        printed_top = False
        if y_axis is None and x_axis is not None:  # a row of years under a value axis printing only `0` and `100 %`
            y_axis = two_label_axis(boxes, x_axis, lambda top: _baseline_row(rgb, top, x_axis))
            # (round 185) its top a line's first value in the line's own ink: the printed values give the scale first
            printed_top = y_axis is not None and _printed_top(rgb, y_axis)
        attempts = [("vertical", rgb, boxes, None)] if printed_top else []
        if y_axis is not None and x_axis is not None and _looks_like_years(y_axis):
            y_axis = None  # a column of consecutive years is the category axis of horizontal bars
        if y_axis is not None or x_axis is None:
            attempts.append(("vertical", rgb, boxes, y_axis))
        if x_axis is not None:
            width = rgb.shape[1]
            axis = replace(x_axis, ticks=[b.rotated(width) for b in x_axis.ticks])
            # after a quarter turn, pixel column x becomes row width-1-x: re-express the fit in rows
            axis.slope, axis.intercept = -x_axis.slope, x_axis.slope * (width - 1) + x_axis.intercept
            attempts.append(("horizontal", np.ascontiguousarray(np.rot90(rgb)), [b.rotated(width) for b in boxes], axis))
        if y_axis is None and x_axis is None:
            attempts.append(("horizontal", np.ascontiguousarray(np.rot90(rgb)), [b.rotated(rgb.shape[1]) for b in boxes], None))
        if y_axis is None and x_axis is not None and _all_years(x_axis.ticks):  # (round 127) a row of years under a
            attempts.append(("vertical", rgb, boxes, None))  # line with printed values and no value axis: read upright last
        problems = []
        for orientation, picture, picture_boxes, axis in attempts:
            try:
                kind, header, series, rows = self._read_upright(picture, picture_boxes, axis, orientation, page, legend, numbered=numbered)
            except ChartReadError as exc:
                problems.append(str(exc))
                continue
            name = ""
            if series == ["Value"]:  # one unnamed series: the value axis' title names it
                if orientation == "vertical" and y_axis is not None and max(b.x1 for b in y_axis.ticks) < rgb.shape[1] / 2:
                    span = (max(b.x1 for b in y_axis.ticks) + 1, rgb.shape[1])
                    name = self._bar_series_title(rgb, boxes, "bar", max(b.y1 for b in y_axis.ticks), span)
                elif orientation == "horizontal" and x_axis is not None:
                    name = _x_title(boxes, x_axis)
                series = [name or _unnamed_series(boxes) or "Value"]
            title = self._title([b for b in boxes if b.text not in series], y_axis or x_axis)
            if y_axis is not None and prints_only_ends(y_axis):  # two_label_axis: its top label stands
                title = _page_title(boxes, min(b.y0 for b in y_axis.ticks)) or title  # under the title's lines
            elif axis is None and orientation == "vertical" and kind == "line":  # (round 127) no value axis: the title's
                first = printed_value_axis(boxes, rgb.shape[0])  # lines stand over the values printed at the points
                title = _page_title(boxes, min(b.y0 for b in first[0].ticks)) if first is not None else title
            title = _title_without_subtitle(rgb, boxes, title)
            return _linearize(title, header, series, rows), kind
        if printed_top and len(problems) > 1:  # the reading tried first failing, the two-label reading's reason is told
            problems = problems[1:] + problems[:1]
        raise ChartReadError(problems[0] if problems else "no bars or lines were found")

    def _bar_series_title(self, rgb: np.ndarray, boxes: list[TextBox], kind: str, bottom: float, span) -> str:
        """The name of a single unnamed series: the value-axis title (vertical text left of vertical bars,
        the words under the value axis of horizontal bars)."""
        words = [b for b in boxes if b.number is None and not _CHROME.search(b.text) and parse_value(b.text) is None]
        if kind == "hbar":
            below = [b for b in boxes if b.y0 > bottom - 2]
            ticks = [b for b in below if parse_value(b.text) is not None and b.y0 < bottom + 3 * b.h]
            floor = max((b.y1 for b in ticks), default=bottom)
            axis = find_value_axis(boxes, vertical=False)  # thin bars left unfound may end the bars far above it
            if axis is not None and min(b.y0 for b in axis.ticks) > bottom - 2:
                floor = max(floor, max(b.y1 for b in axis.ticks))
            # (round 206) a title set right under the tick labels may be long (Statista: `Index score on a scale from 0
            # to 100`, nine words); further down, a long line is a note, not the axis' title
            under = sorted((b for b in words if b.cy > floor and span[0] <= b.cx <= span[1] and b.y0 < floor + 3 * b.h
                            and len(b.text.split()) <= (12 if b.y0 < floor + b.h else 8)
                            and not re.search(r"\.\s+[A-Z][a-z]", b.text)), key=lambda b: b.y0)
            return under[0].text if under else ""
        tall = [b for b in words if b.turned and b.cx < min(rgb.shape[1] * 0.25, span[0])]
        if tall:
            box = max(tall, key=lambda b: b.h)
            x0, x1 = max(0, int(box.x0) - 3), int(box.x1) + 4
        else:  # small rotated text the detector missed: look at the margin left of the tick labels
            ticks = [b for b in boxes if parse_value(b.text) is not None and b.x1 < span[0] and b.y1 <= bottom + b.h]
            if len(ticks) < 2:
                return ""
            typical = float(np.median([b.h for b in ticks]))
            x1 = int(min(b.x0 for b in ticks)) - 1
            x0 = max(0, int(x1 - 2.2 * typical))
            if x1 - x0 < 8:
                return ""
            box = None
        # the detector may split the title or clip it: read the whole column upright, with detection. Upright text
        # that crosses the column's edges (a pie's slice label `East 20.8%`, a long tick label) is no part of a
        # turned title: painted over in the column's commonest colour first (round 8: `Visits017`, `Eas Scoreh 13`)
        column = rgb[:int(bottom) + 4, x0:x1].copy()
        crossing = [b for b in boxes if not b.turned and b is not box and (b.x0 < x0 - 2 or b.x1 > x1 + 1)
                    and b.x1 > x0 and b.x0 < x1 and b.y0 < column.shape[0]]
        if crossing:
            paint = commonest_colour(column)
            for b in crossing:
                column[max(0, int(b.y0) - 1):int(b.y1) + 2, max(0, int(b.x0) - x0 - 1):max(0, int(b.x1) - x0 + 2)] = paint
        crop = np.ascontiguousarray(np.rot90(column, k=-1))
        import cv2

        crop = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        crop = cv2.copyMakeBorder(crop, 16, 16, 16, 16, cv2.BORDER_REPLICATE)
        result = self._run_ocr(crop, detect=True, native=True)
        found = sorted(((np.asarray(q), t.strip()) for q, t in zip(result.boxes, result.txts) if t.strip()),
                       key=lambda qt: float(qt[0][:, 0].min())) if result.boxes is not None else []
        text = ""
        for n, (quad, word) in enumerate(found):  # the detector may cut one word in two: no space at a narrow gap
            gap = float(quad[:, 0].min() - found[n - 1][0][:, 0].max()) if n else 0.0
            height = float(quad[:, 1].max() - quad[:, 1].min())
            text += word if not n else (" " if gap > 0.3 * height else "") + word
        text = respace(text or (box.text if box else ""))
        return text if sum(ch.isalpha() for ch in text) >= 3 else ""

    def _read_words(self, crop: np.ndarray) -> str:
        """The words in a small crop (a category label), enlarged and detected at its own scale, in reading order."""
        import cv2

        crop = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        crop = cv2.copyMakeBorder(crop, 16, 16, 16, 16, cv2.BORDER_REPLICATE)
        result = self._run_ocr(crop, detect=True, native=True)
        if result.boxes is None:
            return ""
        found = [TextBox(t.strip(), float(np.asarray(q)[:, 0].min()), float(np.asarray(q)[:, 1].min()),
                         float(np.asarray(q)[:, 0].max()), float(np.asarray(q)[:, 1].max()))
                 for q, t, score in zip(result.boxes, result.txts, result.scores) if t.strip() and score >= 0.5]
        return " ".join(b.text for b in _reading_order(found))

    def _upright_labels(self, rgb: np.ndarray, boxes: list[TextBox]) -> list[TextBox]:
        """Category labels printed turned a quarter (Statista's long names, reading upwards) read again upright
        (round 64): the first pass reads a turned box by rapidocr's own turn and often garbles it (`Dae vd vend`
        for `Data privacy and`, `Breeil` for `Brazil`). Where 2+ turned boxes in the picture's lower 60% hang from
        one row (their tops within 6 px), the strip holding them is turned upright (a quarter clockwise), enlarged
        twice and read once more (one added OCR call); its lines, put back in the picture's coordinates, stand for
        those boxes. Boxes are returned as given where no such row stands or the strip reads nothing."""
        import cv2

        h, w = rgb.shape[:2]
        turned = [b for b in boxes if b.turned and b.cy > 0.4 * h]
        if len(turned) >= 2:  # (round 72, S1e) text inside a bar is a printed value, never a turned category label
            turned = _on_backdrop(rgb, turned)
        turned = sorted(turned, key=lambda b: b.y0)
        rows = _groups(turned, lambda b: b.y0, tol=6)
        row = max(rows, key=len, default=[])
        if len(row) < 2:
            return boxes
        x0, x1 = max(0, int(min(b.x0 for b in row)) - 6), min(w, int(max(b.x1 for b in row)) + 7)
        # The strip starts at the boxes' own top (round 65): a margin above them takes in the axis' tick marks,
        # which the re-read joins to a label's end as a dash (`2006–`), so year labels stop reading as years.
        y0, y1 = max(0, int(min(b.y0 for b in row))), min(h, int(max(b.y1 for b in row)) + 5)
        strip = cv2.resize(np.ascontiguousarray(np.rot90(rgb[y0:y1, x0:x1], k=-1)), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        strip = cv2.copyMakeBorder(strip, 16, 16, 16, 16, cv2.BORDER_REPLICATE)
        upright = self.read_text(strip, native=True)
        if not upright:
            return boxes
        tall = y1 - y0  # the strip's column u is the picture's row y1 - 1 - u, its row v the picture's column x0 + v
        lines = [TextBox(_TICK_END.sub("", b.text), x0 + (b.y0 - 16) / 2, max(y0, y0 + tall - 1 - (b.x1 - 16) / 2),
                         x0 + (b.y1 - 16) / 2, min(y1, y0 + tall - 1 - (b.x0 - 16) / 2)) for b in upright if _TICK_END.sub("", b.text)]
        inside = [b for b in boxes if x0 <= b.cx <= x1 and y0 <= b.cy <= y1]  # the row, and pieces of it read flat
        # A turned box gives way only to a line that meets it (round 65: a turned box the re-read missed, e.g. a
        # printed value, keeps its place); a flat one only to a line covering more than half of it.
        kept = [b for b in boxes if not any(b is i and any(_overlap(b, line) > (0 if b.turned else 0.5 * _area(b)) for line in lines)
                                            for i in inside)]
        lines = [b for b in lines if not any(_same_text(b, k) for k in kept)]
        return kept + lines

    def _margin_text(self, rgb: np.ndarray, boxes: list[TextBox]) -> list[TextBox]:
        width = max(24, rgb.shape[1] // 6)
        found = []
        for box in self._strip_text(rgb, (0, 0, width, rgb.shape[0]), native=False, border=0):
            if box.number is not None and not any(abs(box.cx - b.cx) < 4 and abs(box.cy - b.cy) < 4 for b in boxes):
                found.append(box)
        return found

    def _strip_text(self, rgb: np.ndarray, area: tuple[int, int, int, int], native: bool, border: int) -> list[TextBox]:
        """The text boxes of rgb's area (x0, y0, x1, y1), enlarged twice (a `border` of replicated pixels around it),
        in the picture's coordinates."""
        import cv2

        x0, y0, x1, y1 = area
        strip = cv2.resize(rgb[y0:y1, x0:x1], None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        if border:
            strip = cv2.copyMakeBorder(strip, border, border, border, border, cv2.BORDER_REPLICATE)
        return [replace(b, x0=x0 + (b.x0 - border) / 2, y0=y0 + (b.y0 - border) / 2, x1=x0 + (b.x1 - border) / 2,
                        y1=y0 + (b.y1 - border) / 2) for b in self.read_text(strip, native=native)]

    def _log_labels_enlarged(self, rgb: np.ndarray, boxes: list[TextBox]) -> list[TextBox]:
        """(round 183) A log axis' tick labels written as powers of ten (`10³`, `4×10²`) that OCR misread at the
        picture's scale (small superscripts at 72 dpi: `20^2`, `102` for 10¹, `10²²` for 10², `3×1o²`, or missed
        outright), so that no value axis fits them, or a column of printed values fits one instead: where the left
        third holds a label written as a power (a superscript, `^` or `×`, or `power`) or two or more `10` + one
        digit, the picture's left strip up to that column is read again enlarged twice (`_strip_text`). Its numbers
        replace the first pass's numbers (and power-like labels) in the strip only when they fit a log axis with more
        tick labels than the first pass's numbers there fit (none: 0); otherwise the first pass stands."""
        h, w = rgb.shape[:2]
        left = [b for b in boxes if b.cx < w / 3]
        written = [b for b in left if b.power or re.search(f"[{SUPERSCRIPT_DIGITS}^×]", b.text)]
        tens = [b for b in left if re.fullmatch(r"10\d", b.text.strip())]
        marks = written + (tens if len(tens) >= 2 else [])
        if not marks:
            return boxes
        x1 = min(w, int(max(b.x1 for b in marks)) + 4)
        column = [b for b in boxes if b.x1 <= x1]
        old = find_value_axis(column, vertical=True)
        strip = [b for b in self._strip_text(rgb, (0, 0, x1, h), native=False, border=0) if b.number is not None and b.x1 < x1 - 1]
        new = find_value_axis(strip, vertical=True)
        if new is None or not new.log or (old is not None and len(old.ticks) >= len(new.ticks)):
            return boxes
        # (amendment 1) the strip's boxes placed at the height of the first pass's boxes they meet (the enlarged read sets them
        # ~1 px lower, and a log axis reads 1 px as a per cent or two): shifted by the median offset of those pairs
        pairs = [(f, b) for b in strip for f in column if _same_text(f, b)]
        if pairs:
            dy = float(np.median([f.cy - b.cy for f, b in pairs]))
            strip = [replace(b, y0=b.y0 + dy, y1=b.y1 + dy) for b in strip]
        ids = {id(b) for b in marks}
        return [b for b in boxes if not (b.x1 <= x1 and (b.number is not None or id(b) in ids))] + strip

    def _second_look(self, rgb: np.ndarray, boxes: list[TextBox]) -> list[TextBox]:
        """Text the first pass missed where axes and category labels stand (round 26): the picture's left quarter
        and bottom fifth, each enlarged twice and detected at that scale (small text, 7-8 px high at 72 dpi, that
        the detector misses at the whole picture's scale). Boxes that meet a box already found, or that the strip's
        inner edge cuts, are left out."""
        h, w = rgb.shape[:2]
        found: list[TextBox] = []
        for area in ((0, 0, max(24, w // 4), h), (0, h - max(24, h // 5), w, h)):
            x0, y0, x1, _ = area
            for box in self._strip_text(rgb, area, native=True, border=16):
                if (x1 < w and box.x1 >= x1 - 1) or (y0 > 0 and box.y0 <= y0 + 1):
                    continue  # cut by the strip's edge
                if any(_same_text(box, b) for b in boxes + found):
                    continue  # already found (neighbouring lines' boxes may touch)
                found.append(box)
        return found

    # -- pieces ------------------------------------------------------------------------------------------
    @staticmethod
    def _title(boxes: list[TextBox], axis: Axis | None) -> str:
        top = min((b.y0 for b in axis.ticks), default=None) if axis else None
        limit = top if top is not None else min(b.y0 for b in boxes) + 1
        if axis:  # above the top tick label (boxes of neighbouring lines may touch)
            top_tick = min(axis.ticks, key=lambda b: b.cy)
            candidates = [b for b in boxes if b.cy < top_tick.cy - 0.5 * top_tick.h and len(b.text) >= 3 and b.number is None]
        else:
            candidates = [b for b in boxes if b.y1 < limit and len(b.text) >= 3 and b.number is None]
        if not candidates:
            return ""
        first = min(candidates, key=lambda b: b.y0)
        line = [b for b in candidates if abs(b.cy - first.cy) < first.h / 2]
        return " ".join(b.text for b in sorted(line, key=lambda b: b.x0))

    def _read_upright(self, rgb: np.ndarray, boxes: list[TextBox], axis: Axis | None, orientation: str, page, legend=frozenset(), own=None,
                      numbered=frozenset()):
        import cv2

        h, w = rgb.shape[:2]
        # (round 127) `own`: the top of the category row of a line chart with no value axis, `axis` the first scale
        # its printed values give (lines.printed_value_axis); the plot spans the picture's width above that row
        tick_ids = {id(b) for b in axis.ticks} if axis and own is None else set()
        if own is not None:
            region_x, region_y1 = (0, w), int(own) - 1
        elif axis is not None:
            tick_x0, tick_x1 = min(b.x0 for b in axis.ticks), max(b.x1 for b in axis.ticks)
            left_side = tick_x1 < w / 2
            region_x = (int(tick_x1) + 3, w) if left_side else (0, int(tick_x0) - 2)
            if not left_side and orientation == "vertical" and labels_for_an_axis(axis, rgb):
                region_x = (0, w)  # (round 136) a right-hand column of the points' printed values stands in the plot
            bottom_tick = max(b.cy for b in axis.ticks)
            tick_h = max(b.h for b in axis.ticks)
            under = [b for b in boxes if b.cy > bottom_tick + tick_h / 2 and region_x[0] <= b.cx <= region_x[1] and _bare(b.text) not in legend]
            # the plot ends at the first row of labels under it; a lone number there is a line's point label
            rows = _groups(under, lambda b: b.cy, tol=0.6 * tick_h)
            labels = [row for row in rows if len(row) >= 2 or row[0].x1 - row[0].x0 > 0.25 * (region_x[1] - region_x[0])]
            labels = _without_repeated_number_rows(labels)  # (round 223) a line's printed values along its floor
            region_y1 = int(min([h] + [b.y0 - 1 for row in (labels[:1] or rows) for b in row]))
        else:
            region_x, region_y1 = (0, w), h
        x0r, x1r = region_x
        region = rgb[:region_y1, x0r:x1r]
        if region.size == 0:
            raise ChartReadError("the plot area next to the value axis is empty")
        line_masks: list[np.ndarray] = []  # the same clusters not blanked under text, for tracing lines
        masks, centres, background = _colour_clusters(region, boxes, x0r, thin_lines=True, unblanked=line_masks)
        if not masks:
            raise ChartReadError("no coloured marks (bars or lines) were found")
        k = max(3, round(min(h, w) / 110))
        kernel = np.ones((k, k), np.uint8)
        bars: list[Component] = []
        for index, mask in enumerate(masks):
            opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
            count, _, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=4)
            for x, y, cw, ch, area in stats[1:]:
                if cw >= k + 1 and ch >= 2 and area >= 0.7 * cw * ch and cw < 0.6 * region.shape[1]:
                    bars.append(Component(x + x0r, y, x + x0r + cw - 1, y + ch - 1, index))
        bars = _standing(bars)
        if bars and not _bars_fit_axis(bars, axis):
            bars = []  # e.g. line markers: blobs, but not standing on the value axis' zero
        if own is not None and bars:
            raise ChartReadError("there is no numeric axis and no bars with printed values")
        floor = own - 3 if own is not None else max(b.cy for b in axis.ticks) if axis else region_y1 - 4
        categories = self._categories([b for b in boxes if _bare(b.text) not in legend], bars, tick_ids, floor, x0r, x1r)
        x_ticks = find_value_axis(boxes, vertical=False) if orientation == "vertical" and not bars else None
        if x_ticks is not None and min(b.cy for b in x_ticks.ticks) > floor and len(x_ticks.ticks) > len(categories):
            categories = sorted(x_ticks.ticks, key=lambda b: b.cx)  # a numeric x axis (years) under names at line ends
        if orientation == "vertical" and not bars and axis is not None and own is None:
            categories = _no_axis_numbers(categories, axis)  # (round 144) `$0`, a low point's `3`: no categories
        read_labels = list(categories)  # (round 111) the category label boxes as read, before any re-centring
        if axis is not None and categories:  # slanted labels end at their tick: re-centre them there
            tick_h = float(np.median([b.h for b in axis.ticks]))
            if np.median([c.h for c in categories]) > 1.8 * tick_h:
                ends = [replace(c, x0=c.x1 - 0.6 * tick_h, x1=c.x1 - 0.2 * tick_h) for c in categories]
                # (round 226) a line chart's slanted labels centred on their ticks (matplotlib's default), not ending there
                centred = orientation == "vertical" and not bars and own is None and _centred_on_columns(
                    categories, ends, _tick_columns(region, x0r))
                categories = ([replace(c, x0=c.cx - 0.2 * tick_h, x1=c.cx + 0.2 * tick_h) for c in categories]
                              if centred else ends)
            elif orientation == "vertical" and not bars and own is None:  # (round 154) labels on two or three lines
                under = [b for b in boxes if id(b) not in tick_ids and b.cy > floor + 2 and _bare(b.text) not in legend]
                categories, stacked = stacked_label_lines(categories, under, float(np.median([c.h for c in categories])))
                read_labels += stacked  # a label's second line (`9` of `March 9`) is no printed value either
        words = _after_leading_swatches(page[0], [b for b in page[1] if parse_value(b.text) is None or id(b) in numbered], centres, background, codes=True)
        names = _legend_names((page[0], words), centres, background, self._read_words, codes=True)  # (L1b) a swatch in a word's box
        # (round 81) an 'axis' of unevenly stepped numbers is the column of values printed at the lines' first points
        point_ticks = orientation == "vertical" and not bars and own is None and labels_for_an_axis(axis, rgb)
        # (round 111) a category label is no printed value: the boxes as read are left out, for the re-centred
        # slanted labels are other boxes (round 106: turned year labels stayed among the printed numbers)
        printed = [b for b in boxes if (point_ticks or id(b) not in tick_ids) and parse_value(b.text) is not None and b not in read_labels]
        # a value-axis label the axis did not take ('1 million') is no point's label (round 37); an axis that prints
        # only its two ends (two_label_axis) has no other label: a number in its column is the first point's (round 40)
        if axis is not None and orientation == "vertical" and not prints_only_ends(axis) and not point_ticks and own is None:
            printed = [b for b in printed if not tick_x0 - 2 <= b.cx <= tick_x1 + 2
                       or point_label_in_axis_column(rgb, b, axis)]  # (round 141) a first point's value in its line's ink
        if own is not None:  # (round 127) the values printed at the points stand above the category row, whose labels
            printed = [b for b in printed if b.cy < own]  # may be printed on two lines (round 126: `Feb` over `2017`)
            if categories:
                categories = _two_line_labels(categories, [b for b in boxes if b.cy > own], float(np.median([c.h for c in categories])))
        # (round 123) a two-label axis' top may be the first point's printed value (Pew: no value axis)
        level = first_value_on_axis(axis, boxes) if orientation == "vertical" and not bars and not point_ticks and own is None else None
        if level is not None and parse_value(level.text) is not None and level not in read_labels:
            printed.append(level)
        if bars:
            bar_table = ("bar" if orientation == "vertical" else "hbar",) + self._bar_table(bars, categories, names, boxes, axis, tick_ids, orientation)
            flat = max(b.height for b in bars) < 0.05 * region_y1  # a line lying along the axis
            if axis is None or (len(bar_table[3]) >= max(2, len(categories) / 2) and not flat):
                return bar_table
            try:  # one blob among many category labels (a line dipping to the axis) is no bar chart
                names, end_words, end_boxes = self._end_words(rgb, boxes, categories, centres, background, legend, names, orientation,
                                                              min(b.y0 for b in axis.ticks))
                return ("line",) + self._line_table(region, line_masks, centres, background, categories, {**end_words, **names}, axis, x0r, orientation, printed, boxes, legend, end_words, page=rgb,
                                                    end_boxes=end_boxes)
            except ChartReadError:
                return bar_table
        if axis is None:  # (round 127) a line's values printed at its points, no value axis: they give its scale
            first = printed_value_axis(boxes, h) if orientation == "vertical" else None
            if first is None:
                raise ChartReadError("there is no numeric axis and no bars with printed values")
            return self._read_upright(rgb, boxes, first[0], orientation, page, legend, own=first[1], numbered=numbered)
        if orientation == "vertical" and categories:  # labels read run together: cut at the line's markers
            legend_words = [b for b in boxes if _bare(b.text) in legend and b not in categories]  # beside legend markers
            # no markers: the axis' tick marks or vertical gridlines (round 23)
            markers = _marker_xs(line_masks, x0r, legend_words)
            columns = _evenly_spaced(markers) or _tick_columns(region, x0r)
            # (round 177) the splitters' columns: markers beyond the labels' reach (page icons) left out
            cuts = columns or _evenly_spaced(markers_under_labels(markers, categories))
            if not cuts:  # (round 193) no marker or tick to cut at: one-word labels read as one box, at their wide gaps
                categories = _words_at_gaps(rgb, categories)
            categories = split_run_together_periods(categories, cuts)  # (round 74) "Q4 '16Q2 '17" cut by its pattern
            categories = split_merged_labels(split_merged_years(categories), cuts, grid=True)
            # labels under every other point only: the points between them named by the labels' sequence (round 41)
            filled = fill_thinned_labels(categories, markers + columns + [b.cx for b in printed], x0r, x1r)
            # years under every 2nd / 3rd point: named only where the axis marks every year (round 60); quarters and
            # months at the axis tick marks too (round 146: a line without markers has no other marks)
            categories = years_at_period_ticks(rgb, categories, x0r, x1r) if filled is categories else filled
        names, end_words, end_boxes = self._end_words(rgb, boxes, categories, centres, background, legend, names, orientation,
                                                      min(b.y0 for b in axis.ticks) if own is None else None)
        names = {**end_words, **names}
        return ("line",) + self._line_table(region, line_masks, centres, background, categories, names, axis, x0r, orientation, printed, boxes, legend, end_words, page=rgb,
                                            end_boxes=end_boxes, level=level, own=own is not None)

    @staticmethod
    def _end_words(rgb, boxes, categories, centres, background, legend, names, orientation, ceiling=None):
        """(names, end_words, end_boxes) of an upright line chart: `names` (the legend's: line -> (position, word))
        with (round 140) each word the legend paired by a swatch beside it but printed in a clearly coloured ink
        (its channels spread over 60) that `_line_end_names` matches to another line moved to that line (a line
        passing left of another line's name looks like its swatch; Pew's bold names beat colours.py's round-34
        check), unless that line has a legend word of its own or an end word (below: `Ages` of `Ages 18-29`, read
        as two boxes, stays off the line `18-29` names); and the end words: the lines named by words in their own
        ink among the words no legend took (a legend right of the plot names no line ends). (round 140) A legend word
        in grey or black ink (channels within 30) printed inside the plot (its middle between the first and the
        last category's) names no line that a word in that line's own ink names inside the plot, that word ending
        no higher than two of its heights over `ceiling` (the value axis' top label; None: no such check made):
        the swatch was that line passing by a grey line's name (Pew's `All districts` beside its blue line).
        ({}, None) for the end words of a chart on its side or with no category labels. (round 140) Also where a
        line chart was first read as bars (the dashes of a projected stretch, a line's markers): its lines are
        named as any line chart's."""
        if orientation != "vertical" or not categories:
            return names, {}, None
        named = legend | {name for _, name in names.values()}
        end_boxes = [b for b in boxes if _bare(b.text) not in named]
        end_words = _line_end_names(rgb, end_boxes, categories, centres, background)
        names = dict(names)
        words = {name: line for line, (_, name) in names.items()}
        listed = [b for b in boxes if _bare(b.text) in words]
        for line, (_, name) in _line_end_names(rgb, listed, categories, centres, background).items():
            box = next(b for b in listed if _bare(b.text) == name)
            old = words[name]
            if old == line or line in names or line in end_words or coloured_ink(rgb, box, background, 60) is None:
                continue
            names[line] = names.pop(old)

        def inside(box):
            return categories[0].cx <= box.cx <= categories[-1].cx and box.y1 < categories[-1].y0
        for line, (cy, word) in end_words.items():
            if ceiling is None or line not in names:
                continue
            inked = next(b for b in end_boxes if b.cy == cy and _bare(b.text) == word)
            swatched = [b for b in listed if _bare(b.text) == names[line][1]]
            ink = _word_ink(rgb, swatched[0], background) if len(swatched) == 1 else None
            if (ink is not None and ink.max() - ink.min() <= 30 and inside(swatched[0]) and inside(inked)
                    and inked.y1 >= ceiling - 2 * inked.h):
                del names[line]
        return names, end_words, end_boxes

    @staticmethod
    def _categories(boxes, bars, tick_ids, floor, x0r, x1r) -> list[TextBox]:
        """The row of labels just under the plot (rotated labels included), left to right."""
        base = max((b.y1 for b in bars), default=floor)
        below = [b for b in boxes if id(b) not in tick_ids and b.cy > base + 2 and x0r - 20 <= b.cx <= x1r + 20]
        if not below:
            return []
        tol = max(b.h for b in below) * 0.6
        rows: list[list[TextBox]] = []
        for box in sorted(below, key=lambda b: b.cy):
            if rows and abs(box.cy - rows[-1][0].cy) <= tol:
                rows[-1].append(box)
            else:
                rows.append([box])
        if not bars:  # a line's lowest printed point labels may hang below the last tick: the fullest row
            rows = [max(_without_repeated_number_rows(rows), key=len)]
        return sorted(rows[0], key=lambda b: b.cx)

    def _bar_table(self, bars, categories, names, boxes, axis, tick_ids, orientation):
        labels = [b for b in boxes if b.number is not None and id(b) not in tick_ids]
        clusters = sorted({b.cluster for b in bars}, key=lambda c: (names.get(c, (1e9,))[0], c))
        group_centres = _group_centres(bars)
        categories = split_merged_labels(categories, group_centres)
        if orientation == "vertical" and categories:  # labels under every other bar only (round 41)
            categories = fill_thinned_labels(categories, group_centres, min(group_centres), max(group_centres), years=True)
        if categories:
            slots = [c.cx for c in categories]
            row_names = [c.text for c in categories]
        else:  # no labels: one row per bar position, numbered left to right
            centres = sorted({round(b.cx) for b in bars})
            slots, row_names = [], []
            for cx in centres:
                if not slots or cx - slots[-1] > min(b.width for b in bars):
                    slots.append(cx)
            row_names = [str(i + 1) for i in range(len(slots))]
        baseline = max(b.y1 for b in bars)
        grid: dict[tuple[int, int], str] = {}
        missing = 0
        for bar in bars:
            slot = int(np.argmin([abs(bar.cx - s) for s in slots]))
            value = self._bar_value(bar, baseline, labels, axis)
            if value is None:
                missing += 1
                continue
            grid.setdefault((slot, bar.cluster), value)
        if not grid:
            raise ChartReadError("bars were found but neither an axis scale nor printed values to measure them")
        series = [names.get(c, (0, ""))[1] or (f"Series {i + 1}" if len(clusters) > 1 else "Value") for i, c in enumerate(clusters)]
        rows = [(row_names[s], [grid.get((s, c), "") for c in clusters]) for s in range(len(slots))
                if any((s, c) in grid for c in clusters)]
        return "Category", series, rows

    @staticmethod
    def _bar_value(bar: Component, baseline: int, labels: list[TextBox], axis: Axis | None) -> str | None:
        """A number printed on or just above the bar wins; otherwise measure the bar on the axis."""
        height = bar.height
        for label in labels:
            inside_x = bar.x0 - 3 <= label.cx <= bar.x1 + 3
            near_top = bar.y0 - 2.2 * label.h <= label.cy <= bar.y1
            if inside_x and near_top and (label.cy >= bar.y0 or label.y1 <= bar.y0 + height * 0.5 + 3):
                printed = label.text.strip().rstrip("-—–").replace(" ", "")
                return _in_axis_unit(printed, axis)
        if axis is None:
            return None
        top = axis.value(bar.y0)
        if abs(bar.y1 - baseline) <= 3:
            value = top  # bars grow from zero; an axis that starts above zero only clips them
        else:  # stacked: the segment's own height
            value = top - axis.value(bar.y1 + 1)
        return _format(value, axis)

    @staticmethod
    def _legend_words_at_ends(series, names, traced, categories, centres, masks, text, x0r) -> dict:
        """(round 39) Lines named from words right of the last category taken as a legend (a line running beside a
        word box looked like its swatch: OECD's boxed names at the lines' ends), while another line is left unnamed:
        those lines and the unnamed ones are named again by the word printed beside each one's last drawn point
        (`_names_beside_ends`), kept only when that names more of them. line -> (position, name); {} to keep."""
        right = {_bare(b.text) for b in text if b.x0 > categories[-1].cx}
        boxed = [i for i in series if i in names and names[i][1] in right]
        unnamed = [i for i in series if i not in names]
        if not boxed or not unnamed:
            return {}
        ends = {index: _line_end(traced[index], categories, centres[index], masks[index], text, x0r, gap=12)
                for index in boxed + unnamed}
        others = {names[i][1] for i in series if i in names and i not in boxed}
        words = [b for b in text if b not in categories and b.x0 > categories[-1].cx and _bare(b.text) not in others]
        found = _names_beside_ends(ends, words)
        if len(found) <= len(boxed):
            return {}
        return {index: (ends[index][1], found[index]) if index in found else (1e9, "") for index in boxed + unnamed}

    def _line_table(self, region, masks, centres, background, categories, names, axis, x0r, orientation, printed=(), text=(), legend=frozenset(), end_words=None, page=None, end_boxes=None, level=None, own=False):
        if not categories:
            raise ChartReadError("a plotted line was found but no category or x-axis labels to read it at")
        import cv2

        series, columns, points, inks, tops = [], [], [], [], []
        tinted: set[int] = set()  # (round 55) lines in a dark tint, kept only when some step names them
        spacing = float(np.median(np.diff([c.cx for c in categories]))) if len(categories) > 1 else 40.0
        # a point drawn between two labelled categories (Pew: a point every year, every other year labelled) prints
        # its value there too: the columns of printed values, twice as many as the categories or more, give the
        # points' pitch, and a label is a category's only within 0.45 of it (round 40)
        between = spacing
        if len(printed) >= 3:
            runs = _runs(np.sort([b.cx for b in printed]), 0.2 * spacing)
            xs = [float(np.mean(run)) for run in runs if len(run)]
            if len(xs) >= 1.5 * len(categories) and float(np.median(np.diff(xs))) < 0.6 * spacing:
                between = float(np.median(np.diff(xs)))

        def reaches(box, r):  # a printed label is category r's within 0.45 of the pitch towards the next point; beyond
            dx = box.cx - categories[r].cx  # the first or the last category (no point there) within 0.45 of their spacing
            outside = (dx < 0 and r == 0) or (dx > 0 and r == len(categories) - 1)
            return abs(dx) < 0.45 * (spacing if outside else between)
        names = dict(names)
        for index in list(names):  # a name read off a line's pale anti-aliased edge belongs to the line itself
            core = [other for other in range(len(masks)) if other != index and other not in names
                    and _rim_of(index, other, masks, centres, background)]
            if core:
                names[core[0]] = names.pop(index)
        # (round 148) no line's colour and no name anywhere: the one colourless cluster drawn across the categories
        lone = lone_colourless_line(masks, centres, background, names, categories, x0r, text, axis, own, orientation)
        legend_words = [b for b in text if _bare(b.text) in legend and b not in categories]  # (round 181) the legend's entries
        for index, mask in enumerate(masks):
            colour = centres[index]
            chromatic = _chromatic(colour, background)  # (round 8) a pastel line on a dark backdrop too
            if not chromatic and _dark_tint(colour, background):  # (round 55) a dark green or slate line: kept
                chromatic = True  # only if named (below)
                tinted.add(index)
            if lone is not None and index == lone[0]:
                mask = lone[1]  # the colourless clusters' ink together (JPEG cuts a thin line into several greys)
            elif not chromatic and index not in names:
                continue  # grey/black marks without a legend entry are axes, grids and text
            elif index not in names and any(_rim_of(index, other, masks, centres, background) for other in range(len(masks)) if other != index):
                continue  # the anti-aliased edge of another line
            if not chromatic:  # a grey or black line shares its colour with gridlines and the frame: rules, not data
                mask = rules_erased(mask, categories[0].cx - x0r, categories[-1].cx - x0r)
            _, pieces, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(mask, np.ones((3, 3), np.uint8)), connectivity=8)
            widths = stats[:, cv2.CC_STAT_WIDTH].copy()
            # a straight rule across the plot (a gridline, the axis) is no line of data: a piece of width 0 is never taken
            widths[(stats[:, cv2.CC_STAT_HEIGHT] <= 4) & (widths >= 0.3 * mask.shape[1])] = 0
            for box in text:  # nor is a piece that lies inside a text box (the pale rims of a label's glyphs)
                x0, x1 = box.x0 - x0r - 2, box.x1 - x0r + 2
                widths[(stats[:, 0] >= x0) & (stats[:, 0] + stats[:, 2] <= x1 + 1) & (stats[:, 1] >= box.y0 - 2)
                       & (stats[:, 1] + stats[:, 3] <= box.y1 + 3)] = 0
            widths[legend_swatch_pieces(pieces, stats, legend_words, x0r)] = 0  # (round 181) nor a legend's swatch
            for p in np.nonzero((widths >= 20) & (stats[:, cv2.CC_STAT_HEIGHT] >= 20))[0]:
                fx, fy, pw, ph = stats[p, :4]  # (round 122) nor a frame's or a callout's sides
                if p and _frame_piece(pieces[fy:fy + ph, fx:fx + pw] == p):
                    widths[p] = 0
            values, ys = [], []
            others = np.zeros_like(mask)  # marks in clearly stronger colours, whose pale rims may look like this one
            strength = float(np.linalg.norm(colour - background))
            for other in range(len(masks)):
                if other != index and float(np.linalg.norm(centres[other] - background)) > strength + 40:
                    others |= masks[other]
            for cat in categories:
                y = _trace_at(mask, pieces, widths, int(round(cat.cx)) - x0r, others)
                values.append(_format(axis.value(y), axis) if y is not None else "")
                ys.append(y)
            if sum(v != "" for v in values) >= max(2, len(categories) // 2):
                for r, cat in enumerate(categories):  # a point hidden under a legend or a label: its segment's line
                    if ys[r] is not None:
                        continue
                    guesses = [_hidden_point(mask, region, colour, int(round(categories[n].cx)) - x0r, ys[n], int(round(cat.cx)) - x0r)
                               for n in (r - 1, r + 1) if 0 <= n < len(categories) and ys[n] is not None]
                    guesses = [y for y in guesses if y is not None and 0 <= y < mask.shape[0]]
                    if guesses:
                        ys[r] = float(np.mean(guesses))
                        values[r] = _format(axis.value(ys[r]), axis)
                series.append(index)
                columns.append(values)
                points.append(ys)
                inks.append((mask, others))
                # (round 96) the line's top: the highest row of the pieces its points lie on (its peaks between labels too)
                on = {int(p) for cat, y in zip(categories, ys) if y is not None
                      for p in pieces[int(round(y)), max(0, int(round(cat.cx)) - x0r - 7):max(0, int(round(cat.cx)) - x0r + 3)] if p}
                tops.append(min((float(stats[p, cv2.CC_STAT_TOP]) for p in on), default=None))
        read = [[axis.value(y) if y is not None else None for y in ys] for ys in points]  # (round 101) unrounded
        from_labels: set[tuple[int, int]] = set()
        if printed and series:  # a number printed at a point beats the axis reading (greedy, nearest first)
            pairs, inked, at_end = [], {}, {}
            # a label with one line's ink right under it at a point is that line's (round 31: where lines cross, or a
            # trace strayed onto a legend's swatch, the nearest traced line is the other one): matched first
            last = len(categories) - 1  # (round 114 / 123) the values printed beside the lines' ends: at their last points
            ends = (_ends_past_last(inks, points, [centres[i] for i in series], int(round(categories[-1].cx)), text, x0r)
                    if any(_beside_the_end(box, categories[-1].cx) for box in printed) else None)  # traced only when used
            for j, box in enumerate(printed):
                for r, cat in enumerate(categories):
                    if r == last and _beside_the_end(box, cat.cx):
                        continue
                    if r == 0 and box.x1 < cat.cx - 2:  # (round 136) printed left of the first point, level with it
                        continue
                    if box is not level and reaches(box, r) and (owner := _ink_under(inks, box, int(round(cat.cx)) - x0r)):
                        inked[owner[0], r, id(box)] = owner[1]
                        pairs.append((-1000 + abs(box.cx - cat.cx), owner[0], r, j))
            for i, ys in enumerate(points):
                for r, (cat, y) in enumerate(zip(categories, ys)):
                    for j, box in enumerate(printed):
                        dx = abs(box.cx - cat.cx)
                        if not reaches(box, r):
                            continue
                        if r == last and y is not None and _beside_the_end(box, cat.cx):
                            end = ends[i]  # the row of the line's last drawn point, for this label beside it
                            if -3.0 * box.h <= box.cy - end <= 2.0 * box.h and (box is not level or level_with_point(box, end)):
                                at_end[i, r, id(box)] = end
                                pairs.append((abs(box.cy - end) + dx, i, r, j))
                            continue
                        if y is None:  # the line is hidden under its label here: the label nearest where it should be
                            guess = _between(ys, r)
                            if box.y1 < cat.y0 and box is not level:
                                pairs.append((1000 + dx + (abs(box.cy - guess) if guess is not None else 0), i, r, j))
                        elif -3.0 * box.h <= box.cy - y <= 2.0 * box.h and (box is not level or level_with_point(box, y)):
                            pairs.append((abs(box.cy - y) + dx, i, r, j))
            # (round 48) a value printed in one traced line's colour is that line's only (where lines cross, the
            # nearest point, or the ink first under the label, can be the other line's)
            owners = {j: _value_ink_owner(page, printed[j], centres, series, background) if page is not None else None
                      for j in {j for _, _, _, j in pairs}}  # only the labels some point could take
            pairs = [(d, i, r, j) for d, i, r, j in pairs if owners[j] is None or owners[j] == series[i]]
            nearest = _nearest_first([(d, 0.0, (i, r), j) for d, i, r, j in pairs], printed)
            for (i, r), box in nearest.items():  # the point is at that ink where the trace strayed from it
                row = inked.get((i, r, id(box)))
                if row is not None and (points[i][r] is None or abs(points[i][r] - row) > box.h):
                    points[i][r] = row
            matched = [(i, r, parse_value(box.text)) for (i, r), box in nearest.items()]
            # (round 114 / 123) a label beside a line's end is checked against the axis at that end, not at the last category
            where = {(i, r): at_end.get((i, r, id(box)), points[i][r]) for (i, r), box in nearest.items()}
            span = axis.span if not own else 0.0  # (round 127) a scale made of the labels themselves checks none of them
            if not axis.log and span > 0:  # '99%' read as '9996', '7.4' as '74': the reading the axis agrees with
                matched = [(i, r, _misread(parsed, axis.value(where[i, r]), span) if where[i, r] is not None else parsed)
                           for i, r, parsed in matched]
            # (round 123) the axis' own top label agrees with it by construction: it is no witness
            agree = {(i, r): _agrees_with_axis(parsed[0], axis.value(where[i, r]), axis) for i, r, parsed in matched
                     if where[i, r] is not None and (axis.log or span > 0) and nearest[i, r] is not level and not own}
            trusted = len(agree) >= 3 and sum(agree.values()) >= 0.6 * len(agree)
            for i, r, parsed in matched:  # where most labels agree with the axis, one that does not is a misread
                if not (trusted and agree.get((i, r)) is False):
                    columns[i][r] = _in_axis_unit(parsed[1], axis)
                    from_labels.add((i, r))
            if own:  # (round 127) the line's own scale: the printed values at the heights of the points they name
                axis = own_scale([(where[i, r], parsed[0]) for i, r, parsed in matched if where[i, r] is not None], axis)
        if own:  # an unprinted point is read off that scale (never set to 0); no scale: no line chart read
            if axis is None or not series:
                raise ChartReadError("there is no numeric axis and no bars with printed values")
            read = [[axis.value(y) if y is not None else None for y in ys] for ys in points]
            for i, values in enumerate(read):
                for r, value in enumerate(values):
                    if (i, r) not in from_labels:
                        columns[i][r] = _format(value, axis) if value is not None else ""
        if not series:
            raise ChartReadError("no bars and no plotted line could be traced")
        end_words = end_words or {}
        traced = dict(zip(series, points))
        if end_words and end_boxes is not None and page is not None:  # (round 96) the title over the plot names no line
            fresh = _names_under_titles(page, end_boxes, categories, centres, background, end_words, dict(zip(series, tops)),
                                        min(b.y0 for b in axis.ticks))
            for index in set(end_words) | set(fresh):
                if fresh.get(index) != end_words.get(index) and names.get(index) == end_words.get(index):
                    names.pop(index, None)
                    if index in fresh:
                        names[index] = fresh[index]
            end_words = fresh
        series, columns = _drop_duplicate_lines(series, columns, names, axis, read, from_labels, centres, background)
        ends = {index: _line_end(traced[index], categories, centres[index], masks[index], text, x0r)
                for index in series if orientation == "vertical"}
        # a word matched to a line by its ink colour alone, printed far from that line's end, is not its name there
        # (a pale rim of another line shared the colour): such lines are named again by position, like lines no
        # legend and no word in its ink names: the word printed beside its last point
        height = float(np.median([c.h for c in categories]))
        coloured = set(end_words.values())
        moved = {i for i in ends if names.get(i) in coloured and abs(names[i][0] - ends[i][1]) > 2 * height}
        ends = {i: end for i, end in ends.items() if i not in names or i in moved}
        if ends:
            taken = set(legend) | {names[i][1] for i in series if i in names and i not in moved}
            words = [b for b in text if _bare(b.text) not in taken and b not in categories]
            found = _names_beside_ends(ends, words)
            for index in moved - set(found):  # no word beside its end: the colour's word stays, unless it moved on
                if names[index][1] in found.values():
                    del names[index]
            names.update({index: (ends[index][1], name) for index, name in found.items()})
        if orientation == "vertical" and any(i not in names for i in series):
            names.update(self._legend_words_at_ends(series, names, traced, categories, centres, masks, text, x0r))
        unnamed = [i for i in series if not names.get(i, (0, ""))[1]]
        if orientation == "vertical" and unnamed and len(series) > 1:  # (round 54) the words still left at the ends
            taken = {names[i][1] for i in series if i in names and names[i][1]}
            top = min(b.cy for b in axis.ticks) - 2 * max(b.h for b in axis.ticks)
            ends = {i: _line_end(traced[i], categories, centres[i], masks[i], text, x0r) for i in unnamed}
            found = _end_names_left_over(ends, [b for b in text if b not in categories], taken, categories[-1], top)
            names.update({i: (ends[i][1], name) for i, name in found.items()})
        unnamed = [i for i in series if not names.get(i, (0, ""))[1]]
        if orientation == "vertical" and unnamed and page is not None:  # (round 163) a word in the line's own ink
            taken = {names[i][1] for i in series if i in names and names[i][1]} | set(legend)
            names.update(names_in_own_ink(page, {i: centres[i] for i in unnamed}, [b for b in text if b not in categories],
                                          taken, categories, min(b.y0 for b in axis.ticks), background))
        if any(i in tinted and not names.get(i, (0, ""))[1] for i in series):
            kept = [n for n, i in enumerate(series) if i not in tinted or names.get(i, (0, ""))[1]]
            series, columns = [series[n] for n in kept], [columns[n] for n in kept]
            if not series:
                raise ChartReadError("no bars and no plotted line could be traced")
        for index, values in zip(series, columns):  # (round 81) `72 Poland`: the value printed at the line's end
            split = value_in_name(names.get(index, (0, ""))[1]) if orientation == "vertical" else None
            # (round 153) or at the point the number stands over in the name's box (`Democrat 7.4` at the peak); the
            # cell takes the number only where it stands on that category's point (N2)
            r, on_point = value_point(names[index][1], split[0], text, categories) if split is not None else (None, False)
            end = traced[index][r] if split is not None else None
            if end is not None and (axis.log or axis.span > 0) and _agrees_with_axis(float(split[1].rstrip("%")), axis.value(end), axis):
                names[index] = (names[index][0], split[0])
                if on_point:
                    values[r] = _in_axis_unit(split[1], axis)
        if orientation == "vertical" and page is not None:  # (round 133) a name printed on two or three lines
            named = {names[i][1] for i in series if names.get(i, (0, ""))[1]}
            for index in [i for i in series if names.get(i, (0, ""))[1]]:
                whole = _wrapped_name(page, names[index][1], text, named - {names[index][1]}, centres[index],
                                      [centres[i] for i in series if i != index], background, categories)
                names[index] = (names[index][0], whole)
        order = sorted(range(len(series)), key=lambda i: (names.get(series[i], (1e9,))[0], series[i]))
        labels = [names.get(series[i], (0, ""))[1] or (f"Series {n + 1}" if len(series) > 1 else "Value") for n, i in enumerate(order)]
        rows = [(cat.text, [columns[i][r] for i in order]) for r, cat in enumerate(categories)]
        return "Category", labels, rows

"""Bar charts: Component and Bar (filled rectangles of one colour), the bar reader `read_bar_chart` (bars read from
their printed values: upright, hanging, stacked, grouped, horizontal, behind a see-through legend) and the helpers
the axis-first reader in reader.py uses to stand bars on a baseline."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from .axes import Axis, find_value_axis, _format, _groups, _in_axis_unit, _misread
from .colours import _after_leading_swatches, _colour_clusters, _in_box, coloured_ink, _legend_column_names, _legend_names, _longest_runs, _own_ink, _split_close_tints, _year_or_band, commonest_colour, reading_key
from .text import (_CHROME, TextBox, _bare, _nearest_first, fill_thinned_labels, parse_value, _reading_order, split_merged_labels,
                   split_run_together_periods)

_YEAR_1900 = re.compile(r"(?:19|20)\d\d")  # a year 1900-2099 in a row label (text._YEAR starts at 1600)


@dataclass
class Component:
    """A filled rectangle of one colour cluster: inclusive pixel bounds (ints from the picture; `Bar` adds
    the upright-coordinate turns)."""

    x0: float
    y0: float
    x1: float
    y1: float  # inclusive pixel bounds
    cluster: int

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def width(self) -> float:
        return self.x1 - self.x0 + 1

    @property
    def height(self) -> float:
        return self.y1 - self.y0 + 1

    @property
    def area(self) -> float:
        return self.width * self.height


def _group_centres(bars: list[Component]) -> list[float]:
    """Centres of the runs of touching bars, left to right."""
    groups: list[list[float]] = []
    for bar in sorted(bars, key=lambda b: b.x0):
        if groups and bar.x0 <= groups[-1][1] + 3:
            groups[-1][1] = max(groups[-1][1], bar.x1)
        else:
            groups.append([bar.x0, bar.x1])
    return [(a + b) / 2 for a, b in groups]


def _bars_fit_axis(bars: list[Component], axis: Axis | None) -> bool:
    """Bars grow from zero: where the axis shows zero, the baseline must sit on it; elsewhere (log axes,
    axes that start above zero) at least one blob must be bar-shaped (taller than wide)."""
    baseline = max(b.y1 for b in bars)
    if axis is not None and not axis.log:
        values = [b.number for b in axis.ticks]
        if min(values) - 1.5 * axis.step <= 0 <= max(values):
            return abs(axis.pixel(0.0) - baseline) <= 4
    return any(b.height >= 1.5 * b.width for b in bars)


def _standing(bars: list[Component]) -> list[Component]:
    """Keep blobs that stand on the common baseline, or on a kept blob below them (stacked bars)."""
    if not bars:
        return []
    baseline = max(b.y1 for b in bars)
    return _stacked_on([b for b in bars if abs(b.y1 - baseline) <= 3], bars, share=0.6, widest=False)


@dataclass
class Bar(Component):
    """A rectangle in upright coordinates (bars grow upwards; a horizontal chart is read turned)."""

    def rotated(self, width: int) -> Bar:
        return replace(self, x0=self.y0, x1=self.y1, y0=width - 1 - self.x1, y1=width - 1 - self.x0)

    def rotated_back(self, width: int) -> Bar:
        """Undo `rotated(width)`: upright coordinates of a horizontal chart -> the original picture's."""
        return replace(self, x0=width - 1 - self.y1, x1=width - 1 - self.y0, y0=self.x0, y1=self.x1)


def _rectangles(rgb: np.ndarray, clusters=None, boxes=(), hidden=None) -> tuple[list[Bar], list[np.ndarray], np.ndarray]:
    """Filled axis-aligned rectangles of one colour (bars, stacked segments, legend squares), any size
    down to a few pixels; circles, wedges, lines and text do not pass the edge test.

    `hidden` (x0, y0, x1, y1): a legend's frame drawn over the bars (round 19). What it covers is unknown ground: a
    patch whose bounding box reaches under it, and which fills the part of that box outside the frame, counts the
    part under the frame as its own (a stacked segment with the legend's corner bitten out of it, a bar whose end
    lies under the legend while its other side shows beyond it), so it is the rectangle of its bounding box."""
    import cv2

    masks, centres, background = clusters or _colour_clusters(rgb, [], 0)
    h, w = rgb.shape[:2]
    k = max(3, round(min(h, w) / 160))
    kernel = np.ones((k, k), np.uint8)
    found: list[Bar] = []
    # (round 112) a frame found where a legend stands (under a quarter of the picture: not the plot's own frame)
    legend_sized = hidden is not None and (hidden[2] - hidden[0]) * (hidden[3] - hidden[1]) < 0.25 * h * w
    lines = _lines_of_words(boxes)  # (round 198) where a bold title's letter pieces can stand
    for index, mask in enumerate(masks):
        closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))  # anti-aliased seams
        closed = _bridge_text(closed, boxes)
        opened = cv2.morphologyEx(closed, cv2.MORPH_OPEN, kernel)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=4)
        for label, (x, y, cw, ch, area) in enumerate(stats[1:], 1):
            part = None
            if hidden is not None and area >= 3 * k * k:
                hx0, hy0, hx1, hy1 = (max(0, hidden[0] - x), max(0, hidden[1] - y), min(cw, hidden[2] - x), min(ch, hidden[3] - y))
                under = max(0, hx1 - hx0) * max(0, hy1 - hy0)
                if 0 < under < cw * ch:
                    mine = labels[y:y + ch, x:x + cw] == label
                    # a patch that fills what shows of its bounding box outside the frame (not a line's stroke)
                    if area - int(mine[hy0:hy1, hx0:hx1].sum()) >= 0.6 * (cw * ch - under):
                        part = mine
                        part[hy0:hy1, hx0:hx1] = True
                        area = int(part.sum())
            if area < 3 * k * k or cw > 0.95 * w or ch > 0.95 * h:
                continue
            if part is None:
                part = labels[y:y + ch, x:x + cw] == label
            if not _rectangle_like(part, area):
                seen = part  # what shows: a legend's frame hides the rest
                if hidden is not None:
                    seen = part.copy()
                    seen[max(0, hidden[1] - y):max(0, hidden[3] - y), max(0, hidden[0] - x):max(0, hidden[2] - x)] = False
                core = _dense_core(part, area, seen)  # (round 112) a bar with something of its colour stuck to its side
                if core is None:
                    continue
                r0, r1, c0, c1 = core
                part, x, y, cw, ch = part[r0:r1 + 1, c0:c1 + 1], x + c0, y + r0, c1 - c0 + 1, r1 - r0 + 1
                if legend_sized and hidden[0] - 2 <= x and x + cw <= hidden[2] + 2 and hidden[1] - 2 <= y \
                        and y + ch <= hidden[3] + 2:
                    continue  # a legend's body (its face over a bar), no bar
            if any(min(x + cw, b.x1 + 2) - max(x, b.x0 - 2) >= 0.8 * cw and min(y + ch, b.y1 + 2) - max(y, b.y0 - 2) >= 0.8 * ch
                   for b in boxes) and mask[y:y + ch, x:x + cw].mean() < 0.5 and not _outlined(mask[y:y + ch, x:x + cw]):
                # a stroke of bold text (a short segment under its own label is mostly its colour; round 36: or its
                # colour outlines the glyphs)
                continue
            if _letter_piece(x, y, cw, ch, centres[index], lines):
                continue
            found.append(Bar(float(x), float(y), float(x + cw - 1), float(y + ch - 1), index))
    return found, centres, background


def _lines_of_words(boxes) -> list[TextBox]:
    """The boxes that hold a line of words: two words or more and six letters or more (a title, not a label)."""
    return [b for b in boxes if len(b.text.split()) >= 2 and len(re.findall(r"[A-Za-z]", b.text)) >= 6]


def _letter_piece(x: int, y: int, cw: int, ch: int, colour: np.ndarray, lines: list[TextBox]) -> bool:
    """(round 198) A solid piece of a bold black or grey line of words (Pew's title) is no bar: a rectangle in a grey
    or black colour (channels within 40) wholly inside one of `lines` (`_lines_of_words`; 2 px slack) and no taller
    than half that box. One that starts at the bars' edge stood as a third series."""
    if float(colour.max() - colour.min()) > 40:
        return False
    return any(b.x0 - 2 <= x and x + cw - 1 <= b.x1 + 2 and b.y0 - 2 <= y and y + ch - 1 <= b.y1 + 2 and ch <= 0.5 * b.h
               for b in lines)


def _rectangle_like(part: np.ndarray, area: float) -> bool:
    """A patch that fills its bounding box: 0.6 of it, and each side (a row or column in from the edge) 0.6 full."""
    ch, cw = part.shape
    if area < 0.6 * cw * ch:
        return False
    inset = max(1, min(cw, ch) // 8)
    edges = [part[inset].mean(), part[-1 - inset].mean(), part[:, inset].mean(), part[:, -1 - inset].mean()]
    return min(edges) >= 0.6


def _dense_core(part: np.ndarray, area: float, seen: np.ndarray, keep: float = 0.85,
                full: float = 0.75) -> tuple[int, int, int, int] | None:
    """(round 112) A patch that fails `_rectangle_like` because something of its colour is joined to one side of a
    bar (a value printed just past the bar's end in the bar's own grey, anti-aliased text touching it, a legend
    swatch joined through the bar's end seen under a see-through legend): its rows and columns at the edges less
    than `full` full are peeled off, the emptiest side's first, again until none is; the core (r0, r1, c0, c1,
    inclusive) stands when it is rectangle-like and holds `keep` of the patch's pixels, and when no side's edge runs
    on past a corner of the core in what shows (`seen`: the patch outside a legend's frame): an edge running on is a
    step, bars of one colour drawn touching (Pew's rows of diverging bars, each its own length), no bump on a bar.
    None otherwise."""
    r0, r1, c0, c1 = 0, part.shape[0] - 1, 0, part.shape[1] - 1
    while r1 - r0 >= 2 and c1 - c0 >= 2:
        win = part[r0:r1 + 1, c0:c1 + 1]
        rows, cols = win.mean(axis=1), win.mean(axis=0)
        # the side whose edge line is emptiest loses its run of lines under `full`
        worst = min((rows[0], 0), (rows[-1], 1), (cols[0], 2), (cols[-1], 3))
        if worst[0] >= full:
            break
        fills = (rows, rows[::-1], cols, cols[::-1])[worst[1]]
        run = int(np.argmax(fills >= full)) if (fills >= full).any() else len(fills)
        if worst[1] == 0:
            r0 += run
        elif worst[1] == 1:
            r1 -= run
        elif worst[1] == 2:
            c0 += run
        else:
            c1 -= run
    if r1 - r0 < 2 or c1 - c0 < 2:
        return None
    core = part[r0:r1 + 1, c0:c1 + 1]
    held = float(core.sum())
    if held < keep * area or not _rectangle_like(core, held):
        return None
    run = 3  # pixels past the corner
    past = [seen[max(0, r0 - run):r0, c] for c in (c0, c1)] + [seen[r1 + 1:r1 + 1 + run, c] for c in (c0, c1)] \
        + [seen[r, max(0, c0 - run):c0] for r in (r0, r1)] + [seen[r, c1 + 1:c1 + 1 + run] for r in (r0, r1)]
    if any(line.size == run and line.all() for line in past):
        return None
    return r0, r1, c0, c1


def _outlined(patch: np.ndarray) -> bool:
    """(round 36) A rectangle's own colour runs in a band two pixels thick along both its left and right sides, or
    along three of its sides: a stacked segment no taller than the value printed in it, whose glyphs cover half or
    more of its colour (Statista's `5.8%` in a 14 px segment), not the strokes of bold text, whose outline is
    broken between the glyphs."""
    if min(patch.shape) < 5:
        return False
    full = patch.astype(bool)
    top, bottom, left, right = ((full[0], full[1]), (full[-1], full[-2]), (full[:, 0], full[:, 1]), (full[:, -1], full[:, -2]))
    solid = [min(edge.mean(), inner.mean()) >= 0.9 for edge, inner in (top, bottom, left, right)]
    return (solid[2] and solid[3]) or sum(solid) >= 3


def _bridge_text(mask: np.ndarray, boxes) -> np.ndarray:
    """A value printed inside a bar (white or outlined digits as wide as a stacked segment) cuts the bar's
    colour mask in two: fill each text box's columns whose pixels just above and just below it are of the
    mask's colour, and its rows whose pixels just left and right of it are (horizontal bars)."""
    if not boxes:
        return mask
    h, w = mask.shape
    out = mask.copy()
    for b in boxes:
        x0, x1 = max(0, int(b.x0)), min(w - 1, int(np.ceil(b.x1)))
        y0, y1 = max(0, int(b.y0)), min(h - 1, int(np.ceil(b.y1)))
        if x1 <= x0 or y1 <= y0:
            continue
        printed = parse_value(b.text) is not None  # (round 176) a box that reads as a printed value
        for a, z in _over_bars(mask, x0, y0, x1, y1):
            _bridge_box(mask, out, a, y0, z, y1, printed)
    return out


def _over_bars(mask: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """(round 38) The columns of a text box that lie over bars of the mask's colour: each stretch (3 px or wider) of
    columns whose pixels just above and just below the box are of the colour, when there is one; else the box's
    columns as they are. A box over the gap between two bars (one OCR box over two neighbouring bars' values,
    Statista's `1 101 1 110`, or a value wider than its bar reaching into the next one's gap) is bridged bar by bar,
    never across the gap, which joined the two bars into one rectangle that failed the edge test."""
    h = mask.shape[0]
    if y0 < 2 or y1 + 2 >= h:
        return [(x0, x1)]
    columns = mask[y0 - 2, x0:x1 + 1].astype(bool) & mask[y1 + 2, x0:x1 + 1].astype(bool)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], columns.astype(np.int8), [0]))))
    runs = [(x0 + int(s), x0 + int(e) - 1) for s, e in zip(edges[::2], edges[1::2]) if e - s >= 3]
    return runs or [(x0, x1)]


def _bridge_box(mask: np.ndarray, out: np.ndarray, x0: int, y0: int, x1: int, y1: int, printed: bool = False) -> None:
    """`_bridge_text` for one box, or the part of a box over one bar (`_over_bars`): `out` filled in place.
    `printed`: the box reads as a printed value (`parse_value`), the only kind rounds 170/176 keep off the backdrop."""
    h, w = mask.shape
    part = mask[y0:y1 + 1, x0:x1 + 1]
    ink_rows, ink_cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
    # (round 170) the text stands on the colour only where the colour shows in half its columns or more: a short
    # bar's value printed on the backdrop between two taller neighbours (a long series' narrow gaps) meets the colour
    # only at its ends, left and right of it and in its end columns, and filling it across (or as an outlined
    # segment) joined the three bars into one patch that failed the edge test (a portal pool's 25 years read as 13).
    # (round 176) Only for a box that reads as a printed value: other text (a fivethirtyeight chart's category labels
    # OCR read as one run-together box over the bars' feet) is filled as before round 170
    on_colour = not printed or part.any(axis=0).mean() >= 0.5
    if y0 >= 2 and y1 + 2 < h:
        columns = mask[y0 - 2, x0:x1 + 1].astype(bool) & mask[y1 + 2, x0:x1 + 1].astype(bool)
        out[y0:y1 + 1, x0:x1 + 1][:, columns] = 1
    if x0 >= 2 and x1 + 2 < w and on_colour:
        across = mask[y0:y1 + 1, x0 - 2].astype(bool) & mask[y0:y1 + 1, x1 + 2].astype(bool)
        out[y0:y1 + 1, x0:x1 + 1][across, :] = 1
    # a segment no taller or wider than its label: the colour between the glyphs; where its colour outlines the
    # glyphs (round 36: `_outlined`), the whole rectangle they leave, also the columns between two glyphs
    if ink_rows.size and (not printed or ink_cols.size >= 0.5 * (ink_cols[-1] - ink_cols[0] + 1)) \
            and _outlined(part[ink_rows[0]:ink_rows[-1] + 1, ink_cols[0]:ink_cols[-1] + 1]):
        out[y0 + ink_rows[0]:y0 + ink_rows[-1] + 1, x0 + ink_cols[0]:x0 + ink_cols[-1] + 1] = 1
    elif part.mean() >= 0.3:
        out[y0:y1 + 1, x0:x1 + 1][np.ix_(part.any(axis=1), part.any(axis=0))] = 1


def _upright_bars(rects: list[Bar], thickness: float = 0.0) -> list[Bar]:
    """The bars of a vertical bar chart among the rectangles: those on a common baseline (a bottom edge
    shared by several), plus segments stacked on them; of the candidate baselines, the one that carries the
    largest total area (`_upright_choice`)."""
    return _upright_choice(rects, thickness)[0]


def _upright_choice(rects: list[Bar], thickness: float = 0.0, seam=None) -> tuple[list[Bar], float]:
    """`_upright_bars` and the area its baseline carries: the bars standing on it and stacked on them, and (round 119)
    the diverging segments hanging from it under those bars (`_hanging_bars`: Pew's answers left of the zero line).
    A diverging chart's zero line carries every row whole; counting only what stands on it, one row's far end (a
    base of that row's first segment alone, or of it and a segment of another row ending by chance within 3 px of
    it) outweighed it when there are few rows: two-row charts lost a row, three-row ones came out as a mix.
    `seam` (round 179, `_blend_seam`): a wider seam between stacked segments that JPEG smeared (`_stacked_on`)."""
    if not rects:
        return [], 0.0
    groups: dict[int, list[Bar]] = {}
    for r in rects:
        for key in groups:
            if abs(r.y1 - key) <= 3:
                groups[key].append(r)
                break
        else:
            groups[int(r.y1)] = [r]
    best: list[Bar] = []
    weight, best_standing = 0.0, 0.0
    # the four baselines whose own bars are largest, and any other with two or more bars: stacks whose first
    # segments are short (Pew's 9% 'Major' under 29% and 61%) carry the most area but stand on little of their own
    ranked = sorted(groups.values(), key=lambda g: -sum(b.area for b in g))
    for base in ranked[:4] + [g for g in ranked[4:] if sum(b.width >= thickness for b in g) >= 2]:
        base = [b for b in base if b.width >= thickness]
        if not base or (len(base) == 1 and base[0].height < 1.5 * base[0].width):
            continue  # a bar chart has several bars on its baseline, or one tall one
        kept = _stacked_on(base, rects, seam=seam)
        standing = sum(b.area for b in kept)
        carried = standing + sum(b.area for b in _diverging(kept, rects, float(np.median([b.y1 for b in base]))))
        # two baselines carrying the same rectangles (within 1%: a stray mark on one of the lines) are told apart by
        # what stands on them: a diverging chart's zero line, not the seam before its rows' last segments, which may
        # meet by chance (Pew's `34%` and `8` both starting within 3 px), with the rest hanging from it
        if carried > 1.01 * weight or (carried >= 0.99 * weight and standing > best_standing):
            best, weight, best_standing = kept, carried, standing
    if len(best) == 1 and best[0].y1 - best[0].y0 < 0.6 * best[0].width:
        return [], 0.0  # one flat rectangle is a legend box or a banner, not a bar chart
    return best, weight


def _answer_columns(bars: list[Bar], rects: list[Bar], baseline: float, thickness: float) -> list[Bar]:
    """Survey charts without a value axis that give each answer its own column of bars, left-aligned one beside
    the other (Pew: `Worse` bars, a gap, then `About the same` bars), in upright coordinates: beyond the longest
    bar of the first column, sets of bars standing on a common edge of their own, one in line with each of two or
    more of the first column's bars; or, the same way, short of its baseline (a column left of the one chosen).
    Each column is a series: a column whose colour the first uses gets its own."""
    first = [b for b in bars if abs(b.y1 - baseline) <= 3]
    if len(first) < 2:
        return []
    reach = min(b.y0 for b in bars) - 2
    taken = {id(b) for b in bars}
    slimmest = min(b.width for b in first)
    edges: dict[int, list[Bar]] = {}
    for r in rects:
        if id(r) in taken or (r.y1 >= reach and r.y0 <= baseline + 2) or r.width < max(thickness, 0.5 * slimmest):
            continue  # (round 27) a piece of a heading's or the title's glyphs on the column's edge is no bar of it
        key = next((k for k in edges if abs(r.y1 - k) <= 3), int(r.y1))
        edges.setdefault(key, []).append(r)
    used_clusters = {b.cluster for b in bars}
    extra: list[Bar] = []
    for key in sorted(edges, key=lambda k: abs(k - baseline)):  # the nearest column first
        column = edges[key]
        in_line = [r for r in column if any(min(r.x1, b.x1) - max(r.x0, b.x0) > 0.5 * max(r.width, b.width) for b in first)]
        if len(in_line) < 2 or len(in_line) < 0.5 * len(first):
            continue
        # (round 93) a panel's row the first column lacks (its bar unseen there): a bar of the column's own
        # thickness in line with none of the first column's bars; anything else on the edge is no column's
        thick = 0.8 * float(np.median([r.width for r in in_line]))
        rows_more = [r for r in column if r not in in_line and r.width >= thick
                     and not any(min(r.x1, b.x1) - max(r.x0, b.x0) > 0 for b in first)]
        if len(in_line) + len(rows_more) < len(column):
            continue
        in_line += rows_more
        if any(r.cluster in used_clusters for r in in_line):
            fresh = max(used_clusters | {-1}) + 1000
            in_line = [replace(r, cluster=fresh) for r in in_line]
        used_clusters |= {r.cluster for r in in_line}
        extra += in_line
    return extra


def _baseline(bars: list[Bar]) -> float:
    """The line the bars stand on (upright coordinates): the median bottom of the bars reaching within 3 px of the
    lowest bottom."""
    return float(np.median([b.y1 for b in bars if all(b.y1 >= o.y1 - 3 for o in bars)]))


def _answer_columns_turned(vertical: list[Bar], horizontal: list[Bar], turned: list[Bar], score_v: float, score_h: float,
                           thickness: float) -> bool:
    """(rounds 207-208) A survey chart that gives each answer its own column of horizontal bars (`_answer_columns`) with
    only two or three rows: the top row's bars, one per column, stand on one line and carry more area than the first
    column does, so the picture was read as upright bars (`1 | 41`, `2 | 68`). Read turned instead when the turned
    reading's first column with the columns beside it carries more (an upright chart turned has no such columns) and
    the upright reading stands at most three bars on its baseline."""
    if not vertical or not horizontal or len(vertical) > 3:
        return False  # (round 208) an upright chart of groups (Pew's two panels of five pairs, OpenCQA 3717) stays upright
    extra = _answer_columns(horizontal, turned, _baseline(horizontal), thickness)
    return bool(extra) and score_h + sum(b.area for b in extra) > score_v


def _values_at_column_starts(rows, spans, bars: list[Bar], clusters: list[int], upright_boxes: list[TextBox],
                             taken: set[int]):
    """(round 208) Answer columns (`_answer_columns`, upright coordinates): a row whose cell in a column is empty takes
    the number printed just past that column's start within the row (its box's near edge within two line heights of
    the start): the value of a bar too thin to find (Pew's `1` beside a bar of one or two pixels). Each box once."""
    starts = {c: float(np.median([b.y1 for b in bars if b.cluster == c])) for c in clusters if any(b.cluster == c for b in bars)}
    free = [b for b in upright_boxes if id(b) not in taken and parse_value(b.text) is not None]
    out = []
    for centre, name, values in rows:
        span = next(((lo, hi) for lo, hi in spans if abs((lo + hi) / 2 - centre) < 1), None)
        values = list(values)
        for k, c in enumerate(clusters):
            if values[k] or span is None or c not in starts:
                continue
            near = [b for b in free if span[0] <= b.cx <= span[1] and 0 <= starts[c] - b.y1 <= 2 * b.original.h]
            if len(near) == 1:
                values[k] = parse_value(near[0].text)[1]
                free.remove(near[0])
        out.append((centre, name, values))
    return out


def _panel_in_row_colours(bars: list[Bar], extra: list[Bar], rects: list[Bar], baseline: float) -> list[Bar]:
    """(round 93) Side-by-side panels whose rows carry their own colours (Pew: each row's bars in its group's colour
    in every panel): where every bar `_answer_columns` added has the colour of the first column's bar in its row and
    that column has two or more colours, the colours name rows, not series, and the first column is one series."""
    first = [b for b in bars if abs(b.y1 - baseline) <= 3]
    if not extra or len({b.cluster for b in first}) < 2 or len(first) < len(bars):
        return bars
    colour = {(r.x0, r.y0, r.x1, r.y1): r.cluster for r in rects}
    matched = 0
    for bar in extra:  # a row the first column lacks tells nothing
        row = [b for b in first if min(bar.x1, b.x1) - max(bar.x0, b.x0) > 0.5 * max(bar.width, b.width)]
        if len(row) > 1 or (row and colour.get((bar.x0, bar.y0, bar.x1, bar.y1)) != row[0].cluster):
            return bars
        matched += bool(row)
    if matched < 2:
        return bars
    fresh = max(b.cluster for b in bars + extra) + 1000
    return [replace(b, cluster=fresh) for b in bars]


def _label_base(bars: list[Bar], baseline: float) -> float:
    """(round 27) Where the row labels of horizontal bars without a value axis start (upright coordinates): past the
    far end of the bars on the labels' side of the baseline (Pew's diverging `Oppose` segments hanging left of the
    zero line, an answer column left of the one the bars were stood on), not at the baseline."""
    return max([baseline] + [b.y1 for b in bars])


def _stacked_on(base: list, rects: list, share: float = 0.8, widest: bool = True, seam=None) -> list:
    """`base` plus the rectangles stacked on it, one on another: each overlaps the one below by `share`
    of the wider (`widest`) or of the narrower width, and starts where it ends (within 3 px; round 179: or where
    `seam(bar, below)` says the rows between them are a smeared seam of the two colours, `_blend_seam`)."""
    baseline = float(np.median([b.y1 for b in base]))
    kept = list(base)
    pending = [b for b in rects if b not in base and b.y1 < baseline]
    changed = True
    while changed:
        changed = False
        for bar in list(pending):
            for below in kept:
                overlap = min(bar.x1, below.x1) - max(bar.x0, below.x0)
                width = max(bar.width, below.width) if widest else min(bar.width, below.width)
                if overlap > share * width and (abs(bar.y1 + 1 - below.y0) <= 3 or (seam is not None and seam(bar, below))):
                    kept.append(bar)
                    pending.remove(bar)
                    changed = True
                    break
    return kept


def _blend_seam(rgb: np.ndarray, centres, background: np.ndarray):
    """(round 179) `seam(bar, below)` for `_stacked_on`, in the upright picture `rgb` (a horizontal chart's turned a
    quarter, as its bars are): True where a segment of one colour stops 4 or 5 rows above a segment of another colour
    under it (the usual seam is at most 3) and those rows, over the columns both share (2 px in from their edges), hold
    no pixel of the backdrop (within 45 of `background`) and lie, by their median, within 60 of the colours between
    the two (the line from one colour to the other). A JPEG picture smears the edge between two strong colours into
    such a band (chroma kept at half resolution, ringing at 8 px blocks): the segment above was left standing on
    nothing and lost with its value (plain `3` chart 6's top segment). A gap of the backdrop (a legend's swatches one
    over another, a row apart) is no seam."""
    colours = [np.asarray(c, np.float32) for c in centres]
    back = np.asarray(background, np.float32)

    def seam(bar, below) -> bool:
        gap = int(round(below.y0 - bar.y1 - 1))
        if not 4 <= gap <= 5 or bar.cluster == below.cluster or not (0 <= bar.cluster < len(colours) and 0 <= below.cluster < len(colours)):
            return False
        x0, x1 = int(max(bar.x0, below.x0)) + 2, int(min(bar.x1, below.x1)) - 1
        y0, y1 = int(bar.y1) + 1, int(below.y0)
        if x1 <= x0 or y1 <= y0 or y0 < 0 or y1 > rgb.shape[0] or x1 > rgb.shape[1]:
            return False
        pixels = rgb[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)
        if not len(pixels) or (np.linalg.norm(pixels - back, axis=1) < 45).any():
            return False
        a, d = colours[bar.cluster], colours[below.cluster] - colours[bar.cluster]
        t = np.clip((pixels - a) @ d / max(float(d @ d), 1e-6), 0.0, 1.0)
        return float(np.median(np.linalg.norm(pixels - (a + t[:, None] * d), axis=1))) < 60

    return seam


def _hanging_bars(bars: list[Bar], rects: list[Bar], baseline: float) -> list[Bar]:
    """Diverging bars (Pew: 'Oppose' left of the zero line, 'Favor' right of it), upright coordinates:
    segments of another colour that hang from the baseline under a bar, then segments hanging from those.
    Each ring gets the cluster -1 - depth (one series per ring: rows may use different colours).
    Fewer than two hanging segments are no diverging chart."""
    taken = {id(b) for b in bars}
    found: list[Bar] = []
    level = [b for b in bars if abs(b.y1 - baseline) <= 3]
    for depth in range(4):
        ring = []
        for rect in rects:
            if id(rect) in taken or rect.height < 4:
                continue
            for above in level:
                overlap = min(rect.x1, above.x1) - max(rect.x0, above.x0)
                top = baseline if depth == 0 else above.y1
                if overlap > 0.8 * max(rect.width, above.width) and abs(rect.y0 - 1 - top) <= 3 and (depth or rect.cluster != above.cluster):
                    ring.append(rect)
                    taken.add(id(rect))
                    break
        if not ring:
            break
        found += [replace(r, cluster=-1 - depth) for r in ring]
        level = ring
    return found if len(found) >= 2 else []


def _diverging(bars: list[Bar], rects: list[Bar], baseline: float) -> list[Bar]:
    """(round 119) `_hanging_bars` when they make a diverging chart: two or more rows hang from the baseline and their
    far ends do not all meet one line (Pew's rows each reach their own length left of the zero line). Rows whose
    hanging parts all end on one line are stacks standing on that line, cut at a seam that meets another row's seam
    by chance (9 + 18 and 21 + 6 of 100): no zero line. Empty otherwise."""
    hanging = _hanging_bars(bars, rects, baseline)
    ends = []
    for bar in bars:
        if abs(bar.y1 - baseline) <= 3:
            below = [h for h in hanging if min(h.x1, bar.x1) - max(h.x0, bar.x0) > 0.5 * min(h.width, bar.width)]
            if below:
                ends.append(max(h.y1 for h in below))
    return hanging if len(ends) >= 2 and max(ends) - min(ends) > 3 else []


def _sunk_bars(bars: list[Bar], rects: list[Bar], baseline: float) -> list[Bar]:
    """(round 50) Bars below the zero line, upright coordinates: a negative value (a growth rate, a net loss) hangs from
    the baseline the other bars stand on, in one of their colours and at their width, where no bar stands (Pew's
    diverging segments hang under a bar: `_hanging_bars`). Empty unless two or more bars stand on the baseline."""
    standing = [b for b in bars if abs(b.y1 - baseline) <= 3]
    if len(standing) < 2:
        return []
    colours = {b.cluster for b in standing}
    usual = float(np.median([b.width for b in standing]))
    taken = {id(b) for b in bars}
    return [r for r in rects if id(r) not in taken and r.cluster in colours and r.height >= 2
            and abs(r.y0 - 1 - baseline) <= 3 and 0.8 * usual <= r.width <= 1.25 * usual
            and not any(min(r.x1, b.x1) - max(r.x0, b.x0) > 0 for b in bars)]


def _ring_names(hanging: list[Bar], rects: list[Bar], legend: dict[int, tuple[float, str]],
                named: dict[int, tuple[float, str]]) -> dict[int, tuple[float, str]]:
    """(round 56) Legend names of diverging bars' hanging rings (`_hanging_bars` gives each ring the cluster -1 - depth):
    a ring all of whose segments are drawn in one colour that the legend names, a name no standing series took, is
    named by it (Pew's `Disagree` / `Strongly disagree` left of the centre line). Ring cluster -> (position, name)."""
    colour = {(r.x0, r.y0, r.x1, r.y1): r.cluster for r in rects}
    taken = {name for _, name in named.values()}
    out: dict[int, tuple[float, str]] = {}
    for ring in sorted({b.cluster for b in hanging}):
        drawn = {colour.get((b.x0, b.y0, b.x1, b.y1)) for b in hanging if b.cluster == ring}
        if len(drawn) != 1:
            continue
        entry = legend.get(next(iter(drawn)))
        if entry is not None and entry[1] not in taken:
            out[ring] = entry
            taken.add(entry[1])
    return out


def _hanging_labels(hanging: list[Bar], boxes: list[TextBox], skip: set[int], baseline: float) -> dict[int, TextBox]:
    """hanging segment index -> the number printed on it or just past its far end: `_value_labels` on the
    picture mirrored about the baseline."""
    def flip(item):
        return replace(item, y0=2 * baseline - item.y1, y1=2 * baseline - item.y0)

    mirrored = [flip(b) for b in boxes]
    found = _value_labels([flip(b) for b in hanging], mirrored, {id(m) for m, b in zip(mirrored, boxes) if id(b) in skip})
    original = {id(m): b for m, b in zip(mirrored, boxes)}
    return {i: original[id(m)] for i, m in found.items()}


def _value_labels(bars: list[Bar], boxes: list[TextBox], skip: set[int]) -> dict[int, TextBox]:
    """bar index -> the printed number on it or just past its end (greedy, nearest first; a label once)."""
    pairs = []
    for i, bar in enumerate(bars):
        for j, box in enumerate(boxes):
            if id(box) in skip or parse_value(box.text) is None:
                continue
            tol = max(3.0, 0.2 * bar.width)
            if not (bar.x0 - tol <= box.cx <= bar.x1 + tol):
                continue
            if box.cy > bar.y1 + 1:
                continue
            inside = box.cy >= bar.y0
            gap = bar.y0 - box.y1
            if not inside and gap > max(1.2 * box.h, 12):
                continue
            pairs.append((0.0 if inside else max(gap, 0.0) + 1.0, abs(box.cx - bar.cx), i, j))
    return _nearest_first(pairs, boxes)


def _values_read_again(rgb: np.ndarray, bars: list[Bar], labels: dict[int, TextBox], boxes: list[TextBox], baseline: float,
                       horizontal: bool, reread: Callable[[np.ndarray], str], blind: bool = False) -> dict[int, TextBox]:
    """(round 186) A bar standing on the baseline, no stack's segment, with no printed number found on it or past its
    end, on a chart with no value axis whose other standing bars print theirs (round 214: one or more; before, two or
    more and at least half of them, so a chart whose small bold values the detector missed on most bars lost those rows;
    round 218: or none, see below):
    the first pass's detector misses a value of one or two small glyphs at 72 dpi (Pew's `7` past a short bar, OpenCQA
    dev 7; `17` over a pale column, 3116). The bar's end is read again (`reread` on the crop enlarged three times, six
    in all: twice missed a lone `7` or `9`): from 2 px to 2.5 lines past its end, across its thickness and 3 px more
    each side (a vertical bar's value may be wider than the bar: half a line more), cut back clear of the text the
    first pass read; where that reads no word and the bar is 1.2 lines long or more, its end's inside (2.5 lines; Pew's
    white `9` in a green bar, 2387). The first crop with words decides: its one word stands as the bar's printed value
    only where it is a number (`parse_value`) and the bar's length agrees with it on the scale the printed bars give
    (value / length, their median; within a quarter of the value or 1.5 px). Else nothing is written: no value is
    measured without an axis. (round 218) `blind`: the last try on a chart every other reading left unread (the
    reader's `_read_boxes`). Where no bar's value was read (2-40 standing bars, each small bold value missed), every
    bar's end is read so, and the values read stand only where they agree among themselves: each within a quarter of
    the values' median value / length, two or more of them and at least half the bars. (Round 217 did this on every
    reading: a chart its value axis reads later took its title for the series' name.) `labels` as given where nothing
    is read."""
    import cv2

    def stacked(bar: Bar) -> bool:
        return any(o is not bar and min(o.x1, bar.x1) - max(o.x0, bar.x0) > 0.5 * min(o.width, bar.width) for o in bars)

    standing = [i for i, b in enumerate(bars) if abs(b.y1 - baseline) <= 3 and b.cluster >= 0 and not stacked(b)]
    printed = [i for i in standing if i in labels and (parse_value(labels[i].text) or (0.0,))[0] > 0 and bars[i].height >= 4]
    lacking = [i for i in standing if i not in labels and bars[i].height >= 4]
    if not lacking or not boxes or (not printed and not (blind and 2 <= len(lacking) <= 40)):
        return labels
    scale = float(np.median([parse_value(labels[i].text)[0] / bars[i].height for i in printed])) if printed else None
    line = float(np.median([b.original.h for b in boxes]))  # a line of text's height, as printed
    usual = float(np.median([b.width for b in bars]))
    h, w = rgb.shape[:2]
    out = dict(labels)
    for i in lacking:
        bar = bars[i]
        if bar.width < 0.5 * usual:
            continue
        side = 3.0 + (0.0 if horizontal else 0.5 * line)
        past = Bar(bar.x0 - side, bar.y0 - 2.5 * line, bar.x1 + side, bar.y0 - 2, -1)
        for box in boxes:  # text the first pass read stays out of the crop: its side nearest the box is cut back
            if min(box.x1, past.x1) <= max(box.x0, past.x0) or min(box.y1, past.y1) <= max(box.y0, past.y0):
                continue
            cuts = [replace(past, x0=box.x1 + 1) if box.cx < bar.cx else replace(past, x1=box.x0 - 1)]
            if box.y1 < bar.y0:
                cuts.append(replace(past, y0=box.y1 + 1))
            past = max(cuts, key=lambda a: max(0.0, a.x1 - a.x0) * max(0.0, a.y1 - a.y0))
        inside = Bar(bar.x0 + 1, bar.y0 + 2, bar.x1 - 1, bar.y0 + min(2.5 * line, bar.height - 3), -1)
        found = None
        for area in (past, inside) if bar.height >= 1.2 * line else (past,):
            seen = area.rotated_back(w) if horizontal else area
            x0, y0 = max(0, int(round(seen.x0))), max(0, int(round(seen.y0)))
            x1, y1 = min(w, int(round(seen.x1)) + 1), min(h, int(round(seen.y1)) + 1)
            if x1 - x0 < 4 or y1 - y0 < 4:
                continue
            words = reread(cv2.resize(np.ascontiguousarray(rgb[y0:y1, x0:x1]), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)).split()
            if words:  # the first crop with words decides
                found = (words[0], parse_value(words[0])) if len(words) == 1 else None
                break
        if found is None or found[1] is None or found[1][0] <= 0:
            continue
        if scale is not None and abs(found[1][0] - scale * bar.height) > max(0.25 * found[1][0], 1.5 * scale):
            continue
        box = TextBox(found[0], bar.x0, bar.y0 - line, bar.x1, bar.y0 - 1)  # where a value past its end stands
        out[i] = box if not horizontal else replace(box, src=box.rotated_back(w))
    if scale is None:  # (round 218) no value read by the first pass: the values read here must agree among themselves
        ratios = [parse_value(out[i].text)[0] / bars[i].height for i in out if i not in labels]
        middle = float(np.median(ratios)) if ratios else 0.0
        if len(ratios) < max(2, 0.5 * len(lacking)) or any(abs(r - middle) > 0.25 * middle for r in ratios):
            return labels
    return out


def _stack_totals(bars: list[Bar], labels: dict[int, TextBox], axis: Axis | None, baseline: float) -> dict[int, TextBox]:
    """(round 43) The labels without the totals printed over stacks (Statista): a number just above a stack's top
    segment is that segment's value, unless it stands nearer the whole stack's height on the value axis than the
    segment's own (and within 15% of it); then it is the stack's total, and the segment is measured on the axis."""
    if axis is None or axis.log:
        return labels
    out = dict(labels)
    for i, box in labels.items():
        bar = bars[i]
        if box.cy >= bar.y0 or abs(bar.y1 - baseline) <= 3:
            continue  # inside the bar, or a bar standing on the baseline alone
        below = [o for o in bars if o is not bar and o.y0 > bar.y0 and min(o.x1, bar.x1) - max(o.x0, bar.x0) > 0.6 * min(o.width, bar.width)]
        number = parse_value(box.text)
        if not below or number is None:
            continue
        total = axis.value(bar.y0) - axis.value(baseline)
        own = axis.value(bar.y0) - axis.value(bar.y1 + 1)
        value = number[0]
        if abs(value - total) < abs(value - own) and abs(value - total) <= 0.15 * abs(total) + 1e-9:
            del out[i]
    return out


def _garbled_values(bars: list[Bar], labels: dict[int, TextBox], axis: Axis | None, baseline: float) -> dict[int, TextBox]:
    """(round 45) Numbers printed on bars standing on the baseline that OCR garbled beyond _misread's readings, given
    the bar's measured value. Statista prints `1 231` wider than its bar, and OCR runs neighbours' labels together
    (`22312151`) or drops a digit group (`182` for `1 182`). When the axis is trusted (linear, at least three printed
    numbers on baseline bars, more than half of them within 3% of the axis' span of their bar's measured height
    once shifted by their median difference), a number further off than that is replaced by its bar's measured value
    shifted by the agreeing numbers' median difference (the bars' ends and the axis' ticks may sit a pixel or two apart)."""
    if axis is None or axis.log or len(axis.ticks) < 2 or axis.span <= 0:
        return labels
    read = {}
    for i, box in labels.items():
        bar, parsed = bars[i], parse_value(box.text)
        if parsed is None or bar.cluster < 0 or abs(bar.y1 - baseline) > 3:
            continue
        measured = axis.value(bar.y0) - axis.value(baseline)
        read[i] = (_misread(parsed, measured, axis.span)[0] - measured, measured)
    if len(read) < 3:
        return labels
    shift = float(np.median([d for d, _ in read.values()]))
    off = {i for i, (d, _) in read.items() if abs(d - shift) > 0.03 * axis.span}
    if len(read) - len(off) < 3 or len(read) - len(off) <= len(read) / 2 or not off:
        return labels
    shift = float(np.median([d for i, (d, _) in read.items() if i not in off]))
    out = dict(labels)
    for i in off:
        out[i] = replace(labels[i], text=_format(read[i][1] + shift, replace(axis, percent=False)))
    return out


def _whole_bars(bars: list[Bar]) -> list[Bar]:
    """(round 43) Bars (upright coordinates) at the chart's usual width (the median over all bars; the bars of a chart
    share one). Side-by-side pieces of one bar that printed values cut apart (Statista's thin stacked segments under a
    `0.1` taller than they are) are joined: neighbouring pieces under 0.6 of the usual width that together span
    0.85-1.15 of it, each sharing a colour at the same height with another, become one bar of that span (segments of
    one colour at the same height merged; anything else standing between them is dropped). Then a bar still under a
    third of the usual width is a sliver of something else (a tick label's grey, a value's outline) and is dropped.
    With under three bars nothing changes."""
    if len(bars) < 3:
        return bars
    usual = float(np.median([b.width for b in bars]))

    def shares(a: list[Bar], b: list[Bar]) -> bool:
        return any(p.cluster == q.cluster and min(p.y1, q.y1) - max(p.y0, q.y0) >= 0 for p in a for q in b)

    pieces = sorted((b for b in bars if b.width < 0.6 * usual), key=lambda b: b.x0)
    spans: list[list[Bar]] = []  # pieces standing in one x-range
    for bar in pieces:
        if spans and abs(bar.x0 - spans[-1][0].x0) <= 2 and abs(bar.x1 - spans[-1][0].x1) <= 2:
            spans[-1].append(bar)
        else:
            spans.append([bar])
    whole = [b for b in bars if b.width >= 0.6 * usual]
    out = list(whole)
    n = 0
    while n < len(spans):
        run = [spans[n]]
        while n + len(run) < len(spans):
            nxt = spans[n + len(run)]
            if nxt[0].x0 - max(s[0].x1 for s in run) > 0.5 * usual or nxt[0].x1 - run[0][0].x0 + 1 > 1.15 * usual:
                break
            run.append(nxt)
        kept = [s for s in run if any(t is not s and shares(s, t) for t in run)]
        lo, hi = (min(b.x0 for s in kept for b in s), max(b.x1 for s in kept for b in s)) if kept else (0, -1)
        blocked = any(min(w.x1, hi) - max(w.x0, lo) > 0 for w in whole)
        if len(kept) >= 2 and not blocked and hi - lo + 1 >= 0.85 * usual:
            merged: list[Bar] = []
            for bar in sorted((b for s in kept for b in s), key=lambda b: b.y0):
                same = next((m for m in merged if m.cluster == bar.cluster and min(m.y1, bar.y1) - max(m.y0, bar.y0) >= 0), None)
                if same is None:
                    merged.append(replace(bar, x0=lo, x1=hi))
                else:
                    merged[merged.index(same)] = replace(same, y0=min(same.y0, bar.y0), y1=max(same.y1, bar.y1))
            out.extend(merged)
            n += len(run)
        else:
            out.extend(b for b in spans[n] if b.width >= usual / 3)
            n += 1
    return sorted(out, key=lambda b: (b.x0, b.y0))


def _touching_bars_apart(bars: list[Bar], boxes: list[TextBox]) -> list[Bar]:
    """(round 103) Bars of one colour drawn nearly touching (old Pew charts: a 2 px seam between rows) that the seam's
    closing joined into one block (`Italy Britain Sweden`: one rectangle three bars thick) -> the bars again. A bar
    at least 1.8 times the usual width (the median) is cut into n = its width over the bars' pitch (the usual width
    plus the usual seam between neighbouring bars) equal pieces, where the bars have seams (some neighbours stand
    under half the usual width apart) and each piece holds exactly one printed number at or near its end. The pieces
    keep the block's length (their printed numbers give their values)."""
    if len(bars) < 2:
        return bars
    usual = float(np.median([b.width for b in bars]))
    ordered = sorted(bars, key=lambda b: b.x0)
    seams = [b.x0 - a.x1 - 1 for a, b in zip(ordered, ordered[1:]) if 0 <= b.x0 - a.x1 - 1 <= 0.5 * usual]
    if not seams:
        return bars
    seam = float(np.median(seams))
    pitch = usual + seam
    numbers = [b for b in boxes if parse_value(b.text) is not None]
    out = []
    for bar in bars:
        n = round((bar.width + seam) / pitch)
        if bar.width < 1.8 * usual or n < 2:
            out.append(bar)
            continue
        step = (bar.width + seam) / n
        pieces = [(bar.x0 + i * step, bar.x0 + (i + 1) * step - seam - 1) for i in range(n)]
        near = [b for b in numbers if bar.x0 <= b.cx <= bar.x1 and b.cy <= bar.y1 and b.y1 >= bar.y0 - max(1.2 * b.h, 12)]
        if all(sum(lo <= b.cx <= hi for b in near) == 1 for lo, hi in pieces) and len(near) == n:
            out.extend(replace(bar, x0=float(round(lo)), x1=float(round(hi))) for lo, hi in pieces)
        else:
            out.append(bar)
    return out


def _stacks_and_groups(bars: list[Bar]) -> list[list[Bar]]:
    """Bars that share an x-range are one stack; neighbouring stacks with a narrow gap and different
    colours are one group (grouped bars). Each group is one category."""
    stacks: list[list[Bar]] = []
    for bar in sorted(bars, key=lambda b: b.cx):
        if stacks and min(bar.x1, stacks[-1][0].x1) - max(bar.x0, stacks[-1][0].x0) > 0.6 * min(bar.width, stacks[-1][0].width):
            stacks[-1].append(bar)
        else:
            stacks.append([bar])
    if len(stacks) <= 1:
        return stacks
    widths = float(np.median([s[0].width for s in stacks]))
    gaps = [b[0].x0 - a[0].x1 for a, b in zip(stacks, stacks[1:])]
    groups = [list(stacks[0])]
    colours = [{b.cluster for b in stacks[0]}]
    for stack, gap in zip(stacks[1:], gaps):
        these = {b.cluster for b in stack}
        if gap <= max(4.0, 0.6 * widths) and not (these & colours[-1]) and gap < 0.6 * max(gaps):
            groups[-1].extend(stack)
            colours[-1] |= these
        else:
            groups.append(list(stack))
            colours.append(these)
    return groups


def _drawing_order(groups: list[list[Bar]], horizontal: bool) -> dict[int, float]:
    """cluster -> its mean place within the groups holding two or more bars (upright coordinates): a stack's segments
    from the baseline out; bars side by side from left to right, a horizontal chart's from the bottom up (the order
    matplotlib and pandas draw a chart's series in). Segments hanging under the baseline are left out."""
    places: dict[int, list[int]] = {}
    for group in groups:
        group = [b for b in group if b.cluster >= 0]
        if len(group) < 2:
            continue
        stacked = all(min(a.x1, b.x1) - max(a.x0, b.x0) > 0 for a in group for b in group)
        key = (lambda b: -b.y1) if stacked else (lambda b: -b.cx) if horizontal else (lambda b: b.cx)
        for n, bar in enumerate(sorted(group, key=key)):
            places.setdefault(bar.cluster, []).append(n)
    return {c: float(np.mean(p)) for c, p in places.items()}


def _row_in_own_shades(bars: list[Bar], groups: list[list[Bar]], names: dict, centres, skip: set[int]):
    """(round 137) A summary row Pew draws in shades of its own (the `MEDIAN` or `Total` row in darker shades of the
    answers' colours): its segments form colour clusters found in that row only, which no legend names, so they came
    out as series of one value each (left out as stray patches) and the row stayed empty. Such a row's segments are
    the usual series' values where they pair one to one with the series seen in 2+ other rows: as many segments as
    those series, in the series' drawing order (a stack from the baseline out; bars side by side along the row), and
    each segment's colour nearest in chromaticity (rgb / its sum) to its partner's among those series. Hanging and
    sunk segments (`skip`, by id) are left alone. Returns (bars, groups) with those segments given their partner's
    cluster; unchanged otherwise."""
    if len(groups) < 3:
        return bars, groups
    rows_of: dict[int, set[int]] = {}
    for n, group in enumerate(groups):
        for b in group:
            if b.cluster >= 0:
                rows_of.setdefault(b.cluster, set()).add(n)
    usual = [c for c, rows in rows_of.items() if len(rows) >= 2 and c < len(centres)]
    if len(usual) < 2:
        return bars, groups

    def tint(c: int) -> np.ndarray:
        rgb = np.asarray(centres[c], dtype=float)
        return rgb / max(rgb.sum(), 1.0)

    def in_order(group: list[Bar]) -> list[Bar]:
        stacked = all(min(a.x1, b.x1) - max(a.x0, b.x0) > 0 for a in group for b in group)
        return sorted(group, key=(lambda b: -b.y1) if stacked else (lambda b: b.cx))

    place: dict[int, list[int]] = {}
    for group in groups:
        mine = [b for b in group if b.cluster in usual and id(b) not in skip]
        if len(mine) == len(usual) and len({b.cluster for b in mine}) == len(usual):
            for k, b in enumerate(in_order(mine)):
                place.setdefault(b.cluster, []).append(k)
    if set(place) != set(usual):
        return bars, groups
    series = sorted(usual, key=lambda c: float(np.mean(place[c])))
    given: dict[int, int] = {}
    for group in groups:
        own = [b for b in group if b.cluster >= 0 and id(b) not in skip]
        if len(own) != len(series) or len({b.cluster for b in own}) != len(own) or any(
                len(rows_of[b.cluster]) != 1 or b.cluster in names or b.cluster in usual or not 0 <= b.cluster < len(centres)
                for b in own):
            continue
        pairs = list(zip(in_order(own), series))
        if all(min(usual, key=lambda c: float(np.abs(tint(b.cluster) - tint(c)).sum())) == c for b, c in pairs):
            given.update({id(b): c for b, c in pairs})
    if not given:
        return bars, groups
    new = {id(b): replace(b, cluster=given[id(b)]) if id(b) in given else b for b in bars}
    return [new[id(b)] for b in bars], [[new.get(id(b), b) for b in group] for group in groups]


def _under_baseline(box: TextBox, baseline: float, typical: float) -> bool:
    """(round 173) A box that may hold a category label under the bars' baseline (upright coordinates): its top no
    more than 2 px over the baseline, or a quarter of a text line (`typical`, the boxes' median height) where that is
    more. The text detector's box reaches a few pixels past the glyphs, so a label printed close under the axis (a
    slanted `Q2 '13` ending at its tick, a plain `Cardiology`) has its box start 3-5 px over the bars' ends; a value
    printed over a bar stands a whole line or more higher."""
    return box.y0 >= baseline - max(2.0, 0.25 * typical)


def _slanted_row(boxes: list[TextBox], baseline: float, typical: float) -> tuple[float, float] | None:
    """(round 132) The row of category labels printed at 45 degrees under vertical bars (upright boxes): (top, bottom)
    of its boxes, where 2+ boxes under the baseline are tall (over 2.2 text lines) and about as wide as high (a turned
    label is much narrower); None otherwise."""
    slanted = [b for b in boxes if typical and _under_baseline(b, baseline, typical) and b.src is None and b.h > 2.2 * typical
               and 0.6 * b.h <= b.x1 - b.x0 <= 1.6 * b.h]
    if len(slanted) < 2:
        return None
    return float(np.median([b.y0 for b in slanted])), max(b.y1 for b in slanted)


def _on_slanted_row(box: TextBox, row: tuple[float, float], typical: float) -> bool:
    """A box inside the slanted labels' row (`_slanted_row`), short of a whole label (a piece OCR read apart)."""
    return box.src is None and box.h <= 2.2 * typical and box.y0 >= row[0] - 0.5 * typical and box.y1 <= row[1] + 0.5 * typical


def _category_label(span: tuple[float, float], baseline: float, boxes: list[TextBox], skip: set[int],
                    typical: float = 0.0, start_by: float = 0.0) -> list[TextBox]:
    """The words under a group of bars (upright coordinates): boxes centred in the group's span that start
    within reach of the baseline (or by `start_by`: the column where a chart's labels start), reach extended
    line by line; read in the original reading order."""
    lo, hi = span
    row = _slanted_row(boxes, baseline, typical)

    def anchor(b: TextBox) -> float:  # a label printed slanted ends at its tick: its box's right edge
        if typical and b.h > 2.2 * typical and b.src is None:
            return b.x1 - 0.5 * typical
        if row is not None and _on_slanted_row(b, row, typical):  # (round 132) a piece of a slanted label
            return b.cx + (b.cy - row[0]) - 0.5 * typical
        return b.cx

    near = [b for b in boxes if id(b) not in skip and lo <= anchor(b) <= hi and _under_baseline(b, baseline, typical)]
    near.sort(key=lambda b: b.y0)
    chosen: list[TextBox] = []
    reach = baseline + 3
    for box in near:
        limit = reach + (1.2 * box.h if not chosen else 0.9 * box.h)
        if not chosen:
            limit = max(limit, start_by)
        if box.y0 > limit:
            break
        if _CHROME.search(box.text):
            continue
        chosen.append(box)
        reach = max(reach, box.y1)
    return chosen


def _named_by_sequence(rows: list[tuple[float, str, list[str]]], named: dict[float, str]) -> list[tuple[float, str, list[str]]]:
    """(round 41) Rows (centre, name, values) of vertical bars whose labels stand under every k-th bar only: each bar
    between is named by the labels' sequence (`fill_thinned_labels`, the bars' centres as the points, years too since
    round 57: a bar is a row; a broken label repaired by it); no row is added. The rows as they are where the labels form no such sequence."""
    labels = [TextBox(text, x - 1, 0, x + 1, 1) for x, text in sorted(named.items())]
    centres = [x for x, _, _ in rows]
    filled = fill_thinned_labels(labels, centres, min(centres), max(centres), years=True)
    if filled is labels:
        return rows
    pitch = float(np.median(np.diff([b.cx for b in filled])))
    out = []
    for x, name, values in rows:
        near = min(filled, key=lambda b: abs(b.cx - x))
        out.append((x, near.text if abs(near.cx - x) <= 0.3 * pitch else name, values))
    return out


def read_bar_chart(rgb: np.ndarray, boxes: list[TextBox], clusters=None, reread: Callable[[np.ndarray], str] | None = None,
                   blind: bool = False):
    """Bars read from the numbers printed on them (the axis scale only for bars without one). `reread` (a crop ->
    its words) reads category labels again that the text detector missed or ran together.

    Returns (kind, header, series, rows) or None when the picture holds no bar structure."""
    clusters = _split_close_tints(rgb, clusters or _colour_clusters(rgb, [], 0))  # two pale answers, one cluster
    framed = _legend_frame(rgb, boxes, clusters)
    frame = framed[3] if framed else None  # the legend's frame (x0, y0, x1, y1), where one is drawn
    clusters, unveiled_text = _seen_through_legend(rgb, boxes, clusters, framed)
    rects, centres, background = _rectangles(rgb, clusters, unveiled_text, hidden=frame)
    if not rects:
        return None
    width = rgb.shape[1]
    thickness = max(5.0, min(rgb.shape[:2]) / 100)  # thinner marks are lines, grid and axes
    turned = [r.rotated(width) for r in rects]  # one list: `_joined_across_legend` tells its bars apart by identity
    vertical, score_v = _upright_choice(rects, thickness, _blend_seam(rgb, centres, background))
    # (round 179) the turned picture, as `Bar.rotated` turns the rectangles (np.rot90: a quarter turn counter-clockwise)
    horizontal, score_h = _upright_choice(turned, thickness, _blend_seam(np.rot90(rgb), centres, background))
    if max(score_v, score_h) == 0:
        return None
    # (round 124) both readings carry the same rectangles (one strip of segments: a single stacked bar, `80% | 20%`):
    # the segments run along the strip's long side, so a strip wider than tall is a horizontal bar. Only where the
    # strip holds its colours (half their pixels or more in its rectangles): bars of those colours elsewhere that no
    # rectangle caught (rows drawn touching) make the strip one row of a chart not read here
    tie = bool(vertical) and abs(score_h - score_v) <= 0.01 * max(score_h, score_v) \
        and max(b.x1 for b in vertical) - min(b.x0 for b in vertical) > max(b.y1 for b in vertical) - min(b.y0 for b in vertical) \
        and all(0 <= c < len(clusters[0]) and sum(b.area for b in vertical if b.cluster == c) >= 0.5 * np.count_nonzero(clusters[0][c])
                for c in {b.cluster for b in vertical})
    if score_h > score_v or tie or _answer_columns_turned(vertical, horizontal, turned, score_v, score_h, thickness):
        bars, upright_boxes, upright_rects, kind = horizontal, [b.rotated(width) for b in boxes], turned, "hbar"
    else:
        bars, upright_boxes, upright_rects, kind = vertical, boxes, rects, "bar"
    bars = _joined_across_legend(bars, upright_rects, upright_boxes)
    bars = _whole_bars(bars)
    bars = _touching_bars_apart(bars, upright_boxes)
    palette = np.stack([background] + list(centres)).astype(np.float32)
    cut_names: set[int] = set()  # (round 149) the names cut off a value's box: `_names_past_values`' alone, no legend's
    if kind == "hbar":  # (round 149) `34% U.S.`: a bar's value and its series' own-ink name read as one box
        cut = _value_name_split(rgb, [b.rotated_back(width) for b in bars], boxes, palette)
        if cut is not boxes:
            cut_names = {id(b) for b in cut} - {id(b) for b in boxes} - {id(b) for b in cut if parse_value(b.text) is not None}
            boxes, upright_boxes = cut, [b.rotated(width) for b in cut]
    if kind == "hbar":  # (round 171) `14 7`: two small segments' values read as one box
        apart = _numbers_apart([b.rotated_back(width) for b in bars], boxes)
        if apart is not boxes:
            boxes, upright_boxes = apart, [b.rotated(width) for b in apart]
    long_side = rgb.shape[1] if kind == "hbar" else rgb.shape[0]
    baseline = _baseline(bars)
    # (round 119) with the diverging segments hanging from the baseline: a zero line may carry short segments only
    whole = bars + _diverging(bars, upright_rects, baseline)
    if max(b.height for b in whole) < 0.08 * long_side or sum(b.area for b in whole) < 0.004 * rgb.shape[0] * width:
        return None  # icons and legend swatches, not bars
    axis = find_value_axis(upright_boxes, vertical=True)
    if axis is not None and _ticks_across_bars(axis, bars):  # (round 58) a row of values, no axis
        axis = None
    if axis is not None and kind == "hbar" and _axis_against_printed_values(axis, bars, upright_boxes, baseline):
        axis = None  # (round 93) another panel's printed numbers, no axis of these bars
    axis = axis or _two_tick_axis(upright_boxes, bars, baseline)
    extra: list[Bar] = []
    if axis is None and kind == "hbar":  # no value axis: a survey chart may give each answer its own column of bars
        extra = _answer_columns(bars, upright_rects, baseline, thickness)
        bars = _panel_in_row_colours(bars, extra, upright_rects, baseline) + extra
    ticks = {id(b) for b in axis.ticks} if axis else set()
    labels = _value_labels(bars, upright_boxes, ticks)
    labels = _stack_totals(bars, labels, axis, baseline)
    labels = _garbled_values(bars, labels, axis, baseline)
    if axis is None and reread is not None:  # (round 186) a short value the first pass missed, read again at its bar
        labels = _values_read_again(rgb, bars, labels, upright_boxes, baseline, kind == "hbar", reread, blind=blind)
    keep = [i for i, b in enumerate(bars) if b.height >= 4 or i in labels]  # unlabelled slivers are axis lines
    swatches = _year_swatches(rgb, bars, labels, centres, background)
    keep = [i for i in keep if i not in swatches]  # (round 175) `■ 2012`: a legend's swatch, no bar valued 2012
    if axis is None:  # (round 27) with no value axis a bar without a printed value under half the bars' usual width is
        # a piece of bold text standing on the baseline (a title's stem), no bar: it would head the top row
        usual = float(np.median([b.width for b in bars]))
        keep = [i for i in keep if i in labels or bars[i].width >= 0.5 * usual]
    if len(keep) < len(bars):
        labels = {keep.index(i): box for i, box in labels.items() if i in keep}
        bars = [bars[i] for i in keep]
        if not bars:
            return None
    hanging = _hanging_bars(bars, upright_rects, baseline)
    ticks_and_labels = ticks | {id(b) for b in labels.values()}
    hanging_labels = _hanging_labels(hanging, upright_boxes, ticks_and_labels, baseline)
    sunk = [] if hanging else _sunk_bars(bars, upright_rects, baseline)  # (round 50) negative values
    if sunk:
        sunk_labels = _hanging_labels(sunk, upright_boxes, ticks_and_labels, baseline)
        labels.update({len(bars) + i: box for i, box in sunk_labels.items()})
        bars = bars + sunk
    if not labels and axis is None:
        return None
    if len(labels) < 0.5 * len(bars) and axis is None:
        return None
    groups = _stacks_and_groups(bars)
    used = ticks | {id(b) for b in labels.values()}
    spans = []
    for n, group in enumerate(groups):
        lo, hi = min(b.x0 for b in group), max(b.x1 for b in group)
        left = (lo - max(b.x1 for b in groups[n - 1])) / 2 if n else None
        right = (min(b.x0 for b in groups[n + 1]) - hi) / 2 if n + 1 < len(groups) else None
        pad_l = left if left is not None else (right if right is not None else 0.3 * (hi - lo))
        pad_r = right if right is not None else pad_l
        spans.append((lo - pad_l, hi + pad_r))
    led: dict[int, tuple[float, str]] = {}
    # (round 145) the bars read, in the picture's coordinates: a bar's own end beside a printed word is no swatch
    bar_rects = [b.rotated_back(width) for b in bars] if kind == "hbar" else bars
    # (round 149) Pew's series named in their own ink right of the first group's printed values: where that names
    # every series, no legend is looked for (a legend's swatch tests would take the bar's end beside the value)
    past, past_boxes = {}, set()
    series_past = kind == "hbar" and len({b.cluster for b in bars if b.cluster >= 0}) >= 2
    taken = {id(b.original) for b in upright_boxes if id(b) in used} if series_past else set()
    if series_past:
        past, past_boxes = _names_past_values(rgb, bar_rects, labels, boxes, palette, {}, taken)
    if past:
        legend = {}
    else:
        # (round 147) a swatch inside the legend's frame is no bar's end
        legend_boxes = _after_leading_swatches(rgb, [b for b in boxes if id(b) not in {id(v.original) for v in labels.values()} | cut_names], centres, background, led,
                                               bar_rects=bar_rects, frame=frame)
        legend = _legend_names((rgb, legend_boxes), centres, background, reread, bar_rects=bar_rects, frame=frame)  # (round 56) a swatch inside a word's box
    taken_names = {name for _, name in legend.values()}
    legend.update({c: v for c, v in led.items() if c not in legend and v[1] not in taken_names})  # (W1b) its own colour
    names = {c: v for c, v in legend.items() if any(b.cluster == c for b in bars)}
    if series_past and not past:  # (round 149) the series a legend left unnamed, named right of their values
        past, past_boxes = _names_past_values(rgb, bar_rects, labels, boxes, palette, names, taken)
    names.update(past)
    # (round 178) a legend drawn over bars: its words' column, one word per series, the swatches that show
    names.update(_legend_column_names(rgb, [b for b in boxes if id(b) not in {id(v.original) for v in labels.values()} | cut_names],
                                      centres, background, sorted({b.cluster for b in bars if b.cluster >= 0}), names))
    used |= {id(b) for b in upright_boxes if id(b.original) in past_boxes}  # no row's label, by the box (a row may
    # bear a series' name: `Men`)
    repeated = sum(len(g) > 1 for g in groups) >= 2 and any(
        sum(any(b.cluster == c for b in g) for g in groups) >= 2 for c in {b.cluster for b in bars})
    # (round 124) segments stacked end to end (sharing their x-range) are one stack, never bars side by side
    stack_in_group = any(min(a.x1, b.x1) - max(a.x0, b.x0) > 0 for g in groups for a in g for b in g if a is not b)
    if len(groups) < len(bars) and not repeated and len(names) < 2 and not stack_in_group:
        groups = [[b] for b in sorted(bars, key=lambda b: b.cx)]  # differently coloured bars side by side, no legend
        spans = []
        for n, group in enumerate(groups):
            lo, hi = group[0].x0, group[0].x1
            left = (lo - groups[n - 1][0].x1) / 2 if n else None
            right = (groups[n + 1][0].x0 - hi) / 2 if n + 1 < len(groups) else None
            pad_l = left if left is not None else (right if right is not None else 0.3 * (hi - lo))
            spans.append((lo - pad_l, hi + (right if right is not None else pad_l)))
    if all(len(g) == 1 for g in groups) and len({b.cluster for b in bars}) > 1 and not names:
        bars = [replace(b, cluster=bars[0].cluster) for b in bars]  # one bar per category: colours decorate
        groups = _stacks_and_groups(bars)
    names.update(_ring_names(hanging, upright_rects, legend, names))
    if hanging:  # diverging bars: each hanging segment joins the row of the bar it hangs from
        for seg in hanging:
            for group in groups:
                if any(min(seg.x1, b.x1) - max(seg.x0, b.x0) > 0.5 * seg.width for b in group):
                    group.append(seg)
                    break
        labels.update({len(bars) + i: box for i, box in hanging_labels.items()})
        used |= {id(b) for b in hanging_labels.values()}
        bars = bars + hanging
    # (round 137) a row drawn in shades of its own (Pew's MEDIAN / Total row: darker shades of the answers' colours)
    bars, groups = _row_in_own_shades(bars, groups, names, centres, {id(b) for b in hanging + sunk})
    label_base = _label_base(bars, baseline) if kind == "hbar" and axis is None else baseline
    sunk_ids = {id(b) for b in sunk}
    if sunk:  # the category labels stand past the lowest negative bar and the value printed under it
        label_base = max([label_base] + [b.y1 for b in sunk] + [box.y1 for i, box in labels.items() if id(bars[i]) in sunk_ids])
    place = _drawing_order(groups, upright_rects is turned)  # series no legend names: in the order they were drawn
    clusters = sorted({b.cluster for b in bars}, key=lambda c: (names.get(c, (1e9,))[0], place.get(c, -1.0), c))
    legend_words = {names[c][1] for c in names if c not in past}
    index = {id(b): i for i, b in enumerate(bars)}
    rows, missing = [], 0
    words = [b for b in upright_boxes if b.text not in legend_words or (kind == "hbar" and _row_label_place(b.original, bar_rects))]
    if kind == "hbar":  # rotated text left of horizontal bars is the category axis' title, not a label; a short
        # turned word ('Day') has a box only somewhat taller than wide, which no upright word of 3+ letters has (round 7)
        words = [b for b in words if not b.original.turned and not (len(b.text.strip()) >= 3 and b.original.h > 1.2 * (b.original.x1 - b.original.x0))]
    typical = float(np.median([b.h for b in upright_boxes]))
    if kind == "bar":  # '2003 2004 2005' read as one box under three bars
        merged = [b for b in words if b.y0 >= baseline - 2 and len(b.text.split()) >= 2 and b.h <= 1.6 * typical]  # one line
        middles = [(lo + hi) / 2 for lo, hi in spans]
        # (round 200) quarters under every other bar run together ("Q1 '17Q3 '17Q1 '18"): cut by their pattern first
        words = [b for b in words if b not in merged] + split_merged_labels(split_run_together_periods(merged, middles), middles)
    start_by = 0.0
    if kind == "hbar":  # labels right-aligned in a column that may stand far left of short bars' zero line
        starts = [min((b.y0 for b in words if id(b) not in used and lo <= b.cx <= hi and b.y0 >= label_base - 2), default=None)
                  for lo, hi in spans]
        starts = [s for s in starts if s is not None]
        line = float(np.median([b.original.h for b in upright_boxes]))
        if len(starts) >= 3 or (len(starts) == 2 and axis is None and abs(starts[0] - starts[1]) <= 0.5 * line):
            # (round 27) two rows without a value axis whose nearest words start together: a label column too
            start_by = float(np.median(starts)) + 0.5 * line
    chosen = [_category_label(span, label_base, words, used, typical, start_by) for span in spans]
    if kind == "bar" and len(groups) >= 3:  # the x-axis title under the labels is no part of the middle label
        middle = (spans[0][0] + spans[-1][1]) / 2
        for n, boxes_n in enumerate(chosen):
            for box in boxes_n[1:]:
                # alone on its line; with an even number of groups the title is centred on the boundary between the
                # two middle spans and both took it (round 7: `Thu Day`, `Fri Day`)
                alone = not any(abs(o.cy - box.cy) < 0.5 * box.h for m, other in enumerate(chosen) if m != n for o in other
                                if o is not box)
                if alone and abs(box.cx - middle) < 0.1 * (spans[-1][1] - spans[0][0]):
                    chosen = [[b for b in c if not (b.y0 >= box.y0 and (c is boxes_n or b is box))] for c in chosen]
                    break
    if reread is not None:
        chosen = _reread_labels(rgb, kind == "hbar", spans, chosen, upright_boxes, typical, reread)
    headings: list[str] = [""] * len(groups)
    if kind == "hbar":  # (round 84) a row still unnamed: its words in the other rows' label column
        chosen = _words_in_label_column(groups, spans, chosen, words, used)
        headings = _group_headings(groups, chosen, words, used, width)  # (round 156) Pew's sub-headings over groups of rows
    # the edge of the label column towards the bars (labels left of horizontal bars end there; a number sticking out
    # past it was printed beside the bar, not in the label)
    label_edge = float(np.median([b.original.x1 for c in chosen for b in c if re.search(r"[A-Za-z]{2}", b.text)] or [0.0]))
    named: dict[float, str] = {}  # the centres of the groups a label names (round 41)
    slant = _slanted_row(words, label_base, typical) if kind != "hbar" else None
    for n, (group, span) in enumerate(zip(groups, spans)):
        ordered = _reading_order(chosen[n])
        if slant is not None and all(_on_slanted_row(b, slant, typical) for b in chosen[n]):
            ordered = sorted(chosen[n], key=lambda b: b.cx - b.cy)  # (round 132) a slanted label's pieces, up its slant
        words_n, stray = _label_and_stray_numbers(ordered, label_edge) if kind == "hbar" else ([b.text for b in ordered], [])
        label = re.sub(r"(?<=\w)\s*[-–—]+$", "", " ".join(words_n))  # 'Feb -': a tick mark
        label = re.sub(r"(?<=[A-Za-z])- (?=[a-z])", "-", label)  # a label wrapped after a hyphen: 'owner-occupied' (round 7)
        unread = [bar for bar in group if index[id(bar)] not in labels]
        if len(stray) == 1 and len(unread) == 1 and axis is None:  # the one number beside the row is its one unread bar's
            labels[index[id(unread[0])]] = stray[0]
        cells: dict[int, str] = {}
        for bar in sorted(group, key=lambda b: -b.y1):
            printed = labels.get(index[id(bar)])
            if printed is not None:
                number, value = parse_value(printed.text)
                if axis is not None and not axis.log and abs(bar.y1 - baseline) <= 3 and len(axis.ticks) >= 2:
                    # '1.524' on a bar the axis puts at ~1,500 (a comma read as a point) among _misread's readings
                    number, value = _misread((number, value), axis.value(bar.y0), axis.span)
                if id(bar) in sunk_ids and number > 0:  # a bar below the zero line whose minus OCR missed
                    value = "-" + value
                value = _in_axis_unit(value, axis)
            elif axis is not None:
                if bar.cluster < 0 or id(bar) in sunk_ids:  # a segment or bar under the baseline: a negative value
                    value = _format(axis.value(bar.y1 + 1) - axis.value(bar.y0), axis)
                elif abs(bar.y1 - baseline) <= 3:
                    value = _format(axis.value(bar.y0), axis)
                else:  # a stacked segment reaches down to the top of the one below it (gaps between belong to it)
                    below = [o for o in group if o is not bar and o.y0 > bar.y0 and min(o.x1, bar.x1) - max(o.x0, bar.x0) > 0]
                    lower = min((o.y0 for o in below), default=bar.y1 + 1)
                    value = _format(axis.value(bar.y0) - axis.value(lower), axis)
            else:
                missing += 1
                continue
            cells.setdefault(bar.cluster, value)
        if cells:
            rows.append(((span[0] + span[1]) / 2, label or str(n + 1), [cells.get(c, "") for c in clusters]))
            if label:
                named[(span[0] + span[1]) / 2] = label
    if kind == "hbar" and any(headings) and len({name for _, name, _ in rows}) < len(rows):
        # (round 156) rows named alike in different groups (`2017` under `Rep/Lean Rep` and under `Dem/Lean Dem`): the
        # heading printed over each group is what tells them apart, so it leads the names of its group's rows
        head_at = {(s[0] + s[1]) / 2: h for s, h in zip(spans, headings)}
        # (a heading read as its first row's label's first line leads that name already)
        rows = [(centre, f"{head_at[centre]} {name}" if head_at.get(centre) and not name.startswith(head_at[centre])
                 else name, values) for centre, name, values in rows]
    if kind == "bar" and 3 <= len(named) < len(rows):  # labels under every other bar only: named by their sequence
        rows = _named_by_sequence(rows, named)
    if len(clusters) == 1 and len(groups) >= 2:
        freed: set[int] = set()  # (round 187, T2) year boxes a thin bar's row took from a neighbour's label
        rows += _bars_too_thin_to_see(upright_boxes, words, used, spans, baseline, typical, start_by, chosen=chosen, freed=freed,
                                      extents=[(min(b.x0 for b in g), max(b.x1 for b in g)) for g in groups])
        if freed:  # the neighbour keeps its own year(s): `2006 2007` -> `2007` once 2006's thin bar has its row
            kept = {(s[0] + s[1]) / 2: [b for b in c if id(b) not in freed] for s, c in zip(spans, chosen) if any(id(b) in freed for b in c)}
            rows = [(centre, " ".join(b.text for b in _reading_order(kept[centre])) if centre in kept else name, values)
                    for centre, name, values in rows]
    taken = used | {id(b) for b in labels.values()}
    if extra:  # (round 208) a value printed at an answer column's start whose bar is too thin to find
        rows = _values_at_column_starts(rows, spans, bars, clusters, upright_boxes, taken)
    net = _column_right_of_bars(rows, spans, bars, boxes, {id(b.original) for b in upright_boxes if id(b) in taken}, legend_words, width,
                                {id(box.original): bars[i] for i, box in labels.items()}) \
        if kind == "hbar" and axis is None and len(clusters) > 1 else None  # (round 58) Pew's NET column
    if net is not None and net[2]:  # (round 134) a total read first as its row's last segment's value: that segment
        # prints none (its cell empties; no value is measured without an axis)
        for bar in net[2]:
            n = next(k for k, r in enumerate(rows) if any(s[0] <= bar.cx <= s[1] and abs((s[0] + s[1]) / 2 - r[0]) < 1 for s in spans))
            centre, name, values = rows[n]
            rows[n] = (centre, name, [v if c != bar.cluster else "" for c, v in zip(clusters, values)])
    rows = [(name, values) for _, name, values in sorted(rows, key=lambda r: r[0])]
    if not rows:
        return None
    horizontal = upright_rects is turned
    if len(clusters) > 1:
        kind = "stacked" if any(len({round(b.cx) for b in g}) < len(g) for g in groups) else "grouped"
        kind = ("h" if horizontal else "") + kind
    series = [names.get(c, (0, ""))[1] for c in clusters]
    if len(clusters) > 1 and not any(series) and horizontal:
        series = _column_headers(bars, clusters, upright_boxes, used, width, rgb, reread)
    if len(clusters) > 1 and not all(series) and horizontal:  # (round 83) the columns no legend or header named
        heads = _headings_over_columns(bars, clusters, upright_boxes, used, width)
        if all(_same_name(head, name) for head, name in zip(heads, series) if head and name):  # (H1b) they agree
            for n, head in enumerate(heads):
                if not series[n] and head and not any(head in name or name in head for name in series if name):
                    series[n] = head
    if kind == "stacked" and not any(series):  # (round 104) names beside the first or last stack
        chosen_ids = {id(b) for c in chosen for b in c}
        series = _names_beside_stacks(bars, clusters, upright_boxes, taken | chosen_ids, series, axis)
    if len(clusters) == 1 and not series[0] and horizontal and axis is None:
        series = [_heading_over_bars(bars, upright_boxes, used, width)]
    series = [name or (f"Series {i + 1}" if len(clusters) > 1 else "Value") for i, name in enumerate(series)]
    if net is not None:
        series = series + [net[0]]
        rows = [(name, values + [net[1][n]]) for n, (name, values) in enumerate(rows)]
    rows = _consistent_percent(rows)
    original_bars = [b.rotated_back(width) if horizontal else b for b in bars]
    top = min([b.y0 for b in original_bars] + [b.original.y0 for b in labels.values()])
    bottom = max([b.y1 for b in original_bars] + [b.original.y1 for b in labels.values()])
    span = (min(b.x0 for b in original_bars), max(b.x1 for b in original_bars))
    top = min([top] + [b.y1 + 1 for b in boxes if b.text in legend_words and b.y1 < np.median([o.y0 for o in original_bars])])
    return kind, "Category", series, rows, (top, bottom, span)


VEIL = 0.2  # a see-through legend (matplotlib's framealpha 0.8) shows a fifth of the colour of what lies behind it


def _column_right_of_bars(rows, spans, bars: list[Bar], boxes: list[TextBox], used: set[int], legend_words: set[str],
                          width: int, taken_by: dict[int, Bar] | None = None) -> tuple[str, list[str], list[Bar]] | None:
    """(round 58) A column of numbers printed right of horizontal stacked bars, clear of them, one in each row, under
    a word that heads it (Pew's bold `NET`: the sum of some answers, printed in its own column) -> (the heading as
    read, each row's number in the order of the rows sorted by centre, the bars whose value label was the column's);
    None unless every row has exactly one such number, the numbers stand in one column and a heading word stands
    above the column. `used` holds the ids of the (original) boxes already read as values. Nothing is guessed: the
    heading is the picture's own word.
    (round 134) Each row's number stands past that row's own bars (a `Total` printed beside rows sorted longest
    first: the top row's bar ends near the column); the numbers stand in one column, or each just past its own bar
    (within two lines: `Total` beside each stack), the heading then over the top row's number; a heading of two
    short lines (`NET` over `DAILY`) is read whole; a number of the column that `taken_by` (original box id -> bar)
    shows read as its row's last segment's value, standing past that segment, is the column's where the column's
    other numbers (two or more, most of the rows) are free: that bar is returned to lose the value."""
    if len(rows) < 2:
        return None
    taken_by = taken_by or {}
    line = float(np.median([b.h for b in boxes]))
    free = [b for b in boxes if id(b) not in used]
    order = sorted(range(len(rows)), key=lambda n: rows[n][0])
    column, ends, reclaim = [], [], []
    for n in order:
        centre = rows[n][0]
        span = next((s for s in spans if abs((s[0] + s[1]) / 2 - centre) < 1), None)
        if span is None:
            return None
        own = [b.rotated_back(width) for b in bars if span[0] <= b.cx <= span[1]]
        if not own:
            return None
        end = max(b.x1 for b in own)  # the row's bars' right end (original x)
        past = [b for b in boxes if parse_value(b.text) is not None and span[0] <= b.cy <= span[1]
                and b.cx > end + 0.25 * line and b.x0 > end - 0.5 * line]
        inside = [b for b in past if id(b) not in used]
        if len(inside) > 1:
            return None
        if not inside:  # the column's number read as the last segment's value (it stands past that segment)
            held = [b for b in past if id(b) in taken_by]
            if len(held) != 1:
                return None
            reclaim.append(len(column))
        column.append((inside or held)[0])
        ends.append(end)
    if len(column) - len(reclaim) < max(2, len(column) // 2 + 1):
        return None
    rest = [b for k, b in enumerate(column) if k not in reclaim]
    x0, x1 = max(b.x0 for b in rest), min(b.x1 for b in rest)
    aligned = x0 < x1 and all(b.x0 < x1 and b.x1 > x0 for b in column)
    if not aligned:
        if reclaim or not all(b.x0 - end <= 2 * line for b, end in zip(column, ends)):
            return None  # not one column, nor each number beside its own bar
        x0, x1 = column[0].x0, column[0].x1  # the heading stands over the top row's number
    top = min(b.y0 for b in column)
    heads = [b for b in free if parse_value(b.text) is None and b.text not in legend_words and b.y1 <= top
             and top - b.y1 <= 3 * line and b.x0 < x1 and b.x1 > x0 and re.search(r"[A-Za-z]", b.text)]
    if not heads:
        return None
    head = [max(heads, key=lambda b: b.y1)]
    short = max(b.x1 for b in column) - min(b.x0 for b in column) + 4 * line  # a heading's line, not a subtitle's
    while head[0].x1 - head[0].x0 <= short:  # a short heading line just above it, over it: one heading (`NET DAILY`)
        above = [b for b in free if parse_value(b.text) is None and b.text not in legend_words and b.y1 <= head[0].cy
                 and head[0].y0 - b.y1 <= 0.6 * line and b.x0 < head[0].x1 and b.x1 > head[0].x0
                 and b.x1 - b.x0 <= short and re.search(r"[A-Za-z]", b.text) and b not in head]
        if len(above) != 1:
            break
        head.insert(0, above[0])
    text = " ".join(b.text.strip() for b in head)
    return text, [parse_value(b.text)[1] for b in column], [taken_by[id(column[k])] for k in reclaim]


def _year_swatches(rgb: np.ndarray, bars: list, labels: dict, centres, background) -> set[int]:
    """(round 175) The bars (indices) that are a legend's swatches beside a year: a legend that names its series by
    years (Pew's `■ 2012  ■ 2018` over horizontal bars) has no words, so its small squares stood as bars and the years
    beside them as their printed values (`1 | | 2012` atop the table, one series `Series 3`). A bar is a swatch where
    its value box is a year or an age band (`colours._year_or_band`), the bar is no longer than 1.6 of that box's
    height (a swatch is about a word's height), and `_legend_names` on that box alone (its start past a swatch it
    took in, `_after_leading_swatches`) finds the bar's own colour in a patch beside it that stops above, below and
    left of it."""
    out: set[int] = set()
    for i, box in labels.items():
        word = box.original
        if not _year_or_band(word.text) or bars[i].height > 1.6 * word.h:
            continue
        if bars[i].cluster in _legend_names((rgb, _after_leading_swatches(rgb, [word], centres, background)), centres, background):
            out.add(i)
    return out


def _legend_frame(rgb: np.ndarray, boxes: list[TextBox], clusters):
    """A legend of two or more named entries drawn in the picture: (its names, its words, their median height, the
    frame (x0, y0, x1, y1) as matplotlib draws it around them); None where there is none (or fewer than two named)."""
    _, centres, background = clusters
    if len(centres) < 2:
        return None
    names = _legend_names((rgb, [b for b in boxes if parse_value(b.text) is None]), centres, background)
    words = [b for b in boxes if any(_bare(b.text) == name for _, name in names.values())]
    if len(names) < 2 or len(words) < 2:
        return None
    h = float(np.median([b.h for b in words]))
    height, width = rgb.shape[:2]
    # matplotlib's frame: 2.8 em of swatch and gap left of the words, 0.4 em of border (a word's box is ~1.4 em tall)
    x0, x1 = max(0, int(min(b.x0 for b in words) - 2.5 * h)), min(width, int(max(b.x1 for b in words) + 0.8 * h))
    y0, y1 = max(0, int(min(b.y0 for b in words) - 0.8 * h)), min(height, int(max(b.y1 for b in words) + 0.8 * h))
    y0, y1 = _frame_within_rows(rgb, clusters, names, words, h, (x0, y0, x1, y1))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    return names, words, h, (x0, y0, x1, y1)


def _frame_within_rows(rgb: np.ndarray, clusters, names, words, h: float, frame) -> tuple[int, int]:
    """(round 107) The frame's top and bottom (y0, y1) kept off the bars beside the legend's rows: a row of the margin
    above or below the legend's words that holds an opaque run of a named colour 1.5 em long is a bar's (a frame over
    it would veil it; a swatch is ~1 em and stands beside its word), so the frame ends before it (Pew's 00021: the
    right legend's second row put the U.S. row's bars under the margin, where the veil took their 30 and 19)."""
    masks, centres, background = clusters
    x0, y0, x1, y1 = frame
    named = [k for k in names if k < len(masks) and np.ptp(centres[k]) > 40]
    if not named:
        return y0, y1
    opaque = np.zeros((y1 - y0, x1 - x0), bool)
    for k in named:
        opaque |= masks[k][y0:y1, x0:x1].astype(bool)
    run = max(2, int(1.5 * h))
    found, first, last = _longest_runs(opaque.T.astype(int))  # the longest run of opaque pixels along each row
    barred = (found > 0) & (last - first + 1 >= run)
    top, bottom = int(min(b.y0 for b in words)), int(max(b.y1 for b in words))

    def bare_inside(y: int, inward: int) -> bool:
        # (Fb) the bar's edge: two rows towards the words, over the run's columns, the backdrop itself; a bar that runs
        # on under a veil shows its veiled colour there (0.2 of its distance from the backdrop: 38 for a mid purple)
        inner = y + 2 * inward
        if not y0 <= inner < y1:
            return False
        columns = opaque[y - y0]
        pixels = rgb[inner, x0:x1][columns].astype(np.float32)
        return bool(len(pixels)) and float(np.median(np.linalg.norm(pixels - np.asarray(background, np.float32), axis=1))) < 12

    for y in range(max(y0, bottom + 1), y1):
        if barred[y - y0]:
            if bare_inside(y, -1):
                y1 = y
            break
    for y in range(min(y1, top) - 1, y0 - 1, -1):
        if barred[y - y0]:
            if bare_inside(y, 1):
                y0 = y + 1
            break
    return y0, y1


def _seen_through_legend(rgb: np.ndarray, boxes: list[TextBox], clusters, legend=None):
    """Bars behind a see-through legend (round 10). matplotlib's legend is 80% opaque and its face is the plot's
    backdrop B, so a bar of colour c shows inside the frame as 0.8*B + 0.2*c: the bar seemed cut at the frame, its
    pale part became a series of its own or nothing (`Series 4`, a bar's foot lost). Near a legend of 2+ named
    entries, pixels of those veiled colours (and the anti-aliased steps from a colour to its veiled form, at the
    frame's edge) go to the named colour's mask and leave any other; the legend's words and the swatches left of
    them (opaque patches that keep off the edges of their place) leave the masks, and a veiled bar runs on under
    them from veiled pixel to veiled pixel along rows and columns. Returns the clusters and the text boxes the bar
    reader may bridge (the legend's words are left out: bridged here). Nothing changes where no veil is found.
    `legend`: `_legend_frame`'s answer (nothing is done without one)."""
    import cv2

    masks, centres, background = clusters
    if legend is None:
        return clusters, boxes
    names, words, h, (x0, y0, x1, y1) = legend
    height, width = rgb.shape[:2]
    # only coloured entries: a veiled grey is the grey of the frame's edge or of another grey bar (grayscale plots);
    # and only light backdrops: behind a dark face every colour fades to the dark of text edges (dark_background)
    named = sorted(k for k in names if np.ptp(centres[k]) > 40)
    if not named or float(np.mean(background)) < 128:
        return clusters, boxes
    colours = np.stack([centres[k] for k in named]).astype(np.float32)
    # the backdrop's own colour (the cluster's centre is a mean over a coarse bin: a plot's grey and its white margin)
    flat = rgb.reshape(-1, 3)
    near = np.linalg.norm(flat.astype(np.float32) - np.asarray(background, np.float32), axis=1) < 45
    codes = (flat[near] >> 3).astype(np.int32) @ np.array([1024, 32, 1])
    back = flat[near][codes == np.bincount(codes).argmax()].mean(axis=0).astype(np.float32) if near.any() else np.asarray(background, np.float32)
    # the face is taken to be the backdrop ('inherit', matplotlib's default): with a white face over a grey plot
    # every light grey would look veiled, so that case is left alone
    pixels = rgb[y0:y1, x0:x1].astype(np.float32)
    step = (1 - VEIL) * (back - colours)  # from each colour to its veiled form
    t = np.clip(np.einsum("yxkc,kc->yxk", pixels[:, :, None, :] - colours, step) / np.maximum((step ** 2).sum(axis=1), 1e-6),
                0.3, 1.0)  # the opaque end is the colour's own (already in its mask)
    on_step = np.linalg.norm(pixels[:, :, None, :] - (colours + t[..., None] * step), axis=3)
    others = np.concatenate([back[None], colours])  # the face over the backdrop is the backdrop; a pale copy's own
    # cluster is no other (its pixels are the ones wanted)
    distance_other = np.linalg.norm(pixels[:, :, None, :] - others, axis=3)
    which, distance = on_step.argmin(axis=2), on_step.min(axis=2)
    hit = (distance < 22) & (distance < distance_other.min(axis=2))  # JPEG's colour noise is ~10 per channel
    for b in boxes:  # text's anti-aliased greys (the legend's words, tick labels near it) are no veiled colour
        hit[max(0, int(b.y0) - y0):max(0, int(b.y1) + 1 - y0), max(0, int(b.x0) - x0):max(0, int(b.x1) + 1 - x0)] = False
    # the swatches: opaque patches left of the legend's words that keep off the edges of their place
    swatch = np.zeros((height, width), bool)
    for b in words:
        zy0, zy1 = max(0, int(b.y0 - 0.2 * h)), min(height, int(b.y1 + 0.2 * h) + 1)
        zx0, zx1 = max(0, int(b.x0 - 3.5 * h)), min(width, int(b.x0))
        if zy1 - zy0 < 3 or zx1 - zx0 < 3:
            continue
        for opaque in masks:
            _, labels, stats, _ = cv2.connectedComponentsWithStats(np.ascontiguousarray(opaque[zy0:zy1, zx0:zx1]), connectivity=8)
            for label, (px, py, pw, ph, _) in enumerate(stats[1:], 1):
                # (2 em long: a bar's sliver between the axis and the frame is no swatch)
                if px > 0 and py > 0 and px + pw < zx1 - zx0 and py + ph < zy1 - zy0 and pw >= 0.8 * h:
                    swatch[zy0:zy1, zx0:zx1] |= labels == label
    # a veiled patch is a bar's part only where it meets that bar's opaque part outside the frame (round 10's
    # first try took pale greys of grayscale plots and the rims of swatches for veiled bars)
    for k, index in enumerate(named):
        opaque = cv2.dilate((masks[index][y0:y1, x0:x1].astype(bool) & ~swatch[y0:y1, x0:x1]).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        count, labels = cv2.connectedComponents((hit & (which == k)).astype(np.uint8), connectivity=8)
        if count > 1:
            meets = np.zeros(count, bool)
            meets[np.unique(labels[opaque & (labels > 0)])] = True
            hit &= ~((which == k) & ~meets[labels])
    if hit.sum() < max(30, 0.01 * hit.size):
        return clusters, boxes
    out = [m.copy() for m in masks]
    for index, mask in enumerate(out):
        part = mask[y0:y1, x0:x1]
        part[hit] = 0
        if index in named:
            part[hit & (which == named.index(index))] = 1
    taken = np.zeros(hit.shape, bool)
    for mask in out:
        taken |= mask[y0:y1, x0:x1].astype(bool)
    unlike_backdrop = distance_other[:, :, 0] > 15
    for index in named:  # the frame's edge (a grey line 2-3 px wide) cuts a bar where it enters the legend: closed
        part = out[index][y0:y1, x0:x1]
        closed = cv2.morphologyEx(cv2.morphologyEx(part, cv2.MORPH_CLOSE, np.ones((1, 5), np.uint8)), cv2.MORPH_CLOSE, np.ones((5, 1), np.uint8))
        part[(closed > 0) & ~taken & unlike_backdrop] = 1
    occluded = np.zeros((height, width), bool)  # the legend's own marks: its words and swatches
    for b in words:
        occluded[max(0, int(b.y0)):int(b.y1) + 1, max(0, int(b.x0)):int(b.x1) + 1] = True
        for mask in out:  # the word's box is unknown ground: filled below from the veiled bars around it
            mask[max(0, int(b.y0)):int(b.y1) + 1, max(0, int(b.x0)):int(b.x1) + 1] = 0
    occluded |= swatch
    for mask in out:
        mask[swatch] = 0
    free = occluded[y0:y1, x0:x1].copy()
    for mask in out:
        free &= ~mask[y0:y1, x0:x1].astype(bool)
    for k, index in enumerate(named):
        part, veiled = out[index][y0:y1, x0:x1], hit & (which == k)
        for lines, ends, fill in ((part, veiled, free), (part.T, veiled.T, free.T)):
            for n in range(lines.shape[0]):
                at = np.flatnonzero(ends[n])  # from veiled pixel to veiled pixel: not from a bar outside the frame
                for a, b in zip(at[:-1], at[1:]):
                    if b - a > 1 and fill[n, a + 1:b].all():
                        lines[n, a + 1:b] = 1
    return (out, centres, background), [b for b in boxes if not any(b is w for w in words)]


def _joined_across_legend(bars: list[Bar], rects: list[Bar], boxes: list[TextBox]) -> list[Bar]:
    """A bar cut by a legend drawn over it (matplotlib's `best` place often lies on the bars): the bar shows as a
    sliver on the baseline and a rectangle of its colour floating beyond the legend, right over it, with the
    legend's words in between; the floating part was no bar, and the segments stacked on it were lost with it.
    The bar runs on to the far end of that part, and what stands on it is stacked again (round 9)."""
    words = [b for b in boxes if re.search(r"[A-Za-z]{2}", b.text)]
    kept = {id(b) for b in bars}
    joined, used = list(bars), set()
    for n, bar in enumerate(bars):
        if any(o is not bar and o.y1 <= bar.y0 + 3 and min(o.x1, bar.x1) - max(o.x0, bar.x0) > 0.5 * bar.width for o in bars):
            continue  # something already stands on it
        beyond = [r for r in rects if id(r) not in kept and id(r) not in used and r.cluster == bar.cluster and r.y1 < bar.y0 - 2
                  and min(r.x1, bar.x1) - max(r.x0, bar.x0) >= 0.9 * max(r.width, bar.width)
                  and any(w.y0 < bar.y0 and w.y1 > r.y1 and w.x1 > bar.x0 and w.x0 < bar.x1 for w in words)]
        if beyond:
            part = max(beyond, key=lambda r: r.y1)  # the nearest
            used.add(id(part))
            joined[n] = replace(bar, y0=part.y0)
    if not used:
        return bars
    return _stacked_on(joined, [r for r in rects if id(r) not in kept and id(r) not in used], widest=True)


def _ticks_across_bars(axis: Axis, bars: list[Bar]) -> bool:
    """(round 58) A value axis' tick labels stand beside the bars, never across one: numbers that each stand within
    a bar's width (upright coordinates) are values printed on a row of bars (a diverging Pew row, its NET beside it:
    `74 12 19` read as a scale measured from the centre), not an axis. The same test `_two_tick_axis` makes."""
    return all(any(bar.x0 - 2 <= tick.cx <= bar.x1 + 2 for bar in bars) for tick in axis.ticks)


def _axis_against_printed_values(axis: Axis, bars: list[Bar], boxes: list[TextBox], baseline: float) -> bool:
    """(round 93) Horizontal bars with their values printed (upright coordinates): a column of numbers found as the
    value axis that measures three or more of the bars standing on the baseline, and most of them otherwise than the
    number printed on each (the bar's length read on it, within 15% or 5% of the axis' span), is no axis of these
    bars: another panel's values in a column (Pew prints side-by-side panels, each bar with its value, and no axis; a
    dot plot's values under them). Linear axes only; the bars' values are their printed numbers either way."""
    if axis.log:
        return False
    first = [b for b in bars if abs(b.y1 - baseline) <= 3]
    printed = _value_labels(first, boxes, {id(t) for t in axis.ticks})
    checked = agree = 0
    for i, box in printed.items():
        number = parse_value(box.text)[0]
        if number is None or number <= 0:
            continue
        reading = abs(axis.value(first[i].y0) - axis.value(first[i].y1 + 1))
        checked += 1
        agree += abs(reading - number) <= max(0.15 * number, 0.05 * axis.span)
    return checked >= 3 and agree < 0.5 * checked


def _two_tick_axis(boxes: list[TextBox], bars: list[Bar], baseline: float) -> Axis | None:
    """A value axis of which only two tick labels were read (a small `0` the detector missed): two numbers in a
    column beside the bars whose scale puts zero on the line the bars stand on (within 3 px)."""
    numeric = [b for b in boxes if b.number is not None and b.number > 0 and not any(bar.x0 - 2 <= b.cx <= bar.x1 + 2 for bar in bars)]
    tol = max(6.0, 0.5 * float(np.median([b.h for b in numeric]))) if numeric else 6.0
    for key in (lambda b: b.x1, lambda b: b.cx, lambda b: b.x0):
        for group in _groups(numeric, key, tol=tol):
            if len(group) != 2 or abs(group[0].cy - group[1].cy) < 2 * max(b.h for b in group):
                continue
            (p1, v1), (p2, v2) = sorted((b.cy, b.number) for b in group)
            if v1 <= v2:
                continue  # values grow upwards
            slope = (v2 - v1) / (p2 - p1)
            intercept = v1 - slope * p1
            if abs(-intercept / slope - baseline) <= 3:
                percent = sum(b.text.strip().endswith("%") for b in group) == 2
                return Axis(float(slope), float(intercept), False, percent, float(v1 - v2), list(group))
    return None


def _reread_labels(rgb: np.ndarray, horizontal: bool, spans, chosen: list[list[TextBox]], boxes: list[TextBox],
                   typical: float, reread: Callable[[np.ndarray], str]) -> list[list[TextBox]]:
    """Category labels the text detector missed (faint grey labels: every other one) or ran together across
    bars (`OncologWeurologpediatrics`): the band where the other labels stand, cut at that group's span, read
    again on its own. Only one-line labels (slanted ones do not stand in a span), only where no text was found."""
    chosen = [list(c) for c in chosen]
    redo: dict[int, tuple[float, float, TextBox | None]] = {}
    if not horizontal:  # one box across the spans of several groups: each group's part read alone
        for n, c in enumerate(chosen):
            if len(c) != 1 or c[0].x1 - c[0].x0 < 1.6 * (spans[n][1] - spans[n][0]) or c[0].h > 1.8 * typical:
                continue  # (round 132) a slanted label's box reaches over its neighbours' spans: it is one label
            covered = [m for m, (lo, hi) in enumerate(spans) if min(hi, c[0].x1) - max(lo, c[0].x0) > 0.5 * (hi - lo)]
            if len(covered) >= 2 and all(not chosen[m] or chosen[m] == c for m in covered):
                for m in covered:
                    redo[m] = (c[0].y0 - 2, c[0].y1 + 2, c[0])
    found = [c for n, c in enumerate(chosen) if c and n not in redo]
    missing = [n for n, c in enumerate(chosen) if not c]
    if missing and len(found) >= 2:
        heads = [c[0] for c in found]
        if horizontal or np.median([b.h for b in heads]) <= 1.8 * typical:  # (slanted labels are tall boxes)
            band = (min(b.y0 for c in found for b in c) - 2, max(b.y1 for c in found for b in c) + 2)
            for n in missing:
                redo[n] = band + (None,)
    if not redo:
        return chosen
    picture = np.ascontiguousarray(np.rot90(rgb)) if horizontal else rgb
    height, width = picture.shape[:2]
    for n, (y0, y1, merged) in sorted(redo.items(), key=lambda item: item[0]):
        x0, x1 = max(0, int(spans[n][0])), min(width, int(spans[n][1]) + 1)
        y0, y1 = max(0, int(y0)), min(height, int(y1) + 1)
        if x1 - x0 < 6 or y1 - y0 < 6 or any(x0 <= b.cx <= x1 and y0 <= b.cy <= y1 for b in boxes if b is not merged):
            continue  # other text was found there: no label the detector missed
        crop = picture[y0:y1, x0:x1]
        text = re.sub(r"\s*[-–—]+$", "", reread(np.ascontiguousarray(np.rot90(crop, k=-1)) if horizontal else crop).strip())  # a tick mark
        if (re.search(r"[A-Za-z]{2}", text) or re.fullmatch(r"\d{4}", text)) and not _CHROME.search(text):
            chosen[n] = [TextBox(text, x0, y0, x1, y1)]
        elif chosen[n]:
            chosen[n] = []  # a merged box's part that reads as nothing is no label of its own
    return chosen


def _words_in_label_column(groups: list[list[Bar]], spans, chosen: list[list[TextBox]], words: list[TextBox],
                           used: set[int]) -> list[list[TextBox]]:
    """(round 84) Horizontal bars (upright coordinates): a row that `_category_label` left unnamed takes the words
    of its line that stand in the column where the other rows' labels stand (their centres between the nearest and
    farthest edge of the other rows' word boxes), clear of its own bars. Pew left-aligns long row labels, so a long
    label reaches past the start of the longest diverging bars (`Insurance claims processor`) and a short one starts
    far from them (`Nurse`); a value printed in another panel between labels and bars stopped the search (`4` before
    `Israeli-Palestinian peace talks`). Only words (no plain numbers, years kept) and only where 2+ rows are named."""
    found = [b for c in chosen for b in c if re.search(r"[A-Za-z]{2}", b.text)]
    if not any(not c for c in chosen) or len({id(c) for c in chosen if c}) < 2 or not found:
        return chosen
    lo, hi = min(b.y0 for b in found), max(b.y1 for b in found)
    taken = {id(b) for c in chosen for b in c} | used
    out = [list(c) for c in chosen]
    for n, (group, (s0, s1)) in enumerate(zip(groups, spans)):
        if chosen[n]:
            continue
        end = max(b.y1 for b in group)
        out[n] = [b for b in words if id(b) not in taken and s0 <= b.cx <= s1 and lo <= b.cy <= hi and b.y0 >= end - 2
                  and (parse_value(b.text) is None or _YEAR_1900.fullmatch(b.text.strip()))
                  and not _CHROME.search(b.text)]
        taken |= {id(b) for b in out[n]}
    return out


def _group_headings(groups: list[list[Bar]], chosen: list[list[TextBox]], words: list[TextBox], used: set[int],
                    width: int) -> list[str]:
    """(round 156) The sub-heading in force over each row of horizontal bars (upright coordinates; '' for none): Pew
    sets groups of rows apart under a bold heading (`Rep/Lean Rep`, `Among whites`). A heading is one line of words no
    row's label, value or legend took (or a first row's label took as its line over the bars), standing in the lower
    two thirds of a gap between two rows that is wider than the chart's usual gap by most of a text line; it heads the
    rows down to the next heading. A line just over the first row heads it too where it starts (or is centred) where
    a heading found between rows does."""
    if len(groups) < 3:
        return [""] * len(groups)
    taken = used | {id(b) for c in chosen for b in c}
    right = width - 1 - min(b.y0 for g in groups for b in g)  # the bars' far end, in the picture
    free = [b for b in words if id(b) not in taken and re.search(r"[A-Za-z]{2}", b.text) and not _CHROME.search(b.text)
            and b.original.x0 < right]
    tops = [min(b.x0 for b in g) for g in groups]
    bottoms = [max(b.x1 for b in g) for g in groups]
    gaps = [tops[n] - bottoms[n - 1] for n in range(1, len(groups))]
    usual = float(np.median(gaps))

    def one_line(boxes: list[TextBox]) -> bool:
        line = float(np.median([b.original.h for b in boxes]))
        return max(b.original.cy for b in boxes) - min(b.original.cy for b in boxes) < 0.5 * line

    def over_label(n: int, low: float) -> list[TextBox]:
        """Row n's label boxes wholly over its bars (its label read with the heading over it, `Among whites
        Republican`) whose leaving out centres the rest on the bars by half a line more (a wrapped label is centred)."""
        label = chosen[n]
        above = [b for b in label if low < b.original.cy and b.original.y1 <= tops[n] + 2]
        rest = [b for b in label if b not in above]
        if not above or not rest:
            return []
        centre = (tops[n] + bottoms[n]) / 2
        mid = lambda boxes: (min(b.original.y0 for b in boxes) + max(b.original.y1 for b in boxes)) / 2  # noqa: E731
        line = float(np.median([b.original.h for b in label]))
        return above if abs(mid(rest) - centre) + 0.5 * line < abs(mid(label) - centre) else []

    heads: dict[int, list[TextBox]] = {}
    for n in range(1, len(groups)):
        inside = [b for b in free if bottoms[n - 1] < b.original.cy < tops[n]] + over_label(n, bottoms[n - 1])
        if not inside or not one_line(inside):
            continue
        line = float(np.median([b.original.h for b in inside]))
        if gaps[n - 1] >= usual + 0.8 * line and min(b.original.cy for b in inside) >= bottoms[n - 1] + gaps[n - 1] / 3:
            heads[n] = inside
    if not heads:
        return [""] * len(groups)
    reach = 1.5 * max(tops[n] - min(b.original.cy for b in boxes) for n, boxes in heads.items())
    over = [b for b in free if tops[0] - reach < b.original.cy < tops[0]] + over_label(0, tops[0] - reach)
    if over and one_line(over):
        x0 = min(b.original.x0 for b in over)
        cx = (x0 + max(b.original.x1 for b in over)) / 2
        for boxes in heads.values():
            line = float(np.median([b.original.h for b in boxes]))
            hx0, hx1 = min(b.original.x0 for b in boxes), max(b.original.x1 for b in boxes)
            if abs(x0 - hx0) <= line or abs(cx - (hx0 + hx1) / 2) <= line:
                heads[0] = over
                break
    out, current = [], ""
    for n in range(len(groups)):
        if n in heads:
            current = " ".join(b.text.strip() for b in sorted(heads[n], key=lambda b: b.original.x0))
        out.append(current)
    return out


def _label_and_stray_numbers(boxes: list[TextBox], edge: float) -> tuple[list[str], list[TextBox]]:
    """A horizontal bar's row label (its boxes in reading order) -> (its words, the numbers read into it, each as a
    box with the number's text at the place of the box it was read in): a number printed beside the row (Pew's NET
    total, a value printed just outside the bar) that the text detector took with the label, as its own box or at
    the end of one (`Media 51`). Only a box that sticks out past `edge` (the label column's edge towards the bars,
    original x) by half its height holds such a number: `Taipei 101` ends where the other labels end and stays.
    Years stay (`Spring 2019`); a label that is only numbers is left as it is."""
    if not any(re.search(r"[A-Za-z]{2}", b.text) for b in boxes):
        return [b.text for b in boxes], []
    words, stray = [], []
    for box in boxes:
        text = box.text.strip()
        tail = re.fullmatch(r"(.*[A-Za-z].*?)\s+(\d{1,3}(?:\.\d+)?%?)", text)
        if box.original.x1 <= edge + 0.5 * box.original.h:
            words.append(text)
        elif parse_value(text) is not None and not _YEAR_1900.fullmatch(text):
            stray.append(box)
        elif tail and not _YEAR_1900.fullmatch(tail[2]):
            words.append(tail[1])
            stray.append(replace(box, text=tail[2]))
        else:
            words.append(text)
    return words, stray


def _free_year(box: TextBox, label: list[TextBox], holders: dict[int, list[list[TextBox]]]) -> bool:
    """(round 187) A year box (1900-2099) a thin bar's row may take: no found row's label holds it, or each label
    holding it is two or more years and keeps one that is not in `label`."""
    if not _YEAR_1900.fullmatch(box.text.strip()):
        return False
    return all(len(held) >= 2 and all(_YEAR_1900.fullmatch(o.text.strip()) for o in held) and any(o not in label for o in held)
               for held in holders.get(id(box), []))


def _bars_too_thin_to_see(upright_boxes, words, used, spans, baseline, typical, start_by, chosen=(), freed=None, extents=None):
    """Rows of a one-series chart whose bar is too short to find (1,470 next to 162,189): a number printed
    just past the zero line, outside every found bar's span, with a category label under it. (round 103) The
    number's box may reach back over the zero line by up to a third of its line height (Statista's `150` starts
    3 px before it); a negative number (`-0.1%`) is printed on the other side of the zero line, its box starting
    just past it. A label that is a number names no row, save (round 187) a year (1900-2099, every box of the label)
    that no found bar's label took (`chosen`: the rows' label boxes): `2009` under the `6` of a bar too short to see
    beside 7 982 (Statista's revenue from a company's first year). (T2) Or one that a found row's label took where
    that label is two or more years and keeps one without it: a `0` between two bars leaves its year to the wider
    span of a neighbour (`2006 2007 | 11 540`); the box's id goes into `freed` and the neighbour drops it. Such a
    number stands inside a neighbour's span (the spans tile the row), so with `extents` (each found group's own bars'
    reach) the number need only stand outside every found bar; a label that is no year still needs it outside
    every span, as before."""
    pitch = float(np.median([hi - lo for lo, hi in spans]))
    holders: dict[int, list[list[TextBox]]] = {}
    for boxes_n in chosen:
        for b in boxes_n:
            holders.setdefault(id(b), []).append(boxes_n)
    extra = []
    for box in upright_boxes:
        if id(box) in used or parse_value(box.text) is None:
            continue
        reach = max(12.0, 2 * box.original.h)
        gap = baseline - box.y1
        past = box.y0 - baseline  # a negative value's box, on the label side of the zero line
        if any(lo <= box.cx <= hi for lo, hi in (extents if extents is not None else spans)):
            continue
        inside = any(lo <= box.cx <= hi for lo, hi in spans)  # (T2) between two found bars: only a year names it
        if not -max(2.0, box.original.h / 3) <= gap <= reach and not (
                parse_value(box.text)[0] < 0 and -2 <= past <= reach):
            continue
        span = (box.cx - pitch / 2, box.cx + pitch / 2)
        label = _category_label(span, baseline, words, used | {id(box)}, typical, start_by)
        year = bool(label) and all(_free_year(b, label, holders) for b in label)
        if year and freed is not None:
            freed.update(id(b) for b in label if id(b) in holders)
        if label and (year or (not inside and not any(parse_value(b.text) is not None for b in label))):
            extra.append((box.cx, " ".join(b.text for b in _reading_order(label)), [parse_value(box.text)[1]]))
    return extra


def _topmost(y: float, boxes: list[TextBox]) -> bool:
    """No word (two letters or more) printed above `y` (in the picture as drawn): words there are the chart's topmost,
    its title."""
    return not any(b.original.y1 <= y and re.search(r"[A-Za-z]{2}", b.text) for b in boxes)


def _column_headers(bars: list[Bar], clusters: list[int], upright_boxes: list[TextBox], used: set[int], width: int,
                    rgb: np.ndarray | None = None, reread: Callable[[np.ndarray], str] | None = None) -> list[str]:
    """Series names printed as column headers over the first row of horizontal stacked bars (Pew style). One
    OCR box over several columns (`Should not Should`) is read again cut between the columns (`reread`)."""
    original = [b.rotated_back(width) for b in bars]
    first_row = min(b.y0 for b in original)
    firsts = {c: [b for b in original if b.cluster == c and abs(b.y0 - first_row) <= 3] for c in clusters}
    firsts = {c: mine[0] for c, mine in firsts.items() if mine}
    present = {b.cluster for b in original}  # each column's place: its first-row segment, else its topmost bar
    places = {c: firsts.get(c) or min((b for b in original if b.cluster == c), key=lambda b: b.y0) for c in clusters if c in present}
    extent = {c: (min(b.x0 for b in original if b.cluster == c), max(b.x1 for b in original if b.cluster == c)) for c in places}
    widest = {c: max(b.x1 - b.x0 for b in original if b.cluster == c) for c in places}
    candidates = [b.original for b in upright_boxes if id(b) not in used and b.original.y1 <= first_row + 2 and parse_value(b.text) is None]

    def owner(box: TextBox) -> int | None:
        """(round 143) The column a heading box stands over: of the columns whose reach (their bars in any row, and
        10 px) holds the box's middle, the one whose place (its first-row segment, else its topmost bar) has its
        middle nearest the box's (a heading is centred over its column and names that one alone, not its neighbour)."""
        under = [c for c in places if extent[c][0] - 10 <= box.cx <= extent[c][1] + 10]
        return min(under, key=lambda c: abs(places[c].cx - box.cx)) if under else None

    if rgb is not None:  # (round 143) one box over two columns' headings, a wide blank between them: two headings
        candidates = [piece for box in candidates for piece in _split_at_blank(rgb, box, owner)]

    heads, picked, segments = [], [], []
    for cluster in clusters:
        if cluster not in firsts:
            heads.append("")
            picked.append([])
            segments.append(None)
            continue
        seg = firsts[cluster]
        segments.append(seg)
        above = sorted((b for b in candidates if b.y1 <= seg.y0 + 2 and owner(b) == cluster), key=lambda b: -b.y1)
        chosen, reach = [], seg.y0
        for box in above:  # the nearest line above the segment, then the lines touching it (not a subtitle
            if box.y1 < reach - (1.5 if not chosen else 0.6) * box.h:  # running across all columns)
                break
            if chosen and box.x1 - box.x0 > 1.6 * max(max(b.x1 - b.x0 for b in chosen), widest[cluster]):
                break  # (round 143: its widest bar in any row, a heading over a column narrow in the first row)
            chosen.append(box)
            reach = min(reach, box.y0)
        heads.append(" ".join(b.text for b in _reading_order(chosen)))
        picked.append(chosen)
    if not all(heads):  # a series stays unnamed: the chart's topmost words over one column are its title, no header
        for n in range(len(heads)):  # (no legend: matplotlib prints the title right over the top bar)
            if picked[n] and _topmost(min(c.y0 for c in picked[n]), upright_boxes):
                heads[n], picked[n] = "", []
    if reread is None or rgb is None:
        return heads
    named: set[int] = set()  # (round 145) columns an earlier re-read named: a later box's cut does not read them again
    for n, chosen in enumerate(picked):
        if len(chosen) != 1:
            continue
        box = chosen[0]
        under = sorted((m for m, seg in enumerate(segments) if seg is not None and min(box.x1, seg.x1) - max(box.x0, seg.x0) > 0.3 * box.h
                        and (m == n or (not picked[m] and m not in named) or picked[m] == chosen)), key=lambda m: segments[m].cx)
        if len(under) < 2 or n not in under:
            continue
        if _topmost(box.y0, upright_boxes):
            for m in under:  # the topmost words of the chart over several columns: its title, not their headers
                heads[m] = ""  # (matplotlib prints it right over the top row when no legend names the series)
            continue
        cuts = [box.x0 - 2] + [(segments[a].x1 + segments[b].x0) / 2 for a, b in zip(under, under[1:])] + [box.x1 + 2]
        y0, y1 = max(0, int(box.y0) - 2), min(rgb.shape[0], int(box.y1) + 3)
        for m, lo, hi in zip(under, cuts, cuts[1:]):
            crop = rgb[y0:y1, max(0, int(lo)):min(rgb.shape[1], int(hi) + 1)]
            text = reread(np.ascontiguousarray(crop)).strip() if crop.shape[1] >= 6 else ""
            heads[m] = text if re.search(r"[A-Za-z]{2}", text) else ""
            named.add(m)
    return heads


def _split_at_blank(rgb: np.ndarray, box: TextBox, owner: Callable[[TextBox], int | None]) -> list[TextBox]:
    """(round 143) A box OCR read over two or more columns' headings (`Not at Not too`): cut at the blank runs of
    columns inside it at least 0.45 of its height wide (wider than a word space), the text at the space nearest each
    by its characters' share of the box, where the pieces on either side stand over different columns (`owner`);
    each piece keeps two letters. Other boxes as they are."""
    text = box.text.strip()
    if " " not in text:
        return [box]
    x0 = max(0, int(box.x0))
    crop = _in_box(rgb, box).astype(np.int32)
    if crop.size == 0:
        return [box]
    inked = np.nonzero((np.abs(crop - commonest_colour(crop)).sum(axis=2) > 60).any(axis=0))[0]
    pieces, start, left = [], 0, box.x0
    for a, b in zip(inked, inked[1:]):
        if b - a - 1 < 0.45 * box.h:
            continue
        at = (x0 + (a + b) / 2 - box.x0) / max(1.0, box.x1 - box.x0) * len(text)
        spaces = [i for i, ch in enumerate(text) if ch == " " and start < i and abs(i - at) <= 2.5]
        if spaces:
            i = min(spaces, key=lambda i: abs(i - at))
            pieces.append(replace(box, text=text[start:i].strip(), x0=float(left), x1=float(x0 + a), src=None))
            start, left = i + 1, x0 + b
    if not pieces:
        return [box]
    pieces.append(replace(box, text=text[start:].strip(), x0=float(left), src=None))
    merged = [pieces[0]]
    for piece in pieces[1:]:  # neighbours over one column stay one heading
        if owner(piece) == owner(merged[-1]):
            merged[-1] = replace(merged[-1], text=f"{merged[-1].text} {piece.text}", x1=piece.x1)
        else:
            merged.append(piece)
    if len(merged) < 2 or any(len(re.findall(r"[A-Za-z]", p.text)) < 2 for p in merged):
        return [box]
    return merged


def _headings_over_columns(bars: list[Bar], clusters: list[int], upright_boxes: list[TextBox], used: set[int], width: int) -> list[str]:
    """(round 83) Series names printed as headings over the columns of horizontal bars (Pew: `Unfavorable`,
    `There is no need for him to change`), for the series a legend and `_column_headers` left unnamed. Each series'
    column is its bar in the top row, else its topmost bar (a column empty in the top row: `Not at all` over a 6%
    sliver); bars under 0.6 of the usual thickness are no row (a title's stroke). The heading block is the nearest
    line of words above the top row (within 1.5 line heights) and the lines touching it; each of its boxes names the
    column it overlaps most. A box over half or more of two columns' widths runs across them (a subtitle, a panel's
    heading): the heading block ends below it. A left column's heading may stand right-aligned at the zero line, far wider than its
    bar, so only an overlap is asked, not a centre over the bar. (H1b) No names where the columns overlap (grouped
    bars from one baseline) or where the block reaches the picture's topmost text (the title); the caller fills
    nothing unless every column already named has its name (or no words) as its heading."""
    original = [b.rotated_back(width) for b in bars]
    thick = float(np.median([b.y1 - b.y0 for b in original]))
    rows = [b for b in original if b.y1 - b.y0 >= 0.6 * thick]
    if not rows:
        return [""] * len(clusters)
    first_row = min(b.y0 for b in rows)
    column: dict[int, Bar] = {}
    for cluster in clusters:
        mine = sorted((b for b in rows if b.cluster == cluster), key=lambda b: b.y0)
        if mine:
            column[cluster] = next((b for b in mine if abs(b.y0 - first_row) <= 3), mine[0])
    spans = sorted((b.x0, b.x1) for b in column.values())
    if not column or any(a[1] > b[0] + 3 for a, b in zip(spans, spans[1:])):
        return [""] * len(clusters)  # (H1b) columns overlapping: grouped bars from one baseline, no columns side by side
    lo, hi = spans[0][0], max(x1 for _, x1 in spans)
    every = [b.original for b in upright_boxes]
    words = sorted((b.original for b in upright_boxes if id(b) not in used and parse_value(b.text) is None
                    and re.search(r"[A-Za-z]{2}", b.text) and not _CHROME.search(b.text)
                    and b.original.y1 <= first_row + 2 and b.original.x1 > lo and b.original.x0 < hi), key=lambda b: -b.y1)
    picked: dict[int, list[TextBox]] = {c: [] for c in column}
    reach, found = first_row, False
    for box in words:
        if box.y1 < reach - (0.6 if found else 1.5) * box.h:
            break
        overlap = {c: min(box.x1, b.x1) - max(box.x0, b.x0) for c, b in column.items()}
        if sum(overlap[c] >= 0.5 * (b.x1 - b.x0) for c, b in column.items()) >= 2:
            break  # across two or more columns (a subtitle, a panel's heading): the headings end under it
        if not any(o.y1 <= box.y0 + 0.3 * box.h for o in every if o is not box):
            break  # (H1b) the topmost text of the picture: its title (matplotlib prints it right over the top row)
        best = max(overlap, key=lambda c: overlap[c])
        if overlap[best] > 0:
            picked[best].append(box)
        reach, found = min(reach, box.y0), True
    return [" ".join(b.text for b in _reading_order(picked[c])) if picked.get(c) else "" for c in clusters]


def _names_beside_stacks(bars: list[Bar], clusters: list[int], upright_boxes: list[TextBox], used: set[int],
                         series: list[str], axis: Axis | None) -> list[str]:
    """(round 104) Series of vertical stacked bars no legend named, named by the words printed beside the first
    stack (left of it) or the last (right of it), each at the height of its segment (Pew: `Non-Criminals` right of
    the last year's upper segment, `Mostly / favorable` left of the first). A word box (2+ letters, no number, not
    turned, no chrome, no box the reader took) stands beside the stack: its near edge within the stack's width of
    the stack's edge, past the value axis' labels, its centre inside one segment's height; the lines in one
    segment join top to bottom. A side names two or more unnamed series, each once, or nothing; the side naming
    more wins. Unnamed series stay unnamed elsewhere."""
    tick_x1 = max((b.x1 for b in axis.ticks), default=None) if axis is not None else None
    best: dict[int, str] = {}
    for side in ("left", "right"):
        edge_bar = min(bars, key=lambda b: b.x0) if side == "left" else max(bars, key=lambda b: b.x1)
        stack = [b for b in bars if min(b.x1, edge_bar.x1) - max(b.x0, edge_bar.x0) > 0.5 * min(b.width, edge_bar.width)]
        if len(stack) < 2:
            continue
        sx0, sx1 = min(b.x0 for b in stack), max(b.x1 for b in stack)
        reach = sx1 - sx0 + 1
        lines: dict[int, list[TextBox]] = {}
        for box in upright_boxes:
            if id(box) in used or box.turned or box.number is not None or parse_value(box.text) is not None:
                continue
            if not re.search(r"[A-Za-z]{2}", box.text) or _CHROME.search(box.text) or re.search(r"\d", box.text):
                continue
            gap = sx0 - box.x1 if side == "left" else box.x0 - sx1
            if not -2 <= gap <= reach:
                continue
            if side == "left" and tick_x1 is not None and box.x0 < tick_x1:
                continue
            if any(o is not box and id(o) not in used and o.number is not None and abs(o.cy - box.cy) < 0.5 * box.h
                   and (box.x1 < o.cx < sx0 if side == "left" else sx1 < o.cx < box.x0) for o in upright_boxes):
                continue  # a number printed between the word and the stack
            inside = [b for b in stack if b.y0 <= box.cy <= b.y1]
            if len(inside) != 1:
                continue
            lines.setdefault(id(inside[0]), []).append(box)
        found: dict[int, str] = {}
        for segment in stack:
            words = lines.get(id(segment))
            if not words:
                continue
            name = " ".join(b.text.strip() for b in sorted(words, key=lambda b: (b.cy, b.x0)))
            name = re.sub(r"(?<=[A-Za-z])- (?=[a-z])", "-", name)
            c = segment.cluster
            if c in found or c not in clusters or series[clusters.index(c)]:
                found = {}
                break
            found[c] = name
        if len(found) < 2 or len(set(found.values())) < len(found) or set(found.values()) & set(series):
            continue
        if len(found) > len(best):
            best = found
    return [name or best.get(c, "") for c, name in zip(clusters, series)]


def _same_name(a: str, b: str) -> bool:
    """(round 83, H1b) Two readings of one name: equal, or one inside the other, letters and digits only, any case."""
    a, b = (re.sub(r"[^0-9a-z]", "", t.lower()) for t in (a, b))
    return bool(a and b) and (a in b or b in a)


def _heading_over_bars(bars: list[Bar], upright_boxes: list[TextBox], used: set[int], width: int) -> str:
    """The name of one series of horizontal bars without a value axis, printed as a heading right over the top bar:
    the nearest line above it and the lines touching that one, each wholly within the bar's left and right ends (a
    subtitle running from the page's left margin over the labels is not a heading, round 15's OWID charts), or
    (round 205) centred over the bar and starting right of the row labels' left edge: a heading wrapped to lines
    wider than a short top bar (`Mainly reflect / widespread / problems in / society` over a bar of 19) was read as
    its last line alone."""
    ends = [b.rotated_back(width) for b in bars]
    seg = min(ends, key=lambda b: b.y0)
    words = [b.original for b in upright_boxes if id(b) not in used and parse_value(b.text) is None]
    above = [b for b in words if b.y1 <= seg.y0 + 2]
    # the row labels: words beside the bars' rows, left of where the bars start
    labels = [b for b in words if b.x1 <= seg.x0 + 2 and min(e.y0 for e in ends) - 2 <= b.cy <= max(e.y1 for e in ends) + 2]
    left = min((b.x0 for b in labels), default=seg.x0 - 2)
    right = max(e.x1 for e in ends) + 2

    def heading_line(x0: float, x1: float) -> bool:
        if x0 >= seg.x0 - 2 and x1 <= seg.x1 + 2:
            return True
        return abs((x0 + x1) / 2 - (seg.x0 + seg.x1) / 2) <= max(3.0, 0.05 * (x1 - x0)) and x0 >= left and x1 <= right
    chosen, reach = [], seg.y0
    while True:
        # (round 205) or its middle above: OCR's boxes of closely set wrapped lines overlap by a few pixels
        near = [b for b in above if b not in chosen and (b.y1 <= reach + 2 or b.cy < reach)]
        if not near:
            break
        nxt = max(near, key=lambda b: b.y1)
        if nxt.y1 < reach - (1.5 if not chosen else 0.6) * nxt.h:
            break
        line = [b for b in near if abs(b.cy - nxt.cy) < nxt.h / 2]
        if not heading_line(min(b.x0 for b in line), max(b.x1 for b in line)):
            return " ".join(b.text for b in _reading_order(chosen)) if chosen else ""
        chosen += line
        reach = min(b.y0 for b in line)
    return " ".join(b.text for b in _reading_order(chosen))


def _consistent_percent(rows: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Charts that print '%' on the first values only (Pew): when some values carry it and others do not,
    the '%' is a reading aid, not part of the number."""
    cells = [v for _, values in rows for v in values if v]
    if any(v.endswith("%") for v in cells) and not all(v.endswith("%") for v in cells):
        rows = [(name, [v.rstrip("%") for v in values]) for name, values in rows]
    return rows


_VALUE_THEN_WORDS = re.compile(r"^\s*([-+]?\d[\d.,]*%?)\s+(\S.*)$")


def _named(text: str) -> bool:
    """(round 149) A series' name: two letters or more (`U.S.`, `UK`, `Median`), or a year (`2017`)."""
    return len(re.findall(r"[A-Za-z]", text)) >= 2 or _YEAR_1900.fullmatch(text.strip()) is not None


def _chromatic_ink(rgb: np.ndarray, box: TextBox, palette: np.ndarray, cluster: int) -> bool:
    """(round 149) The word in `box` is printed in the ink of `cluster` (0-based; `palette` row 0 the background),
    a coloured one (its channels spread over 40: a black or grey bar's ink is any caption's): colours._own_ink. (round
    219) Else by its hue: in a JPEG, small coloured glyphs blur towards grey, so their ink (`coloured_ink`, the glyphs'
    cores) may stand nearer a grey cluster than their own (a navy `Unfavorable` at (53, 72, 96), 32 from a grey, 36 from
    its bars' navy); an ink still coloured (channels spread over 30) whose hue (the colour less its mean, as a direction)
    is that cluster's (cosine 0.9 or more) and no other coloured cluster's more is the cluster's own."""
    if not 0 <= cluster < len(palette) - 1:  # a shaded row's own cluster (round 137) has no palette row
        return False
    colour = palette[cluster + 1]
    if float(colour.max() - colour.min()) <= 40:
        return False
    if _own_ink(rgb, box, palette, cluster + 1):
        return True
    ink = coloured_ink(rgb, box, palette[0])  # None where not coloured (channels spread 30 or less)
    if ink is None:
        return False

    def hue(c: np.ndarray) -> np.ndarray:
        tilt = np.asarray(c, np.float32) - float(np.mean(c))
        return tilt / max(float(np.linalg.norm(tilt)), 1e-6)

    coloured = [k for k in range(1, len(palette)) if float(palette[k].max() - palette[k].min()) > 40]
    best = max(coloured, key=lambda k: float(hue(palette[k]) @ hue(ink)))
    return best == cluster + 1 and float(hue(palette[best]) @ hue(ink)) >= 0.9


def _beside_end(box: TextBox, bars: list[Bar]) -> Bar | None:
    """(round 149) The horizontal bar (original coordinates) whose end `box` stands just past: its left edge within
    two line heights right of the bar's end (2 px over it), its middle on the bar's rows."""
    near = [b for b in bars if b.cluster >= 0 and -2 <= box.x0 - b.x1 <= 2 * box.h and b.y0 - 0.3 * box.h <= box.cy <= b.y1 + 0.3 * box.h]
    return min(near, key=lambda b: box.x0 - b.x1, default=None)


def _value_name_split(rgb: np.ndarray, bars: list[Bar], boxes: list[TextBox], palette: np.ndarray) -> list[TextBox]:
    """(round 149) Pew names each series of horizontal bars in its own colour right of the first group's bars, after
    the bar's printed value (`34% U.S.`, `74 Rep/Lean Rep`); OCR reads the value and the name as one box, so the
    bar loses its value and the series is named with a number. A box whose text is a number then words, standing
    just past the end of a bar (`bars`: original coordinates) and whose words are in that bar's own coloured ink
    (`_chromatic_ink`), is cut in two at the space, by its characters' share of the box. A black or grey word past
    a bar (Pew's `62 NET`, a unit) stays whole. The list is returned unchanged (the same object) when nothing is cut."""
    out, cut = [], False
    for box in boxes:
        match = _VALUE_THEN_WORDS.match(box.text)
        bar = _beside_end(box, bars) if match and _named(match.group(2)) and parse_value(match.group(1)) is not None else None
        if bar is None:
            out.append(box)
            continue
        text = box.text.strip()
        step = (box.x1 - box.x0) / max(1, len(text))
        number_end = box.x0 + step * len(match.group(1))
        words_start = box.x0 + step * (len(text) - len(match.group(2)))
        words = replace(box, text=match.group(2).strip(), x0=words_start, src=None)
        if not _chromatic_ink(rgb, words, palette, bar.cluster):
            out.append(box)
            continue
        out += [replace(box, text=match.group(1), x1=number_end, src=None), words]
        cut = True
    return out if cut else boxes


_SMALL_NUMBERS = re.compile(r"^\s*\d{1,2}(?:\.\d+)?%?(?:\s+\d{1,2}(?:\.\d+)?%?)+\s*$")


def _numbers_apart(bars: list[Bar], boxes: list[TextBox]) -> list[TextBox]:
    """(round 171) Pew prints each segment's value inside it; two narrow segments side by side (`14` and `7`), or a
    narrow segment's value and the NET beside the bar (`2 15`), are read by OCR as one box, which is no number: both
    segments lose their values. A box whose text is two or more numbers of one or two digits each (`14 7`, `1 11`;
    three-digit groups are a thousands separator's, `2 500`, and stay whole) apart by spaces, its middle on a bar's
    rows (`bars`: original coordinates, within 0.3 of its line height) and overlapping or touching the bars across
    (within two line heights), is cut into one box per number, each at its characters' place in the box. Nothing is
    guessed: each number is the picture's own. The list is returned unchanged (the same object) when nothing is cut."""
    out, cut = [], False
    for box in boxes:
        match = _SMALL_NUMBERS.match(box.text)
        on_row = match is not None and any(b.cluster >= 0 and b.y0 - 0.3 * box.h <= box.cy <= b.y1 + 0.3 * box.h
                                           and box.x0 <= b.x1 + 2 * box.h and box.x1 >= b.x0 for b in bars)
        if not on_row:
            out.append(box)
            continue
        text = box.text.strip()
        step = (box.x1 - box.x0) / max(1, len(text))
        for part in re.finditer(r"\S+", text):
            out.append(replace(box, text=part.group(0), x0=box.x0 + step * part.start(), x1=box.x0 + step * part.end(), src=None))
        cut = True
    return out if cut else boxes


def _row_label_place(box: TextBox, bars: list[Bar]) -> bool:
    """(round 149) `box` stands where a horizontal bar chart's row labels stand: wholly left of every bar
    (`bars`: original coordinates), its middle on a bar's rows (within 0.3 of its line height). A row may bear a
    series' name (`Men` among the rows of a chart whose series are `Men` and `Women`); a legend stands above or
    beside the bars, not in the label column beside a bar."""
    return bool(bars) and box.x1 <= min(b.x0 for b in bars) and any(b.y0 - 0.3 * box.h <= box.cy <= b.y1 + 0.3 * box.h for b in bars)


def _names_past_values(rgb: np.ndarray, bars: list[Bar], values: dict[int, TextBox], boxes: list[TextBox],
                       palette: np.ndarray, names: dict[int, tuple[float, str]], taken: set[int]) -> tuple[dict[int, tuple[float, str]], set[int]]:
    """(round 149) Series of horizontal bars named in their own colour right of a bar's printed value (Pew's names
    beside the first group: `34%` then `U.S.` in the bar's red): (cluster -> (reading order, name), the ids of the
    name boxes) for each cluster of `bars` (original coordinates, as indexed by `values`: bar index -> its value's
    box) that `names` lacks. A word box (two letters or more, not in `taken`) on the value's line (centres within
    half a line), starting past the value's right end by at most two line heights, in the bar's own coloured ink
    (`_chromatic_ink`); the topmost such bar names its cluster. All or nothing: every unnamed cluster must be named so (a partly named set
    of columns would keep the headings over the columns from being read)."""
    missing = {b.cluster for b in bars if b.cluster >= 0} - set(names)
    found: dict[int, tuple[float, str]] = {}
    boxes_found: set[int] = set()
    for i in sorted(values, key=lambda i: bars[i].y0 if i < len(bars) else 1e9):
        if i >= len(bars) or bars[i].cluster not in missing or bars[i].cluster in found:
            continue
        value = values[i].original
        for box in sorted(boxes, key=lambda b: b.x0):
            if id(box) in taken or box is value or not _named(box.text) or _CHROME.search(box.text):
                continue
            if abs(box.cy - value.cy) > 0.5 * value.h or not -2 <= box.x0 - value.x1 <= 2 * value.h:
                continue
            if _chromatic_ink(rgb, box, palette, bars[i].cluster):
                found[bars[i].cluster] = (reading_key(box.cy, box.cx), _bare(box.text))
                boxes_found.add(id(box))
            break
    return (found, boxes_found) if missing and set(found) == missing else ({}, set())

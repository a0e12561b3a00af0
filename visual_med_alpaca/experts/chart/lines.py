"""Line charts: tracing a colour cluster at the category ticks, telling a line from gridlines and from another
line's anti-aliased rim, naming lines by the words at their ends. (The line table itself is assembled in
reader.py, ChartExpert._line_table.)"""

from __future__ import annotations

import re

import numpy as np

from .axes import Axis, _groups, prints_only_ends
from .colours import _blend_of, _in_box, _word_ink, border_colour, coloured_ink
from .text import _CHROME, TextBox, _bare, _period, fill_thinned_labels, names_something, parse_value


def _between(ys: list[float | None], r: int) -> float | None:
    """The row a line should have at point r, from its traced neighbours (linear between them, else the nearer)."""
    left = next((k for k in range(r - 1, -1, -1) if ys[k] is not None), None)
    right = next((k for k in range(r + 1, len(ys)) if ys[k] is not None), None)
    if left is not None and right is not None:
        return ys[left] + (ys[right] - ys[left]) * (r - left) / (right - left)
    near = left if left is not None else right
    return ys[near] if near is not None else None


def _rules(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows filled across 30% of the plot and columns filled down half of it: gridlines and the frame, not data."""
    return mask.sum(axis=1) > 0.3 * mask.shape[1], mask.sum(axis=0) > 0.5 * mask.shape[0]


def rules_erased(mask: np.ndarray, first: float, last: float) -> np.ndarray:
    """A copy of a grey or black line's `mask` without the rules that share its colour (gridlines and the frame: rows
    filled across the plot, columns filled down it, `_rules`), unless a row stays between the first and the last
    category (columns `first` and `last` of the mask): a flat stretch of the line itself (a rule runs on past them to
    the frame; round 9: a grey line level from Tue to Wed was erased), a marker's radius beyond its point allowed."""
    mask = mask.copy()
    rows, cols = _rules(mask)
    reach = max(6.0, 0.015 * mask.shape[1])  # a marker's radius beyond its point
    for row in np.nonzero(rows)[0]:
        filled = np.nonzero(mask[row])[0]
        if filled.min() >= first - reach and filled.max() <= last + reach:
            rows[row] = False
    mask[rows] = 0
    mask[:, cols] = 0
    return mask


def _rim_of(index: int, other: int, masks, centres, background) -> bool:
    """Cluster `index` is the anti-aliased rim of the marks of cluster `other`: its colour lies between theirs and
    the background, and most of its pixels lie within 2 pixels of theirs (a paler series of its own does not)."""
    import cv2

    if not _blend_of(centres[index], centres[other], background):
        return False
    mask = masks[index].astype(bool)
    # gridlines and the frame in the same grey are rules across and down the plot, not a rim (round 9: grayscale's
    # dark grey gridlines shared the cluster of a black line's rim, and the legend's name stayed on the rim)
    rows, cols = _rules(mask)
    mask[rows] = False
    mask[:, cols] = False
    near = cv2.dilate(masks[other], np.ones((5, 5), np.uint8)).astype(bool)
    return bool(mask.any()) and (mask & near).sum() >= 0.6 * mask.sum()


def _dark_tint(colour: np.ndarray, background: np.ndarray) -> bool:
    """(round 55) A line's colour though its channels spread 60 or less: on a light backdrop (every channel over
    180), a dark colour (no channel over 130) whose channels spread over 30 and over 0.35 of its brightest (Our World
    in Data's dark green #18470f and slate #3b4e66; grey text, gridlines and a JPEG's smeared grey spread under 10).
    Such a line is kept only when some step names it (reader._line_table): unnamed, it may be dark ink of the page."""
    colour = np.asarray(colour, float)
    spread = float(colour.max() - colour.min())
    return float(np.min(background)) > 180 and colour.max() <= 130 and spread > 30 and spread > 0.35 * colour.max()


def _chromatic(colour: np.ndarray, background: np.ndarray) -> bool:
    """A line's own colour, not the grey of axes, gridlines and text: its channels spread over 60, or, on a dark
    backdrop, over 30 and over 0.15 of its brightest (a pastel line dimmed towards black by its anti-aliased rim
    keeps its hue, not the spread of 60; round 8). On a light backdrop the pale rims of other lines would pass."""
    spread = colour.max() - colour.min()
    return bool(spread > 60 or (background.max() < 80 and spread > 30 and spread > 0.15 * colour.max()))


def lone_colourless_line(masks: list[np.ndarray], centres, background: np.ndarray, names: dict, categories: list[TextBox],
                         x0r: int, text: list[TextBox], axis: Axis | None = None, own: bool = False,
                         orientation: str = "vertical") -> tuple[int, np.ndarray] | None:
    """(round 148) A chart's one line where no cluster has a line's colour and no legend names one: a black line in
    the black ink of the axes and the text (matplotlib's grayscale style), or a line that JPEG's halved colour
    resolution washed out towards grey (a pale one on a dark backdrop; a thin blue one on a light backdrop spreads
    its channels by only 52-54, under round 8's 60). reader._line_table skips colourless clusters without a
    name as axes, gridlines and text, so such a chart was read as no line at all (unread). JPEG also cuts a thin
    line's ink into several grey clusters, so the line is looked for in all of them together: with the rules erased
    as for a named grey line (rows across the plot, columns down it; a flat stretch between the first and the last
    category kept), a connected piece outside the text boxes reaching over half the distance from the first category
    to the last, with ink within 2 pixels of at least half the categories, is that line. Returns (the index of the
    strongest cluster, farthest from the backdrop, whose stead the line takes; the clusters' ink together), or None
    where some cluster is chromatic, a dark tint or named (those steps stand), where fewer than 2 categories are read,
    or where no piece qualifies. (Amendment 1) None also where no drawn value axis measures the line upright: `own`
    (a scale made of the points' printed values), an axis printing only its two ends (two_label_axis' `0` and a
    printed value) and the turned picture (the reading for bars along a horizontal value axis; years read there as
    that axis): there (Pew's panels, OpenCQA dev 5637) several lines in muted inks of one hue are drawn with their
    values printed, the one-line premise fails and the clusters' ink together is every line at once."""
    import cv2

    if not masks or names or len(categories) < 2 or any(_chromatic(c, background) or _dark_tint(c, background) for c in centres):
        return None
    if own or orientation != "vertical" or axis is None or prints_only_ends(axis):
        return None
    first, last = categories[0].cx - x0r, categories[-1].cx - x0r
    columns = [int(round(c.cx)) - x0r for c in categories]
    ink = np.maximum.reduce([np.asarray(m, np.uint8) for m in masks])
    mask = rules_erased(ink, first, last)
    count, pieces, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(mask, np.ones((3, 3), np.uint8)), connectivity=8)
    for p in range(1, count):
        fx, fy, pw, ph = (int(v) for v in stats[p, :4])
        if pw < 0.5 * (last - first):
            continue
        if any(box.x0 - x0r - 2 <= fx and fx + pw <= box.x1 - x0r + 3 and box.y0 - 2 <= fy and fy + ph <= box.y1 + 3 for box in text):
            continue
        inked = sum(bool((pieces[:, max(0, x - 2):max(0, x + 3)] == p).any()) for x in columns)
        if inked >= max(2, len(columns) / 2):
            strongest = max(range(len(centres)), key=lambda i: float(np.linalg.norm(np.asarray(centres[i], float) - background)))
            return strongest, ink
    return None


def _runs(values: np.ndarray, gap: float = 1) -> list[np.ndarray]:
    """Sorted `values` (pixel rows or columns) cut into runs wherever two neighbours are more than `gap` apart
    (one empty run for no values)."""
    values = np.asarray(values)
    return np.split(values, np.nonzero(np.diff(values) > gap)[0] + 1)


def _trace_at(mask: np.ndarray, pieces: np.ndarray, widths: np.ndarray, x: int, others: np.ndarray | None = None) -> float | None:
    """The row of a traced line at column x (region coordinates): the middle of the run of mask pixels, in the
    columns within 2 pixels of x (nearest first on ties), that belongs to the widest connected piece of the mask
    (a legend swatch, a tick mark or text ink is a narrower piece than the line). Further left (3-7 px) when
    the point is hidden under a name printed after it. A run of 1-2 pixels that touches another line (`others`)
    is that line's anti-aliased rim in a paler colour, not a line of its own."""
    width = mask.shape[1]
    if -12 <= x < 0:  # the line starts under the value axis' labels, where the plot area was cut: its first columns
        x = 0
    for near in ((0, -1, 1, -2, 2), (-3, -4, -5, -6, -7)):
        found = []  # (piece width, nearness, run length, row): the columns within 2 pixels are weighed together
        for dx in near:
            column = x + dx
            if not 0 <= column < width:
                continue
            rows = np.nonzero(mask[:, column])[0]
            for run in _runs(rows):
                if not len(run) or widths[pieces[run[0], column]] == 0:
                    continue
                if others is not None and len(run) <= 2 and others[max(0, run[0] - 2):run[-1] + 3, column].any():
                    continue
                found.append((widths[pieces[run[0], column]], -abs(dx), len(run), float(run.mean())))
        if found:
            return max(found)[3]
    return None


def legend_swatch_pieces(pieces: np.ndarray, stats: np.ndarray, words: list[TextBox], x0r: int) -> list[int]:
    """(round 181) The connected pieces of a line's mask (`pieces`, `stats` as cv2.connectedComponentsWithStats gives
    them, region coordinates, `x0r` the region's left edge in the picture) that are a legend entry's swatch: matplotlib
    draws the legend over the lines, so a piece of the line's colour standing on a legend word's row (its middle row
    within the word's box, no taller than the word), wholly left of the word and ending within one word height of it,
    no wider than three word heights, is the entry's handle (a short stroke, with its marker), never a point of the
    line. A swatch that touches the line is one piece with it and is not found (the line decides, as before)."""
    found = np.zeros(len(stats), bool)
    x, y, w, ph = (stats[:, i].astype(float) for i in range(4))
    left, right, middle = x + x0r, x + w - 1 + x0r, y + (ph - 1) / 2
    for word in words:
        h = word.y1 - word.y0
        if h > 0:
            found |= ((word.y0 <= middle) & (middle <= word.y1) & (ph <= h + 2) & (w <= 3 * h) & (right <= word.x0 + 2)
                      & (right >= word.x0 - h) & (left >= word.x0 - 4 * h))
    found[0] = False  # the background
    return [int(p) for p in np.nonzero(found)[0]]


def _ink_under(inks: list[tuple[np.ndarray, np.ndarray]], label: TextBox, x: int) -> tuple[int, float] | None:
    """(line, row) of the traced line whose ink comes first under a printed value label, in the columns within 2
    pixels of its point's column x (region coordinates), from the label's bottom down one and a half label heights:
    a label printed over its point has that point first below it. `inks` are the traced lines' (mask, others) as
    _trace_at reads them: a run of 1-2 pixels touching a stronger line is that line's rim, no ink of its own. The row
    is the middle of that line's first run there. None when no line has ink there, or when another line's ink starts
    within a quarter of a label height (at least 3 pixels) of the first (lines crossing under the label: its place
    decides, as before)."""
    top, bottom = max(0, int(round(label.y1)) - 1), int(round(label.y1 + 1.5 * label.h)) + 1
    first = []  # (top row of the line's first ink run, that run's middle row, line)
    for index, (mask, others) in enumerate(inks):
        runs = []
        for column in range(max(0, x - 2), min(mask.shape[1], x + 3)):
            for run in _runs(np.nonzero(mask[top:bottom, column])[0] + top):
                if len(run) and not (len(run) <= 2 and others[max(0, run[0] - 2):run[-1] + 3, column].any()):
                    runs.append((float(run[0]), float(run.mean())))
        if runs:
            first.append(min(runs) + (index,))
    first.sort()
    if not first or (len(first) > 1 and first[1][0] - first[0][0] < max(3.0, 0.25 * label.h)):
        return None
    return first[0][2], first[0][1]


def _beside_the_end(label: TextBox, last_x: float) -> bool:
    """(round 114) A value label printed wholly right of the last category's point column (picture x `last_x`, 2
    pixels of slack): Pew prints the lines' last values beside their ends, not over them. Such a label is no label
    over a point: the ink under it at that column (`_ink_under`) is whichever line passes there, often another one."""
    return label.x0 > last_x + 2


def _ends_past_last(inks: list[tuple[np.ndarray, np.ndarray]], points: list[list[float | None]], colours: list[np.ndarray],
                    last_x: int, text: list[TextBox], x0r: int) -> list[float | None]:
    """(round 114) The row of each traced line's last drawn point, for the value labels beside the lines' ends
    (`_beside_the_end`): for a coloured line, the rightmost column of the piece of its ink (text boxes left out, 3x3
    dilated) that holds its point at the last category, and the middle of that piece's rows there (a steep last
    segment is followed, where `_last_drawn`'s 2-pixel steps lose it: OpenCQA dev 5627); a grey line is followed no
    further (gridlines). Pew's lines often run on past the last year printed under them (a survey later in that year)
    and the value printed beside the end is that point's. None for a line not traced at the last category; the
    point's own row where no piece holds it."""
    import cv2

    rows = []
    for (mask, _), ys, colour in zip(inks, points, colours):
        y = ys[-1] if ys else None
        if y is None or float(colour.max() - colour.min()) <= 60:
            rows.append(y)
            continue
        ink = mask.copy()
        for box in text:  # a value printed in the line's own colour beside its end is no part of the line
            ink[max(0, int(box.y0) - 1):max(0, int(box.y1) + 2), max(0, int(box.x0) - x0r - 1):max(0, int(box.x1) - x0r + 2)] = 0
        _, pieces = cv2.connectedComponents(cv2.dilate(ink, np.ones((3, 3), np.uint8)), connectivity=8)
        x, row = last_x - x0r, int(round(y))
        near = pieces[max(0, row - 2):row + 3, max(0, x - 2):x + 3]
        held = [p for p in np.unique(near) if p]
        if not held:
            rows.append(y)
            continue
        piece = (pieces == held[0]) & (ink > 0)
        for p in held[1:]:
            piece |= (pieces == p) & (ink > 0)
        columns = np.nonzero(piece.any(axis=0))[0]
        end = int(columns.max())
        if end <= x:
            rows.append(y)
            continue
        rows.append(float(np.nonzero(piece[:, end])[0].mean()))
    return rows


def _value_ink_owner(rgb: np.ndarray, label: TextBox, centres, series: list[int], background) -> int | None:
    """(round 48) The traced line (a cluster of `series`) whose colour a printed value's glyphs carry, or None. Pew
    prints each point's value in its line's colour; where two lines cross, the nearest point (or the ink first under
    the label) can be the other line's. Around the label (page coordinates) each pixel goes to the traced line it is
    a blend of with the background (at least 35% of the way, within 20 of that segment and under half as far from it
    as from any other line's: anti-aliased glyph rims count, pixels between two lines' colours do not); a glyph is a
    connected piece of one line's pixels lying inside the label's box (2 pixels of slack): a line crossing the box
    runs on beyond it and counts for none. The owner has the most glyph pixels, at least 12 and three times any other
    line's, and is clearly coloured (channel spread over 30: black or grey values, and a JPEG's faded brown-grey,
    name no line; there the yellow glyphs read olive)."""
    import cv2

    if len(series) < 2:
        return None
    height, width = rgb.shape[:2]
    y0, y1 = max(0, int(label.y0) - 6), min(height, int(label.y1) + 7)
    x0, x1 = max(0, int(label.x0) - 6), min(width, int(label.x1) + 7)
    if y1 <= y0 or x1 <= x0:
        return None
    back = np.asarray(background, np.float32)
    offset = rgb[y0:y1, x0:x1].astype(np.float32) - back
    residuals = []
    for i in series:
        direction = np.asarray(centres[i], np.float32) - back
        alpha = np.clip(offset @ direction / max(float(direction @ direction), 1e-9), 0.0, 1.2)
        residual = np.linalg.norm(offset - alpha[..., None] * direction, axis=2)
        residuals.append(np.where(alpha >= 0.35, residual, np.inf))
    residuals = np.stack(residuals)
    ordered, best = np.sort(residuals, axis=0), residuals.argmin(axis=0)
    taken = (ordered[0] < 20) & (ordered[0] < 0.5 * ordered[1])
    counts = []
    for k in range(len(series)):
        n, _, stats, _ = cv2.connectedComponentsWithStats(((best == k) & taken).astype(np.uint8), connectivity=8)
        counts.append(sum(int(area) for px, py, pw, ph, area in stats[1:n]
                          if px + x0 >= label.x0 - 2 and px + pw + x0 <= label.x1 + 3
                          and py + y0 >= label.y0 - 2 and py + ph + y0 <= label.y1 + 3))
    order = np.argsort(counts)[::-1]
    owner, most, second = series[order[0]], counts[order[0]], counts[order[1]]
    coloured = float(np.ptp(np.asarray(centres[owner], np.float32))) > 30  # black or grey values name no line
    return owner if coloured and most >= 12 and most >= 3 * second else None


def _hidden_point(mask: np.ndarray, rgb: np.ndarray, colour: np.ndarray, x_from: int, y_from: float, x_to: int) -> float | None:
    """The row at column x_to of a line hidden there (under a legend, a label), from the straight segment that leaves
    its traced neighbour point (x_from, y_from) towards it. The line is followed column by column, each column's run
    touching the last one: its colour cluster's pixels (`mask`), else pixels that blend the column's backdrop with the
    line's colour (a line seen through matplotlib's see-through legend is 0.8 backdrop + 0.2 colour), across gaps of
    up to 3 columns (a legend's edge), and only while it stays within 2 px of the straight segment through the
    neighbour point fitted so far (least squares; beyond, another mark was met: a legend's swatch or word). When it
    is followed over at least 40% of the way, that segment gives the row at x_to. None where the line does not run
    on towards x_to (it ends at its neighbour point). Not handled: a point between two labelled categories (a bend
    beyond 40% of the way would be taken for another mark)."""
    step = 1 if x_to > x_from else -1
    gap = abs(x_to - x_from)
    colour = colour.astype(np.float32)
    run = (y_from - 1.0, y_from + 1.0)
    seen: list[tuple[int, float]] = []
    misses = 0
    for x in range(x_from + step, x_to, step):
        if not 0 <= x < mask.shape[1]:
            break
        if len(seen) >= 2:  # across a gap the run moves on with the segment's slope so far
            drift = (seen[-1][1] - seen[max(0, len(seen) - 6)][1]) / max(1, seen[-1][0] - seen[max(0, len(seen) - 6)][0])
        else:
            drift = 0.0
        reach = (run[0] + drift * (misses + 1) - 1, run[1] + drift * (misses + 1) + 1)
        rows = np.nonzero(mask[:, x])[0]
        runs = [r for r in _runs(rows) if len(r)]
        touching = [r for r in runs if r[0] <= reach[1] and r[-1] >= reach[0]]
        if not touching:  # the line seen through something pale over it: a blend of the backdrop and its colour
            top, bottom = max(0, int(reach[0]) - 8), min(mask.shape[0], int(reach[1]) + 9)
            window = rgb[top:bottom, x].astype(np.float32)
            if len(window) >= 5:
                backdrop = np.median(window, axis=0)
                towards = colour - backdrop
                norm = float(towards @ towards)
                if norm > 40.0 ** 2:
                    share = (window - backdrop) @ towards / norm
                    off = np.linalg.norm(window - backdrop - share[:, None] * towards[None], axis=1)
                    blended = top + np.nonzero((share >= 0.1) & (share <= 1.3) & (off <= max(10.0, 0.12 * np.sqrt(norm))))[0]
                    runs = [r for r in _runs(blended) if len(r)]
                    touching = [r for r in runs if r[0] <= reach[1] and r[-1] >= reach[0]]
        if not touching:
            misses += 1
            if misses > 3:
                break
            continue
        middle = (reach[0] + reach[1]) / 2
        nearest = min(touching, key=lambda r: abs(r.mean() - middle))
        point = (abs(x - x_from), float(nearest.mean()))
        far = [(dx, y) for dx, y in seen if dx >= 0.15 * gap]  # clear of a marker drawn at the neighbour point
        if len(far) >= 5 and abs(point[1] - y_from - _slope(far, y_from) * point[0]) > 2.0:
            break  # off the straight segment: another mark (a legend's swatch or word) where the line is hidden
        run, misses = (float(nearest[0]), float(nearest[-1])), 0
        seen.append(point)
    far = [(dx, y) for dx, y in seen if dx >= 0.15 * gap]
    if len(seen) < 0.4 * gap or len(far) < 5:
        return None
    return y_from + _slope(far, y_from) * gap


def _slope(points: list[tuple[int, float]], y_from: float) -> float:
    """The least-squares slope of a straight segment through (0, y_from) fitted to (dx, y) points."""
    dx = np.array([d for d, _ in points], float)
    return float((dx * (np.array([y for _, y in points]) - y_from)).sum() / (dx * dx).sum())


def _faded_name_of(ink: np.ndarray, palette: np.ndarray) -> int | None:
    """(round 46) The line a word printed in a faded muted ink names, or None. Pew prints a brown-grey line's name in
    the line's own brown (#7a6a58-like); in a JPEG the small glyphs' chroma is smeared out, and their ink keeps a
    channel spread of only 10-25 where grey text (titles, notes) keeps under 5. Such a word names a muted line (a
    cluster of spread over 25) whose colour lies within 20 of the ink and tilts the same way (the channel offsets
    from their mean agree: a warm ink names a warm line, never a cool one)."""
    tint = float(ink.max() - ink.min())
    if not 10 <= tint < 25:
        return None
    spreads = palette.max(axis=1) - palette.min(axis=1)
    tilt = ink - ink.mean()
    best, best_distance = None, 20.0
    for index, colour in enumerate(palette):
        if spreads[index] <= 25:
            continue
        lean = colour - colour.mean()
        if float(tilt @ lean) < 0.8 * float(np.linalg.norm(tilt) * np.linalg.norm(lean)):
            continue
        distance = float(np.linalg.norm(colour - ink))
        if distance < best_distance:
            best, best_distance = index, distance
    return best


def _pale_ink(rgb: np.ndarray, box: TextBox, background) -> np.ndarray | None:
    """(round 139) The ink of a word printed wholly in a pale colour (no glyph pixel 80 off the backdrop, so
    `_word_ink` has none): the median of the quarter furthest off the backdrop of its pixels 20 or more off it, when
    there are 10 or more such pixels and that ink is pale itself (every channel 150 or over). Pew prints a pale line's
    name (light grey, light tan) in the line's own pale ink; dark text (a title, a note) always has cores."""
    pixels = _in_box(rgb, box).reshape(-1, 3).astype(np.float32)
    off = np.linalg.norm(pixels - np.asarray(background, np.float32), axis=1)
    if (off > 80).sum() >= 10:
        return None
    ink, off = pixels[off >= 20], off[off >= 20]
    if len(ink) < 10:
        return None
    median = np.median(ink[off >= np.percentile(off, 75)], axis=0)
    return median if float(median.min()) >= 150 else None


def _line_end_names(rgb: np.ndarray, boxes: list[TextBox], categories: list[TextBox], centres, background) -> dict[int, tuple[float, str]]:
    """cluster -> (position, name) from words printed in the line's own colour: right of the last category (Our
    World in Data names each line at its end instead of in a legend), or inside the plot in a clearly coloured
    ink (Pew prints 'Democrat' in the line's blue next to it)."""
    found: dict[int, tuple[float, str]] = {}
    if not centres:
        return found
    palette = np.stack(centres).astype(np.float32)
    last = categories[-1]
    for box in sorted(boxes, key=lambda b: b.cy):
        name = _bare(box.text)
        inside = box.x0 < last.cx - 5
        if box.cy > last.y0 or box.number is not None or _CHROME.search(name) or not names_something(name):
            continue
        median = _word_ink(rgb, box, background)  # (round 34) its glyphs' cores: their rims match paler clusters
        if median is None:
            pale = _pale_ink(rgb, box, background) if inside else None
            if pale is None or box.x1 < categories[0].cx or len(name.split()) > 4:
                continue
            # (round 139) a word in a pale ink names a pale line in that ink (Pew's light grey `Kept at present level`)
            near = [(float(np.linalg.norm(colour - pale)), index) for index, colour in enumerate(palette)
                    if index not in found and float(colour.min()) >= 150]
            if near and min(near)[0] < 30:
                found[min(near)[1]] = (box.cy, name)
            continue
        distances = np.linalg.norm(palette - median, axis=1)
        cluster = int(distances.argmin())
        tint = median.max() - median.min()
        if inside and tint < 25:
            faded = _faded_name_of(median, palette)  # (round 46) a JPEG's brown-grey name faded towards grey
            if faded is not None and faded not in found and box.x1 >= categories[0].cx and len(name.split()) <= 4:
                found[faded] = (box.cy, name)
            continue  # inside the plot a name is in clearly coloured ink: grey text (the title) names no line
        if inside:  # inside the plot only a short name in a line's own colour (not dark text near a dark line)
            # (round 42) a muted tint (Pew's brown-grey) names only a line of a tint too, matched closely
            muted = tint < 40
            eligible = palette.max(axis=1) - palette.min(axis=1) > (25 if muted else 60)
            # (round 118) a word in a dark tint (round 55's `_dark_tint`: Pew's dark slate #324f62, spread 48) names a
            # line of a dark tint too: its spread is under 60, and the word went to a paler slate cluster (the
            # title's ink) or to none, and the line, dark-tinted and unnamed, was dropped
            if _dark_tint(median, background):
                eligible |= np.array([_dark_tint(colour, background) for colour in palette])
            distances = np.where(eligible, distances, np.inf)
            cluster = int(distances.argmin())
            if distances[cluster] >= (30 if muted else 50) or box.x1 < categories[0].cx or len(name.split()) > 4:
                continue
        if distances[cluster] < 80 and cluster not in found:
            found[cluster] = (box.cy, name)
    return found


def _names_under_titles(rgb: np.ndarray, boxes: list[TextBox], categories: list[TextBox], centres, background,
                        found: dict[int, tuple[float, str]], tops: dict[int, float | None], ceiling: float) -> dict[int, tuple[float, str]]:
    """(round 96) `_line_end_names` again without the words that end more than two of their heights above the top of
    the line they name (Pew's older charts print the title and subtitle over the plot in one line's slate blue, and
    the title's line comes first, top to bottom): that line stays open for the next word in its colour. `tops` maps a
    traced cluster to its line's top row (page rows: the highest row of the connected pieces its traced points lie
    on, so its peaks between two labels count; None or absent: the cluster keeps its word). Not a percentile of the
    colour's pixels: a line's high stretch may be short, or blanked under its printed values (round 91's Bb). (Tb) And
    only a word that ends above `ceiling`, the top of the value axis' highest label, is such a title: over the plot, not
    in it (Pew prints a line's name inside the plot up to three of its heights over the line, its values between)."""
    boxes = list(boxes)
    while True:
        far = []
        for cluster, (cy, name) in found.items():
            top = tops.get(cluster)
            word = next((b for b in boxes if b.cy == cy and _bare(b.text) == name), None)
            if top is not None and word is not None and word.y1 < min(top - 2 * word.h, ceiling):
                far.append(word)
        if not far:
            return found
        boxes = [b for b in boxes if not any(b is w for w in far)]
        found = _line_end_names(rgb, boxes, categories, centres, background)


def _last_drawn(mask: np.ndarray, x: int, y: float, words: list[TextBox], x0r: int, gap: int = 4) -> tuple[float, float]:
    """(round 32) A line's last drawn point, followed rightwards from its point (x, y) (region coordinates) through
    its mask: in each next column the mask's pixels within 2 pixels of the rows it was at (a marker's edge and the
    line leaving it are taken together); up to `gap` empty columns where another line is drawn over it; under a word's
    box (OECD's white name boxes sit over the lines' last segments) anywhere in the box's rows. It stops where the
    line does: OECD prints a grid of years, the line runs on past the last printed one and its name box sits by its
    last point. Pixels inside word boxes never count (OWID's names in the line's own colour right of its end).
    Returns (x, y) in picture columns."""
    h, w = mask.shape
    top = bottom = int(round(y))
    column, end, misses, blind = int(x), (float(x + x0r), float(y)), 0, 0
    while column + 1 < w and misses <= gap:
        column += 1
        reach = 2 + 2 * max(misses, blind)
        low, high = max(0, top - reach), min(h, bottom + reach + 1)
        rows = np.nonzero(mask[low:high, column])[0] + low
        covers = [bx for bx in words if bx.x0 - 1 <= column + x0r <= bx.x1 + 1 and bx.y0 - 1 <= high and low <= bx.y1 + 1]
        rows = np.array([r for r in rows if not any(bx.y0 - 1 <= r <= bx.y1 + 1 for bx in covers)], int)
        if covers:  # hidden under a box: the line may be anywhere in its rows
            top = min([top] + [int(bx.y0) for bx in covers] + list(rows[:1]))
            bottom = max([bottom] + [int(bx.y1) for bx in covers] + list(rows[-1:]))
            # (round 135) a steep line leaving the box's rows beside it, lost for a column, is looked for as far as
            # outside a box (ends 00002: the orange line leaves `Belgium`'s box through its bottom at 1.5 rows a column)
            misses, blind = 0, (0 if len(rows) else min(blind + 1, gap))
            continue
        if not len(rows):
            misses += 1
            continue
        top, bottom, misses, blind = int(rows[0]), int(rows[-1]), 0, 0
        end = (float(column + x0r), float(rows.mean()))
    return end


def _names_beside_ends(ends: dict[int, tuple[float, float]], boxes: list[TextBox]) -> dict[int, str]:
    """line -> the word printed beside its last traced point (x, y): a line labelled directly at its end in a colour
    of no line (OECD's black words in white boxes) has no legend entry and no word in its own ink. A word is beside
    the point when its middle is within one text height of the point's row and its box reaches to within two text
    heights of the point's column, left or right; each word once; never a number or page chrome."""
    pairs = []
    for box in boxes:
        name = _bare(box.text)
        if box.number is not None or _CHROME.search(name) or not names_something(name) or box.turned:
            continue
        height = max(box.h, 6.0)
        for line, (x, y) in ends.items():
            gap = 0.0 if box.x0 <= x <= box.x1 else min(abs(box.x0 - x), abs(box.x1 - x))
            if abs(box.cy - y) <= height and gap <= 2 * height:
                pairs.append((abs(box.cy - y) / height + gap / height, line, id(box), name))
    # (round 32) one word a line, as many lines named as can be, then the nearest in sum (nearest first took a word
    # that fits two lines for the nearer one and left the other unnamed: OECD's boxes pushed apart above their ends)
    words = sorted({p[2] for p in pairs})
    names = {box: name for _, _, box, name in pairs}
    found = _one_word_a_line([(d, line, words.index(box)) for d, line, box, _ in pairs], len(words))
    return {line: names[words[j]] for line, j in found.items()}


def _one_word_a_line(pairs: list[tuple[float, int, int]], n_words: int) -> dict[int, int]:
    """line -> word number, from `pairs` (cost, line, word number) of the words that could name each line: each word
    once, as many lines named as can be, then the least cost in sum (scipy's linear_sum_assignment)."""
    if not pairs:
        return {}
    from scipy.optimize import linear_sum_assignment

    lines = sorted({p[1] for p in pairs})
    cost = np.full((len(lines), n_words), 1e6)
    for d, line, j in pairs:
        cost[lines.index(line), j] = d
    return {lines[i]: int(j) for i, j in zip(*linear_sum_assignment(cost)) if cost[i, j] < 1e6}


def _end_names_left_over(ends: dict[int, tuple[float, float]], boxes: list[TextBox], taken: set[str], last: TextBox,
                         top: float) -> dict[int, str]:
    """(round 54) line -> a word printed right of the last category that names no line yet, for the lines every
    other step left unnamed (Our World in Data's name beside a line's end dot read as a legend entry, or beside the
    end of a line traced short of it; OECD's name boxes pushed apart): matched by row alone, the word's middle within
    two text heights of the line's end (x, y); each word once, the nearest in sum; a word's row between `top` and the
    category labels'; never a number, a turned word or page chrome."""
    words = []
    for box in boxes:
        name = _bare(box.text)
        if (box.cx <= last.cx or not top <= box.cy < last.y0 or box.number is not None or box.turned
                or _CHROME.search(name) or not names_something(name) or name in taken):
            continue
        words.append((box, name))
    pairs = [(abs(box.cy - y) / max(box.h, 6.0), line, j) for line, (_, y) in ends.items()
             for j, (box, _) in enumerate(words) if abs(box.cy - y) <= 2 * max(box.h, 6.0)]
    return {line: words[j][1] for line, j in _one_word_a_line(pairs, len(words)).items()}


def names_in_own_ink(rgb: np.ndarray, colours: dict[int, np.ndarray], boxes: list[TextBox], taken: set[str],
                     categories: list[TextBox], ceiling: float, background) -> dict[int, tuple[float, str]]:
    """(round 163) line -> (position, name) for clearly coloured lines (channels spread over 60) that every other step
    left unnamed: a word printed in that line's own ink (`coloured_ink`, within 60 of the line's colour), in the plot
    (its top under `ceiling`, the value axis' highest label's top; its middle over the category row), that names no
    line yet, one word a line, the nearest inks in sum (`_one_word_a_line`). Pew prints a line's name in its ink but
    a shade off it (`REPUBLICAN LEADERS` 52 from its dark red line), a JPEG smears a small word's ink towards another
    line's (`Disapprove` nearer the named `Approve` line's olive than its own yellow), or the name runs to five or six
    words (`Mix of Good and Bad News`): `_line_end_names` matched none of them. Never a number, page chrome, a turned
    word, a category label, over six words, or a word stacked on a line's name (a wrapped name's other line)."""
    named = [b for b in boxes if _bare(b.text) in taken]
    words = []
    for box in boxes:
        name = _bare(box.text)
        if (box.number is not None or parse_value(box.text) is not None or box.turned or _CHROME.search(name)
                or not names_something(name) or name in taken or len(name.split()) > 6 or box.y0 < ceiling
                or box.cy >= categories[-1].y0 or any(box is c for c in categories)):
            continue
        if any(abs(box.cy - b.cy) <= 1.6 * max(box.h, b.h) and box.x0 < b.x1 and b.x0 < box.x1 for b in named):
            continue
        ink = coloured_ink(rgb, box, background)
        if ink is not None:
            words.append((box, name, ink))
    distances = ((float(np.linalg.norm(ink - colour)), line, j) for line, colour in colours.items()
                 if float(colour.max() - colour.min()) > 60 for j, (_, _, ink) in enumerate(words))
    pairs = [pair for pair in distances if pair[0] < 60]
    return {line: (words[j][0].cy, words[j][1]) for line, j in _one_word_a_line(pairs, len(words)).items()}


def _drop_duplicate_lines(series, columns, names, axis, read=None, printed=frozenset(), centres=None, background=None):
    """Anti-aliased edges of a line form a second, paler colour cluster that traces the same values:
    keep one line per trace, preferring the one the legend names; where the kept one was not traced (its
    colour only in part of the line), the duplicate's reading fills the gap.

    (round 101) Lines are compared on their axis readings (`read`: unrounded, at the traced points before printed
    values replaced them): the values printed at the points are shared out between two copies of one line (JPEG:
    two clusters of one blue), so the copies' columns differ where their readings do not. A printed value
    (`printed`: (line, point) positions) the duplicate took replaces the kept line's axis reading there. An unnamed line each of whose
    three or more readings is another kept line's reading at that point, of two or more lines, in a colour between
    one of theirs and the background (`centres`, `background`), is the pale rim where two lines' edges share a
    cluster (OWID's purple and slate lines): dropped too, its readings given to no line."""
    if read is None:
        numbers = [np.array([float(v.rstrip("%")) if v else np.nan for v in col]) for col in columns]
    else:
        numbers = [np.array([np.nan if v is None else float(v) for v in col]) for col in read]
    span = max(axis.span, 1e-9)
    order = sorted(range(len(series)), key=lambda i: (series[i] not in names, -np.isfinite(numbers[i]).sum()))
    kept: list[int] = []
    columns = [list(col) for col in columns]
    for i in order:
        same = []
        for k in kept:  # compared where both were traced (a line end hidden under its label is no difference)
            both = np.isfinite(numbers[i]) & np.isfinite(numbers[k])
            enough = max(2, 0.5 * len(numbers[i])) if np.isfinite(numbers[k]).sum() >= 0.5 * len(numbers[k]) else 2
            if both.sum() >= enough and (np.abs(numbers[i] - numbers[k])[both] < 0.03 * span).mean() >= 0.8:
                same.append(k)
        if not same:
            kept.append(i)
            continue
        k = same[0]
        for r, value in enumerate(columns[i]):
            if value and (not columns[k][r] or ((i, r) in printed and (k, r) not in printed)):
                columns[k][r] = value
            if not np.isfinite(numbers[k][r]):
                numbers[k][r] = numbers[i][r]
    if centres is not None and background is not None:
        for i in sorted(kept, key=lambda i: np.isfinite(numbers[i]).sum()):
            traced = np.nonzero(np.isfinite(numbers[i]))[0]
            if series[i] in names or len(traced) < 3:
                continue
            matches = [{k for k in kept if k != i and abs(numbers[k][r] - numbers[i][r]) < 0.03 * span} for r in traced]
            lines = set().union(*matches)
            if all(matches) and len(lines) >= 2 and any(_blend_of(centres[series[i]], centres[series[k]], background) for k in lines):
                kept.remove(i)
    kept.sort()
    return [series[i] for i in kept], [columns[i] for i in kept]


def _evenly_spaced(found: list[float]) -> list[float]:
    """`found` when there are 3 or more columns spaced evenly (within 20% of their median gap, over 8 px), else []."""
    if len(found) < 3:
        return []
    gaps = np.diff(found)
    spacing = float(np.median(gaps))
    return found if spacing > 8 and np.all(np.abs(gaps - spacing) <= 0.2 * spacing) else []


def _upright_runs(band: np.ndarray, off: int) -> tuple[np.ndarray, np.ndarray]:
    """For each column of `band` (int16 RGB rows): its longest vertical run of ink (a pixel off its row's median colour
    by > `off`), and the longest such run 3 px to either side (a thin upright mark has none there; a sloping line has)."""
    ink = np.abs(band - np.median(band, axis=1, keepdims=True)).max(axis=2) > off
    run, best = np.zeros(band.shape[1], int), np.zeros(band.shape[1], int)
    for row in ink:
        run = np.where(row, run + 1, 0)
        best = np.maximum(best, run)
    return best, np.maximum(np.r_[best[3:], [0] * 3], np.r_[[0] * 3, best[:-3]])


def _tick_columns(region: np.ndarray, x0r: int) -> list[float]:
    """The columns (picture x) of the category axis' tick marks or vertical gridlines, for a line chart without
    markers (round 23): in the bottom rows of the plot region (the axis line, the ticks on either side of it, the
    gridlines' feet), columns holding a vertical run of ink (a pixel off its row's median colour by > 15) of >= 4 px
    with no such run 3 px either side (a thin upright mark, not a sloping line). Only columns spaced evenly are
    returned, the plot's frame at either end dropped when it breaks the spacing (a frame with margins); else none."""
    band = region[-min(30, region.shape[0] // 4):].astype(np.int16)
    if band.shape[0] < 6 or band.shape[1] < 20:
        return []
    best, side = _upright_runs(band, 15)

    def centres(xs) -> list[float]:
        return [float(np.mean(run)) + x0r for run in _runs(xs, 2) if len(run)]

    found = centres(np.nonzero((best >= 4) & (side < 0.5 * best))[0])
    marks = centres(np.nonzero(best >= 4)[0])  # thin or not: a tick the line runs over (a point on the axis) is thick
    for cut in (found, found[1:], found[:-1], found[1:-1]):
        if _evenly_spaced(cut):
            # every other tick hidden under the line: a mark at each midpoint halves the spacing
            middles = [(a + b) / 2 for a, b in zip(cut, cut[1:])]
            half = (cut[1] - cut[0]) / 2
            if all(any(abs(m - x) <= 0.2 * half for x in marks) for m in middles):
                return sorted(cut + middles)
            return cut
    return []


def years_at_period_ticks(rgb: np.ndarray, labels: list[TextBox], x0r: int, x1r: int) -> list[TextBox]:
    """(round 60) Year labels under every 2nd / 3rd point of a line chart, completed where the category axis itself
    marks every year: a tick mark or a gridline's foot stands at each year, printed or not (Statista's long series,
    whose tables list every year). OWID's, OECD's and Pew's time axes mark only the years they print (their tables,
    like ChartQA's, list the printed years only; round 41's C1 filled those too and was rejected), so a line's markers
    or printed values alone never fill years (`fill_thinned_labels` leaves years on lines as printed). The marks: in
    the 20 rows over the labels' top and the 4 under it (ticks drawn in or out of the plot; a slanted label's box may
    start above the axis), columns of the page holding a vertical run of ink (off its row's median colour by > 8) of
    >= 3 px with no such run 3 px either side (`_upright_runs`), of 0.6-1.6 times the marks' median run (the plot's
    frame, a spine running the strip's height over short ticks, left out). Those columns are `fill_thinned_labels`' marks,
    `years=True`; labels that do not read as periods, or where no mark stands between them, are returned as given.
    (round 146) Quarters and months too (any `_period` kind, 60% of the labels), not years only: a line without
    markers under quarter or month labels printed under every other point has no other marks (`_tick_columns` reads
    only the plot's own bottom rows, which end at the axis line, above ticks drawn out of the plot), so its points
    between the labels were never named (thinned 00000, 00031: 10 and 7 of 21 periods)."""
    periods = [_period(b.text) for b in labels]
    if len(labels) < 3 or sum(p is not None for p in periods) < max(3, 0.6 * len(labels)):
        return labels
    top = int(min(b.y0 for b in labels))
    band = rgb[max(0, top - 20):max(0, top + 4), max(0, int(x0r)):int(x1r)].astype(np.int16)
    if band.shape[0] < 6 or band.shape[1] < 20:
        return labels
    best, side = _upright_runs(band, 8)
    found = [(float(np.mean(xs)) + max(0, int(x0r)), int(best[xs].max())) for xs in _runs(np.nonzero((best >= 3) & (side < 0.5 * best))[0], 2) if len(xs)]
    if not found:
        return labels
    typical = float(np.median([n for _, n in found]))
    ticks = [x for x, n in found if 0.6 * typical <= n <= 1.6 * typical]
    return fill_thinned_labels(labels, ticks, x0r, x1r, years=True)


def _marker_xs(masks, x0r: int, words: list[TextBox]) -> list[float]:
    """The columns (picture x), left to right, of the round markers drawn at a line chart's points: blobs thicker than
    a line (the distance transform reaches 2.5 px inside a marker, never inside a 1-2 px line; round 199: 0.75 px past
    the line's own ridge where that is less, the lower quartile of the transform's local maxima (the markers' own
    maxima fill the upper ones), for a thin line's small markers, 6 px across at 72 dpi, reach 1.9-2.7 only),
    gathered over all colour clusters and merged within 3 px; a legend's own markers (a word printed just right of
    them, on their row) are left out."""
    import cv2

    xs = []
    for mask in masks:
        depth = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 3)
        ridge = depth[(depth > 0) & (depth >= cv2.dilate(depth, np.ones((3, 3), np.uint8)))]
        inside = depth >= min(2.5, float(np.quantile(ridge, 0.25)) + 0.75 if ridge.size else 2.5)
        count, _, stats, centres = cv2.connectedComponentsWithStats(inside.astype(np.uint8), connectivity=8)
        for x, y in centres[1:]:
            px = float(x) + x0r
            if any(abs(box.cy - y) <= box.h and 0 <= box.x0 - px <= 5 * box.h for box in words):
                continue  # a legend entry's marker
            xs.append(px)
    return [float(np.mean(run)) for run in _runs(np.sort(xs), 3) if len(run)]


def markers_under_labels(markers: list[float], labels: list[TextBox]) -> list[float]:
    """(round 177) The marker columns that lie within the category labels' span, widened by one label spacing (the
    median gap between the labels' middles) at either end: a round blob right of the last label's reach is no point
    of the line (Statista's grey share / print icons in the page's right margin, read by `_marker_xs` as one more
    marker column, broke the columns' even spacing, so labels OCR read run together, `2013* 2014*`, were never cut).
    `markers` as they are with fewer than 2 labels."""
    if len(labels) < 2:
        return markers
    middles = sorted(b.cx for b in labels)
    reach = float(np.median(np.diff(middles)))
    left, right = min(b.x0 for b in labels) - reach, max(b.x1 for b in labels) + reach
    return [x for x in markers if left <= x <= right]


def labels_for_an_axis(axis, rgb: np.ndarray | None = None) -> bool:
    """(round 81) A linear 'value axis' whose tick numbers are not evenly stepped (some gap between them is no whole
    multiple of the smallest, as a missed tick would leave) is no axis: it is the column of values printed beside the
    lines' first points (Pew's trend lines with no value axis: `53`, `29`, `10` left of 2001). The fit stands as the
    scale (each label sits at its point's height), and those numbers are point labels, exact, like any other.
    (round 136) So is a column whose numbers are printed in two or more different colours (`inks_of_lines`, given
    the picture `rgb`): Pew prints each line's first value in the line's own ink (`28%` blue, `18%` red), evenly
    stepped by chance; an axis' labels share one ink."""
    if axis is None or axis.log or len(axis.ticks) < 3:
        return False
    if rgb is not None and inks_of_lines(rgb, axis.ticks):
        return True
    values = np.sort(np.array([b.number for b in axis.ticks], float))
    steps = np.diff(values)
    if (steps <= 0).any():
        return False
    multiples = steps / steps.min()
    return bool((np.abs(multiples - np.round(multiples)) > 0.05).any())


def inks_of_lines(rgb: np.ndarray, labels: list[TextBox]) -> bool:
    """(round 136) Two or more of `labels` are printed in coloured inks (`coloured_ink`: channels spread over 30; black
    and grey are no line's) that differ from each other by more than 80: the values of different lines, not one
    axis' labels. The background is the picture's commonest border colour (its median border pixel)."""
    background = border_colour(rgb)
    inks = [ink for ink in (coloured_ink(rgb, b, background) for b in labels) if ink is not None]
    return any(float(np.linalg.norm(a - b)) > 80 for i, a in enumerate(inks) for b in inks[i + 1:])


def point_label_in_axis_column(rgb: np.ndarray, box: TextBox, axis: Axis) -> bool:
    """(round 141) A number in the value axis' column that the axis did not take is a line's point label, not an
    axis label, when it is printed in a coloured ink (`coloured_ink`: channels spread over 30; an axis' labels are black
    or grey) and its number is no tick the axis could print (no whole multiple of the axis' step from its ticks):
    Pew prints a line's first value left of its first point, in the line's own ink (`20.1` in yellow beside the 20
    and 15 of a 5-step axis). A label in the axis' ink or on its step grid ('1 million' of a 0.2-step axis) stays an
    axis label (round 37)."""
    parsed = parse_value(box.text)
    if parsed is None or axis.log or axis.step <= 0 or not axis.ticks:
        return False
    multiple = (parsed[0] - axis.ticks[0].number) / axis.step
    if abs(multiple - round(multiple)) <= 1e-3:
        return False
    return coloured_ink(rgb, box, border_colour(rgb)) is not None


def value_in_name(name: str) -> tuple[str, str] | None:
    """(round 81) (name, printed value) of a line's name that came with the number printed beside its end (Pew
    prints `72 Poland`, `YouTube 73%` at a line's last point, and OCR reads them as one box): a first or last word
    that is a number, the rest words that name something. None for any other name (`Series 2` keeps its number only
    where the number agrees with no point: the caller checks it against the line's point the number is printed at,
    `value_point`). (round 153) A last word of two letters or more run together with the number (`Not far
    enough78`: the point's value printed right after the name, read without a space) is split there too."""
    words = name.split()
    glued = re.fullmatch(r"([^\W\d_]{2,})([-−–]?\d[\d.,]*%?)", words[-1]) if len(words) >= 2 else None
    if glued:
        words = words[:-1] + [glued[1], glued[2]]
    if len(words) < 2:
        return None
    for number, rest in ((words[0], words[1:]), (words[-1], words[:-1])):
        parsed = parse_value(number)
        if parsed is not None and re.fullmatch(r"[-−–]?\d[\d.,]*%?", number) and names_something(" ".join(rest)):
            return " ".join(rest), parsed[1]
    return None


def value_point(name: str, rest: str, boxes: list[TextBox], categories: list[TextBox]) -> tuple[int, bool]:
    """(round 153) (the category a line's name box prints its point's value at, whether the number stands ON that
    category's point). The number is the one `value_in_name` took off `name`, leaving `rest`; its middle is placed in
    the one box of `boxes` that reads `name` by the number's share of its characters (Pew prints `Democrat 7.4` beside
    the line's peak, `Not far enough 78` over its 2007 point, `72 Poland` right of its end); the category is the one
    whose middle is nearest it, and the number stands on its point within a quarter of the gap to the next category on
    its side, or past the first or the last category (beside the line's end). (N2) A number half-way between two
    labelled years (Pew's 76 over 2015, the years labelled every other year) is no labelled year's value. No such box,
    or several: the last category, on its point (the end, as round 81 took it)."""
    last = len(categories) - 1
    found = [b for b in boxes if _bare(b.text) == name or b.text.strip() == name]
    if len(found) != 1:
        return last, True
    box = found[0]
    chars, kept = len(name.replace(" ", "")), len(rest.replace(" ", ""))
    if not 0 < kept < chars:
        return last, True
    width = (box.x1 - box.x0) / chars
    x = box.x1 - width * (chars - kept) / 2 if name.startswith(rest) else box.x0 + width * (chars - kept) / 2
    r = int(np.argmin([abs(c.cx - x) for c in categories]))
    side = r + (1 if x > categories[r].cx else -1)
    if not 0 <= side <= last:
        return r, True
    return r, abs(x - categories[r].cx) <= 0.25 * abs(categories[side].cx - categories[r].cx)


def first_value_on_axis(axis, boxes: list[TextBox]) -> TextBox | None:
    """(round 123) The top label of a value axis that prints only two labels (`two_label_axis`: the topmost number
    left of the first year, over a `0` or the plot's baseline), as read, when it may be a point's printed value too.
    Pew's line charts with no value axis print each line's first value left of its first point, level with it: the
    topmost of those numbers is taken for the axis' top, with the baseline as its `0`, and so it was dropped from the
    printed values and its point read off the very axis it made (51 where 50 is printed). The reader keeps it among
    the printed values, taken only by a point level with it (its middle within half a label height of the point's
    row) and never by the ink under it (`level_with_point`); an axis' real top (`100 %`) lies level with no point but
    one that reads about 100 there. None for any other axis, or a `0` that stands for the baseline (no box)."""
    if axis is None or axis.log or not prints_only_ends(axis):
        return None
    top = min(axis.ticks, key=lambda b: b.cy)
    return top if top.number and any(b is top for b in boxes) else None


def level_with_point(label: TextBox, y: float) -> bool:
    """(round 123) A label printed beside its point: its middle within half its height of the point's row."""
    return abs(label.cy - y) <= 0.5 * label.h


def printed_value_axis(boxes: list[TextBox], height: int) -> tuple[Axis, float] | None:
    """(round 127) Pew's line charts that draw no value axis and print a value at (most of) their points: (a first
    scale, the top of the row of category labels under the plot). The row is the fullest row of upright boxes in the
    lower 55% of the picture (two or more); the scale is a least-squares fit of the numbers printed above that row
    on their heights (a label sits above or below its point, so it is only a first guess: `own_scale` fits it again
    on the points the labels are matched to). Its ticks are those numbers (the plot's top is the highest of them),
    its unit and precision theirs. None where fewer than two numbers at distinct heights are printed, or the fit does
    not grow upwards."""
    below = [b for b in boxes if not b.turned and b.cy > 0.45 * height]
    if not below:
        return None
    def year(b: TextBox) -> bool:
        parsed = parse_value(b.text)
        return parsed is not None and parsed[0] == int(parsed[0]) and 1800 <= parsed[0] <= 2100

    # a row of labels: words, or years; not a row of the values printed at low points
    rows = [row for row in _groups(below, lambda b: b.cy, 0.6 * max(b.h for b in below))
            if len(row) >= 2 and all(parse_value(b.text) is None or year(b) for b in row)]
    if not rows:
        return None
    row = max(rows, key=len)  # the upper of two as full
    top = min(b.y0 for b in row)
    numbers = [b for b in boxes if not b.turned and b.cy < top and parse_value(b.text) is not None]
    scale = [b for b in numbers if not year(b)]  # a year in a title
    if len(scale) < 2 or max(b.cy for b in scale) - min(b.cy for b in scale) < 3:
        return None
    values = np.array([parse_value(b.text)[0] for b in scale], float)
    if len(set(values)) < 2:
        return None
    slope, intercept = np.polyfit([b.cy for b in scale], values, 1)
    if slope >= 0:
        return None
    decimals = max(len(t.split(".")[1]) if "." in t else 0 for t in (parse_value(b.text)[1].rstrip("%") for b in scale))
    percent = sum(b.text.strip().endswith("%") for b in scale) > len(scale) / 2
    # its ticks are the numbers an axis can hold: a value label OCR read with a stray letter (`171` as `17y`) has a
    # printed value but no number, and a tick without one broke the bar test (`_bars_fit_axis`) that follows
    ticks = [b for b in numbers if b.number is not None]
    return Axis(float(slope), float(intercept), False, percent, 10.0 ** (1 - decimals), ticks), top


def own_scale(heights: list[tuple[float, float]], axis: Axis) -> Axis | None:
    """(round 127) The scale of a line chart with no value axis, from its printed values and the heights of the
    points they were matched to ((row, value) pairs): two or more values at distinct heights make a linear axis
    (least squares; a pair off the fit by more than a tenth of the values' range, or by more than one where they span
    under 10, is left out, worst first: a label matched where the point was traced off its mark, while at least two
    thirds of the pairs stay). None where fewer are matched, the fit does not grow upwards, or the pairs still
    disagree with it: then the labels were not the points' values (no line chart of printed values; the caller gives
    up as before)."""
    ys, vs = np.array([y for y, _ in heights], float), np.array([v for _, v in heights], float)
    keep = np.ones(len(ys), bool)
    while True:
        if keep.sum() < 2 or np.ptp(ys[keep]) < 3 or np.ptp(vs[keep]) == 0:
            return None
        slope, intercept = np.polyfit(ys[keep], vs[keep], 1)
        off = np.where(keep, np.abs(slope * ys + intercept - vs), -1.0)
        if off.max() <= max(1.0, 0.1 * np.ptp(vs[keep])):
            break
        if keep.sum() - 1 < max(2, 2 * len(ys) / 3):
            return None
        keep[int(np.argmax(off))] = False
    if slope >= 0:
        return None
    return Axis(float(slope), float(intercept), False, axis.percent, axis.step, axis.ticks)

"""Dot plots (round 62): Pew's rows of round dots, one per series, on a thin line, each value printed beside its dot.

No value axis: the values are the numbers printed next to the dots. The series are the colour clusters whose round
dots stand in most rows, named by a legend (a small swatch before a word) or by a word printed in the dot's colour
above the first row; the rows are named by the words left of the dots."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from .colours import _colour_clusters, _legend_names, coloured_ink
from .text import TextBox, _reading_order, parse_value


def _round_dots(masks: list[np.ndarray], side: int) -> list[tuple[float, float, float, int]]:
    """(x, y, diameter, cluster) of every filled round blob: as wide as high (within a quarter), 5 px to a twelfth of
    the picture's shorter side across, filling 0.6-0.92 of its box (a disc fills 0.785; a swatch square or a bar
    fills it all, a digit's strokes far less)."""
    import cv2

    dots = []
    for index, mask in enumerate(masks):
        count, _, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for (x, y, w, h, area), (cx, cy) in zip(stats[1:], centroids[1:]):
            d = max(w, h)
            if 5 <= d <= side / 12 and 0.75 <= w / h <= 1.33 and 0.6 <= area / (w * h) <= 0.92:
                dots.append((float(cx), float(cy), float(d), index))
    return dots


def _rows_of_dots(dots: list[tuple[float, float, float, int]]) -> tuple[list[list[tuple]], list[int]] | None:
    """The rows (dots at one height, left to right) and the series (clusters with a dot in at least half the rows,
    each at most once a row), or None where the dots do not make two or more rows of two or more series' dots of
    one size."""
    if len(dots) < 4:
        return None
    size = float(np.median([d for _, _, d, _ in dots]))
    dots = [dot for dot in dots if 0.7 * size <= dot[2] <= 1.4 * size]
    rows: list[list[tuple]] = []
    for dot in sorted(dots, key=lambda t: t[1]):
        if rows and abs(dot[1] - rows[-1][0][1]) <= 0.5 * size:
            rows[-1].append(dot)
        else:
            rows.append([dot])
    rows = [sorted(row) for row in rows if len(row) >= 2 and len({dot[3] for dot in row}) == len(row)]
    if len(rows) < 2:
        return None
    counts = np.bincount([dot[3] for row in rows for dot in row])
    series = [c for c in range(len(counts)) if counts[c] >= max(2, len(rows) / 2)]
    if len(series) < 2:
        return None
    rows = [[dot for dot in row if dot[3] in series] for row in rows]  # two dots of one colour: no row of a dot plot
    rows = [row for row in rows if len(row) >= 2]
    return (rows, series) if len(rows) >= 2 else None


_LINE = "-—–·.:"  # the dots' grey line where OCR reads it beside a number: a dash, a dot


def _label_and_number(box: TextBox, left: float) -> list[TextBox]:
    """A row's name and the first dot's number read as one text (`Netherlands —12%`: the dot's line ran between them
    as a dash; round 227: or with no space at all, `Use social media8`) where the box reaches over the dots' left edge:
    cut in two, each its share of the width."""
    parts = box.text.split()
    glued = re.fullmatch(r"(.*[A-Za-z)])(\d+(?:\.\d+)?%?)", parts[-1]) if parts else None
    if glued and len(glued[1]) >= 2 and box.x0 < left < box.x1:  # (round 227) `media8`: no space between them
        parts = parts[:-1] + [glued[1], glued[2]]
        box = TextBox(" ".join(parts), box.x0, box.y0, box.x1, box.y1)
    if len(parts) < 2 or not box.x0 < left < box.x1:
        return [box]
    last = parts[-1].lstrip(_LINE)
    if parse_value(last) is None or parse_value(" ".join(parts[:-1])) is not None:
        return [box]
    cut = box.x0 + (box.x1 - box.x0) * len(" ".join(parts[:-1])) / len(box.text)
    number_x0 = box.x1 - (box.x1 - box.x0) * len(last) / len(box.text)
    label = " ".join(parts[:-1]).rstrip(" " + _LINE)
    return [TextBox(label, box.x0, box.y0, cut, box.y1), TextBox(last, number_x0, box.y0, box.x1, box.y1)]


def _paler_lead(rgb: np.ndarray, box: TextBox) -> bool:
    """The mark read as a leading `-` is much paler than the digits after it (the dots' grey line, not a minus sign
    printed in the number's ink): the darkest pixel of the box's first character's share at its middle height is
    60 or more lighter than the darkest of the rest."""
    text = box.text.strip()
    if not text.startswith("-") or len(text) < 2:
        return False
    y0, y1 = max(0, int(box.cy) - 2), int(box.cy) + 3
    x0, x1 = max(0, int(box.x0)), int(box.x1) + 1
    cut = x0 + max(1, (x1 - x0) // len(text))
    light = rgb.astype(np.float32).mean(axis=2)
    lead, rest = light[y0:y1, x0:cut], light[max(0, int(box.y0)):int(box.y1) + 1, cut:x1]
    return lead.size > 0 and rest.size > 0 and float(lead.min()) >= float(rest.min()) + 60


def _without_line(box: TextBox, line_left: bool = False) -> TextBox:
    """`—13`, `88—`, `·8`, `-8-`: a number with the dots' line read at its ends (an em dash or a middle dot; a hyphen
    only where the line is read after it too or it is paler than the digits, since a leading hyphen alone is a minus
    sign) is the number."""
    text = box.text.strip()
    bare = text.rstrip(_LINE.replace(".", ""))
    bare = bare.lstrip("—·–" + ("-" if bare != text or line_left else ""))
    if bare != text and parse_value(bare) is not None:
        return TextBox(bare, box.x0, box.y0, box.x1, box.y1)
    return box


def _dot_rows(rgb: np.ndarray, clusters, lettered: list[TextBox]):
    """`_rows_of_dots` over the round dots of `clusters` that are no letters' bowls ('o', 'e'); None where there are
    fewer than two colours or no rows of dots."""
    masks, centres, _ = clusters
    if len(centres) < 2:
        return None
    dots = [(x, y, d, c) for x, y, d, c in _round_dots(masks, min(rgb.shape[:2]))
            if not any(b.x0 + d / 2 <= x <= b.x1 - d / 2 and b.y0 <= y <= b.y1 for b in lettered)]
    return _rows_of_dots(dots)


def read_dot_plot(rgb: np.ndarray, boxes: list[TextBox], clusters, reread: Callable[[np.ndarray], str] | None = None):
    """(header, series, rows, top) of a dot plot, or None where the picture holds none: each row's name (the words
    left of its dots) and one value per series (the number printed nearest its dot, each number once); `top` is the
    pixel row above the plot and its series' names."""
    from scipy.optimize import linear_sum_assignment

    lettered = [b for b in boxes if any(ch.isalpha() for ch in b.text)]
    found = _dot_rows(rgb, clusters, lettered)
    if found is None:  # (round 73) small dots in a large picture: a colour of few pixels is no cluster of the first pass
        clusters = _colour_clusters(rgb, [], 0, thin_lines=True)
        found = _dot_rows(rgb, clusters, lettered)
    if found is None:
        return None
    masks, centres, background = clusters
    rows, series = found
    size = float(np.median([dot[2] for row in rows for dot in row]))
    left = min(dot[0] - dot[2] for row in rows for dot in row)
    boxes = [part for b in boxes for part in _label_and_number(b, left)]
    boxes = [_without_line(b, _paler_lead(rgb, b)) for b in boxes]
    # a middle dot's number stands over it; higher up, over the first row, the series' names (`2019`, `Men`)
    numbers = [b for b in boxes if parse_value(b.text) is not None and b.cy > rows[0][0][1] - 1.6 * size]
    words = [b for b in boxes if parse_value(b.text) is None]
    heads = [b for b in boxes if b.cy <= rows[0][0][1] - 1.6 * size]
    table, printed = [], []
    for row in rows:
        cy = float(np.mean([dot[1] for dot in row]))
        label = [b for b in words if b.cx < left and abs(b.cy - cy) < max(b.h, size)]
        near = [b for b in numbers if abs(b.cy - cy) < 1.5 * size + b.h and b.x1 > left - size]
        if not label:
            return None
        if reread is not None:  # (round 225) a dot whose number the detector missed (a lone `6`): read beside it
            near = near + _numbers_read_again(rgb, row, near, label, size, reread)
        if not near:
            return None
        cost = np.array([[max(b.x0 - x, x - b.x1, 0.0) + max(b.y0 - y, y - b.y1, 0.0) for b in near]
                         for x, y, _, _ in row])
        dots, picks = linear_sum_assignment(cost)
        if len(dots) < len(row) or cost[dots, picks].max() > 3 * size:
            return None  # a dot with no number beside it
        values = {row[i][3]: near[j] for i, j in zip(dots, picks)}
        printed.extend(values.values())
        table.append((" ".join(b.text for b in _reading_order(label)), cy, values))
    name_of = _series_names(rgb, heads, series, centres, background, rows, size, reread)
    some_percent = {b.text.strip().endswith("%") for b in printed} == {True, False}  # Pew's first row only

    def text(box: TextBox) -> str:
        value = parse_value(box.text)[1]
        return value.rstrip("%") if some_percent else value

    names = [name_of.get(c, f"Series {n + 1}") for n, c in enumerate(series)]
    out_rows = [(label, [text(values[c]) if c in values else "" for c in series]) for label, _, values in table]
    top = min([rows[0][0][1] - size] + [b.y0 for b in heads if b.text in name_of.values()])
    return "Category", names, out_rows, top


def _numbers_read_again(rgb: np.ndarray, row: list[tuple], near: list[TextBox], label: list[TextBox], size: float,
                        reread: Callable[[np.ndarray], str]) -> list[TextBox]:
    """(round 225) The numbers the detector missed beside a row's dots (a lone digit, `6`, is often not detected at
    all): for each dot with no number within three dots' width, the strips just left and right of it (three dots
    wide, the dot's height and a half either way, up to the next dot or the row's name) read again enlarged
    (`reread`); a strip that reads as one number, on a side where the other reads none, gives that number a box over
    the strip."""
    h, w = rgb.shape[:2]
    found: list[TextBox] = []
    xs = sorted(x for x, _, _, _ in row)
    for x, y, d, _ in row:
        if any(max(b.x0 - x, x - b.x1, 0.0) + max(b.y0 - y, y - b.y1, 0.0) <= 3 * size for b in near):
            continue
        r = d / 2
        before = max([v + r for v in xs if v < x] + [b.x1 + 1 for b in label if b.x1 < x] + [x - r - 3 * size])
        after = min([v - r for v in xs if v > x] + [x + r + 3 * size])
        y0, y1 = max(0, int(y - 1.5 * d)), min(h, int(np.ceil(y + 1.5 * d)))
        sides = []
        for x0, x1 in ((max(0, int(before)), max(0, int(x - r - 1))), (min(w, int(x + r + 2)), min(w, int(after)))):
            text = reread(np.ascontiguousarray(rgb[y0:y1, x0:x1])).strip() if x1 - x0 >= 4 else ""
            sides.append(TextBox(text.lstrip(_LINE), float(x0), float(y0), float(x1), float(y1))
                         if text and parse_value(text.lstrip(_LINE)) is not None else None)
        if sum(side is not None for side in sides) == 1:
            found.append(next(side for side in sides if side is not None))
    return found


def _series_names(rgb, words, series, centres, background, rows, size, reread) -> dict[int, str]:
    """cluster -> name: a legend's word (a small swatch of that colour before it), else a word above the first row
    printed in that colour (Pew names each dot series by a bold word in its colour over its first dot): words within six
    dots' height over the first row, else (round 215) the nearest line of words over it, wherever it stands."""
    names = {c: name for c, (_, name) in _legend_names((rgb, words), centres, background, reread).items() if c in series}
    if len(names) == len(series):
        return names
    import cv2

    first = rows[0][0][1]
    palette = np.stack([np.asarray(c, np.float32) for c in centres])
    above = [b for b in words if first - 6 * size < b.cy]
    if not above and words:  # (round 215) names set higher up: the nearest line of words over the first row
        lowest = max(words, key=lambda b: b.cy)
        above = [b for b in words if abs(b.cy - lowest.cy) < 0.5 * lowest.h]
    above.sort(key=lambda b: -b.cy)
    for box in above:  # a swatch the word's box took in (OCR's box reaching over the square before the word)
        h = box.y1 - box.y0
        patch = rgb[max(0, int(box.y0)):int(box.y1) + 1, max(0, int(box.x0 - h)):int(box.x0 + h) + 1].astype(np.float32)
        for c in series:
            if c in names or box.text in names.values():
                continue
            filled = (np.linalg.norm(patch - palette[c], axis=2) < 45).astype(np.uint8)
            if cv2.erode(filled, np.ones((3, 3), np.uint8)).sum() >= 9:  # a filled square, no thin glyph strokes
                names[c] = box.text.lstrip("■□▪● ").strip()
    for box in above:
        if box.text in names.values():
            continue
        ink = coloured_ink(rgb, box, background)
        if ink is None:
            continue  # black or grey words: no series' colour
        distances = np.linalg.norm(palette - ink, axis=1)
        nearest = int(distances.argmin())
        if nearest in series and nearest not in names and distances[nearest] < 80:
            names[nearest] = box.text
    return names

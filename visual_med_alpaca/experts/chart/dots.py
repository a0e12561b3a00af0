"""(round 61) Dot plots (Pew's dumbbells): `read_dot_plot`, rows of two round dots of two colours (often joined by a
grey bar), each dot's value printed beside or above it, a row label left of the dots, the two series named above the
top row; no value axis."""

from __future__ import annotations

import re

import numpy as np

from .axes import find_value_axis
from .colours import _legend_names
from .table import _page_title
from .text import _CHROME, TextBox, _reading_order, parse_value


def _round_dots(masks: list[np.ndarray]) -> list[tuple[int, float, float, float]]:
    """(cluster, x, y, diameter) of every filled round blob 6-40 px across: its box square within a quarter, its ink
    0.5-0.9 of the box (a disc fills 0.785, less where a bar or antialiasing eats its rim; a square swatch fills all of it, a digit's strokes much less)."""
    import cv2

    dots = []
    for c, mask in enumerate(masks):
        _, _, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for (x, y, bw, bh, area), (mx, my) in zip(stats[1:], centroids[1:]):
            if 6 <= bw <= 40 and 6 <= bh <= 40 and abs(bw - bh) <= 0.25 * max(bw, bh) and 0.5 <= area / (bw * bh) <= 0.9:
                dots.append((c, float(mx), float(my), (bw + bh) / 2))
    return dots


def _split_names(text: str) -> list[str]:
    """Two series' names OCR read as one box ('AfterBefore', 'Men Women'): cut at a space or a lower-to-upper case
    change; the words as they are when neither gives two parts."""
    parts = text.split()
    if len(parts) == 2:
        return parts
    parts = re.split(r"(?<=[a-z])(?=[A-Z])", text)
    return parts if len(parts) == 2 else [text]


def read_dot_plot(rgb: np.ndarray, boxes: list[TextBox], clusters):
    """A dot plot with no value axis: three or more rows each holding one round dot of each of two colours at the same
    height (at least three quarters of those colours' dots stand in such rows) and a label left of its dots. Each
    dot's value is the printed number nearest it in its row's band; the series' names are the words above the top
    row's dots (else the legend's), else `Series N`. Returns (kind, header, series, rows, title) or None."""
    masks, centres, background = clusters
    if len(masks) < 2 or find_value_axis(boxes, vertical=True) is not None \
            or find_value_axis(boxes, vertical=False) is not None:
        return None
    dots = _round_dots(masks)
    counts = {c: sum(d[0] == c for d in dots) for c in {d[0] for d in dots}}
    pair = sorted(counts, key=lambda c: -counts[c])[:2]
    if len(pair) < 2 or counts[pair[1]] < 3:
        return None
    mine = sorted((d for d in dots if d[0] in pair), key=lambda d: d[2])
    size = float(np.median([d[3] for d in mine]))
    rows: list[list[tuple]] = []
    for dot in mine:
        if rows and abs(dot[2] - rows[-1][0][2]) <= 0.25 * size:
            rows[-1].append(dot)
        else:
            rows.append([dot])
    whole = [r for r in rows if len(r) == 2 and {d[0] for d in r} == set(pair)]
    if len(whole) < 3 or 2 * len(whole) < 0.75 * len(mine):
        return None
    ys = [float(np.mean([d[2] for d in r])) for r in whole]
    gap = float(np.median(np.diff(ys)))
    numbers = [b for b in boxes if parse_value(b.text) is not None and not b.turned]
    words = [b for b in boxes if parse_value(b.text) is None and b.number is None and not b.turned and not _CHROME.search(b.text)]
    from scipy.optimize import linear_sum_assignment

    table, labelled = [], 0
    for row, y in zip(whole, ys):
        left = min(d[1] for d in row) - size
        label = [b for b in words if abs(b.cy - y) < 0.45 * gap and b.x1 < left]
        labelled += bool(label)
        band = [b for b in numbers if y - 0.6 * gap < b.cy < y + 0.4 * gap]
        row = sorted(row, key=lambda d: pair.index(d[0]))
        cells = ["", ""]
        if band:
            cost = np.array([[np.hypot(b.cx - d[1], b.cy - d[2]) for b in band] for d in row])
            for i, j in zip(*linear_sum_assignment(cost)):
                if cost[i, j] <= max(3 * size, 0.5 * gap) + (band[j].x1 - band[j].x0) / 2:
                    cells[i] = parse_value(band[j].text)[1]
        table.append((" ".join(b.text for b in _reading_order(label)), cells))
    if labelled < 0.75 * len(whole) or sum(bool(c) for _, cells in table for c in cells) < len(whole):
        return None
    top_row = sorted(whole[0], key=lambda d: pair.index(d[0]))
    above = [b for b in words if ys[0] - 1.5 * gap < b.cy < ys[0] - 0.3 * size and b.x1 > min(d[1] for d in top_row) - 3 * size]
    names = ["", ""]
    for box in above:
        covered = [i for i, d in enumerate(top_row) if box.x0 - size <= d[1] <= box.x1 + size]
        if len(covered) == 2:
            parts = _split_names(box.text)
            if len(parts) == 2:
                order = sorted(range(2), key=lambda i: top_row[i][1])
                for part, i in zip(parts, order):
                    names[i] = names[i] or part
        elif len(covered) == 1:
            names[covered[0]] = names[covered[0]] or box.text
    if not all(names):
        legend = _legend_names((rgb, boxes), centres, background)
        names = [name or legend.get(c, (0, ""))[1] for name, c in zip(names, pair)]
    series = [name or f"Series {i + 1}" for i, name in enumerate(names)]
    top = min([ys[0] - 0.3 * size] + [b.y0 for b in above])
    return "dot", "Category", series, table, _page_title(boxes, top)

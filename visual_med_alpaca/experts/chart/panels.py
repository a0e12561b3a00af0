"""(round 138) Small multiples: two or more plot panels in one picture (Pew: line panels side by side or one above
the other, each with its own heading, category labels, lines and printed values, under one title).

A panel split is found by geometry and repetition only, never by wording: the category axis is printed once per
panel, so a row of category labels whose words repeat (the same sequence twice, left half and right half, split at
a gutter that no plot ink crosses) marks side-by-side panels, and two rows of the same labels at the same x
positions, one above the other, mark stacked panels. `find_panels` gives the panels' crop rectangles (picture
coordinates, left to right or top to bottom); `panel_boxes` the text boxes of one panel shifted to its crop and
the crop with every other box's text painted out; `join_panels` the panel tables joined into one DePlot table.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from ...chart_table import Table, is_note, parse_table
from .colours import border_colour
from .text import TextBox

BLANK = 0.03
MIN_LABELS = 3  # category labels per panel: a repeated pair is too common among printed values


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _rows(boxes: list[TextBox], least: int) -> list[list[TextBox]]:
    """Lines of `least` or more short upright text boxes (middles within half a box height of the line's first),
    left to right."""
    short = sorted((b for b in boxes if not b.turned and _key(b.text) and len(b.text) <= 12), key=lambda b: b.cy)
    rows: list[list[TextBox]] = []
    for box in short:
        for row in rows:
            if abs(row[0].cy - box.cy) < 0.5 * min(row[0].h, box.h):
                row.append(box)
                break
        else:
            rows.append([box])
    # a row of category labels is printed on one line (a few pixels apart at most); printed values along a line are not
    return [sorted(row, key=lambda b: b.x0) for row in rows if len(row) >= least
            and max(b.cy for b in row) - min(b.cy for b in row) <= 0.25 * float(np.median([b.h for b in row]))]


def _ink(rgb: np.ndarray) -> np.ndarray:
    return np.abs(rgb.astype(int) - border_colour(rgb)).max(axis=2) > 60


def _crossed(band: np.ndarray, grown: np.ndarray, x: int) -> bool:
    """Whether a mark crosses column x of the plot's band: a row inked from 3 pixels left of x to 3 right of it (a row
    up or down allowed: a sloped line) that is no straight rule (a frame's edge, a grid or leader line inked along the
    one row for 10 pixels each side)."""
    rows = np.nonzero(grown[:, x - 3: x + 4].all(axis=1))[0]
    if not len(rows):
        return False
    lo, hi = max(0, x - 10), min(band.shape[1], x + 11)
    straight = band[:, lo:hi].all(axis=1) | (band[:, lo:hi].any(axis=1) & grown[:, lo:hi].all(axis=1))  # anti-aliased
    ruled = straight.copy()  # the rows next to a rule: the crossing test looks a row up and down
    ruled[1:] |= straight[:-1]
    ruled[:-1] |= straight[1:]
    return bool((~ruled[rows]).any())


def _gutter(ink: np.ndarray, boxes: list[TextBox], x0: float, x1: float, top: float, bottom: float) -> int | None:
    """A column between x0 and x1 that no text box crosses between `top` and `bottom` and that no mark crosses there
    (no row inked from 3 pixels left of it to 3 right of it, a row up or down allowed: a line passing through), and
    that is blank there (at most `BLANK` of it inked: the loose ends of grid lines) or ruled (a frame's edge: at least
    90% inked); the one with the least ink (the middle of such a run), else the most inked ruled one. None where there
    is no such column."""
    y0, y1 = max(0, int(top)), min(ink.shape[0], int(bottom))
    if y1 - y0 < 10:
        return None
    band = ink[y0:y1]
    grown = band.copy()
    grown[1:] |= band[:-1]
    grown[:-1] |= band[1:]
    best = None
    for x in range(max(3, int(np.ceil(x0))), min(ink.shape[1] - 3, int(x1) + 1)):
        if any(b.x0 < x < b.x1 and b.y1 > top and b.y0 < bottom for b in boxes):
            continue
        share = float(band[:, x].mean())
        if share >= 0.9:
            score = 1.0 - share
        elif share <= BLANK and not _crossed(band, grown, x):
            score = share
        else:
            continue
        if best is None or score < best[0] - 1e-9:
            best = (score, [x])
        elif abs(score - best[0]) <= 1e-9:
            best[1].append(x)
    if best is None:
        return None
    return best[1][len(best[1]) // 2]


def _side_by_side(rgb: np.ndarray, boxes: list[TextBox], ink: np.ndarray) -> list[tuple[int, int, int, int]] | None:
    h, w = rgb.shape[:2]
    for row in sorted(_rows(boxes, 2 * MIN_LABELS), key=lambda r: -r[0].cy):  # the lowest row first: the category axis
        keys = [_key(b.text) for b in row]
        n = len(row)
        if n % 2 or keys[: n // 2] != keys[n // 2:] or len(set(keys[: n // 2])) < MIN_LABELS:
            continue
        left, right = row[n // 2 - 1], row[n // 2]
        pitch = float(np.median([b.cx - a.cx for a, b in zip(row[: n // 2 - 1], row[1: n // 2])])) if n > 4 else right.cx - left.cx
        bottom = min(b.y0 for b in row)
        # the plot's height above the labels: up to the lowest text box spanning the gap (a title, a shared legend)
        over = [b for b in boxes if b.y1 <= bottom and b.x0 < left.x1 and b.x1 > right.x0]
        top = max((b.y1 for b in over), default=0.0)
        if bottom - top < 0.15 * h:
            continue
        x = _gutter(ink, [b for b in boxes if b not in row], left.x1, right.x0, top, bottom)
        if x is None or right.cx - left.cx < 0.5 * pitch:
            continue
        y = _under(boxes, max(b.y1 for b in row), h)
        return [(0, 0, x, y), (x + 1, 0, w, y)]
    return None


def _stacked(rgb: np.ndarray, boxes: list[TextBox]) -> list[tuple[int, int, int, int]] | None:
    h, w = rgb.shape[:2]
    rows = sorted(_rows(boxes, MIN_LABELS), key=lambda r: r[0].cy)
    for i, upper in enumerate(rows):
        for lower in rows[i + 1:]:
            keys = [_key(b.text) for b in upper]
            if keys != [_key(b.text) for b in lower] or len(set(keys)) < MIN_LABELS:
                continue
            if any(abs(a.cx - b.cx) > max(4.0, 0.5 * min(a.x1 - a.x0, b.x1 - b.x0)) for a, b in zip(upper, lower)):
                continue
            y_up, y_low = max(b.y1 for b in upper), min(b.y0 for b in lower)
            if y_low - y_up < 0.2 * h:
                continue
            # the split: halfway between the upper labels and the next text below them (the lower panel's heading)
            below = [b.y0 for b in boxes if b.y0 >= y_up]
            nxt = min(below, default=y_up)
            y = int(round((y_up + nxt) / 2)) if nxt > y_up else int(round(y_up)) + 1
            return [(0, 0, w, y), (0, y, w, _under(boxes, max(b.y1 for b in lower), h))]
    return None


def _under(boxes: list[TextBox], bottom: float, h: int) -> int:
    """Where a panel ends below its category labels (ending at `bottom`): halfway to the next text below (a note, a
    source line), else the picture's foot."""
    below = [b.y0 for b in boxes if b.y0 > bottom]
    return min(h, int(np.ceil((bottom + min(below)) / 2)) + 1) if below else h


def find_row_panels(rgb: np.ndarray, boxes: list[TextBox]) -> list[tuple[int, int, int, int]] | None:
    """(round 142) Bar panels side by side, each with its own column of row labels: 3+ distinct labels (not numbers)
    each printed exactly twice at one height (middles within half a box height), the right copy to the right of the
    left one by more than a fifth of the picture, all right copies at one shift (right edges, or left edges, within
    8 px of one another: the label column printed once per panel), the left copies at 3+ heights (a column, not a
    row of wrapped axis labels), and a gutter column (`_gutter`) between the left
    panel's text and the right label column, over the labels' rows. The crops (left, right), or None."""
    h, w = rgb.shape[:2]
    short = [b for b in boxes if not b.turned and _key(b.text) and not _key(b.text).isdigit()]
    copies: dict[str, list[TextBox]] = {}
    for b in short:
        copies.setdefault(_key(b.text), []).append(b)
    pairs = []
    for key, found in copies.items():
        if len(found) != 2:
            continue
        a, b = sorted(found, key=lambda t: t.x0)
        if abs(a.cy - b.cy) < 0.5 * min(a.h, b.h) and b.x0 > a.x1 + 0.2 * w:
            pairs.append((a, b))
    if len({_key(a.text) for a, _ in pairs}) < MIN_LABELS:
        return None
    for edge in (lambda t: t.x1, lambda t: t.x0):
        shifts = sorted(edge(b) - edge(a) for a, b in pairs)
        shift = shifts[len(shifts) // 2]
        kept = [(a, b) for a, b in pairs if abs(edge(b) - edge(a) - shift) <= 8]
        if len(kept) >= MIN_LABELS:
            break
    else:
        return None
    lefts, rights = [a for a, _ in kept], [b for _, b in kept]
    rows = sorted(a.cy for a in lefts)  # a column of row labels: 3+ rows, one above the other (not a wrapped axis row)
    if sum(q - p >= 0.5 * float(np.median([a.h for a in lefts])) for p, q in zip(rows, rows[1:])) + 1 < MIN_LABELS:
        return None
    top, bottom = min(b.y0 for b in lefts + rights), max(b.y1 for b in lefts + rights)
    inner = min(b.x0 for b in rights)
    # the left panel's text on the labels' rows (its bars' values) ends where the gutter may begin
    band = [b for b in boxes if b.y1 > top and b.y0 < bottom and b.x1 < inner and b.x0 > min(a.x1 for a in lefts)]
    start = max((b.x1 for b in band), default=max(a.x1 for a in lefts))
    x = _gutter(_ink(rgb), boxes, start, inner, top, bottom)
    if x is None:
        return None
    y = _under(boxes, bottom, h)
    return [(0, 0, x, y), (x + 1, 0, w, y)]


def find_panels(rgb: np.ndarray, boxes: list[TextBox]) -> list[tuple[int, int, int, int]] | None:
    """The picture's plot panels as crop rectangles (x0, y0, x1, y1), or None for a single plot."""
    if len(boxes) < 2 * MIN_LABELS:
        return None
    panels = _side_by_side(rgb, boxes, _ink(rgb))
    return panels if panels is not None else _stacked(rgb, boxes)


def panel_boxes(rgb: np.ndarray, boxes: list[TextBox], crop: tuple[int, int, int, int],
                out: list[TextBox] = ()) -> tuple[np.ndarray, list[TextBox]]:
    """(the panel's picture, its text boxes in the panel's coordinates): the boxes lying in the crop (their middle
    inside it, at most 3 px (OCR's padding) and a quarter of their width outside); every other box's text that reaches into the crop
    (a title or legend shared by the panels, crossing the crop's edge), and each box of `out` (round 142: a shared
    title's wrapped line lying in one panel), is painted out with the background."""
    x0, y0, x1, y1 = crop
    picture = rgb[y0:y1, x0:x1].copy()
    background = border_colour(rgb).astype(picture.dtype)
    own = []
    for b in boxes:
        width = max(1.0, b.x1 - b.x0)
        outside = max(0.0, x0 - b.x0) + max(0.0, b.x1 - x1)
        if b not in out and x0 <= b.cx < x1 and y0 <= b.cy < y1 and outside <= min(3.0, 0.25 * width):
            own.append(replace(b, x0=max(0.0, b.x0 - x0), y0=max(0.0, b.y0 - y0), x1=min(float(x1 - x0), b.x1 - x0),
                               y1=min(float(y1 - y0), b.y1 - y0), src=None))
        elif b.x1 > x0 and b.x0 < x1 and b.y1 > y0 and b.y0 < y1:
            a0, a1 = max(0, int(b.x0) - x0), min(x1 - x0, int(np.ceil(b.x1)) - x0)
            c0, c1 = max(0, int(b.y0) - y0), min(y1 - y0, int(np.ceil(b.y1)) - y0)
            picture[c0:c1, a0:a1] = background
    return picture, own


def join_panels(title: str, tables: list[str]) -> str:
    """One DePlot table of the panels' tables: one row per category (in the panels' order), the columns of every
    panel in turn. A column name met in more than one panel is prefixed with its panel's heading (the panel table's
    title) so the columns stay apart. `title` is the picture's title, above the panels."""
    parsed = [parse_table(t) for t in tables]
    names = [[h for h in p.headers[1:]] for p in parsed]
    counts: dict[str, int] = {}
    for cols in names:
        for name in {_key(c) for c in cols}:
            counts[name] = counts.get(name, 0) + 1
    headings = []
    for k, p in enumerate(parsed):
        heading = (p.title or "").strip()
        if title and heading.startswith(title):
            heading = heading[len(title):].strip()
        headings.append(heading or f"Panel {k + 1}")
    header = parsed[0].headers[0] if parsed[0].headers else "Category"
    columns: list[str] = []
    for heading, cols in zip(headings, names):
        columns += [f"{heading}: {c}" if counts[_key(c)] > 1 else c for c in cols]
    order: list[str] = []
    cells: dict[str, list[str]] = {}
    shown: dict[str, str] = {}  # a category's name as its first panel prints it
    notes: list[list[str]] = []  # a partly read panel's closing note: the first one closes the joined table
    start = 0
    for p, cols in zip(parsed, names):
        for row in p.rows:
            if is_note(row):
                notes = notes or [row]
                continue
            if not row or not row[0].strip():
                continue
            # (round 142) a category is met again by its letters and digits: OCR may split a word (`U.S. ad ults`)
            key = _key(row[0]) or row[0]
            if key not in cells:  # a category the panels before lacked: before the next one they hold
                later = [_key(r[0]) or r[0] for r in p.rows[p.rows.index(row) + 1:] if r and (_key(r[0]) or r[0]) in cells]
                order.insert(order.index(later[0]) if later else len(order), key)
                cells[key] = [""] * len(columns)
                shown[key] = row[0]
            for j, value in enumerate(row[1: 1 + len(cols)]):
                if value.strip() and not cells[key][start + j]:
                    cells[key][start + j] = value
        start += len(cols)
    return Table(title, [header] + columns, [[shown[key]] + cells[key] for key in order] + notes).linearize()

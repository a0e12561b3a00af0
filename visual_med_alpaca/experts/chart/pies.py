"""Pie charts: `read_pie_chart` (a slice's share from its angle or its printed percentage, its name from the
legend, from a `Name 45%` label or from the words beside it) and its title."""

from __future__ import annotations

import re
from typing import Callable

import numpy as np

from .colours import _colour_clusters, _legend_names, reading_key
from .table import _page_title
from .text import _CHROME, TextBox, parse_value


# 'Name 45%', 'Name: 45', or 'Name45%' (OCR may drop the space before a percentage)
_LABELLED = re.compile(r"^(?P<name>.*?[A-Za-z].*?)(?:[:\s]+|(?<=[A-Za-z*)])(?=[\d.,]+\s*%$))(?P<value>[-−–]?[$€£]?\d[\d, ]*(?:\.\d+)?\s*%?)$")


_NAME_SHARE = re.compile(r"^(?P<name>.+?)\s+(?P<value>[-−–]?\d[\d,]*(?:\.\d+)?\s*%)$")


def read_pie_chart(rgb: np.ndarray, boxes: list[TextBox], clusters, reread: Callable[[np.ndarray], str] | None = None):
    """A disc of coloured slices: each slice's share of the turn (its angle, read on a ring inside the disc), or
    the number printed on or beside it; its name from the legend, from 'Name 45%' labels, or from the words
    nearest outside it. Returns (kind, header, series, rows, title); None when there is no disc."""
    import cv2

    masks, centres, background = clusters
    if not masks:
        return None
    h, w = rgb.shape[:2]
    union = np.zeros((h, w), np.uint8)
    for mask in masks:
        union |= mask
    union = cv2.morphologyEx(union, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(union, connectivity=8)
    if count <= 1:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, bw, bh, area = stats[best]
    # (round 195) a line of words drawn touching the disc (a title right over a black-edged disc, in the edges' colour)
    # joins the disc's blob and moves its top: the words' boxes at the blob's top or bottom row are taken out of it
    def under(b: TextBox) -> tuple[slice, slice]:  # the pixels under a box
        return slice(max(0, int(b.y0)), int(b.y1) + 1), slice(max(0, int(b.x0)), int(b.x1) + 1)

    edge = [b for b in boxes if re.search(r"[A-Za-z]{2}", b.text) and not b.turned and x <= b.cx <= x + bw
            and any(b.y0 - 1 <= row <= b.y1 + 1 for row in (y, y + bh - 1)) and (labels[under(b)] == best).any()]
    if edge:
        for b in edge:
            union[under(b)] = 0
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(union, connectivity=8)
        if count <= 1:
            return None
        best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        x, y, bw, bh, area = stats[best]
    if min(bw, bh) < 0.25 * min(h, w):
        return None
    square = 0.85 <= bw / bh <= 1.18  # (round 121) a disc's box; an exploded pie's largest part may be a half disc's
    radius = (bw + bh) / 4
    cx, cy = x + bw / 2, y + bh / 2
    yy, xx = np.mgrid[0:h, 0:w]
    disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= (0.97 * radius) ** 2
    marks = labels == best  # the disc's own connected marks
    inside = marks & disc
    hole = 0.0  # a donut's hole, as a share of the radius (round 61)
    if square and area > 1.1 * np.pi * radius ** 2:
        return None  # not a disc (a blob, a map)
    moves: list[tuple[np.ndarray, int, int]] = []
    if not square or inside.sum() < 0.8 * disc.sum():
        hole = _donut_hole(marks, cx, cy, radius) if square else None
        if hole is None:  # (round 121) a slice pulled out of the disc (an exploded pie): the disc put back together
            pulled = _pulled_out_disc(labels, stats, best, boxes)
            if pulled is None:
                return None  # neither a filled disc nor a ring
            cx, cy, radius, moves = pulled
            y = min([y] + [int(np.nonzero(part)[0].min()) for part, _, _ in moves])  # the drawing's top, for the title
    if len(centres) >= 10:  # a pie may have more slices than the usual 10 colours (Statista: 11 airlines)
        masks, centres, background = _colour_clusters(rgb, [], 0, most=16)
    if moves:  # each pulled-out slice's pixels moved back to the disc, for the ring going round it
        masks = [_moved_back(mask, moves) for mask in masks]
        marks = _moved_back(marks.astype(np.uint8), moves) > 0
    # each slice's share is its angle: the colours met going round a ring at 0.75-0.93 of the radius (clear of
    # the percentages printed at 0.6 and of the wedges' edges), by majority over the radii
    turn = np.linspace(-np.pi, np.pi, 720, endpoint=False)
    owners = np.full((4, len(turn)), -1)
    radii = (0.75, 0.82, 0.88, 0.93) if not hole else tuple(hole + (0.95 - hole) * f for f in (0.25, 0.45, 0.65, 0.85))
    ring = []  # the picture's colours going round at each radius (round 129's pale slices)
    for k, r in enumerate(radii):
        px = np.clip(np.round(cx + r * radius * np.cos(turn)).astype(int), 0, w - 1)
        py = np.clip(np.round(cy + r * radius * np.sin(turn)).astype(int), 0, h - 1)
        ring.append(rgb[py, px].astype(float))
        for i, mask in enumerate(masks):
            owners[k][mask[py, px] > 0] = i
    votes = np.stack([(owners == i).sum(axis=0) for i in range(len(masks))])
    owner = np.where(votes.max(axis=0) > 0, votes.argmax(axis=0), -1)
    owner, pale = _pale_slices(np.stack(ring), owner, centres, background, len(masks))
    owner, parent = _one_slice_per_arc(owner, len(masks) + pale)  # (round 73) one colour on two separate arcs: two slices
    counts = np.array([(owner == i).sum() for i in range(len(parent))], float)
    total = counts.sum()
    if total == 0:
        return None
    slices = [i for i in range(len(parent)) if counts[i] / total >= 0.008]
    if len(slices) < 2:
        return None
    from scipy.optimize import linear_sum_assignment

    def clean(name: str) -> str:  # a `Name: 12%` label OCR cut after its colon leaves the colon on the name
        return name.strip().lstrip("-•·*–— ").rstrip(": ").strip()

    def slice_label(b: TextBox) -> bool:  # 'Canada 6.97%' printed above the disc is a label, not the title
        return clean(b.text).endswith("%") or (_LABELLED.match(clean(b.text)) is not None and np.hypot(b.cx - cx, b.cy - cy) < 1.5 * radius)

    title = _page_title([b for b in boxes if not slice_label(b)], y)
    # (round 125) the heading's lines (the title's, a subtitle, a question under it) name no slice
    heading = set(map(id, _heading_block([b for b in boxes if not slice_label(b)], cy - radius, title)))
    words = [b for b in boxes if not _CHROME.search(b.text) and not (title and b.y1 < y and b.text in title)
             and id(b) not in heading]
    outside = boxes  # a donut's centre prints its total ('Total 100%'): no slice's value, name or legend entry
    if hole:
        outside = [b for b in boxes if np.hypot(b.cx - cx, b.cy - cy) > hole * radius]
        words = [b for b in words if any(b is o for o in outside)]
    legend = _legend_names((rgb, outside), centres, background)
    legend = {i: entry for i, entry in legend.items() if not entry[1].strip().endswith("%")}  # a slice beside 'Fri 1.3%' is no swatch
    legend = {i: entry for i, entry in legend.items() if not _swatch_is_disc(entry[0], outside, marks)}
    swatches = legend  # the legend's words, whichever slice they name
    split = {c for c in parent if parent.count(c) > 1}  # a swatch of a colour met on two arcs cannot say which arc it names
    legend = {i: legend[c] for i, c in enumerate(parent) if c in legend and c not in split}
    mids, spans = {}, {}
    for i in slices:
        a = turn[owner == i]
        mids[i] = float(np.arctan2(np.sin(a).mean(), np.cos(a).mean()))
        spans[i] = counts[i] / total * 2 * np.pi
    if swatches and any(parent[i] in split for i in slices):  # (round 113) a colour on two arcs: the legend's order names them
        legend.update({i: entry for i, entry in _legend_in_turn((rgb, outside), centres, background, slices, parent, mids).items()
                       if parent[i] in split})

    def gap(a: float, b: float) -> float:
        return abs((a - b + np.pi) % (2 * np.pi) - np.pi)

    def assign(items: list[TextBox], limit: float, among: list[int] | None = None) -> dict[int, TextBox]:
        """slice -> box, by the angle of the box seen from the centre (one box per slice of `among`, default all)."""
        among = slices if among is None else among
        if not items or not among:
            return {}
        cost = np.array([[gap(np.arctan2(b.cy - cy, b.cx - cx), mids[i]) for b in items] for i in among])
        rows, cols = linear_sum_assignment(cost)
        return {among[r]: items[c] for r, c in zip(rows, cols) if cost[r, c] <= max(limit, spans[among[r]] / 2 + 0.15)}

    def labelled(text: str):  # 'Name 45%', and '2019 45%' (a year names the slice)
        return _LABELLED.match(text) or _NAME_SHARE.match(text.strip())

    numbers = [b for b in words if parse_value(b.text) is not None or labelled(b.text)]
    if any(b.text.strip().endswith("%") for b in numbers):  # printed shares: bare numbers are names (years)
        numbers = [b for b in numbers if b.text.strip().endswith("%")]
    elif numbers and all(b.number is not None and b.number == int(b.number) and 1800 <= b.number <= 2100 for b in numbers):
        numbers = []  # years only, no percentage printed: they name the slices, whose shares are measured
    plain = [b for b in words if b not in numbers and not b.turned and np.hypot(b.cx - cx, b.cy - cy) > 0.8 * radius
             and np.hypot(b.cx - cx, b.cy - cy) < 1.8 * radius and b.text not in {n for _, n in swatches.values()}]
    values, names = {}, {}
    top = float(y)
    stacks: dict[int, list[TextBox]] = {}  # (round 94) a slice's name printed in lines right above its bare value
    for i, box in assign(numbers, 0.5).items():
        parsed = parse_value(box.text)
        if parsed is None:
            match = labelled(box.text)
            parsed = parse_value(match["value"])
            names[i] = clean(match["name"])
        elif i not in legend:
            stack = _lines_stacked(box, words, numbers, up=True, down=False)
            if stack and all(b not in s for s in stacks.values() for b in stack):
                stacks[i], names[i] = stack, clean(" ".join(b.text for b in stack))
        if parsed is not None:
            values[i] = parsed[1]
    name_boxes, named_by = [b for stack in stacks.values() for b in stack], {}
    taken = set(map(id, name_boxes))
    top = min([top] + [b.y0 for b in name_boxes])
    plain = [b for b in plain if id(b) not in taken]
    for i, box in assign(plain, 0.5, [i for i in slices if i not in stacks] if stacks else None).items():
        if i not in names:
            names[i], named_by[i] = clean(box.text), box
        top = min(top, box.y0)
        name_boxes.append(box)
    taken = set(map(id, name_boxes))
    for i, box in list(named_by.items()):  # (round 94) a name printed over two or more lines beside the disc: all of them
        block = _lines_stacked(box, [b for b in words if id(b) not in taken], numbers, up=True, down=True)
        if len(block) > 1:
            names[i] = clean(" ".join(b.text for b in block))
            taken |= set(map(id, block))
            name_boxes += [b for b in block if b is not box]
            top = min([top] + [b.y0 for b in block])
    named = [i for i in slices if i in names]
    if reread is not None and not swatches and len(named) >= max(2, len(slices) / 2):
        # names printed beside the disc, one of them missed by the text detector: read again where it stands (beside
        # the slice's middle, just outside the disc, running away from it), unless other text was found there
        typical = float(np.median([b.h for b in words if b.number is None])) if any(b.number is None for b in words) else 16.0
        for i in slices:
            if i in names:
                continue
            px, py = cx + 1.12 * radius * np.cos(mids[i]), cy + 1.12 * radius * np.sin(mids[i])
            lean = np.cos(mids[i])
            x0 = px - typical if lean > 0.25 else (px - 7 * typical if lean < -0.25 else px - 3.5 * typical)
            x0, x1 = max(0.0, x0), min(float(w), x0 + 8 * typical)
            y0, y1 = int(max(0, py - 1.2 * typical)), int(min(h, py + 1.2 * typical))
            for b in boxes:  # the turned axis title left of the disc (pandas' y label) is no slice name: cut it off
                if b.turned and b.y0 < y1 and b.y1 > y0 and b.x1 < px:
                    x0 = max(x0, b.x1 + 2)
            x0, x1 = int(x0), int(x1)
            if x1 - x0 < 8 or y1 - y0 < 8 or any(x0 <= b.cx <= x1 and y0 <= b.cy <= y1 for b in boxes):
                continue
            text = clean(reread(np.ascontiguousarray(rgb[y0:y1, x0:x1])))
            match = labelled(text)
            if match:
                text = clean(match["name"])
            if re.search(r"[A-Za-z]{2}", text) and not _CHROME.search(text) and len(text) <= 40 and text not in names.values():
                names[i] = text
    # the title: the first line above the disc and above the names beside it ('Name 12%' labels are never the title)
    title = _page_title([b for b in boxes if not slice_label(b)], top)
    if not title:  # the top slice's name printed at the title's height (matplotlib): the line above the disc, names aside
        title = _page_title([b for b in boxes if not slice_label(b) and not any(b is n for n in name_boxes)], y)
    def split_title(pairs) -> str:  # the first (slice, box) whose box is that slice's name and the title run together
        for i, box in pairs:  # names the slice; the title (unchanged when no box splits)
            split = _title_beside_name(box, cx, radius, np.cos(mids[i]))
            if split is not None:
                names[i] = clean(split[0])
                return split[1]
        return title

    if not title:  # ... and read with the title as one box ('2016 Visits by year'): the title is the part centred over the disc
        title = split_title(named_by.items())
    unnamed = [i for i in slices if i not in names and i not in legend and np.sin(mids[i]) < 0]
    whole = [b for b in boxes if b.text == title and b.y1 <= cy]
    if title and unnamed and len(whole) == 1:  # (round 195) the title's box also holds an upper slice's unread name
        title = split_title((i, whole[0]) for i in sorted(unnamed, key=lambda i: gap(mids[i], -np.pi / 2)))
    rows = []
    if len(values) >= 0.7 * len(slices):  # every real slice carries its number: an unlabelled sliver is an edge blend
        slices = [i for i in slices if i in values or i in names or i in legend or counts[i] / total >= 0.02]
    for i in sorted(slices, key=lambda i: -counts[i]):
        name = clean(legend.get(i, (0, ""))[1]) or names.get(i) or f"Slice {len(rows) + 1}"
        rows.append((name, [values.get(i) or f"{100 * counts[i] / total:.1f}%"]))
    return "pie", "Category", ["Share"], rows, title  # a pie's values are shares (the column is named when printed)


def _heading_block(boxes: list[TextBox], top: float, title: str) -> list[TextBox]:
    """(round 125) The lines printed at the head of the chart, above the disc: the title's first line (the first line
    of words, one box, part of `title`; none without a title) and each line right under the last one taken (its top
    within one of its heights of that line's bottom) that is one box of words (a row of two or more boxes apart is
    slice labels, left and right) starting where the block starts or centred under the line above it (within 0.6 of
    its height), every line wholly above the disc's top `top`. The title wrapped over more lines than the title's
    reading takes, a subtitle or a question printed under it: none of them names a slice (Pew's `Views of NATO`
    under `Negative Opinion of NATO` was read as the name of the slice under it)."""
    above = sorted((b for b in boxes if b.y1 <= top and not b.turned and re.search(r"[A-Za-z]{2}", b.text)),
                   key=lambda b: b.y0)
    rows: list[list[TextBox]] = []
    for b in above:
        if rows and abs(b.cy - rows[-1][0].cy) < rows[-1][0].h / 2:
            rows[-1].append(b)
        else:
            rows.append([b])
    if not rows or len(rows[0]) != 1 or not title or rows[0][0].text not in title:
        return []
    block, left = list(rows[0]), min(b.x0 for b in rows[0])
    last = rows[0]
    for row in rows[1:]:
        if len(row) != 1:
            break
        b = row[0]
        bottom, middle = max(r.y1 for r in last), (min(r.x0 for r in last) + max(r.x1 for r in last)) / 2
        if not (b.y0 - bottom <= b.h and (abs(b.x0 - left) <= 0.6 * b.h or abs(b.cx - middle) <= 0.6 * b.h)):
            break
        block.append(b)
        last = row
    return block


def _swatch_is_disc(order: float, boxes: list[TextBox], marks: np.ndarray) -> bool:
    """(round 113) A legend entry found beside a slice of the disc is that slice's own name printed just outside it
    (`May` right of the orange slice's edge), no legend: the place left of its word where `_legend_names` found the
    swatch (`order` is the entry's `reading_key`; the strip up to 2.5 word heights, at least 12 px, left of the word,
    its middle three fifths high) holds pixels of the disc's own connected marks (`marks`). A legend's swatch is a patch
    apart from the disc, even where the legend is drawn over it (its frame's backdrop lies between)."""
    box = next((b for b in boxes if abs(reading_key(b.cy, b.cx) - order) < 0.5), None)
    if box is None:
        return False
    y0, y1 = int(box.y0 + box.h * 0.2), int(box.y1 - box.h * 0.2) + 1
    x1 = int(box.x0) - 1
    x0 = max(0, x1 - int(max(12, box.h * 2.5)))
    return x1 > x0 and y1 > y0 and bool(marks[max(0, y0):y1, x0:x1].any())


def _legend_in_turn(original, centres, background, slices: list[int], parent: list[int], mids: dict[int, float]) -> dict[int, tuple[float, str]]:
    """(round 113) slice -> legend entry (position, name), from the legend's order: a legend lists the slices in their
    order round the disc, from where the drawing started, one way round or the other (matplotlib: anticlockwise from
    the top). Where a colour stands on two or more arcs (grayscale's four greys over seven slices), its swatches cannot
    say which arc each names; their places in the list can. The entries are the words with a swatch beside them
    (`_legend_names` on each word alone), top to bottom in one column (their left edges within 0.8 of a word's height);
    one entry per slice. Where the entries' colours are the slices' colours in turn for some start and direction, and
    every such start and direction gives each slice the same entry, each slice takes its entry; else nothing."""
    rgb, boxes = original
    entries = []
    for box in boxes:
        found = _legend_names((rgb, [box]), centres, background)
        if len(found) == 1:
            (cluster, (order, name)), = found.items()
            entries.append((order, cluster, name, box))
    entries.sort(key=lambda e: e[0])
    if len(entries) != len(slices) or len(slices) < 2:
        return {}
    if max(e[3].x0 for e in entries) - min(e[3].x0 for e in entries) > 0.8 * min(e[3].h for e in entries):
        return {}  # entries in two or more columns: their reading order is not the list's
    ring = sorted(slices, key=lambda i: mids[i])
    wanted = [e[1] for e in entries]
    fits = set()
    for step in (1, -1):
        for start in range(len(ring)):
            going = [ring[(start + step * k) % len(ring)] for k in range(len(ring))]
            if [parent[i] for i in going] == wanted:
                fits.add(tuple(going))
    if len(fits) != 1:
        return {}
    return {i: (order, name) for i, (order, _, name, _) in zip(next(iter(fits)), entries)}


def _lines_stacked(start: TextBox, words: list[TextBox], numbers: list[TextBox], up: bool, down: bool) -> list[TextBox]:
    """(round 94) The word lines printed in one block with `start`, top to bottom: going up (and/or down) from it,
    the next line is a word box (no number, no percentage, 2+ letters, not turned, no chrome) right on top of (under)
    the last one taken (the gap between them under 0.4 of a line's height, overlapping by at most 0.4 of it), of
    about its height (0.6-1.6 times), and overlapping it across by half the narrower one's width or more; at most
    four lines. A start that is a number (a slice's bare value) is not part of the block: the lines above it are its
    name (Pew's `The / Middle / East / 25%` inside a slice). Empty where no line stands with a number."""
    def fits(last: TextBox, b: TextBox, above: bool) -> bool:
        height = min(last.h, b.h)
        space = last.y0 - b.y1 if above else b.y0 - last.y1
        across = min(last.x1, b.x1) - max(last.x0, b.x0)
        return (-0.4 * height <= space <= 0.4 * height and 0.6 <= b.h / last.h <= 1.6
                and across >= 0.5 * min(last.x1 - last.x0, b.x1 - b.x0))
    pool = [b for b in words if b is not start and not b.turned and b not in numbers and parse_value(b.text) is None
            and "%" not in b.text and re.search(r"[A-Za-z]{2}", b.text) and not _CHROME.search(b.text)]
    is_number = start in numbers or parse_value(start.text) is not None
    block = [] if is_number else [start]
    for above in (True, False):
        if (above and not up) or (not above and not down):
            continue
        last = start
        while len(block) < 4:
            near = [b for b in pool if b not in block and fits(last, b, above)]
            if not near:
                break
            last = min(near, key=lambda b: abs(b.cx - last.cx))
            block = [last] + block if above else block + [last]
    return block


def _pale_slices(ring: np.ndarray, owner: np.ndarray, centres, background, clusters: int,
                 least: float = 0.02) -> tuple[np.ndarray, int]:
    """(round 129) A slice too pale to be a colour cluster (within 45 of the background: Pew's near-white `DK` or
    `Refused` slice): a run of the ring owned by no cluster, at least `least` of the turn, whose colour (the median
    over the ring's radii; `ring` is (radii, positions, 3), the colours the owners were voted on) is one uniform
    colour off the background by 12 or more and near no cluster's centre. Each such run becomes a slice of its own,
    ids from `clusters` on: (owner, how many were added)."""
    colour = np.median(ring, axis=0)  # (positions, 3)
    off = np.linalg.norm(colour - np.asarray(background, float), axis=1)
    near = np.zeros(len(owner), bool)
    for centre in centres:
        near |= np.linalg.norm(colour - np.asarray(centre, float), axis=1) < 45
    free = (owner < 0) & (off >= 12) & (off < 45) & ~near
    n = len(owner)
    if free.all() or not free.any():
        return owner, 0
    out, added = owner.copy(), 0
    for run in _circular_runs(free):
        if len(run) < least * n:
            continue
        middle = np.median(colour[run], axis=0)
        if np.mean(np.linalg.norm(colour[run] - middle, axis=1) <= 10) < 0.9:
            continue  # not one uniform colour (an edge's blend, a gradient, text)
        out[run] = clusters + added
        added += 1
    return out, added


def _circular_runs(flags: np.ndarray) -> list[np.ndarray]:
    """The runs of True in a ring of flags (the last position runs on into the first), as arrays of positions in
    turn order, read from the first False round (the ring must hold a False). Round 121's gaps in a pulled-out disc's
    turn, round 129's pale runs of a pie's ring."""
    order = np.roll(np.arange(len(flags)), -int(np.argmin(flags)))
    pieces = np.split(order, np.flatnonzero(np.diff(flags[order].astype(np.int8))) + 1)
    return [piece for piece in pieces if flags[piece[0]]]


def _one_slice_per_arc(owner: np.ndarray, clusters: int, least: float = 0.02) -> tuple[np.ndarray, list[int]]:
    """(round 73) A pie's slice is one unbroken arc: (owner, parent) where a colour cluster met going round the ring
    on two or more separate arcs (each at least `least` of the turn, another cluster's arc of that size between
    them) gives one slice id per arc. Two near colours (a brown and a dark red) fall into one cluster; their slices
    were taken as one, its middle averaged between them. Runs shorter than `least` are noise (edge blends): they
    neither split nor join a cluster's arcs and keep their owner. `parent[i]` is slice id i's cluster (the first
    `clusters` ids are the clusters themselves); a pie whose every colour sits on one arc comes back unchanged."""
    n = len(owner)
    parent = list(range(clusters))
    turns = np.flatnonzero(owner != np.roll(owner, 1))
    if not len(turns):
        return owner, parent
    start = int(turns[0])
    rolled = np.roll(owner, -start)  # a run never wraps round the end now
    edges = np.flatnonzero(np.diff(rolled)) + 1
    runs = [(int(rolled[a]), int(a), int(b)) for a, b in zip(np.r_[0, edges], np.r_[edges, n])]
    arcs: list[list] = []  # [cluster, first index, end index] of the runs of `least` or more, same-cluster neighbours joined
    for cluster, a, b in runs:
        if cluster < 0 or b - a < least * n:
            continue
        if arcs and arcs[-1][0] == cluster:
            arcs[-1][2] = b
        else:
            arcs.append([cluster, a, b])
    if len(arcs) > 1 and arcs[0][0] == arcs[-1][0]:  # the last arc runs on into the first round the turn
        arcs[0][1] = arcs[-1][1] - n
        arcs.pop()
    seen: dict[int, int] = {}
    out = rolled.copy()
    for cluster, a, b in arcs:
        seen[cluster] = seen.get(cluster, 0) + 1
        if seen[cluster] == 1:
            continue
        parent.append(cluster)
        idx = np.arange(a, b) % n
        out[idx[rolled[idx] == cluster]] = len(parent) - 1
    if len(parent) == clusters:
        return owner, parent
    return np.roll(out, start), parent


def _donut_hole(component: np.ndarray, cx: float, cy: float, radius: float) -> float | None:
    """(round 61) The hole of a donut (ring) chart as a share of the radius, or None when the component is no ring:
    its marks fill every circle from the hole's edge out to the rim (bins of a twentieth of the radius filled over
    80%, up to 0.95 of it) and fill the hole's inner part (under the hole's edge less a tenth) under 30%; the hole
    lies between a quarter and four fifths of the radius (Statista's and OWID's donuts: about half)."""
    ys, xs = np.indices(component.shape)
    dist = np.hypot(xs - cx, ys - cy) / radius
    edges = np.arange(0.0, 0.96, 0.05)
    fill = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        ring = (dist >= lo) & (dist < hi)
        fill.append(float(component[ring].mean()) if ring.any() else 0.0)
    outer = len(fill)
    while outer > 0 and fill[outer - 1] >= 0.8:
        outer -= 1
    hole = float(edges[outer])
    if not 0.25 <= hole <= 0.8 or outer == len(fill):
        return None
    inner = dist < hole - 0.1
    return hole if float(component[inner].mean()) < 0.3 else None


def _title_beside_name(box: TextBox, cx: float, radius: float, lean: float) -> tuple[str, str] | None:
    """(name, title) from one box above a pie that holds a slice's name and the chart's title run together: of the
    ways to cut its words in two, the one whose title part (its share of the box by characters) is centred over the
    disc's centre `cx` (within a tenth of the radius), with the name on the side its slice leans to (`lean`: the
    cosine of the slice's middle). None when the box does not cross the centre or no cut fits."""
    words, text = box.text.split(), box.text
    if len(words) < 2 or not box.x0 < cx < box.x1:
        return None
    best = None
    for k in range(1, len(words)):
        for name_first in (True, False):
            if (name_first and lean > 0.1) or (not name_first and lean < -0.1):
                continue  # a name printed left of the title belongs to a slice on the left, and the other way round
            name = " ".join(words[:k] if name_first else words[len(words) - k:])
            title = " ".join(words[k:] if name_first else words[:len(words) - k])
            start = len(text) - len(title) if name_first else 0
            centre = box.x0 + (box.x1 - box.x0) * (start + len(title) / 2) / len(text)
            if abs(centre - cx) < 0.1 * radius and sum(ch.isalpha() for ch in title) >= 3 and (best is None or abs(centre - cx) < best[0]):
                best = (abs(centre - cx), name, title)
    return None if best is None else (best[1], best[2])


def _circle_through(points: np.ndarray) -> tuple[float, float, float] | None:
    """The circle (cx, cy, r) through three points, None where they stand on one line."""
    (x1, y1), (x2, y2), (x3, y3) = points
    d = 2 * (x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2))
    if abs(d) < 1e-6:
        return None
    s1, s2, s3 = x1 * x1 + y1 * y1, x2 * x2 + y2 * y2, x3 * x3 + y3 * y3
    cx = (s1 * (y2 - y3) + s2 * (y3 - y1) + s3 * (y1 - y2)) / d
    cy = (s1 * (x3 - x2) + s2 * (x1 - x3) + s3 * (x2 - x1)) / d
    return cx, cy, float(np.hypot(x1 - cx, y1 - cy))


def _pulled_out_disc(labels: np.ndarray, stats: np.ndarray, best: int, boxes: list[TextBox]):
    """(round 121) An exploded pie: one or more slices drawn pulled out of the disc, along their middles, so that a
    white gap cuts them off the rest (Pew's `Unauthorized immigrants` quarter). The largest connected part of the
    marks is then a disc less those sectors, no disc. Its rim gives the circle: the circle through the most points of
    its outline (text boxes and thin lines, a leader line or a dotted ring, taken off first), fitted on three points at
    a time (a fixed draw) and refined on those within 2% of it. The part must fill that circle's inside (0.3-0.9 of
    the radius) over half the turn or more, sector by sector (5 degree bins filled 90% or more), and have almost
    nothing outside it; each gap in the turn (a run of bins it does not fill, 10 degrees or more) must be filled 90% or
    more by one other solid part (2% of the largest one's size or more) moved back along the gap's middle, by its
    rim's farthest point out that way less the radius (a fiftieth to a third of the radius). Returns
    (cx, cy, radius, [(pixels of that part, dx, dy) to move it back by]), or None."""
    import cv2

    h, w = labels.shape
    clear = np.ones((h, w), bool)
    for b in boxes:
        clear[max(0, int(b.y0) - 1):int(b.y1) + 2, max(0, int(b.x0) - 1):int(b.x1) + 2] = False
    kernel = np.ones((5, 5), np.uint8)

    def solid(mask: np.ndarray) -> np.ndarray:
        return cv2.morphologyEx((mask & clear).astype(np.uint8), cv2.MORPH_OPEN, kernel) > 0

    whole = labels == best
    main = solid(whole)
    contours, _ = cv2.findContours(main.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    points = np.vstack([c[:, 0, :] for c in contours]).astype(float)
    if len(points) < 30:
        return None
    # by hand, not skimage.measure.ransac: that takes one residual threshold, and the rim's tolerance here is 2% of each
    # trial circle's own radius
    draw = np.random.default_rng(0)
    trials = (_circle_through(points[draw.choice(len(points), 3, replace=False)]) for _ in range(400))
    circles = np.array([c for c in trials if c is not None and 0.125 * min(h, w) <= c[2] <= 0.5 * max(h, w)])
    if not len(circles):
        return None

    def near(rows: np.ndarray) -> np.ndarray:  # (k, 3) circles -> (k, points): the outline's points on each rim
        cx, cy, r = rows[:, :1], rows[:, 1:2], rows[:, 2:]
        return np.abs(np.hypot(points[:, 0] - cx, points[:, 1] - cy) - r) < np.maximum(2.0, 0.02 * r)

    # every trial scored at once, 50 circles at a time (this runs on every chart whose largest part is no disc);
    # the first circle through the most points wins, as a loop keeping strict improvements would pick
    counts = np.concatenate([near(circles[i:i + 50]).sum(axis=1) for i in range(0, len(circles), 50)])
    first = int(np.argmax(counts))
    if counts[first] < 0.4 * len(points):
        return None
    on = points[near(circles[first:first + 1])[0]]  # least squares on the rim's points: x^2 + y^2 + a x + b y + c = 0
    a, b, c = np.linalg.lstsq(np.c_[on, np.ones(len(on))], -(on ** 2).sum(axis=1), rcond=None)[0]
    cx, cy = -a / 2, -b / 2
    radius = float(np.sqrt(max(cx * cx + cy * cy - c, 0.0)))
    if radius < 0.125 * min(h, w):
        return None
    ys, xs = np.nonzero(main)
    if (np.hypot(xs - cx, ys - cy) > 1.04 * radius).sum() > 0.03 * len(xs):
        return None  # more than a disc's part
    bins = 72
    angles = (np.arange(bins)[:, None] + np.linspace(0.1, 0.9, 5)[None, :]) * 2 * np.pi / bins - np.pi
    rings = np.linspace(0.3, 0.9, 7)

    def filled(part: np.ndarray, dx: float, dy: float, which: np.ndarray) -> float:
        a = angles[which].ravel()[:, None]
        px = np.round(cx + dx + rings[None, :] * radius * np.cos(a)).astype(int)
        py = np.round(cy + dy + rings[None, :] * radius * np.sin(a)).astype(int)
        inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
        return float(part[np.clip(py, 0, h - 1), np.clip(px, 0, w - 1)][inside].sum() / px.size)

    full = np.array([filled(whole, 0, 0, np.arange(bins) == k) >= 0.9 for k in range(bins)])
    if full.sum() < bins / 2 or full.all():
        return None
    gaps = _circular_runs(~full)  # the runs of unfilled bins, going round from a filled one
    count = stats.shape[0]
    parts = {k: solid(labels == k) for k in range(1, count) if k != best and stats[k, cv2.CC_STAT_AREA] >= 0.02 * stats[best, cv2.CC_STAT_AREA]}
    moves = []
    for gap in gaps:
        if len(gap) < 2:
            return None
        which = np.isin(np.arange(bins), gap)
        mid = angles[which].ravel()
        phi = float(np.arctan2(np.sin(mid).mean(), np.cos(mid).mean()))
        found = None
        for k, part in parts.items():  # moved out along the gap's middle: its rim's farthest point is radius + shift out
            ys, xs = np.nonzero(part)
            shift = float(((xs - cx) * np.cos(phi) + (ys - cy) * np.sin(phi)).max()) - radius if len(xs) else 0.0
            if not 0.02 * radius <= shift <= 0.35 * radius:
                continue
            dx, dy = shift * np.cos(phi), shift * np.sin(phi)
            share = filled(labels == k, dx, dy, which)
            if share >= 0.9 and (found is None or share > found[0]):
                found = (share, k, dx, dy)
        if found is None:
            return None
        _, k, dx, dy = found
        moves.append((parts[k], int(round(dx)), int(round(dy))))
    return float(cx), float(cy), radius, moves


def _moved_back(mask: np.ndarray, moves: list[tuple[np.ndarray, int, int]]) -> np.ndarray:
    """(round 121) `mask` with each pulled-out part's pixels moved back by (-dx, -dy) into the disc."""
    out = mask.copy()
    h, w = mask.shape
    for part, dx, dy in moves:
        ys, xs = np.nonzero(part & (mask > 0))
        out[ys, xs] = 0
        ty, tx = ys - dy, xs - dx
        keep = (ty >= 0) & (ty < h) & (tx >= 0) & (tx < w)
        out[ty[keep], tx[keep]] = mask[ys[keep], xs[keep]]
    return out

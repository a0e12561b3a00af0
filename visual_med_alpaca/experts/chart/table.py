"""Where a chart becomes a table: DePlot's linearized text, the page title above it, and the partial table
(the values printed over a row of category labels) given when a chart cannot be read whole."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from ...chart_table import NOTE_START, ROW_SEP, Table, parse_table
from .axes import _groups
from .colours import _colour_clusters, _legend_names
from .lines import _line_end_names, _runs
from .text import _CHROME, TextBox, parse_number, parse_value

_YEAR_1800 = re.compile(r"(1[89]|20)\d\d")  # a year 1800-2099 printed as a label (text._YEAR starts at 1600)


def _linearize(title: str, header: str, series: list[str], rows: list[tuple[str, list[str]]]) -> str:
    series, rows = _without_stray_series(series, rows)
    return Table(title, [header] + series, [[name] + values for name, values in rows]).linearize()


UNNAMED_SERIES = re.compile(r"Series \d+")  # the name the readers give a series no legend word names


def _without_stray_series(series: list[str], rows: list[tuple[str, list[str]]]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """A series no legend named (`Series 3`) that holds a value in only one of three or more rows, beside a named
    series, is a stray patch of colour (a JPEG halo around a bar, a sliver at a legend's edge), not a series: its
    column is left out (its one value could not be given to a named series anyway)."""
    if len(rows) < 3 or not any(not UNNAMED_SERIES.fullmatch(name) for name in series):
        return series, rows
    stray = {j for j, name in enumerate(series) if UNNAMED_SERIES.fullmatch(name)
             and sum(bool(values[j]) for _, values in rows if j < len(values)) <= 1}
    if not stray:
        return series, rows
    keep = [j for j in range(len(series)) if j not in stray]
    return [series[j] for j in keep], [(name, [values[j] if j < len(values) else "" for j in keep]) for name, values in rows]


def _without_percent(table: str) -> str:
    """The linearized table with '%' dropped from its values (not from its title, names or headers)."""
    parsed = parse_table(table)
    rows = [[cells[0]] + [re.sub(r"^([-−–]?[\d.,]+)\s*%$", r"\1", c) for c in cells[1:]] for cells in parsed.rows]
    return Table(parsed.title, parsed.headers, rows).linearize()


PARTIAL_NOTE = NOTE_START + "{reason}; only the values printed on the chart are given, each under the category label it is printed above{series})"


def _printed_values_table(rgb: np.ndarray, boxes: list[TextBox], reason: str) -> str | None:
    """A partial table for a chart whose marks or scale could not be read: the row of category labels under
    the plot and the numbers printed straight above them (within a third of a category's spacing), marked
    as partial by a last line. Several numbers over one category stay in separate columns, top to bottom,
    since which series each belongs to is not known, unless each is printed in the colour of a named series.
    Tick labels (a column of >= 3 numbers beside the categories, or any number beyond the outer category
    labels) are not values. None when fewer than two categories carry a printed value."""
    height = rgb.shape[0]
    words = [b for b in boxes if not b.turned and not _CHROME.search(b.text)]
    typical = float(np.median([b.h for b in words])) if words else 0.0

    def label_like(b: TextBox) -> bool:
        number = b.number
        if number is None:
            return parse_value(b.text) is None and len(b.text.split()) <= 4
        return _YEAR_1800.fullmatch(b.text.strip()) is not None  # a year

    best = None
    for row in _groups([b for b in words if b.cy > 0.45 * height], lambda b: b.cy, 0.5 * typical):
        row = sorted(row, key=lambda b: b.cx)
        if len(row) < 2 or not all(label_like(b) for b in row) or any(a.x1 > b.x0 for a, b in zip(row, row[1:])):
            continue
        gaps = np.diff([b.cx for b in row])
        if len(gaps) > 1 and gaps.max() > 2.5 * gaps.min():  # not evenly spread: a legend or a footer
            continue
        if best is None or len(row) >= len(best):
            best = row
    if best is None:
        return None
    best = _two_line_labels(best, [b for b in words if label_like(b)], typical)
    spacing = float(np.median(np.diff([b.cx for b in best])))
    top = min(b.y0 for b in best)
    numeric = [b for b in words if b.cy < top and parse_value(b.text) is not None and b not in best]
    outside = [b for b in numeric if b.x1 < best[0].cx or b.x0 > best[-1].cx]
    ticks = {id(b) for b in outside if sum(abs(c.x1 - b.x1) <= max(3.0, 0.5 * b.h) for c in outside) >= 3
             or b.cx < best[0].x0 or b.cx > best[-1].x1}  # a tick column, or a number beyond the category labels
    columns: dict[int, list[TextBox]] = {}
    for b in numeric:
        if id(b) in ticks:
            continue
        n = min(range(len(best)), key=lambda i: abs(best[i].cx - b.cx))
        if abs(best[n].cx - b.cx) <= spacing / 3:
            columns.setdefault(n, []).append(b)
    if len(columns) < 2 or max(len(c) for c in columns.values()) > 4:
        return None
    depth = max(len(c) for c in columns.values())
    inks = _series_by_ink(rgb, boxes, best, [b for c in columns.values() for b in c]) if depth > 1 else None
    if inks is not None and all(len({inks[1][id(b)] for b in c}) == len(c) for c in columns.values()):
        names, of = inks  # each printed value in the ink of one named series, at most one per series and category
        series = [name for _, name in names]
        table = [(label.text, [next((parse_value(b.text)[1] for b in columns.get(n, []) if of[id(b)] == k), "")
                               for k in range(len(names))]) for n, label in enumerate(best)]
        known = "; each value is given to the series printed in its colour"
    else:
        series = ["Value"] if depth == 1 else [f"Printed value {k + 1} from the top" for k in range(depth)]
        table = []
        for n, label in enumerate(best):
            found = sorted(columns.get(n, []), key=lambda b: b.cy)
            table.append((label.text, [parse_value(b.text)[1] for b in found] + [""] * (depth - len(found))))
        known = "" if depth == 1 else "; which series each value belongs to is not known"
    title = _page_title(boxes, min(b.y0 for c in columns.values() for b in c))
    note = PARTIAL_NOTE.format(reason=reason, series=known)
    return f"{_linearize(title, 'Category', series, table)} {ROW_SEP} {note}"


def _two_line_labels(row: list[TextBox], labels: list[TextBox], typical: float) -> list[TextBox]:
    """(round 126) Category labels printed on two lines (a month over its year, `Feb` / `2017`; a name over its
    years): where the next line of text right above (or right under) the row of labels, its middle 0.6-1.8 line
    heights away, holds exactly one label-like box stacked on each of the row's boxes (their spans overlapping by
    half the narrower one's width or more) and nothing else, each label is both lines, the upper one first, in one
    box spanning both. Otherwise the row as it is (the lower row alone gave `2017 | 2017 | 2018` for Pew's
    `Feb 2017 | Dec 2017 | Sept 2018`)."""
    if typical <= 0:
        return row
    for side in (-1, 1):
        near = [b for b in labels if b not in row and 0.6 * typical <= side * (b.cy - np.mean([r.cy for r in row])) <= 1.8 * typical]
        if len(near) != len(row):
            continue
        near = sorted(near, key=lambda b: b.cx)
        if max(b.cy for b in near) - min(b.cy for b in near) > 0.5 * typical:
            continue
        overlaps = [min(a.x1, b.x1) - max(a.x0, b.x0) >= 0.5 * min(a.x1 - a.x0, b.x1 - b.x0) for a, b in zip(row, near)]
        if not all(overlaps) or any(a.x1 > b.x0 for a, b in zip(near, near[1:])):
            continue
        pairs = [(b, a) if side < 0 else (a, b) for a, b in zip(row, near)]
        return [replace(upper, text=f"{upper.text.strip()} {lower.text.strip()}", x0=min(upper.x0, lower.x0),
                        x1=max(upper.x1, lower.x1), y1=lower.y1) for upper, lower in pairs]
    return row


ROWS_NOTE = (NOTE_START + "{reason}; only the values printed beside a column of row labels are given, each in the row of "
             "the label it is printed beside, in columns by their place left to right{named})")


# (round 82, P1b) a printed value and its name in one OCR box, either way round: `-266 China`, `Democrat 98`, `69 Rep.`
_JOINED_VALUE = re.compile(r"(?P<value>[-−–]?[$€£]?\d[\d,.]*%?)\s+(?P<name>[A-Za-z].*)|(?P<name2>.*[A-Za-z].*?)\s+(?P<value2>[-−–]?[$€£]?\d[\d,.]*%?)")


def _printed_rows_table(boxes: list[TextBox], reason: str) -> str | None:
    """(round 82) The part that is sure of a chart no reader could read whose values are printed beside a column of
    row labels (Pew's side-by-side bar panels `News Interest` | `News Coverage`, two-colour stacked or diverging bars
    with their values printed): the rows are the labels of one column (left or right edges aligned, at least three
    with a number printed right of them on their line), each row's values are the numbers on its line right of its
    label (before the next word on that line), and the values fall into columns by their place (the columns are cut
    at the widest gap between their x centres until no row holds two values in one column). A line of words just
    above the first row (or just under the last) with one word box per column names the columns in order (a panel's
    heading, an answer's name); otherwise they are `Printed value k from the left`. Labels of the same column
    between the first and the last row with no value printed beside them are rows with empty cells. (P1b) A value and
    its name read as one box (`-266 China` at a slope chart's end, `Democrat 98`) is a row label with that value. Marked as
    partial by a last line. None where fewer than three rows carry a printed value, a column cannot be cut, or the
    values would need more than six columns."""
    # a one- or two-digit value's box may be padded taller than wide: only words are taken for turned text here
    words = [b for b in boxes if not _CHROME.search(b.text) and (not b.turned or re.fullmatch(r"[-−]?\d{1,2}%?", b.text.strip()))]
    if len(words) < 6:
        return None
    typical = float(np.median([b.h for b in words]))
    def is_label(text: str) -> bool:
        return parse_value(text) is None and parse_number(text) is None and len(re.findall(r"[A-Za-z0-9]", text)) >= 2 and len(text.split()) <= 5

    joined: dict[int, TextBox] = {}  # (P1b) a value and its name read as one box (`-266 China`, `Democrat 98`)
    name_first: set[int] = set()  # (round 104) the joined labels printed before their value (`Democrat 98`)
    for box in list(words):
        found = _JOINED_VALUE.fullmatch(box.text.strip())
        if found is None:
            continue
        name, number = found["name"] or found["name2"], found["value"] or found["value2"]
        if not is_label(name) or parse_value(number) is None or _YEAR_1800.fullmatch(number):
            continue
        label, value = replace(box, text=name), replace(box, text=number)
        at = words.index(box)
        words[at:at + 1] = [label, value]
        joined[id(label)] = value
        if found["name2"]:
            name_first.add(id(label))
    numbers = [b for b in words if parse_value(b.text) is not None and _YEAR_1800.fullmatch(b.text.strip()) is None]
    labels = [b for b in words if is_label(b.text)]
    if len(numbers) < 3 or len(labels) < 3:
        return None

    def beside(label: TextBox) -> list[TextBox]:  # the numbers on the label's line right of it, before the next word
        if id(label) in joined:  # the value printed in the label's own box
            return [joined[id(label)]]
        line = [b for b in words if b is not label and abs(b.cy - label.cy) <= 0.5 * typical and b.x0 >= label.x1 - 2]
        stop = min((b.x0 for b in line if b in labels), default=float("inf"))
        return [b for b in line if b in numbers and b.x1 <= stop]

    with_values = [b for b in labels if beside(b)]
    tol = max(3.0, 0.3 * typical)
    column: list[TextBox] = []
    for edge in (lambda b: b.x1, lambda b: b.x0):  # right-aligned labels (Pew), else left-aligned
        for group in _groups(with_values, edge, tol):
            if len(group) > len(column):
                column, at = group, edge
    if len(column) < 3:
        return _slope_ends_table(boxes, [b for b in labels if id(b) in joined], joined, name_first, tol, reason)
    top, bottom, mark = min(b.cy for b in column), max(b.cy for b in column), float(np.median([at(b) for b in column]))
    rows = sorted([b for b in labels if top <= b.cy <= bottom and abs(at(b) - mark) <= 2 * tol], key=lambda b: b.cy)
    values: dict[int, list[TextBox]] = {}
    owner: dict[int, int] = {}
    for r, label in enumerate(rows):
        for b in beside(label):  # a number on two labels' lines goes to the nearer one
            if id(b) not in owner or abs(b.cy - label.cy) < abs(b.cy - rows[owner[id(b)]].cy):
                owner[id(b)] = r
    for b in numbers:
        if id(b) in owner:
            values.setdefault(owner[id(b)], []).append(b)
    placed = sorted((b for vs in values.values() for b in vs), key=lambda b: b.cx)
    cuts: list[list[TextBox]] = [placed]
    while True:
        crowded = next((c for c in cuts if any(sum(owner[id(b)] == r for b in c) > 1 for r in values)), None)
        if crowded is None:
            break
        if len(cuts) >= 6:
            return None
        gaps = np.diff([b.cx for b in crowded])
        k = int(gaps.argmax()) + 1
        i = cuts.index(crowded)
        cuts[i:i + 1] = [crowded[:k], crowded[k:]]
    names = _column_headings(words, labels, rows, cuts, typical)
    named = names is not None
    if names is None:
        names = ["Value"] if len(cuts) == 1 else [f"Printed value {k + 1} from the left" for k in range(len(cuts))]
    table = [(label.text, [next((parse_value(b.text)[1] for b in cut if owner[id(b)] == r), "") for cut in cuts])
             for r, label in enumerate(rows)]
    heading_top = min([rows[0].y0] + [b.y0 for b in words if named and b.text in names and b.cy < rows[0].cy])
    title = _page_title(boxes, heading_top)
    note = ROWS_NOTE.format(reason=reason, named="; the columns are named by the words printed over (or under) them" if named else "")
    return f"{_linearize(title, 'Category', names, table)} {ROW_SEP} {note}"


def _abbreviates(short: str, long: str) -> bool:
    """`Rep.` for `Republican`, `Dem.` for `Democrat`: the one name (2+ letters, a trailing dot dropped) begins the
    other (case aside); or the two are the same name."""
    a, b = short.strip().rstrip(".").lower(), long.strip().rstrip(".").lower()
    return a == b or (len(re.findall(r"[a-z]", a)) >= 2 and len(a) < len(b) and b.startswith(a))


def _slope_ends_table(boxes: list[TextBox], ends: list[TextBox], joined: dict[int, TextBox], name_first: set[int],
                      tol: float, reason: str) -> str | None:
    """(round 104, Xb) A slope chart's two ends, each value read in one box with its name (Pew: `Democrat 98` and
    `Republican 37` at the left ends, `69 Rep.` and `68 Dem.` at the right ends) where no column holds three rows:
    the left ends (name first, right-aligned) and the right ends (value first, left-aligned, all right of the left
    ones), two or more each and as many on both sides, each right end's name the same as, or an abbreviation
    (`_abbreviates`) of, exactly one left end's name and no other right end's. One row per line, named by its left
    end, its two values left to right. None otherwise."""
    left_ends = [b for b in ends if id(b) in name_first]
    right_ends = [b for b in ends if id(b) not in name_first]
    left = max(_groups(left_ends, lambda b: b.x1, tol), key=len, default=[])
    right = max(_groups(right_ends, lambda b: b.x0, tol), key=len, default=[])
    if len(left) < 2 or len(left) != len(right) or max(b.x1 for b in left) >= min(b.x0 for b in right):
        return None
    pairs: dict[int, TextBox] = {}
    for end in right:
        match = [b for b in left if _abbreviates(end.text, b.text) or _abbreviates(b.text, end.text)]
        if len(match) != 1 or id(match[0]) in pairs:
            return None
        pairs[id(match[0])] = end
    table = [(b.text, [parse_value(joined[id(b)].text)[1], parse_value(joined[id(pairs[id(b)])].text)[1]])
             for b in sorted(left, key=lambda b: b.cy)]
    title = _page_title(boxes, min(b.y0 for b in left + right))
    note = ROWS_NOTE.format(reason=reason, named="; a right end whose name is a left end's name or an abbreviation of it is given in that left end's row")
    return f"{_linearize(title, 'Category', ['Printed value 1 from the left', 'Printed value 2 from the left'], table)} {ROW_SEP} {note}"


def _column_headings(words: list[TextBox], labels: list[TextBox], rows: list[TextBox], cuts: list[list[TextBox]], typical: float) -> list[str] | None:
    """The columns' names for _printed_rows_table: the line of words nearest above the first row (else nearest
    under the last), within three lines of text, reaching right of the row labels' column, holding one word box per column
    (left to right); None where there is no such line."""
    edge = max(b.x1 for b in rows) - 2
    for side in (-1, 1):
        near = rows[0] if side < 0 else rows[-1]
        candidates = [b for b in labels if b not in rows and b.x1 > edge + typical and 0 < side * (b.cy - near.cy) <= 3 * typical]
        if not candidates:
            continue
        first = min(candidates, key=lambda b: abs(b.cy - near.cy))
        line = sorted((b for b in candidates if abs(b.cy - first.cy) <= 0.5 * typical), key=lambda b: b.cx)
        if len(line) == len(cuts) and not any(b.number is not None for b in words if b not in line and abs(b.cy - first.cy) <= 0.5 * typical):
            return [b.text for b in line]
    return None


def _series_by_ink(rgb: np.ndarray, boxes: list[TextBox], categories: list[TextBox], values: list[TextBox]):
    """([(position, name)] of the series, {id(value box): index into it}) when every printed value is in the
    clearly coloured ink of one series named by a legend or by a word in its colour (Pew); else None.
    Black or grey values, or a colour between two series, give None: the values then stay unassigned."""
    _, centres, background = _colour_clusters(rgb, [], 0)
    if not centres:
        return None
    names = _legend_names((rgb, [b for b in boxes if parse_value(b.text) is None]), centres, background)
    for cluster, found in _line_end_names(rgb, boxes, categories, centres, background).items():
        names.setdefault(cluster, found)
    palette = np.stack(centres).astype(np.float32)
    named = sorted((k for k in names if palette[k].max() - palette[k].min() > 60), key=lambda k: names[k][0])
    if len(named) < 2 or len({names[k][1] for k in named}) < len(named):
        return None
    of = {}
    for box in values:
        pixels = rgb[int(box.y0):int(box.y1) + 1, int(box.x0):int(box.x1) + 1].reshape(-1, 3).astype(np.float32)
        ink = pixels[np.linalg.norm(pixels - background, axis=1) > 80]
        if len(ink) < 5:
            return None
        colour = np.median(ink, axis=0)
        if colour.max() - colour.min() < 30:  # black or grey text names no series
            return None
        # anti-aliased ink is a blend of the series colour with the background: compare directions from it
        away, towards = palette[named] - background, colour - background
        cosine = away @ towards / (np.linalg.norm(away, axis=1) * np.linalg.norm(towards) + 1e-6)
        first, second = np.sort(cosine)[::-1][:2]
        if first < 0.97 or second > first - 0.05:
            return None
        of[id(box)] = int(cosine.argmax())
    return [names[k] for k in named], of


def _page_title(boxes: list[TextBox], top: float) -> str:
    """The first line of words above the plot (above `top`, a pixel row), if any; page chrome excluded. A line
    whose box reaches below `top` counts when its middle is above it: the value printed on a bar that reaches the
    top of the plot may stand right under the title (OCR boxes are padded)."""
    words = [b for b in _title_words(boxes) if b.y1 < top or (b.cy < top and not b.turned)]
    if not words:
        return ""
    first = min(words, key=lambda b: b.y0)
    # (round 195) words on one line do not stand over each other: a box overlapping the first box by more than a quarter
    # of the narrower one's width, or overlapping it at all a quarter of its height higher or lower, is on another line
    # (a pie's top label printed half a line under the title)
    def apart(b: TextBox) -> bool:
        overlap = min(b.x1, first.x1) - max(b.x0, first.x0)
        return b is first or (overlap <= 0.25 * min(b.x1 - b.x0, first.x1 - first.x0)
                              and (overlap <= 0 or abs(b.cy - first.cy) <= first.h / 4))

    line = [b for b in words if abs(b.cy - first.cy) < first.h / 2 and apart(b)]
    text = " ".join(b.text for b in sorted(line, key=lambda b: b.x0))
    # a title wrapped over two lines: the next line right under it, in letters of the same height, starting where
    # it starts or centred under it (a smaller subtitle or question under the title is no part of it); OCR pads its
    # boxes, so the next line's box may start well above the first's bottom: below the first line's middle (round 132)
    h, x0, x1 = float(np.median([b.h for b in line])), min(b.x0 for b in line), max(b.x1 for b in line)
    below = [b for b in words if b not in line and not b.turned and first.cy < b.y0 < first.y1 + 0.6 * h]
    if below:
        nxt = min(below, key=lambda b: b.y0)
        second = sorted((b for b in below if abs(b.cy - nxt.cy) < nxt.h / 2), key=lambda b: b.x0)
        bx0, bx1 = second[0].x0, max(b.x1 for b in second)
        same_size = abs(float(np.median([b.h for b in second])) - h) <= 0.15 * h
        aligned = abs(bx0 - x0) <= 0.6 * h or abs((bx0 + bx1) / 2 - (x0 + x1) / 2) <= 0.6 * h
        if same_size and aligned and bx1 <= x1 + 2 * h:
            text += " " + " ".join(b.text for b in second)
    return text


def _title_without_subtitle(rgb: np.ndarray, boxes: list[TextBox], title: str) -> str:
    """(round 52) The title's own words: OECD prints a subtitle (`Total, Square metres per capita, 2014`) and its source in
    small letters on the title's line, Our World in Data its logo, and OCR may read a subtitle into the title's box.
    Page chrome on the title's line (`Source: ...`, the logo's words) is left out; the rest of the line's ink is cut
    into letters (runs of inked columns), and the title ends at a gap (3 pixels or more) after which the letters stand
    at most 0.7 as high above their baseline as the letters before it (at least four letters, not counting punctuation,
    each side) and are narrower (median width at most 0.8), where the letters before it read as a line of text (O1b:
    three or more of them 0.5-0.8 as tall as their tallest, lower-case letters; a label drawn over the title makes blobs
    instead); of such gaps, the widest. Words right of it are no part of the title (in a box holding letters on both
    sides, the words before it are counted by the word gaps seen there). The title is kept whole when the picture does
    not show that."""
    title = _wrapped_title_lines(rgb, boxes, title)
    line = _title_line(boxes, title)
    if not line:
        return title
    rest = title[len(" ".join(b.text for b in line)):]  # a wrapped second line, kept as it is
    words = [b for b in line if not _CHROME.search(b.text)]
    if not words:
        return title
    plain = " ".join(b.text for b in words) + rest
    banded = _band_ink(rgb, words)
    if banded is None:
        return plain
    _, _, ink, x0 = banded
    cols = np.flatnonzero(ink.any(axis=0))
    if len(cols) < 8:
        return plain
    letters = []  # (first column, last column, top row, bottom row), in band coordinates
    for run in _runs(cols):
        a, b = int(run[0]), int(run[-1])
        rows = np.flatnonzero(ink[:, a:b + 1].any(axis=1))
        letters.append((a, b, int(rows[0]), int(rows[-1])))
    gaps = [q[0] - p[1] - 1 for p, q in zip(letters, letters[1:])]

    def height(part) -> float | None:  # how high the part's tallest letter stands above its baseline
        tall = max(bottom - top + 1 for _, _, top, bottom in part)
        if sum(bottom - top + 1 >= 0.4 * tall for _, _, top, bottom in part) < 4:
            return None
        return float(np.median([bottom for _, _, _, bottom in part])) - min(top for _, _, top, _ in part) + 1

    def width(part) -> float:  # the part's median letter width
        return float(np.median([b - a + 1 for a, b, _, _ in part]))

    def lowercase(part) -> int:  # letters standing 0.5-0.8 as tall as the part's tallest (x-height letters)
        tall = max(bottom - top + 1 for _, _, top, bottom in part)
        return sum(0.5 * tall <= bottom - top + 1 <= 0.8 * tall for _, _, top, bottom in part)

    ends = [i for i in range(1, len(letters)) if gaps[i - 1] >= 3 and (left := height(letters[:i]))
            and (right := height(letters[i:])) and right <= 0.7 * left
            and width(letters[i:]) <= 0.8 * width(letters[:i]) and lowercase(letters[:i]) >= 3]
    if not ends:
        return plain
    end = max(ends, key=lambda i: (gaps[i - 1], -i))
    word_gap = max(3.0, 0.3 * height(letters[:end]))
    kept = []
    for box in words:  # each box by its letters (middles inside it): all before the end, all after it, or both
        inside = [k for k, (a, b, _, _) in enumerate(letters) if box.x0 <= x0 + (a + b) / 2 <= box.x1]
        if not inside or inside[0] >= end:
            continue
        if inside[-1] < end:
            kept.append(box.text)
            continue
        parts = box.text.split()
        count = 1 + sum(gaps[k] >= word_gap for k in inside if k < end - 1)
        if count >= len(parts):
            return plain
        kept.append(" ".join(parts[:count]))
    return " ".join(kept) + rest if kept else plain


def _title_words(boxes: list[TextBox]) -> list[TextBox]:
    """Boxes that may be a title's words: no number or value, three characters or more, no page chrome."""
    return [b for b in boxes if b.number is None and parse_value(b.text) is None and len(b.text) >= 3
            and not _CHROME.search(b.text)]


def _band_ink(rgb: np.ndarray, line: list[TextBox]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """The picture's band under a line of text boxes (their outer edges): (the band, its border's median colour
    (the paper), its ink: pixels more than 60 from the paper in some channel, the band's first column in the
    picture); None where the band is too small to hold letters (under 6 rows or 20 columns)."""
    y0, y1 = max(0, int(min(b.y0 for b in line))), min(rgb.shape[0], int(np.ceil(max(b.y1 for b in line))) + 1)
    x0, x1 = max(0, int(min(b.x0 for b in line))), min(rgb.shape[1], int(np.ceil(max(b.x1 for b in line))) + 1)
    band = rgb[y0:y1, x0:x1].astype(int)
    if band.shape[0] < 6 or band.shape[1] < 20:
        return None
    paper = np.median(np.concatenate([band[0], band[-1], band[:, 0], band[:, -1]]), axis=0)
    return band, paper, np.abs(band - paper).max(axis=2) > 60, x0


def _line_ink(rgb: np.ndarray, line: list[TextBox]) -> tuple[np.ndarray, float, float] | None:
    """(round 180) A line of text's ink as the picture prints it: (median colour of its strokes' cores, mean stroke width in pixels
    along its rows, how high its tallest letters stand above the baseline). The boxes' band is cut to its inked rows'
    largest block (OCR pads its boxes over the neighbouring lines' ascenders and descenders); None where the band
    holds too few letters to tell."""
    banded = _band_ink(rgb, line)
    if banded is None:
        return None
    band, paper, ink, _ = banded
    rows = ink.sum(axis=1)
    inked_rows = np.flatnonzero(rows)
    if not len(inked_rows):
        return None
    block = max(_runs(inked_rows), key=lambda run: int(rows[run].sum()))  # the run of inked rows with the most ink
    top, bottom = int(block[0]), int(block[-1])
    ink = ink[top:bottom + 1]
    cols = np.flatnonzero(ink.any(axis=0))
    if len(cols) < 8:
        return None
    letters = []  # (top row, bottom row) of each run of inked columns
    for run in _runs(cols):
        inked = np.flatnonzero(ink[:, run[0]:run[-1] + 1].any(axis=1))
        letters.append((int(inked[0]), int(inked[-1])))
    tall = max(b - a + 1 for a, b in letters)
    letters = [(a, b) for a, b in letters if b - a + 1 >= 0.4 * tall]  # not commas, dots, dashes
    if len(letters) < 4:
        return None
    height = float(np.median([b for _, b in letters])) - min(a for a, _ in letters) + 1
    edges = np.diff(np.pad(ink.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    runs = int((edges == 1).sum())
    stroke = float(ink.sum()) / runs if runs else 0.0
    pixels = band[top:bottom + 1][ink]
    away = np.abs(pixels - paper).max(axis=1)
    colour = np.median(pixels[away >= np.median(away)], axis=0)  # the strokes' cores, not their anti-aliased edges
    return colour, stroke, height


def _wrapped_title_lines(rgb: np.ndarray, boxes: list[TextBox], title: str) -> str:
    """(round 180) The title's further wrapped lines: `_page_title` joins the line right under the first when OCR's
    boxes are of one height (and no wider than the first line by more than two letter heights), so a wrapped line
    with a descender or a quote mark (`few describe them as 'major'`, a box 26 px high under one of 21), a wrapped
    line longer than the first, or a third line was lost. Here each next line right under the title's last line
    (its top between that line's middle and 0.6 line heights under its bottom, starting where the first line starts
    or centred under it) joins when the picture prints it in the first line's ink: the same colour (every channel
    of the median ink within 40), the same stroke weight (mean horizontal run of ink within 15%) and letters as
    high above the baseline (within 20%). A smaller, lighter or thinner subtitle or question under the title
    (Pew's grey italic question) is no part of it. At most four lines in all; the title is kept as it is where the
    picture does not show that."""
    line = _title_line(boxes, title)
    if not line:
        return title
    ink = _line_ink(rgb, line)
    if ink is None:
        return title
    colour, stroke, height = ink
    words = [b for b in _title_words(boxes) if not b.turned]
    h, x0, x1 = float(np.median([b.h for b in line])), min(b.x0 for b in line), max(b.x1 for b in line)
    text, last, used = " ".join(b.text for b in line), line, {id(b) for b in line}
    for _ in range(3):
        cy, y1 = float(np.mean([b.cy for b in last])), max(b.y1 for b in last)
        below = [b for b in words if id(b) not in used and cy < b.y0 < y1 + 0.6 * h]
        if not below:
            break
        nxt = min(below, key=lambda b: b.y0)
        second = sorted((b for b in below if abs(b.cy - nxt.cy) < nxt.h / 2), key=lambda b: b.x0)
        bx0, bx1 = second[0].x0, max(b.x1 for b in second)
        if not (abs(bx0 - x0) <= 0.6 * h or abs((bx0 + bx1) / 2 - (x0 + x1) / 2) <= 0.6 * h):
            break
        words_of = " ".join(b.text for b in second)
        joined = f"{text} {words_of}"
        if not title.startswith(joined):  # a line `_page_title` did not join: by its ink
            other = _line_ink(rgb, second)
            if other is None:
                break
            o_colour, o_stroke, o_height = other
            if (np.abs(o_colour - colour).max() > 40 or abs(o_stroke - stroke) > 0.15 * stroke
                    or abs(o_height - height) > 0.2 * height):
                break
        text, last = joined, second
        used.update(id(b) for b in second)
    return text if text.startswith(title) else title  # lines added under it, never a line of it changed


def _title_line(boxes: list[TextBox], title: str) -> list[TextBox]:
    """The boxes, left to right, whose words make the first line of `title` (as _page_title or the reader's title
    joined them); [] when they cannot be told."""
    words = [b for b in boxes if b.text and b.text in title and not b.turned]
    starts = [b for b in words if title.startswith(b.text)]
    if not starts:
        return []
    first = min(starts, key=lambda b: b.y0)
    line = sorted((b for b in words if abs(b.cy - first.cy) < first.h / 2), key=lambda b: b.x0)
    return line if line and line[0] is first and title.startswith(" ".join(b.text for b in line)) else []

"""DePlot's chart-to-table metrics: RMS precision/recall/F1 and RNSS, on DePlot's linearized tables.

RMS (Liu et al. 2023, "DePlot") treats a table as a set of (row header + column header, value) entries
plus the title, matches predicted to gold entries by normalized Levenshtein similarity on the keys
(Hungarian matching, scipy's linear_sum_assignment), and scores each matched pair by key similarity times
(1 - relative value distance). Relative distance is min(1, |p - t| / |t|), and counts as 1 at or above
`number_theta` (0.1); key similarity is 0 at or above `text_theta` (0.5) distance. The table is also read
transposed and the better F1 is kept, so a transposed table scores the same.
RNSS (Masry et al. 2022, ChartQA) matches the bare sets of numbers by relative distance, capped at 1.
The table format itself (`Table`, `parse_table`) is `chart_table.py`'s, which the chart generator writes with.
"""

from __future__ import annotations

import re

import numpy as np
from rapidfuzz.distance import Levenshtein
from scipy.optimize import linear_sum_assignment

from ...chart_table import Table, is_note, parse_table


def to_float(text: str) -> float | None:
    """'1,234' -> 1234, '45%' -> 0.45 (as in DePlot), '$3.5' -> 3.5; None if not a number."""
    cleaned = text.strip().replace(",", "").lstrip("$€£").rstrip("*")
    try:
        if cleaned.endswith("%"):
            return float(cleaned[:-1]) / 100.0
        return float(cleaned)
    except ValueError:
        return None


def relative_distance(target: float, prediction: float, theta: float = 1.0) -> float:
    """min(1, |t - p| / |t|), and 1 when that reaches theta; a zero target matches only a zero."""
    if not target:
        return float(bool(prediction))
    distance = min(abs((target - prediction) / target), 1.0)
    return distance if distance < theta else 1.0


def anls(target: str, prediction: str, theta: float = 0.5) -> float:
    """1 - normalized Levenshtein distance, or 0 when the distance reaches theta."""
    if not target and not prediction:
        return 1.0
    distance = Levenshtein.normalized_distance(target, prediction)
    return 1.0 - distance if distance < theta else 0.0


def datapoints(table: Table) -> list[tuple[str, str]]:
    """The (key, value) entries RMS matches: ('title', title) when there is one, then one (row name + ' ' + column
    name, cell) per body cell, row by row (a row's cells past its header count are not entries)."""
    points = [("title", table.title)] if table.title is not None else []
    if len(table.headers) <= 1:
        return points
    for row in table.rows:
        for header, cell in zip(table.headers[1:], row[1:]):
            points.append((f"{row[0]} {header}", cell))
    return points


def point_score(target: tuple[str, str], prediction: tuple[str, str], text_theta: float = 0.5,
                number_theta: float = 0.1) -> float:
    """One matched pair's score: key similarity times value similarity (1 - relative distance for numbers, ANLS for
    words); with equal keys, the value's share alone."""
    key = anls(target[0], prediction[0], text_theta)
    t, p = to_float(target[1]), to_float(prediction[1])
    if p is not None and t:
        return key * (1.0 - relative_distance(t, p, number_theta))
    if target[1] == prediction[1]:
        return key
    return key * anls(target[1], prediction[1], text_theta)


def _rms_one(target: Table, prediction: Table, text_theta: float, number_theta: float) -> tuple[float, float, float]:
    gold, pred = datapoints(target), datapoints(prediction)
    if not gold and not pred:
        return 1.0, 1.0, 1.0
    if not gold:
        return 0.0, 1.0, 0.0
    if not pred:
        return 1.0, 0.0, 0.0
    cost = np.array([[1.0 - anls(g[0], p[0], text_theta) for p in pred] for g in gold])
    rows, cols = linear_sum_assignment(cost)
    score = sum(point_score(gold[r], pred[c], text_theta, number_theta) for r, c in zip(rows, cols))
    if score == 0:
        return 0.0, 0.0, 0.0
    precision, recall = score / len(pred), score / len(gold)
    return precision, recall, 2 * precision * recall / (precision + recall)


def rms(target: str | Table, prediction: str | Table, text_theta: float = 0.5, number_theta: float = 0.1,
        score_title: bool = True) -> dict[str, float]:
    """RMS precision, recall and F1 of one predicted table against its gold table (0..1).

    `score_title=False` leaves the title out of both tables when the gold title is empty (ChartQA's gold tables
    carry none: `TITLE |  `), so a title read from the chart is neither rewarded nor counted wrong. DePlot's
    metric scores it (the default); the other reading is a second, labelled figure, never the headline."""
    target = parse_table(target) if isinstance(target, str) else target
    prediction = parse_table(prediction) if isinstance(prediction, str) else prediction
    if not score_title and not target.title:
        target, prediction = Table(None, target.headers, target.rows), Table(None, prediction.headers, prediction.rows)
    candidates = [_rms_one(target, prediction, text_theta, number_theta)]
    if prediction.headers:
        candidates.append(_rms_one(target, prediction.transposed(), text_theta, number_theta))
    precision, recall, f1 = max(candidates, key=lambda scores: scores[2])
    return {"precision": precision, "recall": recall, "f1": f1}


def table_numbers(table: str | Table) -> list[float]:
    table = parse_table(table) if isinstance(table, str) else table
    cells = list(table.headers) + [cell for row in table.rows for cell in row]
    return [value for cell in cells if (value := to_float(cell)) is not None]


def rnss(target: str | Table, prediction: str | Table) -> float:
    """Relative number set similarity: 1 - matched relative distances / size of the larger number set."""
    gold, pred = table_numbers(target), table_numbers(prediction)
    if not gold and not pred:
        return 1.0
    if not gold or not pred:
        return 0.0
    cost = np.array([[relative_distance(t, p) for p in pred] for t in gold])
    rows, cols = linear_sum_assignment(cost)
    return float(1.0 - cost[rows, cols].sum() / max(len(gold), len(pred)))


# -- partial gold from a chart's printed text (OpenCQA: no data table, only OCR boxes) ------------------------------
# Hand-written: the boxes are all the gold there is, and no library tells a printed data value from an axis tick, a
# year label or a source note; these rules (issue 15, session 39) were fixed before any expert output on them was read.
# Version 2 (session 39's end, after rounds 81-84 found values the first version could not see): a sentence of a
# short label with its value(s) run together at one end (`Iraq 23 11`, `72 Poland`: OpenCQA's OCR often joins them)
# gives those numbers as data and its words as a label; version 1 took number-only sentences only.
# Version 3 (session 41, lead): a partly read table's closing note (`chart_table.is_note`) is no row name: its words
# are the reader's, and a printed label found inside them (round 104 quoted `Rep.` in one) was counted as read.
PRINTED_VERSION = 3

_NUMBER = re.compile(r"^([<>])?[-+]?[$€£]?(\d[\d,]*(?:\.\d+)?|\.\d+)%?$")
_TICK_PX = 3.0  # boxes within this many pixels share a column (x centre or right edge) or a row (y centre)


def _printed_number(token: str) -> tuple[float, int, bool] | None:
    """(value, decimals printed, bounded) of a printed number ('45%' -> 45, '1,234' -> 1234, '<1' bounded);
    None for a word."""
    match = _NUMBER.match(token)
    if not match:
        return None
    digits = match.group(2).replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    value = float(digits) * (-1 if token.lstrip("<>").startswith("-") else 1)
    return value, decimals, bool(match.group(1))


def _even(values: list[float], tolerance: float) -> bool:
    steps = [b - a for a, b in zip(values, values[1:])]
    return bool(steps) and abs(steps[0]) > 1e-9 and all(abs(s - steps[0]) <= tolerance(steps[0]) for s in steps)


def _tick_runs(numbers: list[dict]) -> set[int]:
    """Indices of numbers in axis tick runs: 3+ on one column (same x centre or right edge) or one row (same y
    centre), consecutive along it, evenly spaced in position and in value."""
    dropped: set[int] = set()
    lines = (("xc", "yc"), ("x1", "yc"), ("yc", "xc"))  # (what they share, where they run along)
    for shared, along in lines:
        groups = {tuple(sorted((j for j in range(len(numbers)) if abs(numbers[j][shared] - numbers[i][shared]) <= _TICK_PX),
                               key=lambda j: numbers[j][along])) for i in range(len(numbers))}
        for group in groups:
            for start in range(len(group)):
                for end in range(len(group), start + 2, -1):
                    run = group[start:end]
                    pos = [numbers[j][along] for j in run]
                    val = [numbers[j]["value"] for j in run]
                    if _even(pos, lambda s: max(_TICK_PX, 0.15 * abs(s))) and _even(val, lambda s: 1e-6 * max(1, abs(s))):
                        dropped |= set(run)
                        break
    return dropped


def _sentence_parts(text: str) -> tuple[list[bool], str | None]:
    """(which tokens are data numbers, the label words) of one printed sentence: every token of a number-only
    sentence; or (version 2) the numbers run together at ONE end of a short label (`Iraq 23 11`, `72 Poland`: at most
    6 words between, no digit among them), the words being the label; else no numbers, and the sentence is a label
    where it holds no digit."""
    tokens = text.split()
    numeric = [_printed_number(t) is not None for t in tokens]
    if tokens and all(numeric):
        return numeric, None
    lead = next((i for i, n in enumerate(numeric) if not n), len(tokens))
    trail = next((i for i, n in enumerate(reversed(numeric)) if not n), len(tokens))
    middle = tokens[lead:len(tokens) - trail]
    words = " ".join(middle)
    if (lead == 0) != (trail == 0) and len(middle) <= 6 and not any(c.isdigit() for c in words) and re.search(r"[A-Za-z]", words):
        return [i < lead or i >= len(tokens) - trail for i in range(len(tokens))], words
    return [False] * len(tokens), None if any(c.isdigit() for c in text) else text


def printed_data_numbers(boxes, title: str = "") -> list[tuple[float, int]]:
    """The printed DATA numbers of a chart, (value, decimals), from its text boxes (objects with `.text` and `.box`):
    numbers of sentences that hold only numbers ('30 30', '45%'), or (version 2) that run together at one end of a
    short label (`Iraq 23 11`); bounded ones like '<1' dropped; notes, sources and titles, whose numbers stand among
    words, drop out; 4-digit years 1900-2100 dropped (category labels); axis tick runs dropped."""
    numbers = []
    for b in boxes:
        tokens = b.text.split()
        data, _ = _sentence_parts(b.text)
        if not any(data):
            continue
        x0, y0, x1, y1 = b.box
        width = (x1 - x0) / max(1, sum(len(t) for t in tokens))
        at = x0
        for token, is_data in zip(tokens, data):
            left, at = at, at + width * len(token)  # a token's share of the box, by its characters
            if not is_data:
                continue
            value, decimals, bounded = _printed_number(token)
            is_year = decimals == 0 and re.fullmatch(r"\d{4}", token) and 1900 <= value <= 2100
            if not bounded and not is_year:
                numbers.append({"value": value, "decimals": decimals, "xc": (left + at) / 2, "x1": at, "yc": (y0 + y1) / 2})
    dropped = _tick_runs(numbers)
    return [(n["value"], n["decimals"]) for i, n in enumerate(numbers) if i not in dropped]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def printed_labels(boxes, title: str = "") -> list[str]:
    """Printed word sentences that may be category or series labels: no digit, at most 6 words, not (part of) the
    title; (version 2) also the words of a label printed with its values at one end (`Iraq 23 11` -> `iraq`); case
    and spaces normalised."""
    title = _norm(title)
    labels = []
    for b in boxes:
        _, words = _sentence_parts(b.text)
        text = _norm(words or "")
        if not text or len(text.split()) > 6:
            continue
        if title and (text in title or title in text):
            continue
        labels.append(text)
    return labels


def _cell_number(cell: str) -> float | None:
    """A table cell's number as printed-number reading gives it ('45%' -> 45); None for a word or a bound ('<1')."""
    parsed = _printed_number(cell.strip().rstrip("*"))
    return None if parsed is None or parsed[2] else parsed[0]


def printed_scores(boxes, title: str, prediction: str | Table | None) -> dict:
    """A predicted table against a chart's printed text (a proxy: values and printed labels only, no gold keys).

    value recall: printed data numbers found among the table's numeric body cells (multiset, equal at the printed
    precision); value precision: numeric body cells that are printed data numbers; value F1. label recall: printed
    labels found (as a part, or within ANLS distance 0.5, as RMS matches keys) among the row and column names (a
    partly read table's closing note is no name).
    `prediction` None (no table) scores 0 everywhere. A chart with no printed data numbers (or labels) gets None
    there: it is left out of that mean."""
    gold, labels = printed_data_numbers(boxes, title), printed_labels(boxes, title)
    table = (parse_table(prediction) if isinstance(prediction, str) else prediction) if prediction is not None else None
    cells = [] if table is None else [v for row in table.rows for c in row[1:] if (v := _cell_number(c)) is not None]
    unused, found = list(cells), 0
    for value, decimals in sorted(gold, key=lambda g: -g[1]):
        match = next((k for k, c in enumerate(unused) if abs(round(c, decimals) - value) < 0.5 * 10 ** -decimals / 10), None)
        if match is not None:
            found += 1
            unused.pop(match)
    recall = found / len(gold) if gold else None
    precision = found / len(cells) if cells else (0.0 if gold else None)
    f1 = None if recall is None else (2 * precision * recall / (precision + recall) if found else 0.0)
    rows = [] if table is None else [row[0] for row in table.rows if row and not is_note(row)]
    names = [] if table is None else [_norm(n) for n in list(table.headers) + rows if n.strip()]
    label_recall = None
    if labels:
        hits = sum(any(label in name or anls(label, name) > 0 for name in names) for label in labels)
        label_recall = hits / len(labels)
    return {"value_f1": f1, "value_recall": recall, "value_precision": precision, "label_recall": label_recall,
            "printed_numbers": len(gold), "printed_labels": len(labels)}

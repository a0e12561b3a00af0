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

import numpy as np
from rapidfuzz.distance import Levenshtein
from scipy.optimize import linear_sum_assignment

from ...chart_table import Table, parse_table


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


def _datapoints(table: Table) -> list[tuple[str, str]]:
    points = [("title", table.title)] if table.title is not None else []
    if len(table.headers) <= 1:
        return points
    for row in table.rows:
        for header, cell in zip(table.headers[1:], row[1:]):
            points.append((f"{row[0]} {header}", cell))
    return points


def _point_score(target: tuple[str, str], prediction: tuple[str, str], text_theta: float, number_theta: float) -> float:
    key = anls(target[0], prediction[0], text_theta)
    t, p = to_float(target[1]), to_float(prediction[1])
    if p is not None and t:
        return key * (1.0 - relative_distance(t, p, number_theta))
    if target[1] == prediction[1]:
        return key
    return key * anls(target[1], prediction[1], text_theta)


def _rms_one(target: Table, prediction: Table, text_theta: float, number_theta: float) -> tuple[float, float, float]:
    gold, pred = _datapoints(target), _datapoints(prediction)
    if not gold and not pred:
        return 1.0, 1.0, 1.0
    if not gold:
        return 0.0, 1.0, 0.0
    if not pred:
        return 1.0, 0.0, 0.0
    cost = np.array([[1.0 - anls(g[0], p[0], text_theta) for p in pred] for g in gold])
    rows, cols = linear_sum_assignment(cost)
    score = sum(_point_score(gold[r], pred[c], text_theta, number_theta) for r, c in zip(rows, cols))
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

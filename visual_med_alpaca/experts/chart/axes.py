"""The value axis: Axis (pixel <-> value, fitted on the tick labels), finding it among the text boxes, and
numbers written in its unit and precision."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .text import TextBox


@dataclass
class Axis:
    """value = slope * pixel + intercept (in log10 when `log`), fitted on the tick labels."""

    slope: float
    intercept: float
    log: bool
    percent: bool
    step: float
    ticks: list[TextBox]

    def value(self, pixel: float) -> float:
        v = self.slope * pixel + self.intercept
        return 10 ** v if self.log else v

    def pixel(self, value: float) -> float:
        v = np.log10(value) if self.log else value
        return (v - self.intercept) / self.slope

    @property
    def span(self) -> float:
        """The range the tick labels cover (largest minus smallest tick number)."""
        numbers = [b.number for b in self.ticks]
        return max(numbers) - min(numbers)


def _robust_fit(pixels: np.ndarray, values: np.ndarray, tol: float) -> tuple[float, float, np.ndarray] | None:
    """Line through the pair of ticks that most other ticks agree with, then least squares on those."""
    best = None
    n = len(pixels)
    for i in range(n):
        for j in range(i + 1, n):
            if abs(pixels[j] - pixels[i]) < 3:
                continue
            slope = (values[j] - values[i]) / (pixels[j] - pixels[i])
            intercept = values[i] - slope * pixels[i]
            inliers = np.abs(slope * pixels + intercept - values) <= tol * max(abs(slope) * 4, 1e-9)
            if best is None or inliers.sum() > best[2].sum():
                best = (slope, intercept, inliers)
    if best is None or best[2].sum() < 3:
        return None
    inliers = best[2]
    slope, intercept = np.polyfit(pixels[inliers], values[inliers], 1)
    return float(slope), float(intercept), inliers


def _fit_axis(boxes: list[TextBox], vertical: bool) -> Axis | None:
    pixels = np.array([b.cy if vertical else b.cx for b in boxes], float)
    values = np.array([b.number for b in boxes], float)
    # '90%-': a tick mark read as a dash after the label (as parse_number reads it) keeps the axis in percent
    percent = sum(b.text.strip().rstrip("-—–").rstrip().endswith("%") for b in boxes) > len(boxes) / 2
    fit = _robust_fit(pixels, values, tol=1.0)
    log = False
    positive = values > 0
    if positive.sum() >= 3:
        logfit = _robust_fit(pixels[positive], np.log10(values[positive]), tol=1.0)
        # a log axis: equal pixel gaps between values that grow by a constant factor (1, 10, 100, ...), or labels
        # all written as powers of ten (`2×10²`, `3×10²`, `4×10²`: a log axis labelled at minor ticks)
        powers = all(b.power for b, p in zip(boxes, positive) if p)
        # (round 152) judged on the labels the log fit stands on, and over a decade at least: a year under the
        # column (`1998` under `74`, `60`, `34`: a line's first values printed over its first category) is no tick,
        # and three numbers within one decade fit some log curve by chance
        held = values[positive][logfit[2]] if logfit is not None else values[positive]
        ratios = np.diff(np.sort(held))
        grows = ratios.max() > 5 * ratios.min() and held.max() >= 10 * held.min()
        if logfit is not None and (fit is None or logfit[2].sum() > fit[2].sum()) and (grows or powers):
            fit, log = logfit, True
            pixels, values = pixels[positive], values[positive]
            boxes = [b for b, p in zip(boxes, positive) if p]
    if fit is None:
        return None
    slope, intercept, inliers = fit
    return _axis_of(slope, intercept, log, percent, [b for b, ok in zip(boxes, inliers) if ok], values[inliers], vertical)


def _axis_of(slope: float, intercept: float, log: bool, percent: bool, ticks: list[TextBox], values: np.ndarray, vertical: bool) -> Axis | None:
    """The Axis of a fit (value, or log10 value, = slope * pixel + intercept) on `ticks` reading `values`; None
    unless the values grow upwards (vertical) or rightwards. Its step is the median gap between tick values."""
    if (vertical and slope >= 0) or (not vertical and slope <= 0):
        return None  # values must grow upwards / rightwards
    if len(np.unique(values)) < 2:
        return None  # (round 224) one number printed again and again (`58 58 58`, a line's values in a row) is no scale
    steps = np.diff(np.sort(values))
    step = float(np.median(steps[steps > 0])) if (steps > 0).any() else 1.0
    return Axis(float(slope), float(intercept), log, percent, step, ticks)


def _groups(boxes: list[TextBox], key, tol: float) -> list[list[TextBox]]:
    """Boxes whose `key` (an edge or centre coordinate) agree within tol."""
    ordered = sorted(boxes, key=key)
    groups: list[list[TextBox]] = []
    for box in ordered:
        if groups and abs(key(box) - key(groups[-1][-1])) <= tol:
            groups[-1].append(box)
        else:
            groups.append([box])
    return groups


def find_value_axis(boxes: list[TextBox], vertical: bool) -> Axis | None:
    """A column (vertical axis) or row (horizontal axis) of >= 3 numbers that fit their positions."""
    numeric = [b for b in boxes if b.number is not None]
    if vertical:
        keys = [lambda b: b.x1, lambda b: b.cx, lambda b: b.x0]
    else:
        keys = [lambda b: b.cy]
    best = None
    tol = max(6.0, 0.5 * float(np.median([b.h for b in numeric]))) if numeric else 6.0
    for key in keys:
        for group in _groups(numeric, key, tol=tol):
            spread = {round(b.cy if vertical else b.cx) for b in group}
            if len(group) < 3 or len(spread) < 3:
                continue
            axis = _fit_axis(group, vertical)
            if axis and (best is None or len(axis.ticks) > len(best.ticks)):
                best = axis
    if best is None:
        for key in keys:
            for group in _groups(numeric, key, tol=tol):
                best = best or _two_decade_axis(group, vertical)
    return best


def _two_decade_axis(group: list[TextBox], vertical: bool) -> Axis | None:
    """A log axis of which only two tick labels are printed (a line over one or two decades: `10²`, `10³`): two
    powers of ten of 100 or more (as _powers_of_ten writes them), a decade or more apart, in a column (row) with
    the larger above (right of) the smaller. A linear axis prints a third label (0) below two so far apart."""
    if len(group) != 2 or not all(re.fullmatch(r"10+", b.text) and len(b.text) >= 3 for b in group):
        return None
    low, high = sorted(group, key=lambda b: b.number)
    pixels = [b.cy if vertical else b.cx for b in (low, high)]
    if low.number == high.number or abs(pixels[1] - pixels[0]) < 2 * max(b.h for b in group):
        return None
    values = np.array([low.number, high.number], float)
    slope, intercept = np.polyfit(pixels, np.log10(values), 1)
    return _axis_of(slope, intercept, True, False, [low, high], values, vertical)


def two_label_axis(boxes: list[TextBox], years: Axis, baseline=None) -> Axis | None:
    """A value axis that prints only its two ends (Pew's trend charts: `0` and `100 %` left of the plot, over a row of
    years): the topmost number left of the first year, reading more than 0, and the lowest `0` left of it in one
    column (their boxes overlap across), far below it and above the years. Where OCR read no such `0` (a small grey
    one on the baseline), `baseline(top)` gives the row of the rule the plot stands on, if any: the `0` is taken to
    be printed there, right-aligned with the top label. None for anything else."""
    if not _all_years(years.ticks):
        return None
    first, row = min(b.cx for b in years.ticks), float(np.median([b.cy for b in years.ticks]))
    height = float(np.median([b.h for b in years.ticks]))
    left = [b for b in boxes if b.number is not None and b.cx < first and b.cy < row - 0.5 * height]
    if not left:
        return None
    top = min(left, key=lambda b: b.cy)
    if not top.number or top.number < 0:
        return None
    zeros = [b for b in left if b.number == 0 and min(b.x1, top.x1) >= max(b.x0, top.x0)]
    if zeros:
        zero = max(zeros, key=lambda b: b.cy)
    else:
        y = baseline(top) if baseline is not None else None
        if y is None:
            return None
        zero = TextBox("0", top.x1 - 0.6 * top.h, y - top.h / 2, top.x1, y + top.h / 2)
    if zero.cy - top.cy < 4 * height or row - zero.cy > 3 * height:
        return None
    slope = top.number / (top.cy - zero.cy)
    # one `%` of two labels is no percent axis: the points print plain numbers, as Pew's tables hold them
    return _axis_of(slope, -slope * zero.cy, False, False, [zero, top], np.array([0.0, top.number]), True)


def prints_only_ends(axis: Axis) -> bool:
    """An axis read by `two_label_axis` (linear, two labels: find_value_axis needs three numbers for a linear axis,
    and `_two_decade_axis`, the other two-label axis, is log)."""
    return len(axis.ticks) == 2 and not axis.log


def _all_years(ticks: list[TextBox]) -> bool:
    return all(b.number == int(b.number) and 1800 <= b.number <= 2100 for b in ticks)


def _looks_like_years(axis: Axis) -> bool:
    return axis.step == 1 and _all_years(axis.ticks)


def _x_title(boxes: list[TextBox], axis: Axis) -> str:
    """The title under a horizontal value axis: the nearest words below its tick labels."""
    middle, height = max(b.cy for b in axis.ticks), max(b.h for b in axis.ticks)
    left, right = min(b.x0 for b in axis.ticks), max(b.x1 for b in axis.ticks)
    below = [b for b in boxes if b.cy > middle + 0.6 * height and left <= b.cx <= right and b.number is None]
    return min(below, key=lambda b: b.y0).text if below else ""


def _format(value: float, axis: Axis) -> str:
    """Round to one digit finer than the tick step; keep '%' when the axis is in percent."""
    decimals = max(0, int(-np.floor(np.log10(axis.step))) + 1) if axis.step > 0 and not axis.log else 2
    if axis.log:
        decimals = max(0, 2 - int(np.floor(np.log10(abs(value)))) if value else 0)
    text = f"{value:.{decimals}f}"
    return text + "%" if axis.percent else text


def _misread(parsed: tuple[float, str], expected: float, span: float) -> tuple[float, str]:
    """A printed number (value, text) as OCR commonly garbles it, read back when the axis contradicts the number
    as read (off by more than a tenth of the axis' span `span`) and agrees with one reading of it (within 3%):
    '%' read as '96' ('99%' -> '9996'), a decimal point lost ('7.4' -> '74'), a thousands separator read as a decimal
    point ('65,182' -> '65.182'). Otherwise `parsed` unchanged."""
    number, text = parsed
    if span <= 0 or abs(number - expected) <= 0.1 * span:
        return parsed
    sign = "-" if text.startswith("-") else ""
    digits = text.lstrip("-")
    readings = []
    if re.fullmatch(r"\d+(?:\.\d+)?96", digits) and len(digits) >= 3:
        readings.append(digits[:-2] + "%")
    if re.fullmatch(r"\d{2,}%?", digits):
        bare, pct = digits.rstrip("%"), "%" if digits.endswith("%") else ""
        readings += [bare[:-k] + "." + bare[-k:] + pct for k in (1, 2) if len(bare) > k]
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+%?", digits):
        readings.append(digits.replace(".", ""))
    best = min(readings, key=lambda t: abs(float(sign + t.rstrip("%")) - expected), default=None)
    if best is None or abs(float(sign + best.rstrip("%")) - expected) > 0.03 * span:
        return parsed
    return float(sign + best.rstrip("%")), sign + best


def _in_axis_unit(printed: str, axis: Axis | None) -> str:
    """A number printed on a bar or at a point of a percent axis is a percentage: '80' on an axis of '0%' ... '80%' is '80%'."""
    return printed + "%" if axis is not None and axis.percent and not printed.endswith("%") else printed

"""Offline chart -> data table: OCR (rapidocr, PP-OCR models inside the wheel) + OpenCV colour masks.

Why by hand: no DePlot weights can be had offline, and a chart's geometry is simple enough to measure.
Steps: OCR every text box -> find the numeric value axis (a column or a row of numbers that fit pixel
positions linearly, or in log10) -> split the plot into colour clusters -> bars are the blobs that survive
a morphological opening and stand on the baseline (or on another bar: stacked); lines are thin clusters
sampled at the category ticks -> names from the legend (the text right of a colour swatch) -> values from
numbers printed on the bars when present, else from the axis fit. Horizontal bars are read by rotating the
picture a quarter turn. The answer is DePlot's linearized table; when something cannot be read the text
says so and no number is made up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ..errors import BackendError
from ..images import LoadedImage

MIN_SIDE = 48  # below this nothing in a chart is legible
WORK_SIDE = 1000  # larger charts are downscaled before OCR: text stays readable, OCR time stays bounded
_NUMBER = re.compile(r"^[-−–]?[$€£]?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?$|^[-−–]?[$€£]?\d*\.?\d+%?$")


@dataclass
class TextBox:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def h(self) -> float:
        return self.y1 - self.y0

    @property
    def number(self) -> float | None:
        return parse_number(self.text)

    def rotated(self, width: int) -> TextBox:
        """The same box after np.rot90 (a quarter turn counter-clockwise) of a picture `width` wide."""
        return replace(self, x0=self.y0, x1=self.y1, y0=width - 1 - self.x1, y1=width - 1 - self.x0)


def parse_number(text: str) -> float | None:
    """'1,234' / '45%' / '$3.5' / '100-' (a tick mark read as a dash) -> float; None for words."""
    cleaned = text.strip().replace(" ", "").rstrip("-—–").replace("O", "0").replace("o", "0")
    if not cleaned or not _NUMBER.match(cleaned):
        return None
    cleaned = cleaned.replace("−", "-").replace("–", "-").lstrip("$€£").replace("$", "").replace(",", "").rstrip("%")
    try:
        return float(cleaned)
    except ValueError:
        return None


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
    percent = sum(b.text.strip().endswith("%") for b in boxes) > len(boxes) / 2
    fit = _robust_fit(pixels, values, tol=1.0)
    log = False
    positive = values > 0
    if positive.sum() >= 3:
        logfit = _robust_fit(pixels[positive], np.log10(values[positive]), tol=1.0)
        ratios = np.diff(np.sort(values[positive]))
        # a log axis: equal pixel gaps between values that grow by a constant factor (1, 10, 100, ...)
        if logfit is not None and (fit is None or logfit[2].sum() > fit[2].sum()) and ratios.max() > 5 * ratios.min():
            fit, log = logfit, True
            pixels, values = pixels[positive], values[positive]
            boxes = [b for b, p in zip(boxes, positive) if p]
    if fit is None:
        return None
    slope, intercept, inliers = fit
    if (vertical and slope >= 0) or (not vertical and slope <= 0):
        return None  # values must grow upwards / rightwards
    kept = [b for b, ok in zip(boxes, inliers) if ok]
    steps = np.diff(np.sort(values[inliers]))
    step = float(np.median(steps[steps > 0])) if (steps > 0).any() else 1.0
    return Axis(slope, intercept, log, percent, step, kept)


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
    return best


@dataclass
class Component:
    x0: int
    y0: int
    x1: int
    y1: int  # inclusive pixel bounds
    cluster: int

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def width(self) -> int:
        return self.x1 - self.x0 + 1


class ChartReadError(Exception):
    """Raised inside the reader when a chart cannot be read; the message goes to the user."""


class ChartExpert:
    """`chart` expert: describe(image) -> DePlot table text, or a sentence saying why there is none."""

    name = "chart"

    def __init__(self, threads: int = 2):
        try:
            from rapidocr import RapidOCR
        except ImportError:
            raise BackendError("the chart expert needs 'rapidocr' and 'onnxruntime' (pip install 'visual-med-alpaca[vision]')") from None
        self.ocr = RapidOCR(params={
            "Global.log_level": "critical", "Global.use_cls": False,
            "Det.limit_type": "min", "Det.limit_side_len": 736,  # small charts are upscaled: tick labels need it
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        })

    # -- OCR -------------------------------------------------------------------------------------------
    def read_text(self, rgb: np.ndarray) -> list[TextBox]:
        result = self.ocr(rgb, use_det=True, use_cls=False, use_rec=True)  # explicit: the engine keeps the last call's flags
        boxes = []
        if result.boxes is None:
            return boxes
        for quad, text, score in zip(result.boxes, result.txts, result.scores):
            text = text.strip()
            if score < 0.5 or (len(text) == 1 and score < 0.9) or not text or not any(ch.isascii() and ch.isalnum() for ch in text):
                continue
            quad = np.asarray(quad)
            boxes.append(TextBox(text, float(quad[:, 0].min()), float(quad[:, 1].min()),
                                 float(quad[:, 0].max()), float(quad[:, 1].max())))
        return boxes

    # -- entry point -----------------------------------------------------------------------------------
    def describe(self, image: LoadedImage) -> str:
        rgb = np.asarray(image.image.convert("RGB"))
        h, w = rgb.shape[:2]
        if min(h, w) < MIN_SIDE:
            return f"The chart could not be read: the image is only {w}x{h} pixels, too small for any text to be legible."
        if max(h, w) > WORK_SIDE:
            import cv2

            scale = WORK_SIDE / max(h, w)
            rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        try:
            return self.read_table(rgb)
        except ChartReadError as exc:
            return f"The chart could not be read: {exc}."

    def read_table(self, rgb: np.ndarray) -> str:
        boxes = self.read_text(rgb)
        self._original = (rgb, boxes)
        if not boxes:
            raise ChartReadError("no text was found in the image (no axis labels, legend or printed values)")
        y_axis = find_value_axis(boxes, vertical=True)
        x_axis = find_value_axis(boxes, vertical=False)
        if y_axis is None and x_axis is None:  # faint small tick labels: look again at the left margin, enlarged
            boxes = boxes + self._margin_text(rgb, boxes)
            y_axis = find_value_axis(boxes, vertical=True)
        attempts = []
        if y_axis is not None and x_axis is not None and _looks_like_years(y_axis):
            y_axis = None  # a column of consecutive years is the category axis of horizontal bars
        if y_axis is not None or x_axis is None:
            attempts.append(("vertical", rgb, boxes, y_axis))
        if x_axis is not None:
            width = rgb.shape[1]
            axis = replace(x_axis, ticks=[b.rotated(width) for b in x_axis.ticks])
            # after a quarter turn, pixel column x becomes row width-1-x: re-express the fit in rows
            axis.slope, axis.intercept = -x_axis.slope, x_axis.slope * (width - 1) + x_axis.intercept
            attempts.append(("horizontal", np.ascontiguousarray(np.rot90(rgb)), [b.rotated(width) for b in boxes], axis))
        if y_axis is None and x_axis is None:
            attempts.append(("horizontal", np.ascontiguousarray(np.rot90(rgb)), [b.rotated(rgb.shape[1]) for b in boxes], None))
        problems = []
        for orientation, picture, picture_boxes, axis in attempts:
            try:
                header, series, rows = self._read_upright(picture, picture_boxes, axis, orientation)
            except ChartReadError as exc:
                problems.append(str(exc))
                continue
            if series == ["Value"]:  # one unnamed series: the value axis' title names it
                if orientation == "vertical" and y_axis is not None:
                    series = [self._y_title(rgb, boxes, y_axis) or "Value"]
                elif orientation == "horizontal" and x_axis is not None:
                    series = [_x_title(boxes, x_axis) or "Value"]
            title = self._title([b for b in boxes if b.text not in series], y_axis or x_axis)
            lines = [f"TITLE | {title}", " | ".join([header] + series)]
            lines += [" | ".join([name] + values) for name, values in rows]
            return " <0x0A> ".join(lines)
        raise ChartReadError(problems[0] if problems else "no bars or lines were found")

    def _margin_text(self, rgb: np.ndarray, boxes: list[TextBox]) -> list[TextBox]:
        import cv2

        width = max(24, rgb.shape[1] // 6)
        strip = cv2.resize(rgb[:, :width], None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        found = []
        for box in self.read_text(strip):
            box = TextBox(box.text, box.x0 / 2, box.y0 / 2, box.x1 / 2, box.y1 / 2)
            if box.number is not None and not any(abs(box.cx - b.cx) < 4 and abs(box.cy - b.cy) < 4 for b in boxes):
                found.append(box)
        return found

    # -- pieces ------------------------------------------------------------------------------------------
    @staticmethod
    def _title(boxes: list[TextBox], axis: Axis | None) -> str:
        top = min((b.y0 for b in axis.ticks), default=None) if axis else None
        limit = top if top is not None else min(b.y0 for b in boxes) + 1
        if axis:  # above the top tick label (boxes of neighbouring lines may touch)
            top_tick = min(axis.ticks, key=lambda b: b.cy)
            candidates = [b for b in boxes if b.cy < top_tick.cy - 0.5 * top_tick.h and len(b.text) >= 3 and b.number is None]
        else:
            candidates = [b for b in boxes if b.y1 < limit and len(b.text) >= 3 and b.number is None]
        if not candidates:
            return ""
        first = min(candidates, key=lambda b: b.y0)
        line = [b for b in candidates if abs(b.cy - first.cy) < first.h / 2]
        return " ".join(b.text for b in sorted(line, key=lambda b: b.x0))

    def _y_title(self, rgb: np.ndarray, boxes: list[TextBox], axis: Axis) -> str:
        """The value-axis title, printed bottom-to-top left of the ticks: recognise its box turned upright
        (the detector finds vertical text, the recogniser reads only horizontal text)."""
        tick_x0 = min(b.x0 for b in axis.ticks)
        tall = [b for b in boxes if b.h > 2 * (b.x1 - b.x0) and b.cx < tick_x0 and b.number is None]
        if not tall:
            return ""
        box = max(tall, key=lambda b: b.h)
        crop = rgb[int(box.y0):int(box.y1) + 1, int(box.x0):int(box.x1) + 1]
        result = self.ocr(np.ascontiguousarray(np.rot90(crop, k=-1)), use_det=False, use_cls=False, use_rec=True)
        text = " ".join(t for t in (result.txts or ()) if t).strip()
        return text or box.text

    def _read_upright(self, rgb: np.ndarray, boxes: list[TextBox], axis: Axis | None, orientation: str):
        import cv2

        h, w = rgb.shape[:2]
        tick_ids = {id(b) for b in axis.ticks} if axis else set()
        if axis is not None:
            tick_x0, tick_x1 = min(b.x0 for b in axis.ticks), max(b.x1 for b in axis.ticks)
            left_side = tick_x1 < w / 2
            region_x = (int(tick_x1) + 3, w) if left_side else (0, int(tick_x0) - 2)
            bottom_tick = max(b.cy for b in axis.ticks)
            tick_h = max(b.h for b in axis.ticks)
            under = [b.y0 for b in boxes if b.cy > bottom_tick + tick_h / 2 and region_x[0] <= b.cx <= region_x[1]]
            region_y1 = int(min([h] + [y - 1 for y in under]))
        else:
            region_x, region_y1 = (0, w), h
        x0r, x1r = region_x
        region = rgb[:region_y1, x0r:x1r]
        if region.size == 0:
            raise ChartReadError("the plot area next to the value axis is empty")
        masks, centres, background = _colour_clusters(region, boxes, x0r)
        if not masks:
            raise ChartReadError("no coloured marks (bars or lines) were found")
        k = max(3, round(min(h, w) / 110))
        kernel = np.ones((k, k), np.uint8)
        bars: list[Component] = []
        for index, mask in enumerate(masks):
            opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
            count, _, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=4)
            for x, y, cw, ch, area in stats[1:]:
                if cw >= k + 1 and ch >= 2 and area >= 0.7 * cw * ch and cw < 0.6 * region.shape[1]:
                    bars.append(Component(x + x0r, y, x + x0r + cw - 1, y + ch - 1, index))
        bars = _standing(bars)
        if bars and not _bars_fit_axis(bars, axis):
            bars = []  # e.g. line markers: blobs, but not standing on the value axis' zero
        floor = max(b.cy for b in axis.ticks) if axis else region_y1 - 4
        categories = self._categories(boxes, bars, tick_ids, floor, x0r, x1r)
        names = _legend_names(self._original, masks, centres, background)
        if bars:
            return self._bar_table(bars, categories, names, boxes, axis, tick_ids, orientation)
        if axis is None:
            raise ChartReadError("there is no numeric axis and no bars with printed values")
        return self._line_table(masks, centres, background, categories, names, axis, x0r, orientation)

    @staticmethod
    def _categories(boxes, bars, tick_ids, floor, x0r, x1r) -> list[TextBox]:
        """The row of labels just under the plot (rotated labels included), left to right."""
        base = max((b.y1 for b in bars), default=floor)
        below = [b for b in boxes if id(b) not in tick_ids and b.cy > base + 2 and x0r - 20 <= b.cx <= x1r + 20]
        if not below:
            return []
        first = min(below, key=lambda b: b.cy)
        tol = max(b.h for b in below) * 0.6
        row = [b for b in below if abs(b.cy - first.cy) <= tol]
        return sorted(row, key=lambda b: b.cx)

    def _bar_table(self, bars, categories, names, boxes, axis, tick_ids, orientation):
        labels = [b for b in boxes if b.number is not None and id(b) not in tick_ids]
        clusters = sorted({b.cluster for b in bars}, key=lambda c: (names.get(c, (1e9,))[0], c))
        categories = _split_merged_labels(categories, bars)
        if categories:
            slots = [c.cx for c in categories]
            row_names = [c.text for c in categories]
        else:  # no labels: one row per bar position, numbered left to right
            centres = sorted({round(b.cx) for b in bars})
            slots, row_names = [], []
            for cx in centres:
                if not slots or cx - slots[-1] > min(b.width for b in bars):
                    slots.append(cx)
            row_names = [str(i + 1) for i in range(len(slots))]
        baseline = max(b.y1 for b in bars)
        grid: dict[tuple[int, int], str] = {}
        missing = 0
        for bar in bars:
            slot = int(np.argmin([abs(bar.cx - s) for s in slots]))
            value = self._bar_value(bar, baseline, labels, axis)
            if value is None:
                missing += 1
                continue
            grid.setdefault((slot, bar.cluster), value)
        if not grid:
            raise ChartReadError("bars were found but neither an axis scale nor printed values to measure them")
        series = [names.get(c, (0, ""))[1] or (f"Series {i + 1}" if len(clusters) > 1 else "Value") for i, c in enumerate(clusters)]
        rows = [(row_names[s], [grid.get((s, c), "") for c in clusters]) for s in range(len(slots))
                if any((s, c) in grid for c in clusters)]
        return "Category", series, rows

    @staticmethod
    def _bar_value(bar: Component, baseline: int, labels: list[TextBox], axis: Axis | None) -> str | None:
        """A number printed on or just above the bar wins; otherwise measure the bar on the axis."""
        height = bar.y1 - bar.y0 + 1
        for label in labels:
            inside_x = bar.x0 - 3 <= label.cx <= bar.x1 + 3
            near_top = bar.y0 - 2.2 * label.h <= label.cy <= bar.y1
            if inside_x and near_top and (label.cy >= bar.y0 or label.y1 <= bar.y0 + height * 0.5 + 3):
                printed = label.text.strip().rstrip("-—–").replace(" ", "")
                return printed + "%" if axis is not None and axis.percent and not printed.endswith("%") else printed
        if axis is None:
            return None
        top = axis.value(bar.y0)
        if abs(bar.y1 - baseline) <= 3:
            value = top  # bars grow from zero; an axis that starts above zero only clips them
        else:  # stacked: the segment's own height
            value = top - axis.value(bar.y1 + 1)
        return _format(value, axis)

    def _line_table(self, masks, centres, background, categories, names, axis, x0r, orientation):
        if not categories:
            raise ChartReadError("a plotted line was found but no category or x-axis labels to read it at")
        series, columns = [], []
        for index, mask in enumerate(masks):
            colour = centres[index]
            chromatic = colour.max() - colour.min() > 60
            if not chromatic and index not in names:
                continue  # grey/black marks without a legend entry are axes, grids and text
            values = []
            for cat in categories:
                x = int(round(cat.cx)) - x0r
                window = mask[:, max(0, x - 2):x + 3]
                rows = np.nonzero(window.any(axis=1))[0]
                values.append(_format(axis.value(float(np.median(rows))), axis) if len(rows) else "")
            if sum(v != "" for v in values) >= max(2, len(categories) // 2):
                series.append(index)
                columns.append(values)
        if not series:
            raise ChartReadError("no bars and no plotted line could be traced")
        series, columns = _drop_duplicate_lines(series, columns, names, axis)
        order = sorted(range(len(series)), key=lambda i: (names.get(series[i], (1e9,))[0], series[i]))
        labels = [names.get(series[i], (0, ""))[1] or (f"Series {n + 1}" if len(series) > 1 else "Value") for n, i in enumerate(order)]
        rows = [(cat.text, [columns[i][r] for i in order]) for r, cat in enumerate(categories)]
        return "Category", labels, rows


def _looks_like_years(axis: Axis) -> bool:
    values = [b.number for b in axis.ticks]
    return axis.step == 1 and all(v == int(v) and 1800 <= v <= 2100 for v in values)


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


def _split_merged_labels(categories: list[TextBox], bars: list[Component]) -> list[TextBox]:
    """OCR sometimes joins neighbouring category labels into one box; when the box spans k groups of
    touching bars and holds a multiple of k words, give each group its share of the words."""
    groups: list[list[float]] = []
    for bar in sorted(bars, key=lambda b: b.x0):
        if groups and bar.x0 <= groups[-1][1] + 3:
            groups[-1][1] = max(groups[-1][1], bar.x1)
        else:
            groups.append([bar.x0, bar.x1])
    out = []
    for box in categories:
        inside = [(a + b) / 2 for a, b in groups if box.x0 <= (a + b) / 2 <= box.x1]
        words = box.text.split()
        if len(inside) >= 2 and len(words) % len(inside) == 0:
            per = len(words) // len(inside)
            for i, centre in enumerate(inside):
                half = (box.x1 - box.x0) / (2 * len(inside))
                out.append(TextBox(" ".join(words[i * per:(i + 1) * per]), centre - half, box.y0, centre + half, box.y1))
        else:
            out.append(box)
    return out


def _bars_fit_axis(bars: list[Component], axis: Axis | None) -> bool:
    """Bars grow from zero: where the axis shows zero, the baseline must sit on it; elsewhere (log axes,
    axes that start above zero) at least one blob must be bar-shaped (taller than wide)."""
    baseline = max(b.y1 for b in bars)
    if axis is not None and not axis.log:
        values = [b.number for b in axis.ticks]
        if min(values) - 1.5 * axis.step <= 0 <= max(values):
            return abs(axis.pixel(0.0) - baseline) <= 4
    return any(b.y1 - b.y0 + 1 >= 1.5 * b.width for b in bars)


def _drop_duplicate_lines(series, columns, names, axis):
    """Anti-aliased edges of a line form a second, paler colour cluster that traces the same values:
    keep one line per trace, preferring the one the legend names."""
    numbers = [np.array([float(v.rstrip("%")) if v else np.nan for v in col]) for col in columns]
    ticks = [b.number for b in axis.ticks]
    span = max(max(ticks) - min(ticks), 1e-9)
    order = sorted(range(len(series)), key=lambda i: (series[i] not in names, -np.isfinite(numbers[i]).sum()))
    kept: list[int] = []
    for i in order:
        same = [k for k in kept if np.nanmean(np.abs(numbers[i] - numbers[k]) < 0.02 * span) >= 0.8]
        if not same:
            kept.append(i)
    kept.sort()
    return [series[i] for i in kept], [columns[i] for i in kept]


def _standing(bars: list[Component]) -> list[Component]:
    """Keep blobs that stand on the common baseline, or on a kept blob below them (stacked bars)."""
    if not bars:
        return []
    baseline = max(b.y1 for b in bars)
    kept = [b for b in bars if abs(b.y1 - baseline) <= 3]
    pending = [b for b in bars if b not in kept]
    changed = True
    while changed:
        changed = False
        for bar in list(pending):
            for base in kept:
                overlap = min(bar.x1, base.x1) - max(bar.x0, base.x0)
                if overlap > 0.6 * min(bar.width, base.width) and abs(bar.y1 + 1 - base.y0) <= 3:
                    kept.append(bar)
                    pending.remove(bar)
                    changed = True
                    break
    return kept


def _colour_clusters(region: np.ndarray, boxes: list[TextBox], x_offset: int):
    """Masks of the main non-background colours in the plot area, with text boxes blanked out."""
    pixels = region.astype(np.int16)
    codes = (pixels[..., 0] // 32) * 64 + (pixels[..., 1] // 32) * 8 + pixels[..., 2] // 32
    blank = np.zeros(codes.shape, bool)
    for b in boxes:
        blank[max(0, int(b.y0)):int(b.y1) + 1, max(0, int(b.x0) - x_offset):max(0, int(b.x1) - x_offset + 1)] = True
    counts = np.bincount(codes[~blank].ravel(), minlength=512)
    background_code = int(counts.argmax())
    background = pixels[codes == background_code].mean(axis=0)
    threshold = max(40, 0.001 * (~blank).sum())
    candidates = [c for c in np.argsort(counts)[::-1][:24] if counts[c] >= threshold and c != background_code]
    centres: list[np.ndarray] = []
    for code in candidates:
        centre = pixels[codes == code].mean(axis=0)
        if np.linalg.norm(centre - background) < 45:
            continue
        if all(np.linalg.norm(centre - other) >= 45 for other in centres):
            centres.append(centre)
        if len(centres) >= 10:
            break
    masks = []
    flat = pixels.reshape(-1, 3).astype(np.float32)
    if centres:
        all_centres = np.stack([background] + centres).astype(np.float32)
        distances = ((flat[:, None, :] - all_centres[None]) ** 2).sum(axis=2)
        nearest = distances.argmin(axis=1).reshape(codes.shape)
        close = distances.min(axis=1).reshape(codes.shape) < 45 ** 2
        for index in range(len(centres)):
            mask = (nearest == index + 1) & close & ~blank
            masks.append(mask.astype(np.uint8))
    return masks, centres, background


def _legend_names(original, masks, centres, background) -> dict[int, tuple[float, str]]:
    """cluster -> (legend position, name): a word whose left neighbour strip is mostly that colour.

    Read on the upright original picture, so it works the same for rotated (horizontal-bar) charts."""
    rgb, boxes = original
    names: dict[int, tuple[float, str]] = {}
    palette = np.stack([background] + list(centres)).astype(np.float32)
    for box in boxes:
        if box.number is not None:
            continue
        y0, y1 = int(box.y0 + box.h * 0.2), int(box.y1 - box.h * 0.2) + 1
        x1 = int(box.x0) - 1
        x0 = max(0, x1 - int(max(12, box.h * 2.5)))
        if x1 <= x0 or y1 <= y0:
            continue
        strip = rgb[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)
        distances = ((strip[:, None, :] - palette[None]) ** 2).sum(axis=2)
        nearest = np.where(distances.min(axis=1) < 45 ** 2, distances.argmin(axis=1), 0)
        counts = np.bincount(nearest, minlength=len(palette))[1:]
        best = int(np.argmax(counts))
        if counts[best] >= max(6, 0.08 * len(strip)):
            order = box.cy * 10000 + box.cx  # legends read top-to-bottom, then left-to-right
            if best not in names or order < names[best][0]:
                names[best] = (order, box.text)
    return names


@lru_cache(maxsize=1)
def shared_chart_expert() -> ChartExpert:
    """One OCR engine per process (benchmarks, eval and the pipeline reuse it)."""
    return ChartExpert()

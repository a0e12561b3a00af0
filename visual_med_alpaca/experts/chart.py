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

import math
import re
import sys
import threading
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from ..errors import BackendError
from ..images import LoadedImage

MIN_SIDE = 48  # below this nothing in a chart is legible
WORK_SIDE = 1000  # larger charts are downscaled before OCR: text stays readable, OCR time stays bounded
_NUMBER = re.compile(r"^[-−–]?[$€£]?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?$|^[-−–]?[$€£]?\d*\.?\d+%?$")
_SCALE_WORD = re.compile(r"(?<=\d)\s*(?:thousand|million|billion|trillion|bn|k)$", re.I)
# A printed value label: sign, currency, digits with ',' / ' ' thousand separators, decimals, '%', and a short
# unit after it ('175.09 g', '3.5bn', '12 kg', '1,2 m') that is dropped; the whole label must be this.
_VALUE = re.compile(r"^(?P<sign>[-−–+]?)\s*(?:[$€£¥₹]|US\$|USD|EUR|GBP)?\s*(?P<num>\d{1,4}(?:[, ]\d{3})+(?:\.\d+)?|\d*\.?\d+)"
                    r"\s*(?P<pct>%?)\s*(?P<unit>[A-Za-zµ°²³^/$€£]{0,8}\.?)\*?$")
_OWID = re.compile(r"our\s*world\s*in\s*data|ourworldindata", re.I)  # the publisher's logo or source line
# Words of a publisher's page chrome that are never chart content (Statista's footer, notes and sources).
_CHROME = re.compile(r"statista|additional information|show source|^source|^note|©|our world|in data|research center|"
                     r"cc by|\.org|\.com|https?:|www\.", re.I)


@dataclass
class TextBox:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    src: TextBox | None = field(default=None, repr=False, compare=False)  # the box in the upright original

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
    def turned(self) -> bool:
        """Text printed turned a quarter (an axis title): a box much taller than wide."""
        return self.h > 1.6 * (self.x1 - self.x0) and self.h > 15

    @property
    def number(self) -> float | None:
        return parse_number(self.text)

    @property
    def original(self) -> TextBox:
        return self.src or self

    def rotated(self, width: int) -> TextBox:
        """The same box after np.rot90 (a quarter turn counter-clockwise) of a picture `width` wide."""
        return replace(self, x0=self.y0, x1=self.y1, y0=width - 1 - self.x1, y1=width - 1 - self.x0, src=self.original)


def parse_number(text: str) -> float | None:
    """'1,234' / '45%' / '$3.5' / '100-' (a tick mark read as a dash) / '$250 million' (the scale word is the
    axis' unit, as in the data table) -> float; None for words."""
    cleaned = _SCALE_WORD.sub("", text.strip()).replace(" ", "").rstrip("-—–").replace("O", "0").replace("o", "0")
    if not cleaned or not _NUMBER.match(cleaned):
        return None
    cleaned = cleaned.replace("−", "-").replace("–", "-").lstrip("$€£").replace("$", "").replace(",", "").rstrip("%")
    try:
        return float(cleaned)
    except ValueError:
        return None


# a log axis' tick label in matplotlib's notation: `10³`, `10^{2}` (OCR: `10{2`, `10^²`), `6×10²`; `101` where the
# superscript was read as a plain digit
_POWER = re.compile(r"^(?:(?P<lead>\d(?:\.\d+)?)\s*[×xX·]\s*)?10\s*(?:\^\s*\{?|\{)?\s*(?P<exp>[-−⁻]?[0-9⁰¹²³⁴⁵⁶⁷⁸⁹]+)\}?$")
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻−", "0123456789--")


def _powers_of_ten(boxes: list[TextBox]) -> list[TextBox]:
    """Tick labels of a log axis written as powers of ten, as plain numbers (`10³` -> `1000`, `6×10²` -> `600`).
    A label counts when it is written as a power (a superscript, `^`, `{` or `×`), or when it reads `10` and one
    more digit (`101`: the superscript read as a digit) in the same column or row as such a label."""
    def power(text: str) -> tuple[float, bool] | None:
        match = _POWER.match(text.strip())
        if not match or len(match["exp"].translate(_SUPERSCRIPT).lstrip("-")) > 2:
            return None
        value = float(match["lead"] or 1) * 10 ** int(match["exp"].translate(_SUPERSCRIPT))
        return value, not re.fullmatch(r"[0-9]+", text.strip())  # (str.isdigit takes '³' for a digit)

    written = [b for b in boxes if (p := power(b.text)) is not None and p[1]]
    if not written:
        return boxes
    out = []
    for box in boxes:
        p = power(box.text)
        if p is not None and (p[1] or (len(box.text.strip()) == 3 and any(
                abs(box.x1 - w.x1) <= w.h or abs(box.x0 - w.x0) <= w.h or abs(box.cy - w.cy) <= 0.5 * w.h for w in written))):
            box = replace(box, text=str(int(round(p[0]))) if p[0] >= 1 else f"{p[0]:.6f}".rstrip("0"))
        out.append(box)
    return out


def parse_value(text: str) -> tuple[float, str] | None:
    """A printed value label -> (number, normalised text): '2 184.06%' -> (2184.06, '2184.06%'),
    '175.09 g' -> (175.09, '175.09'), '$1,250' -> (1250, '1250'); None for anything else."""
    match = _VALUE.match(text.strip().replace("O", "0") if re.search(r"\d", text) else "")
    if not match:
        return None
    number = match["num"].replace(",", "").replace(" ", "")
    if match["sign"] in "-−–" and match["sign"]:
        number = "-" + number
    try:
        value = float(number)
    except ValueError:
        return None
    return value, number + match["pct"]


@lru_cache(maxsize=1)
def _word_counts() -> tuple[dict[str, int], int]:
    """English word counts (pyspellchecker's list, ~160k words from subtitles) and their total; loaded once."""
    from spellchecker import SpellChecker

    frequency = SpellChecker(language="en").word_frequency
    return frequency.dictionary, frequency.total_words


def unaccent(text: str) -> str:
    """Accents OCR put on English words ('Treatmént', 'sún' -> 'Treatment', 'sun'): a word with an accented letter
    takes its plain letters when that form is a common English word (seen 2000+ times in the word list) and the
    accented one is unknown; names keep theirs ('Querétaro', 'León', 'México': their plain forms are rare words)."""
    if text.isascii():
        return text
    counts, _ = _word_counts()

    def plain(match: re.Match) -> str:
        word = match.group(0)
        bare = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()
        if word.isascii() or len(bare) != len(word) or counts.get(word.lower(), 0) or counts.get(bare.lower(), 0) < 2000:
            return word
        return bare

    return re.sub(r"[^\W\d_]+", plain, text)


def respace(text: str) -> str:
    """The spaces of an OCR'd line re-decided by a word list; letters never change. Turned text (a value-axis
    title printed bottom to top) is drawn with uneven letter spacing, and the recogniser reads a wide gap inside a
    word as a space: 'Numbe r of pe rsonal trips in m illions', 'Re venue'. Runs of 2-4 letter-only pieces are
    joined when the joined word is known and, as one word, 1000 times likelier per removed space than the pieces
    as separate words (a unigram model: 'in to', 'a round', 'on line' stay apart; after a hyphen, the word after
    it: 'tonne-kilome te rs'); an all-capitals acronym split off one letter ('GD P') is joined, and a footnote mark
    read apart ('14 *') is joined to its word; an unknown word that is a very common word run into a known one
    ('ofusers') is split."""
    counts, total = _word_counts()
    log_total = math.log10(total)

    def logp(word: str) -> float:  # log10 probability of a word; an unknown one counts as seen once
        return math.log10(max(counts.get(word.lower(), 0), 1)) - log_total

    tokens, out, i = text.split(), [], 0
    while i < len(tokens):
        end = i + 1
        for j in range(min(len(tokens), i + 4), i + 1, -1):  # the longest run first
            head, _, first = tokens[i].rpartition("-")  # 'tonne-kilome te rs': the word after the hyphen
            pieces = [first] + tokens[i + 1:j]
            joined = "".join(pieces)
            if not all(p.isalpha() for p in pieces):
                continue
            if counts.get(joined.lower(), 0) and logp(joined) - sum(logp(p) for p in pieces) > 3 * (j - i - 1):
                end = j
                break
            if j == i + 2 and joined.isupper() and len(joined) <= 5 and min(len(p) for p in pieces) == 1 < max(len(p) for p in pieces):
                end = j
                break
        if out and re.fullmatch(r"\*+", tokens[i]):  # a footnote mark read apart: '14 *'
            out[-1] += tokens[i]
        else:
            out.append("".join(tokens[i:end]))
        i = end
    words = []
    for token in out:  # a space the recogniser lost after or before a very common word
        if token.isalpha() and len(token) >= 5 and not counts.get(token.lower(), 0):
            halves = [(counts.get(token[:k].lower(), 0), counts.get(token[k:].lower(), 0), k)
                      for k in range(2, len(token) - 1)]
            splits = [(a * b, k) for a, b, k in halves if min(a, b) >= 1000 and max(a, b) >= 1_000_000]
            if splits:
                k = max(splits)[1]
                words += [token[:k], token[k:]]
                continue
        words.append(token)
    return " ".join(words)


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
    """A filled rectangle of one colour cluster: inclusive pixel bounds (ints from the picture; `Bar` adds
    the upright-coordinate turns)."""

    x0: float
    y0: float
    x1: float
    y1: float  # inclusive pixel bounds
    cluster: int

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def width(self) -> float:
        return self.x1 - self.x0 + 1

    @property
    def height(self) -> float:
        return self.y1 - self.y0 + 1

    @property
    def area(self) -> float:
        return self.width * self.height


class ChartReadError(Exception):
    """Raised inside the reader when a chart cannot be read; the message goes to the user."""


@dataclass
class ChartReading:
    """What the expert read: the DePlot table text (or the could-not-be-read sentence) and the chart type it
    took the picture for (bar, hbar, grouped, stacked, line, ...; 'unread' when it gave no table)."""

    text: str
    kind: str


def _table_normalised_detection(engine) -> None:
    """rapidocr normalises the detector's enlarged input in float64 (~0.1 s a chart, a tenth of the chart's
    time); its input is uint8, so a 256-entry table built with rapidocr's own expression gives the same float32
    tensor bit for bit (tests/test_experts_chart.py). The only hook is the detector's `get_preprocess`, an
    attribute of rapidocr 3.10's `text_det`: where it is missing nothing changes but the speed."""
    detector = getattr(engine, "text_det", None)
    if detector is None or getattr(detector, "_vmed_table", False) or not hasattr(detector, "get_preprocess"):
        return
    try:
        from rapidocr.ch_ppocr_det.utils import DetPreProcess
    except ImportError:
        return

    class TablePreProcess(DetPreProcess):
        def __call__(self, img: np.ndarray):
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                return super().__call__(img)
            import cv2

            resized = self.resize(img)
            if resized is None:
                return None
            table = self.normalize(np.arange(256, dtype=np.uint8).reshape(256, 1, 1).repeat(3, axis=2)).astype(np.float32)
            return np.ascontiguousarray(cv2.LUT(resized, table).transpose(2, 0, 1)[None])

    detector.get_preprocess = lambda: TablePreProcess(detector.limit_side_len, detector.limit_type, detector.mean, detector.std)
    detector._vmed_table = True


def _session_copy(session, threads: int, flush_denormals: bool = False):
    """A new onnxruntime session of `session`'s model with rapidocr's options (ChartExpert._engine) on `threads`
    intra-op threads; `flush_denormals`: its pool threads treat denormal floats as zero (see
    _denormal_flushing_detection)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = True
    options.intra_op_num_threads = threads
    if threads == 1:
        options.inter_op_num_threads = 1
    if flush_denormals:
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
    return ort.InferenceSession(session._model_path, options, providers=session.get_providers())


@contextmanager
def _denormals_flushed_on_this_thread():
    """Inside the block, this thread's SSE arithmetic flushes denormal floats to zero (MXCSR's FTZ and DAZ bits);
    on leaving it, the thread's whole floating-point environment is put back as it was (fegetenv / fesetenv).
    The mode is a per-thread register, so other threads are untouched (tests/test_experts_chart.py). Only on
    x86-64 Linux with glibc (fenv_t: the x87 environment, then MXCSR at byte 28); elsewhere it does nothing."""
    libm = _libm()
    if libm is None:
        yield
        return
    import ctypes

    saved = ctypes.create_string_buffer(32)
    if libm.fegetenv(saved) != 0:
        yield
        return
    flushing = ctypes.create_string_buffer(saved.raw, 32)
    flushing[28:32] = (int.from_bytes(saved.raw[28:32], "little") | 0x8040).to_bytes(4, "little")  # FTZ | DAZ
    libm.fesetenv(flushing)
    try:
        yield
    finally:
        libm.fesetenv(saved)


@lru_cache(maxsize=1)
def _libm():
    import ctypes
    import ctypes.util
    import platform

    if sys.platform != "linux" or platform.machine() != "x86_64" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    except OSError:
        return None


class _FlushingRuns:
    """An onnxruntime session whose runs flush denormals on the calling thread too (see
    _denormal_flushing_detection); everything else is the session's own."""

    def __init__(self, session):
        self.session = session

    def __getattr__(self, name: str):
        return getattr(self.session, name)

    def run(self, *args, **kwargs):
        with _denormals_flushed_on_this_thread():
            return self.session.run(*args, **kwargs)


def _denormal_flushing_detection(engine, threads: int) -> None:
    """The detector's session again, with `session.set_denormal_as_zero`: the detection network's activations
    run through denormal floats, which the CPU computes slowly; its pool threads flush them to zero (round 11:
    the same detection maps, np.array_equal, on dev charts, in ~0.6 of the time; tests/test_experts_chart.py).
    onnxruntime sets the calling thread's mode only at the first session the process makes (rapidocr's own,
    made before this one, without the flag), and the calling thread computes its share of every run, so each
    run also flushes on the calling thread, for that run only (_FlushingRuns, round 12): the caller's and the
    rest of the process' arithmetic outside the detector is left as it was. Where rapidocr's structure differs
    (no `text_det.session.session`), nothing changes but the speed."""
    detector = getattr(engine, "text_det", None)
    holder = getattr(detector, "session", None)
    session = getattr(holder, "session", None)
    if session is None or getattr(detector, "_vmed_flush", False) or not hasattr(session, "_model_path"):
        return
    holder.session = _FlushingRuns(_session_copy(session, threads, flush_denormals=True))
    detector._vmed_flush = True


class _RecognitionInParallel:
    """rapidocr's recogniser with its boxes read `threads` at a time, each on one onnxruntime thread.

    A chart's ~30 boxes are read one by one (Rec.rec_batch_num 1, see ChartExpert._engine); a box is a small
    input, so a run on two intra-op threads spends most of the second core waiting and spinning (round 10: 67
    dev boxes took 2.3 CPU-s on one thread, 4.6 on two, for the same output). Here each box is still read alone
    by rapidocr's own recogniser (so each result is the one it gives alone, bit for bit: tests/test_experts_chart.py),
    but the boxes are shared out between threads whose onnxruntime runs (which release the GIL) overlap."""

    def __init__(self, recogniser, threads: int):
        from concurrent.futures import ThreadPoolExecutor

        recogniser.session.session = _session_copy(recogniser.session.session, 1)
        self.recogniser, self.threads = recogniser, threads
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="vmed-chart-rec")

    def __getattr__(self, name: str):
        return getattr(self.recogniser, name)

    def __call__(self, args):
        images = [args.img] if isinstance(args.img, np.ndarray) else list(args.img or [])
        if len(images) < 2 or self.recogniser.rec_batch_num != 1:
            return self.recogniser(args)
        # widest boxes dealt out in turn, so each thread gets about the same work
        order = sorted(range(len(images)), key=lambda i: -images[i].shape[1] / images[i].shape[0])
        shares = [order[k::self.threads] for k in range(self.threads)]
        parts = list(self.pool.map(lambda share: self.recogniser(replace(args, img=[images[i] for i in share])),
                                   [s for s in shares if s]))
        txts, scores, words = [""] * len(images), [0.0] * len(images), [None] * len(images)
        for share, part in zip(shares, parts):
            for n, i in enumerate(share):
                txts[i], scores[i], words[i] = part.txts[n], part.scores[n], part.word_results[n]
        return replace(parts[0], imgs=images, txts=tuple(txts), scores=tuple(scores), word_results=tuple(words),
                       elapse=sum(p.elapse or 0.0 for p in parts))


def _parallel_recognition(engine, threads: int) -> None:
    """Put _RecognitionInParallel in place of the engine's recogniser (made on first use: from the next call on).
    Where rapidocr's structure differs (no `text_rec.session.session`), nothing changes but the speed."""
    recogniser = getattr(engine, "text_rec", None)
    if threads < 2 or recogniser is None or isinstance(recogniser, _RecognitionInParallel):
        return
    session = getattr(getattr(recogniser, "session", None), "session", None)
    if session is None or not hasattr(session, "_model_path") or not hasattr(recogniser, "rec_batch_num"):
        return
    engine.text_rec = _RecognitionInParallel(recogniser, threads)


class ChartExpert:
    """`chart` expert: describe(image) -> DePlot table text, or a sentence saying why there is none.

    Safe to share between threads: a call keeps all its state in local variables; only the OCR engine is
    shared, and its calls are serialised by a lock (rapidocr keeps the last call's flags on the engine)."""

    name = "chart"

    def __init__(self, threads: int = 2):
        try:
            from rapidocr import RapidOCR  # noqa: F401
            from spellchecker import SpellChecker  # noqa: F401  (respace: the word list for turned titles)
        except ImportError:
            raise BackendError("the chart expert needs 'rapidocr', 'onnxruntime' and 'pyspellchecker' "
                               "(pip install 'visual-med-alpaca[vision]')") from None
        self._threads = threads
        self.ocr = self._engine(("min", 736))  # small charts are upscaled: tick labels need it
        self._strip_ocr = None  # detection at the picture's own scale (long thin strips), made on first use
        self._ocr_lock = threading.Lock()

    def _engine(self, limit: tuple[str, int]):
        """One rapidocr engine, configured through its public params only (`Det.limit_*` is fixed per engine)."""
        from rapidocr import RapidOCR

        return RapidOCR(params={
            "Global.log_level": "critical", "Global.use_cls": False,
            "Det.limit_type": limit[0], "Det.limit_side_len": limit[1],
            "EngineConfig.onnxruntime.intra_op_num_threads": self._threads,
            # the recogniser pads every batch to at least Rec.rec_img_shape's width (320 px by default) and to its
            # widest box; chart text is mostly short numbers, so each box is read alone at its own width (a
            # 48 px floor): recognition ~45% faster on dev charts (docs/benchmarks.md). The memory arena saves
            # re-allocating for every box width.
            "Rec.rec_batch_num": 1, "Rec.rec_img_shape": [3, 48, 48],
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
        })

    # -- OCR -------------------------------------------------------------------------------------------
    def _run_ocr(self, rgb: np.ndarray, detect: bool, native: bool = False):
        """`native`: detect at the picture's own scale. A whole chart is enlarged to a short side of 736 for
        small tick labels; a long thin strip (a rotated axis title, already enlarged) would become ~736 x 9000,
        so strips go to a second engine that only shrinks pictures longer than 4096."""
        with self._ocr_lock:  # explicit flags on every call: an engine keeps the last call's
            engine = self.ocr
            if native:
                if self._strip_ocr is None:
                    self._strip_ocr = self._engine(("max", 4096))
                engine = self._strip_ocr
            result = engine(rgb, use_det=detect, use_cls=False, use_rec=True)
            _table_normalised_detection(engine)  # the detector is made on first use: from the next call on
            _denormal_flushing_detection(engine, self._threads)
            _parallel_recognition(engine, self._threads)  # so is the recogniser
            return result

    def read_text(self, rgb: np.ndarray) -> list[TextBox]:
        result = self._run_ocr(rgb, detect=True)
        boxes = []
        if result.boxes is None:
            return boxes
        for quad, text, score in zip(result.boxes, result.txts, result.scores):
            text = unaccent(text.strip())
            if score < 0.5 or (len(text) == 1 and score < 0.9) or not text or not any(ch.isascii() and ch.isalnum() for ch in text):
                continue
            quad = np.asarray(quad)
            x0, y0, x1, y1 = float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max())
            parts = text.split()
            if len(parts) > 1 and all(p.endswith("%") and parse_number(p) is not None for p in parts):
                # '60% 58%': a tick label and a point label read as one box; each part gets its share of the width
                start = 0
                for part in parts:
                    at = text.index(part, start)
                    boxes.append(TextBox(part, x0 + (x1 - x0) * at / len(text), y0, x0 + (x1 - x0) * (at + len(part)) / len(text), y1))
                    start = at + len(part)
                continue
            boxes.append(TextBox(text, x0, y0, x1, y1))
        return _powers_of_ten(boxes)

    # -- entry points ----------------------------------------------------------------------------------
    def describe(self, image: LoadedImage) -> str:
        return self.read(image).text

    def read(self, image: LoadedImage) -> ChartReading:
        rgb = np.asarray(image.image.convert("RGB"))
        h, w = rgb.shape[:2]
        if min(h, w) < MIN_SIDE:
            return ChartReading(f"The chart could not be read: the image is only {w}x{h} pixels, too small for any text to be legible.", "unread")
        if max(h, w) > WORK_SIDE:
            import cv2

            scale = WORK_SIDE / max(h, w)
            rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        try:
            text, kind = self.read_table(rgb)
            return ChartReading(text, kind)
        except ChartReadError as exc:
            return ChartReading(f"The chart could not be read: {exc}.", "unread")

    def read_table(self, rgb: np.ndarray) -> tuple[str, str]:
        """(DePlot table, chart type); raises ChartReadError when there is nothing it can stand behind."""
        boxes = self.read_text(rgb)
        if not boxes:
            raise ChartReadError("no text was found in the image (no axis labels, legend or printed values)")
        try:
            text, kind = self._table_of(rgb, boxes)
        except ChartReadError as exc:  # the part it is sure of: the values printed over a row of category labels
            text = _printed_values_table(rgb, boxes, str(exc))
            if text is None:
                raise
            kind = "partial"
        if any(_OWID.search(b.text) for b in boxes):  # Our World in Data's tables give shares as plain numbers
            text = _without_percent(text)
        return text, kind

    def _table_of(self, rgb: np.ndarray, boxes: list[TextBox]) -> tuple[str, str]:
        page = (rgb, boxes)
        clusters = _colour_clusters(rgb, [], 0)
        pie = read_pie_chart(rgb, boxes, clusters, self._read_words)
        if pie is not None:
            kind, header, series, rows, title = pie
            bottom = max(b.y1 for b in boxes)
            name = self._bar_series_title(rgb, boxes, "bar", bottom, (min(rgb.shape[1] * 0.25, rgb.shape[1] / 2), 0))
            return _linearize(title, header, [name or series[0]], rows), kind
        bars = read_bar_chart(rgb, boxes, clusters, self._read_words)  # most real charts are bars with printed values
        if bars is not None:
            kind, header, series, rows, (top, bottom, span) = bars
            title = _page_title(boxes, top)
            if series == ["Value"]:  # one unnamed series: the value axis' title, else the chart's title names it
                series = [self._bar_series_title(rgb, boxes, kind, bottom, span) or title or "Value"]
            return _linearize(title, header, series, rows), kind
        return self._read_by_axis(page, clusters)

    def _read_by_axis(self, page, clusters) -> tuple[str, str]:
        """Charts without standing bars (lines; bars the bar reader could not stand on a baseline): the value
        axis' tick labels give the scale, colour clusters give the marks."""
        rgb, boxes = page
        _, centres, background = clusters  # the legend's words are neither category labels nor under the plot
        legend = {name for _, name in _legend_names((rgb, [b for b in boxes if parse_value(b.text) is None]), centres, background).values()} if centres else set()
        y_axis = find_value_axis(boxes, vertical=True)
        x_axis = find_value_axis(boxes, vertical=False)
        if y_axis is None and x_axis is None:  # faint small tick labels: look again at the left margin, enlarged
            boxes = boxes + self._margin_text(rgb, boxes)
            page = (rgb, boxes)
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
                kind, header, series, rows = self._read_upright(picture, picture_boxes, axis, orientation, page, legend)
            except ChartReadError as exc:
                problems.append(str(exc))
                continue
            name = ""
            if series == ["Value"]:  # one unnamed series: the value axis' title names it
                if orientation == "vertical" and y_axis is not None and max(b.x1 for b in y_axis.ticks) < rgb.shape[1] / 2:
                    span = (max(b.x1 for b in y_axis.ticks) + 1, rgb.shape[1])
                    name = self._bar_series_title(rgb, boxes, "bar", max(b.y1 for b in y_axis.ticks), span)
                elif orientation == "horizontal" and x_axis is not None:
                    name = _x_title(boxes, x_axis)
                series = [name or "Value"]
            title = self._title([b for b in boxes if b.text not in series], y_axis or x_axis)
            return _linearize(title, header, series, rows), kind
        raise ChartReadError(problems[0] if problems else "no bars or lines were found")

    def _bar_series_title(self, rgb: np.ndarray, boxes: list[TextBox], kind: str, bottom: float, span) -> str:
        """The name of a single unnamed series: the value-axis title (vertical text left of vertical bars,
        the words under the value axis of horizontal bars)."""
        words = [b for b in boxes if b.number is None and not _CHROME.search(b.text) and parse_value(b.text) is None]
        if kind == "hbar":
            below = [b for b in boxes if b.y0 > bottom - 2]
            ticks = [b for b in below if parse_value(b.text) is not None and b.y0 < bottom + 3 * b.h]
            floor = max((b.y1 for b in ticks), default=bottom)
            axis = find_value_axis(boxes, vertical=False)  # thin bars left unfound may end the bars far above it
            if axis is not None and min(b.y0 for b in axis.ticks) > bottom - 2:
                floor = max(floor, max(b.y1 for b in axis.ticks))
            under = sorted((b for b in words if b.cy > floor and span[0] <= b.cx <= span[1] and b.y0 < floor + 3 * b.h
                            and len(b.text.split()) <= 8 and not re.search(r"\.\s+[A-Z][a-z]", b.text)), key=lambda b: b.y0)
            return under[0].text if under else ""
        tall = [b for b in words if b.turned and b.cx < min(rgb.shape[1] * 0.25, span[0])]
        if tall:
            box = max(tall, key=lambda b: b.h)
            x0, x1 = max(0, int(box.x0) - 3), int(box.x1) + 4
        else:  # small rotated text the detector missed: look at the margin left of the tick labels
            ticks = [b for b in boxes if parse_value(b.text) is not None and b.x1 < span[0] and b.y1 <= bottom + b.h]
            if len(ticks) < 2:
                return ""
            typical = float(np.median([b.h for b in ticks]))
            x1 = int(min(b.x0 for b in ticks)) - 1
            x0 = max(0, int(x1 - 2.2 * typical))
            if x1 - x0 < 8:
                return ""
            box = None
        # the detector may split the title or clip it: read the whole column upright, with detection. Upright text
        # that crosses the column's edges (a pie's slice label `East 20.8%`, a long tick label) is no part of a
        # turned title: painted over in the column's commonest colour first (round 8: `Visits017`, `Eas Scoreh 13`)
        column = rgb[:int(bottom) + 4, x0:x1].copy()
        crossing = [b for b in boxes if not b.turned and b is not box and (b.x0 < x0 - 2 or b.x1 > x1 + 1)
                    and b.x1 > x0 and b.x0 < x1 and b.y0 < column.shape[0]]
        if crossing:
            codes, counts = np.unique(column.reshape(-1, 3), axis=0, return_counts=True)
            for b in crossing:
                column[max(0, int(b.y0) - 1):int(b.y1) + 2, max(0, int(b.x0) - x0 - 1):max(0, int(b.x1) - x0 + 2)] = codes[counts.argmax()]
        crop = np.ascontiguousarray(np.rot90(column, k=-1))
        import cv2

        crop = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        crop = cv2.copyMakeBorder(crop, 16, 16, 16, 16, cv2.BORDER_REPLICATE)
        result = self._run_ocr(crop, detect=True, native=True)
        found = sorted(((np.asarray(q), t.strip()) for q, t in zip(result.boxes, result.txts) if t.strip()),
                       key=lambda qt: float(qt[0][:, 0].min())) if result.boxes is not None else []
        text = ""
        for n, (quad, word) in enumerate(found):  # the detector may cut one word in two: no space at a narrow gap
            gap = float(quad[:, 0].min() - found[n - 1][0][:, 0].max()) if n else 0.0
            height = float(quad[:, 1].max() - quad[:, 1].min())
            text += word if not n else (" " if gap > 0.3 * height else "") + word
        text = respace(text or (box.text if box else ""))
        return text if sum(ch.isalpha() for ch in text) >= 3 else ""

    def _read_words(self, crop: np.ndarray) -> str:
        """The words in a small crop (a category label), enlarged and detected at its own scale, in reading order."""
        import cv2

        crop = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        crop = cv2.copyMakeBorder(crop, 16, 16, 16, 16, cv2.BORDER_REPLICATE)
        result = self._run_ocr(crop, detect=True, native=True)
        if result.boxes is None:
            return ""
        found = [TextBox(t.strip(), float(np.asarray(q)[:, 0].min()), float(np.asarray(q)[:, 1].min()),
                         float(np.asarray(q)[:, 0].max()), float(np.asarray(q)[:, 1].max()))
                 for q, t, score in zip(result.boxes, result.txts, result.scores) if t.strip() and score >= 0.5]
        return " ".join(b.text for b in _reading_order(found))

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

    def _read_upright(self, rgb: np.ndarray, boxes: list[TextBox], axis: Axis | None, orientation: str, page, legend=frozenset()):
        import cv2

        h, w = rgb.shape[:2]
        tick_ids = {id(b) for b in axis.ticks} if axis else set()
        if axis is not None:
            tick_x0, tick_x1 = min(b.x0 for b in axis.ticks), max(b.x1 for b in axis.ticks)
            left_side = tick_x1 < w / 2
            region_x = (int(tick_x1) + 3, w) if left_side else (0, int(tick_x0) - 2)
            bottom_tick = max(b.cy for b in axis.ticks)
            tick_h = max(b.h for b in axis.ticks)
            under = [b for b in boxes if b.cy > bottom_tick + tick_h / 2 and region_x[0] <= b.cx <= region_x[1] and _bare(b.text) not in legend]
            # the plot ends at the first row of labels under it; a lone number there is a line's point label
            rows = _groups(under, lambda b: b.cy, tol=0.6 * tick_h)
            labels = [row for row in rows if len(row) >= 2 or row[0].x1 - row[0].x0 > 0.25 * (region_x[1] - region_x[0])]
            region_y1 = int(min([h] + [b.y0 - 1 for row in (labels[:1] or rows) for b in row]))
        else:
            region_x, region_y1 = (0, w), h
        x0r, x1r = region_x
        region = rgb[:region_y1, x0r:x1r]
        if region.size == 0:
            raise ChartReadError("the plot area next to the value axis is empty")
        line_masks: list[np.ndarray] = []  # the same clusters not blanked under text, for tracing lines
        masks, centres, background = _colour_clusters(region, boxes, x0r, thin_lines=True, unblanked=line_masks)
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
        categories = self._categories([b for b in boxes if _bare(b.text) not in legend], bars, tick_ids, floor, x0r, x1r)
        x_ticks = find_value_axis(boxes, vertical=False) if orientation == "vertical" and not bars else None
        if x_ticks is not None and min(b.cy for b in x_ticks.ticks) > floor and len(x_ticks.ticks) > len(categories):
            categories = sorted(x_ticks.ticks, key=lambda b: b.cx)  # a numeric x axis (years) under names at line ends
        if axis is not None and categories:  # slanted labels end at their tick: re-centre them there
            tick_h = float(np.median([b.h for b in axis.ticks]))
            if np.median([c.h for c in categories]) > 1.8 * tick_h:
                categories = [replace(c, x0=c.x1 - 0.6 * tick_h, x1=c.x1 - 0.2 * tick_h) for c in categories]
        names = _legend_names((page[0], [b for b in page[1] if parse_value(b.text) is None]), centres, background, self._read_words)
        printed = [b for b in boxes if id(b) not in tick_ids and parse_value(b.text) is not None and b not in categories]
        if bars:
            bar_table = ("bar" if orientation == "vertical" else "hbar",) + self._bar_table(bars, categories, names, boxes, axis, tick_ids, orientation)
            flat = max(b.height for b in bars) < 0.05 * region_y1  # a line lying along the axis
            if axis is None or (len(bar_table[3]) >= max(2, len(categories) / 2) and not flat):
                return bar_table
            try:  # one blob among many category labels (a line dipping to the axis) is no bar chart
                return ("line",) + self._line_table(line_masks, centres, background, categories, names, axis, x0r, orientation, printed, boxes)
            except ChartReadError:
                return bar_table
        if axis is None:
            raise ChartReadError("there is no numeric axis and no bars with printed values")
        if orientation == "vertical" and categories:
            named = legend | {name for _, name in names.values()}  # a legend right of the plot names no line ends
            names = {**_line_end_names(rgb, [b for b in boxes if _bare(b.text) not in named], categories, centres, background), **names}
        return ("line",) + self._line_table(line_masks, centres, background, categories, names, axis, x0r, orientation, printed, boxes)

    @staticmethod
    def _categories(boxes, bars, tick_ids, floor, x0r, x1r) -> list[TextBox]:
        """The row of labels just under the plot (rotated labels included), left to right."""
        base = max((b.y1 for b in bars), default=floor)
        below = [b for b in boxes if id(b) not in tick_ids and b.cy > base + 2 and x0r - 20 <= b.cx <= x1r + 20]
        if not below:
            return []
        tol = max(b.h for b in below) * 0.6
        rows: list[list[TextBox]] = []
        for box in sorted(below, key=lambda b: b.cy):
            if rows and abs(box.cy - rows[-1][0].cy) <= tol:
                rows[-1].append(box)
            else:
                rows.append([box])
        if not bars:  # a line's lowest printed point labels may hang below the last tick: the fullest row
            rows = [max(rows, key=len)]
        return sorted(rows[0], key=lambda b: b.cx)

    def _bar_table(self, bars, categories, names, boxes, axis, tick_ids, orientation):
        labels = [b for b in boxes if b.number is not None and id(b) not in tick_ids]
        clusters = sorted({b.cluster for b in bars}, key=lambda c: (names.get(c, (1e9,))[0], c))
        categories = _split_merged_labels(categories, _group_centres(bars))
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
        height = bar.height
        for label in labels:
            inside_x = bar.x0 - 3 <= label.cx <= bar.x1 + 3
            near_top = bar.y0 - 2.2 * label.h <= label.cy <= bar.y1
            if inside_x and near_top and (label.cy >= bar.y0 or label.y1 <= bar.y0 + height * 0.5 + 3):
                printed = label.text.strip().rstrip("-—–").replace(" ", "")
                return _in_axis_unit(printed, axis)
        if axis is None:
            return None
        top = axis.value(bar.y0)
        if abs(bar.y1 - baseline) <= 3:
            value = top  # bars grow from zero; an axis that starts above zero only clips them
        else:  # stacked: the segment's own height
            value = top - axis.value(bar.y1 + 1)
        return _format(value, axis)

    def _line_table(self, masks, centres, background, categories, names, axis, x0r, orientation, printed=(), text=()):
        if not categories:
            raise ChartReadError("a plotted line was found but no category or x-axis labels to read it at")
        import cv2

        series, columns, points = [], [], []
        spacing = float(np.median(np.diff([c.cx for c in categories]))) if len(categories) > 1 else 40.0
        names = dict(names)
        for index in list(names):  # a name read off a line's pale anti-aliased edge belongs to the line itself
            core = [other for other in range(len(masks)) if other != index and other not in names
                    and _rim_of(index, other, masks, centres, background)]
            if core:
                names[core[0]] = names.pop(index)
        for index, mask in enumerate(masks):
            colour = centres[index]
            # a pastel line on a dark backdrop, its cluster dimmed towards black by the anti-aliased rim (JPEG), keeps
            # its hue but not the spread of 60: there, coloured relative to its brightness counts too (round 8; on a
            # light backdrop the pale rims of other lines would pass)
            spread = colour.max() - colour.min()
            chromatic = spread > 60 or (background.max() < 80 and spread > 30 and spread > 0.15 * colour.max())
            if not chromatic and index not in names:
                continue  # grey/black marks without a legend entry are axes, grids and text
            if index not in names and any(_rim_of(index, other, masks, centres, background) for other in range(len(masks)) if other != index):
                continue  # the anti-aliased edge of another line
            if not chromatic:  # a grey or black line shares its colour with gridlines and the frame: rows filled
                mask = mask.copy()  # across the plot and columns filled down it are rules, not data
                rows, cols = _rules(mask)
                # ... unless the row stays between the first and the last category: a flat stretch of the line itself
                # (a rule runs on past them to the frame; round 9: a grey line level from Tue to Wed was erased)
                first, last = categories[0].cx - x0r, categories[-1].cx - x0r
                reach = max(6.0, 0.015 * mask.shape[1])  # a marker's radius beyond its point
                for row in np.nonzero(rows)[0]:
                    filled = np.nonzero(mask[row])[0]
                    if filled.min() >= first - reach and filled.max() <= last + reach:
                        rows[row] = False
                mask[rows] = 0
                mask[:, cols] = 0
            _, pieces, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(mask, np.ones((3, 3), np.uint8)), connectivity=8)
            widths = stats[:, cv2.CC_STAT_WIDTH].copy()
            # a straight rule across the plot (a gridline, the axis) is no line of data: a piece of width 0 is never taken
            widths[(stats[:, cv2.CC_STAT_HEIGHT] <= 4) & (widths >= 0.3 * mask.shape[1])] = 0
            for box in text:  # nor is a piece that lies inside a text box (the pale rims of a label's glyphs)
                x0, x1 = box.x0 - x0r - 2, box.x1 - x0r + 2
                widths[(stats[:, 0] >= x0) & (stats[:, 0] + stats[:, 2] <= x1 + 1) & (stats[:, 1] >= box.y0 - 2)
                       & (stats[:, 1] + stats[:, 3] <= box.y1 + 3)] = 0
            values, ys = [], []
            others = np.zeros_like(mask)  # marks in clearly stronger colours, whose pale rims may look like this one
            strength = float(np.linalg.norm(colour - background))
            for other in range(len(masks)):
                if other != index and float(np.linalg.norm(centres[other] - background)) > strength + 40:
                    others |= masks[other]
            for cat in categories:
                y = _trace_at(mask, pieces, widths, int(round(cat.cx)) - x0r, others)
                values.append(_format(axis.value(y), axis) if y is not None else "")
                ys.append(y)
            if sum(v != "" for v in values) >= max(2, len(categories) // 2):
                series.append(index)
                columns.append(values)
                points.append(ys)
        if printed and series:  # a number printed at a point beats the axis reading (greedy, nearest first)
            pairs = []
            for i, ys in enumerate(points):
                for r, (cat, y) in enumerate(zip(categories, ys)):
                    for j, box in enumerate(printed):
                        dx = abs(box.cx - cat.cx)
                        if dx >= 0.45 * spacing:
                            continue
                        if y is None:  # the line is hidden under its label here: the label nearest where it should be
                            guess = _between(ys, r)
                            if box.y1 < cat.y0:
                                pairs.append((1000 + dx + (abs(box.cy - guess) if guess is not None else 0), i, r, j))
                        elif -3.0 * box.h <= box.cy - y <= 2.0 * box.h:
                            pairs.append((abs(box.cy - y) + dx, i, r, j))
            nearest = _nearest_first([(d, 0.0, (i, r), j) for d, i, r, j in pairs], printed)
            matched = [(i, r, parse_value(box.text)) for (i, r), box in nearest.items()]
            span = axis.span
            if not axis.log and span > 0:  # '99%' read as '9996', '7.4' as '74': the reading the axis agrees with
                matched = [(i, r, _misread(parsed, axis.value(points[i][r]), span) if points[i][r] is not None else parsed)
                           for i, r, parsed in matched]
            agree = {(i, r): abs(parsed[0] - axis.value(points[i][r])) <= 0.1 * span for i, r, parsed in matched
                     if points[i][r] is not None and not axis.log and span > 0}
            trusted = len(agree) >= 3 and sum(agree.values()) >= 0.6 * len(agree)
            for i, r, parsed in matched:  # where most labels agree with the axis, one that does not is a misread
                if not (trusted and agree.get((i, r)) is False):
                    columns[i][r] = _in_axis_unit(parsed[1], axis)
        if not series:
            raise ChartReadError("no bars and no plotted line could be traced")
        series, columns = _drop_duplicate_lines(series, columns, names, axis)
        order = sorted(range(len(series)), key=lambda i: (names.get(series[i], (1e9,))[0], series[i]))
        labels = [names.get(series[i], (0, ""))[1] or (f"Series {n + 1}" if len(series) > 1 else "Value") for n, i in enumerate(order)]
        rows = [(cat.text, [columns[i][r] for i in order]) for r, cat in enumerate(categories)]
        return "Category", labels, rows


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


def _blend_of(colour: np.ndarray, other: np.ndarray, background: np.ndarray, most: float = 0.85) -> bool:
    """`colour` lies between `other` and the background (an anti-aliased edge of a mark drawn in `other`)."""
    direction = np.asarray(other, float) - background
    offset = np.asarray(colour, float) - background
    alpha = float(offset @ direction) / max(float(direction @ direction), 1e-9)
    return 0.15 <= alpha <= most and float(np.linalg.norm(offset - alpha * direction)) < 40


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
            for run in np.split(rows, np.nonzero(np.diff(rows) > 1)[0] + 1):
                if not len(run) or widths[pieces[run[0], column]] == 0:
                    continue
                if others is not None and len(run) <= 2 and others[max(0, run[0] - 2):run[-1] + 3, column].any():
                    continue
                found.append((widths[pieces[run[0], column]], -abs(dx), len(run), float(run.mean())))
        if found:
            return max(found)[3]
    return None


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


def _misread(parsed: tuple[float, str], expected: float, span: float) -> tuple[float, str]:
    """A printed number (value, text) as OCR commonly garbles it, read back when the axis contradicts the number
    as read (off by more than a tenth of the axis' span `span`) and agrees with one reading of it (within 3%):
    '%' read as '96' ('99%' -> '9996'), a decimal point lost ('7.4' -> '74'). Otherwise `parsed` unchanged."""
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
    best = min(readings, key=lambda t: abs(float(sign + t.rstrip("%")) - expected), default=None)
    if best is None or abs(float(sign + best.rstrip("%")) - expected) > 0.03 * span:
        return parsed
    return float(sign + best.rstrip("%")), sign + best


def _in_axis_unit(printed: str, axis: Axis | None) -> str:
    """A number printed on a bar or at a point of a percent axis is a percentage: '80' on an axis of '0%' ... '80%' is '80%'."""
    return printed + "%" if axis is not None and axis.percent and not printed.endswith("%") else printed


def _group_centres(bars: list[Component]) -> list[float]:
    """Centres of the runs of touching bars, left to right."""
    groups: list[list[float]] = []
    for bar in sorted(bars, key=lambda b: b.x0):
        if groups and bar.x0 <= groups[-1][1] + 3:
            groups[-1][1] = max(groups[-1][1], bar.x1)
        else:
            groups.append([bar.x0, bar.x1])
    return [(a + b) / 2 for a, b in groups]


def _split_merged_labels(categories: list[TextBox], centres: list[float]) -> list[TextBox]:
    """OCR sometimes joins neighbouring category labels into one box; when the box spans k group centres
    and holds a multiple of k words, give each group its share of the words."""
    out = []
    for box in categories:
        inside = [c for c in centres if box.x0 <= c <= box.x1]
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
    return any(b.height >= 1.5 * b.width for b in bars)


def _bare(text: str) -> str:
    """A name without the bullet or dash printed before it ('• 70+ years old')."""
    return text.lstrip("•·-–* ").strip() or text


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
        if box.cy > last.y0 or box.number is not None or _CHROME.search(name) or sum(ch.isalpha() for ch in name) < 2:
            continue
        pixels = rgb[int(box.y0):int(box.y1) + 1, int(box.x0):int(box.x1) + 1].reshape(-1, 3).astype(np.float32)
        ink = pixels[np.linalg.norm(pixels - background, axis=1) > 80]
        if len(ink) < 10:
            continue
        distances = np.linalg.norm(palette - np.median(ink, axis=0), axis=1)
        cluster = int(distances.argmin())
        if inside:  # inside the plot only a short name in a line's own colour (not dark text near a dark line)
            distances = np.where(palette.max(axis=1) - palette.min(axis=1) > 60, distances, np.inf)
            cluster = int(distances.argmin())
            if distances[cluster] >= 50 or box.x1 < categories[0].cx or len(name.split()) > 4:
                continue
        if distances[cluster] < 80 and cluster not in found:
            found[cluster] = (box.cy, name)
    return found


def _drop_duplicate_lines(series, columns, names, axis):
    """Anti-aliased edges of a line form a second, paler colour cluster that traces the same values:
    keep one line per trace, preferring the one the legend names; where the kept one was not traced (its
    colour only in part of the line), the duplicate's reading fills the gap."""
    numbers = [np.array([float(v.rstrip("%")) if v else np.nan for v in col]) for col in columns]
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
            if not columns[k][r] and value:
                columns[k][r] = value
                numbers[k][r] = numbers[i][r]
    kept.sort()
    return [series[i] for i in kept], [columns[i] for i in kept]


def _standing(bars: list[Component]) -> list[Component]:
    """Keep blobs that stand on the common baseline, or on a kept blob below them (stacked bars)."""
    if not bars:
        return []
    baseline = max(b.y1 for b in bars)
    return _stacked_on([b for b in bars if abs(b.y1 - baseline) <= 3], bars, share=0.6, widest=False)


def _colour_clusters(region: np.ndarray, boxes: list[TextBox], x_offset: int, thin_lines: bool = False, most: int = 10,
                     unblanked: list | None = None):
    """Masks of the main non-background colours in the plot area, with text boxes blanked out (`thin_lines`:
    coloured codes need a quarter of the pixels, for 1-2 px lines; bars do not want their pale edges).

    Pixels go to the nearest colour centre through a lookup table over 32 levels per channel (a few
    milliseconds for a whole chart instead of a distance per pixel and centre). `unblanked`, when given, is
    filled with the masks not blanked under text (the same clusters: lines are traced through their labels)."""
    pixels = region.astype(np.int32)
    codes = (pixels[..., 0] // 32) * 64 + (pixels[..., 1] // 32) * 8 + pixels[..., 2] // 32
    blank = np.zeros(codes.shape, bool)
    for b in boxes:
        blank[max(0, int(b.y0)):int(b.y1) + 1, max(0, int(b.x0) - x_offset):max(0, int(b.x1) - x_offset + 1)] = True
    kept_codes = codes[~blank].ravel()
    counts = np.bincount(kept_codes, minlength=512)
    flat = pixels.reshape(-1, 3)
    all_counts = np.maximum(np.bincount(codes.ravel(), minlength=512), 1)
    means = np.stack([np.bincount(codes.ravel(), weights=flat[:, c], minlength=512) for c in range(3)], axis=1) / all_counts[:, None]
    background_code = int(counts.argmax())
    if np.ptp(means[background_code]) > 60:  # wide bars may cover more of the picture than the plot's backdrop:
        pale = [c for c in np.argsort(counts)[::-1][:4] if np.ptp(means[c]) <= 60 and counts[c] >= 0.25 * counts[background_code]]
        if pale:  # a colourless backdrop that is nearly as common is the background, the coloured one the bars
            background_code = int(pale[0])
    background = means[background_code]
    threshold = max(40, 0.001 * (~blank).sum())
    chromatic = means.max(axis=1) - means.min(axis=1) > 60  # thin coloured lines: few pixels, but coloured
    candidates = [c for c in np.argsort(counts)[::-1][:24]
                  if counts[c] >= (threshold / 4 if thin_lines and chromatic[c] else threshold) and c != background_code]
    centres: list[np.ndarray] = []
    for code in candidates:
        centre = means[code]
        if np.linalg.norm(centre - background) < 45:
            continue
        if all(np.linalg.norm(centre - other) >= 45 for other in centres):
            centres.append(centre)
        if len(centres) >= most:
            break
    masks = []
    if centres:
        all_centres = np.stack([background] + centres).astype(np.float32)
        levels = np.arange(32, dtype=np.float32) * 8 + 3.5
        grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
        distances = ((grid[:, None, :] - all_centres[None]) ** 2).sum(axis=2)
        lut = np.where(distances.min(axis=1) < 45 ** 2, distances.argmin(axis=1), -1).astype(np.int16)
        fine = (pixels[..., 0] >> 3) * 1024 + (pixels[..., 1] >> 3) * 32 + (pixels[..., 2] >> 3)
        nearest = lut[fine]
        if unblanked is not None:
            unblanked.extend((nearest == index + 1).astype(np.uint8) for index in range(len(centres)))
        nearest[blank] = -1
        for index in range(len(centres)):
            masks.append((nearest == index + 1).astype(np.uint8))
    return masks, centres, background


def _legend_names(original, centres, background, reread: Callable[[np.ndarray], str] | None = None) -> dict[int, tuple[float, str]]:
    """cluster -> (legend position, name): a word whose left neighbour strip holds a small swatch of that
    colour (the colour must stop above, below and left of the strip: a number printed on a bar is no legend).

    Read on the upright original picture, so it works the same for rotated (horizontal-bar) charts."""
    rgb, boxes = original
    names: dict[int, tuple[float, str]] = {}
    palette = np.stack([background] + list(centres)).astype(np.float32)
    height, width = rgb.shape[:2]

    def colour_at(x: float, y: float) -> int:
        if not (0 <= x < width and 0 <= y < height):
            return -1
        d = ((palette - rgb[int(y), int(x)].astype(np.float32)) ** 2).sum(axis=1)
        return int(d.argmin()) - 1 if d.min() < 45 ** 2 else -1

    def nearest_colours(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Per pixel of rgb[y0:y1, x0:x1]: 1 + its cluster, or 0 (the background, or no colour within 45)."""
        patch = rgb[y0:y1, x0:x1].astype(np.float32)
        distances = ((patch[:, :, None, :] - palette[None, None]) ** 2).sum(axis=3)
        return np.where(distances.min(axis=2) < 45 ** 2, distances.argmin(axis=2), 0)

    def filling_colour(y0: int, y1: int, x0: int, x1: int) -> int | None:
        """The commonest cluster of rgb[y0:y1, x0:x1] when it fills at least 60% of it (a swatch's place), else None."""
        nearest = nearest_colours(y0, y1, x0, x1)
        counts = np.bincount(nearest.ravel(), minlength=len(palette))[1:]
        best = int(counts.argmax())
        return best if counts[best] >= 0.6 * nearest.size else None

    text_mask = np.zeros((height, width), bool)
    for box in boxes:
        text_mask[max(0, int(box.y0)):int(box.y1) + 1, max(0, int(box.x0)):int(box.x1) + 1] = True
    typical = float(np.median([b.h for b in boxes])) if boxes else 0.0
    entries: dict[int, tuple[TextBox, int, int]] = {}  # cluster -> (its word, the swatch's first and last column)
    for box in boxes:
        if _CHROME.search(box.text) or not (re.search(r"[A-Za-z]{2}", box.text) or re.fullmatch(r"\d{4}\*?", box.text.strip())):
            continue  # a legend entry has words, or is a year
        if box.h > 1.6 * typical or box.x0 < 1.0 * box.h:
            continue  # titles are large; a swatch needs room left of its word
        y0, y1 = int(box.y0 + box.h * 0.2), int(box.y1 - box.h * 0.2) + 1
        x1 = int(box.x0) - 1
        x0 = max(0, x1 - int(max(12, box.h * 2.5)))
        if x1 <= x0 or y1 <= y0:
            continue
        strip = rgb[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)[~text_mask[y0:y1, x0:x1].ravel()]
        if len(strip) < 6:
            continue
        nearest = nearest_colours(y0, y1, x0, x1)
        nearest[text_mask[y0:y1, x0:x1]] = 0
        counts = np.bincount(nearest.ravel(), minlength=len(palette))[1:]
        word = rgb[y0:y1, int(box.x0):int(box.x1) + 1].reshape(-1, 3).astype(np.float32)
        word_d = ((word[:, None, :] - palette[None]) ** 2).sum(axis=2)
        inside = np.bincount(np.where(word_d.min(axis=1) < 45 ** 2, word_d.argmin(axis=1), 0), minlength=len(palette)) / max(1, len(word))
        # the commonest colour first (a patch's fill, not the rims along its edges), unless it is the pale rim of a
        # thin stroke (blurred towards the background) as wide as a stroke in the colour it fades from: that core
        extents = np.array([(nearest == k + 1).any(axis=0).sum() if counts[k] >= 6 else 0 for k in range(len(counts))])
        ranked = sorted((k for k in range(len(counts)) if extents[k] > 0), key=lambda k: -counts[k])
        cores = [k for k in ranked[1:] if extents[k] >= 0.8 * extents[ranked[0]]
                 and _blend_of(palette[ranked[0] + 1], palette[k + 1], palette[0], 0.95)]
        if cores:
            ranked.insert(0, ranked.pop(ranked.index(cores[0])))
        for best in ranked:
            extent = int(extents[best])
            solid = counts[best] >= max(6, 0.08 * len(strip)) and extent >= max(3, 0.3 * box.h)
            if inside[best + 1] > 0.3:
                continue  # the colour fills the word's own box: the legend's backdrop, or a bar the word is printed on
            if not (solid or (extent >= 0.7 * box.h and counts[best] >= extent)) or extent >= 0.95 * (x1 - x0):
                continue  # a swatch is a patch or a line's short stroke, with a gap before its word (a gridline has none)
            # probed at the colour's own columns in the strip (a bar left of a legend entry, behind the legend,
            # fills the strip's left part: probes in the strip's middle would miss it and take it for the swatch)
            cols = np.nonzero((nearest == best + 1).any(axis=0))[0]
            middle, end = x0 + (cols.min() + cols.max()) / 2, x0 + int(cols.max())
            above = any(colour_at(px, box.y0 - 0.35 * box.h) == best for px in (middle, end))
            below = any(colour_at(px, box.y1 + 0.35 * box.h) == best for px in (middle, end))
            left = colour_at(x0 - 0.6 * box.h, box.cy) == best
            if (above and below) or (left and (above or below)):
                continue  # the colour surrounds the word: a bar it is printed on, or the legend's own frame
            order = box.cy * 10000 + box.cx  # legends read top-to-bottom, then left-to-right
            if best not in names or order < names[best][0]:
                names[best] = (order, _bare(box.text))
                entries[best] = (box, x0 + int(cols.min()), x0 + int(cols.max()))
            break
    # an entry of a legend drawn over a bar of its own colour fails the test above (its word sits on that colour):
    # a word in the same column as a found entry (same left edge, the next line) has its swatch where that one's is
    for box in boxes:
        if any(box is entry for entry, _, _ in entries.values()) or not re.search(r"[A-Za-z]{2}", box.text) or _CHROME.search(box.text):
            continue
        for entry, c0, c1 in list(entries.values()):
            if abs(box.x0 - entry.x0) > 0.5 * entry.h or abs(box.h - entry.h) > 0.3 * entry.h or not 0.6 * entry.h < abs(box.cy - entry.cy) < 1.8 * entry.h:
                continue
            y0, y1 = int(box.y0 + box.h * 0.3), int(box.y1 - box.h * 0.3) + 1
            if rgb[y0:y1, c0:c1 + 1].size == 0:
                continue
            best = filling_colour(y0, y1, c0, c1 + 1)
            if best is not None and best not in names:
                names[best] = (box.cy * 10000 + box.cx, _bare(box.text))
            break
    if reread is not None and entries:  # an entry whose short word the detector missed (`Day`): its swatch stands
        # in the legend's column a line above or below the found entries; the place of its word is read again alone
        found = sorted(entries.values(), key=lambda e: e[0].cy)
        pitch = float(np.median(np.diff([e[0].cy for e in found]))) if len(found) >= 2 else 1.4 * found[0][0].h
        for entry, c0, c1, row in [(found[0] + (found[0][0].cy - n * pitch,)) for n in (1, 2)] + [(found[-1] + (found[-1][0].cy + n * pitch,)) for n in (1, 2)]:
            h = entry.h
            y0, y1 = int(row - 0.3 * h), int(row + 0.3 * h) + 1
            if pitch < 0.8 * h or y0 < 0 or y1 > height or c1 < c0:
                continue
            best = filling_colour(y0, y1, c0, c1 + 1)
            if best is None or best in names:
                continue
            x0, x1 = max(0, int(entry.x0) - 2), min(width, int(entry.x0 + 10 * h))
            wy0, wy1 = max(0, int(row - 0.8 * h)), min(height, int(row + 0.8 * h) + 1)
            if any(x0 <= b.cx <= x1 and wy0 <= b.cy <= wy1 for b in boxes):
                continue  # a word was found there: not missed
            text = reread(np.ascontiguousarray(rgb[wy0:wy1, x0:x1])).strip()
            if re.search(r"[A-Za-z]{2}", text) and not _CHROME.search(text) and len(text) <= 30:
                names[best] = (row * 10000 + entry.cx, _bare(text))
    return names


def _linearize(title: str, header: str, series: list[str], rows: list[tuple[str, list[str]]]) -> str:
    lines = [f"TITLE | {title}", " | ".join([header] + series)]
    lines += [" | ".join([name] + values) for name, values in rows]
    return " <0x0A> ".join(lines)


def _without_percent(table: str) -> str:
    """The linearized table with '%' dropped from its values (not from its title, names or headers)."""
    lines = table.split(" <0x0A> ")
    rows = [" | ".join([cells[0]] + [re.sub(r"^([-−–]?[\d.,]+)\s*%$", r"\1", c) for c in cells[1:]])
            for cells in (line.split(" | ") for line in lines[2:])]
    return " <0x0A> ".join(lines[:2] + rows)


PARTIAL_NOTE = "(partly read: {reason}; only the values printed on the chart are given, each under the category label it is printed above{series})"


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
        return re.fullmatch(r"(1[89]|20)\d\d", b.text.strip()) is not None  # a year

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
    return _linearize(title, "Category", series, table) + " <0x0A> " + note


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
    words = [b for b in boxes if b.number is None and parse_value(b.text) is None and len(b.text) >= 3
             and not _CHROME.search(b.text) and (b.y1 < top or (b.cy < top and not b.turned))]
    if not words:
        return ""
    first = min(words, key=lambda b: b.y0)
    line = [b for b in words if abs(b.cy - first.cy) < first.h / 2]
    return " ".join(b.text for b in sorted(line, key=lambda b: b.x0))


# -- bars read from their printed values ------------------------------------------------------------------
@dataclass
class Bar(Component):
    """A rectangle in upright coordinates (bars grow upwards; a horizontal chart is read turned)."""

    def rotated(self, width: int) -> Bar:
        return replace(self, x0=self.y0, x1=self.y1, y0=width - 1 - self.x1, y1=width - 1 - self.x0)

    def rotated_back(self, width: int) -> Bar:
        """Undo `rotated(width)`: upright coordinates of a horizontal chart -> the original picture's."""
        return replace(self, x0=width - 1 - self.y1, x1=width - 1 - self.y0, y0=self.x0, y1=self.x1)


def _rectangles(rgb: np.ndarray, clusters=None, boxes=()) -> tuple[list[Bar], list[np.ndarray], np.ndarray]:
    """Filled axis-aligned rectangles of one colour (bars, stacked segments, legend squares), any size
    down to a few pixels; circles, wedges, lines and text do not pass the edge test."""
    import cv2

    masks, centres, background = clusters or _colour_clusters(rgb, [], 0)
    h, w = rgb.shape[:2]
    k = max(3, round(min(h, w) / 160))
    kernel = np.ones((k, k), np.uint8)
    found: list[Bar] = []
    for index, mask in enumerate(masks):
        closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))  # anti-aliased seams
        closed = _bridge_text(closed, boxes)
        opened = cv2.morphologyEx(closed, cv2.MORPH_OPEN, kernel)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=4)
        for label, (x, y, cw, ch, area) in enumerate(stats[1:], 1):
            if area < 3 * k * k or cw > 0.95 * w or ch > 0.95 * h or area < 0.6 * cw * ch:
                continue
            part = labels[y:y + ch, x:x + cw] == label
            inset = max(1, min(cw, ch) // 8)
            edges = [part[inset].mean(), part[-1 - inset].mean(), part[:, inset].mean(), part[:, -1 - inset].mean()]
            if min(edges) < 0.6:
                continue
            if any(min(x + cw, b.x1 + 2) - max(x, b.x0 - 2) >= 0.8 * cw and min(y + ch, b.y1 + 2) - max(y, b.y0 - 2) >= 0.8 * ch
                   for b in boxes) and mask[y:y + ch, x:x + cw].mean() < 0.5:
                continue  # a stroke of bold text (a short segment under its own label is mostly its colour)
            found.append(Bar(float(x), float(y), float(x + cw - 1), float(y + ch - 1), index))
    return found, centres, background


def _bridge_text(mask: np.ndarray, boxes) -> np.ndarray:
    """A value printed inside a bar (white or outlined digits as wide as a stacked segment) cuts the bar's
    colour mask in two: fill each text box's columns whose pixels just above and just below it are of the
    mask's colour, and its rows whose pixels just left and right of it are (horizontal bars)."""
    if not boxes:
        return mask
    h, w = mask.shape
    out = mask.copy()
    for b in boxes:
        x0, x1 = max(0, int(b.x0)), min(w - 1, int(np.ceil(b.x1)))
        y0, y1 = max(0, int(b.y0)), min(h - 1, int(np.ceil(b.y1)))
        if x1 <= x0 or y1 <= y0:
            continue
        if y0 >= 2 and y1 + 2 < h:
            columns = mask[y0 - 2, x0:x1 + 1].astype(bool) & mask[y1 + 2, x0:x1 + 1].astype(bool)
            out[y0:y1 + 1, x0:x1 + 1][:, columns] = 1
        if x0 >= 2 and x1 + 2 < w:
            rows = mask[y0:y1 + 1, x0 - 2].astype(bool) & mask[y0:y1 + 1, x1 + 2].astype(bool)
            out[y0:y1 + 1, x0:x1 + 1][rows, :] = 1
        part = mask[y0:y1 + 1, x0:x1 + 1]
        if part.mean() >= 0.3:  # a segment no taller or wider than its label: the colour between the glyphs
            out[y0:y1 + 1, x0:x1 + 1][np.ix_(part.any(axis=1), part.any(axis=0))] = 1
    return out


def _upright_bars(rects: list[Bar], thickness: float = 0.0) -> list[Bar]:
    """The bars of a vertical bar chart among the rectangles: those on a common baseline (a bottom edge
    shared by several), plus segments stacked on them; of the candidate baselines, the one that carries the
    largest total area."""
    if not rects:
        return []
    groups: dict[int, list[Bar]] = {}
    for r in rects:
        for key in groups:
            if abs(r.y1 - key) <= 3:
                groups[key].append(r)
                break
        else:
            groups[int(r.y1)] = [r]
    best: list[Bar] = []
    for base in sorted(groups.values(), key=lambda g: -sum(b.area for b in g))[:4]:
        base = [b for b in base if b.width >= thickness]
        if not base or (len(base) == 1 and base[0].height < 1.5 * base[0].width):
            continue  # a bar chart has several bars on its baseline, or one tall one
        kept = _stacked_on(base, rects)
        if sum(b.area for b in kept) > sum(b.area for b in best):
            best = kept
    if len(best) == 1 and best[0].y1 - best[0].y0 < 0.6 * best[0].width:
        return []  # one flat rectangle is a legend box or a banner, not a bar chart
    return best


def _stacked_on(base: list, rects: list, share: float = 0.8, widest: bool = True) -> list:
    """`base` plus the rectangles stacked on it, one on another: each overlaps the one below by `share`
    of the wider (`widest`) or of the narrower width, and starts where it ends."""
    baseline = float(np.median([b.y1 for b in base]))
    kept = list(base)
    pending = [b for b in rects if b not in base and b.y1 < baseline]
    changed = True
    while changed:
        changed = False
        for bar in list(pending):
            for below in kept:
                overlap = min(bar.x1, below.x1) - max(bar.x0, below.x0)
                width = max(bar.width, below.width) if widest else min(bar.width, below.width)
                if overlap > share * width and abs(bar.y1 + 1 - below.y0) <= 3:
                    kept.append(bar)
                    pending.remove(bar)
                    changed = True
                    break
    return kept


def _nearest_first(pairs: list[tuple[float, float, Any, int]], boxes: list[TextBox]) -> dict[Any, TextBox]:
    """(distance, offset, key, box index) pairs -> key (a bar index, a line's point) -> box: greedy, nearest
    first, each key and each box once."""
    taken: dict[Any, TextBox] = {}
    used: set[int] = set()
    for _, _, i, j in sorted(pairs):
        if i not in taken and j not in used:
            taken[i] = boxes[j]
            used.add(j)
    return taken


def _hanging_bars(bars: list[Bar], rects: list[Bar], baseline: float) -> list[Bar]:
    """Diverging bars (Pew: 'Oppose' left of the zero line, 'Favor' right of it), upright coordinates:
    segments of another colour that hang from the baseline under a bar, then segments hanging from those.
    Each ring gets the cluster -1 - depth (one series per ring: rows may use different colours).
    Fewer than two hanging segments are no diverging chart."""
    taken = {id(b) for b in bars}
    found: list[Bar] = []
    level = [b for b in bars if abs(b.y1 - baseline) <= 3]
    for depth in range(4):
        ring = []
        for rect in rects:
            if id(rect) in taken or rect.height < 4:
                continue
            for above in level:
                overlap = min(rect.x1, above.x1) - max(rect.x0, above.x0)
                top = baseline if depth == 0 else above.y1
                if overlap > 0.8 * max(rect.width, above.width) and abs(rect.y0 - 1 - top) <= 3 and (depth or rect.cluster != above.cluster):
                    ring.append(rect)
                    taken.add(id(rect))
                    break
        if not ring:
            break
        found += [replace(r, cluster=-1 - depth) for r in ring]
        level = ring
    return found if len(found) >= 2 else []


def _hanging_labels(hanging: list[Bar], boxes: list[TextBox], skip: set[int], baseline: float) -> dict[int, TextBox]:
    """hanging segment index -> the number printed on it or just past its far end: `_value_labels` on the
    picture mirrored about the baseline."""
    def flip(item):
        return replace(item, y0=2 * baseline - item.y1, y1=2 * baseline - item.y0)

    mirrored = [flip(b) for b in boxes]
    found = _value_labels([flip(b) for b in hanging], mirrored, {id(m) for m, b in zip(mirrored, boxes) if id(b) in skip})
    original = {id(m): b for m, b in zip(mirrored, boxes)}
    return {i: original[id(m)] for i, m in found.items()}


def _value_labels(bars: list[Bar], boxes: list[TextBox], skip: set[int]) -> dict[int, TextBox]:
    """bar index -> the printed number on it or just past its end (greedy, nearest first; a label once)."""
    pairs = []
    for i, bar in enumerate(bars):
        for j, box in enumerate(boxes):
            if id(box) in skip or parse_value(box.text) is None:
                continue
            tol = max(3.0, 0.2 * bar.width)
            if not (bar.x0 - tol <= box.cx <= bar.x1 + tol):
                continue
            if box.cy > bar.y1 + 1:
                continue
            inside = box.cy >= bar.y0
            gap = bar.y0 - box.y1
            if not inside and gap > max(1.2 * box.h, 12):
                continue
            pairs.append((0.0 if inside else max(gap, 0.0) + 1.0, abs(box.cx - bar.cx), i, j))
    return _nearest_first(pairs, boxes)


def _stacks_and_groups(bars: list[Bar]) -> list[list[Bar]]:
    """Bars that share an x-range are one stack; neighbouring stacks with a narrow gap and different
    colours are one group (grouped bars). Each group is one category."""
    stacks: list[list[Bar]] = []
    for bar in sorted(bars, key=lambda b: b.cx):
        if stacks and min(bar.x1, stacks[-1][0].x1) - max(bar.x0, stacks[-1][0].x0) > 0.6 * min(bar.width, stacks[-1][0].width):
            stacks[-1].append(bar)
        else:
            stacks.append([bar])
    if len(stacks) <= 1:
        return stacks
    widths = float(np.median([s[0].width for s in stacks]))
    gaps = [b[0].x0 - a[0].x1 for a, b in zip(stacks, stacks[1:])]
    groups = [list(stacks[0])]
    colours = [{b.cluster for b in stacks[0]}]
    for stack, gap in zip(stacks[1:], gaps):
        these = {b.cluster for b in stack}
        if gap <= max(4.0, 0.6 * widths) and not (these & colours[-1]) and gap < 0.6 * max(gaps):
            groups[-1].extend(stack)
            colours[-1] |= these
        else:
            groups.append(list(stack))
            colours.append(these)
    return groups


def _category_label(span: tuple[float, float], baseline: float, boxes: list[TextBox], skip: set[int],
                    typical: float = 0.0, start_by: float = 0.0) -> list[TextBox]:
    """The words under a group of bars (upright coordinates): boxes centred in the group's span that start
    within reach of the baseline (or by `start_by`: the column where a chart's labels start), reach extended
    line by line; read in the original reading order."""
    lo, hi = span
    def anchor(b: TextBox) -> float:  # a label printed slanted ends at its tick: its box's right edge
        return b.x1 - 0.5 * typical if typical and b.h > 2.2 * typical and b.src is None else b.cx

    near = [b for b in boxes if id(b) not in skip and lo <= anchor(b) <= hi and b.y0 >= baseline - 2]
    near.sort(key=lambda b: b.y0)
    chosen: list[TextBox] = []
    reach = baseline + 3
    for box in near:
        limit = reach + (1.2 * box.h if not chosen else 0.9 * box.h)
        if not chosen:
            limit = max(limit, start_by)
        if box.y0 > limit:
            break
        if _CHROME.search(box.text):
            continue
        chosen.append(box)
        reach = max(reach, box.y1)
    return chosen


def _reading_order(boxes: list[TextBox]) -> list[TextBox]:
    """Original boxes top to bottom in lines (centres within half a line height), each line left to right."""
    lines: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: b.original.cy):
        if lines and abs(box.original.cy - lines[-1][0].original.cy) < 0.5 * max(box.original.h, 1):
            lines[-1].append(box)
        else:
            lines.append([box])
    return [b for line in lines for b in sorted(line, key=lambda b: b.original.cx)]


def read_bar_chart(rgb: np.ndarray, boxes: list[TextBox], clusters=None, reread: Callable[[np.ndarray], str] | None = None):
    """Bars read from the numbers printed on them (the axis scale only for bars without one). `reread` (a crop ->
    its words) reads category labels again that the text detector missed or ran together.

    Returns (kind, header, series, rows) or None when the picture holds no bar structure."""
    clusters, unveiled_text = _seen_through_legend(rgb, boxes, clusters or _colour_clusters(rgb, [], 0))
    rects, centres, background = _rectangles(rgb, clusters, unveiled_text)
    if not rects:
        return None
    width = rgb.shape[1]
    thickness = max(5.0, min(rgb.shape[:2]) / 100)  # thinner marks are lines, grid and axes
    vertical = _upright_bars(rects, thickness)
    horizontal = _upright_bars([r.rotated(width) for r in rects], thickness)
    score_v, score_h = sum(b.area for b in vertical), sum(b.area for b in horizontal)
    if max(score_v, score_h) == 0:
        return None
    if score_h > score_v:
        bars, upright_boxes, kind = horizontal, [b.rotated(width) for b in boxes], "hbar"
    else:
        bars, upright_boxes, kind = vertical, boxes, "bar"
    bars = _joined_across_legend(bars, [r.rotated(width) for r in rects] if kind == "hbar" else rects, upright_boxes)
    long_side = rgb.shape[1] if kind == "hbar" else rgb.shape[0]
    if max(b.height for b in bars) < 0.08 * long_side or sum(b.area for b in bars) < 0.004 * rgb.shape[0] * width:
        return None  # icons and legend swatches, not bars
    baseline = float(np.median([b.y1 for b in bars if all(b.y1 >= o.y1 - 3 for o in bars)]))
    axis = find_value_axis(upright_boxes, vertical=True) or _two_tick_axis(upright_boxes, bars, baseline)
    ticks = {id(b) for b in axis.ticks} if axis else set()
    labels = _value_labels(bars, upright_boxes, ticks)
    keep = [i for i, b in enumerate(bars) if b.height >= 4 or i in labels]  # unlabelled slivers are axis lines
    if len(keep) < len(bars):
        labels = {keep.index(i): box for i, box in labels.items() if i in keep}
        bars = [bars[i] for i in keep]
        if not bars:
            return None
    upright_rects = [r.rotated(width) for r in rects] if kind == "hbar" else rects
    hanging = _hanging_bars(bars, upright_rects, baseline)
    ticks_and_labels = ticks | {id(b) for b in labels.values()}
    hanging_labels = _hanging_labels(hanging, upright_boxes, ticks_and_labels, baseline)
    if not labels and axis is None:
        return None
    if len(labels) < 0.5 * len(bars) and axis is None:
        return None
    groups = _stacks_and_groups(bars)
    used = ticks | {id(b) for b in labels.values()}
    spans = []
    for n, group in enumerate(groups):
        lo, hi = min(b.x0 for b in group), max(b.x1 for b in group)
        left = (lo - max(b.x1 for b in groups[n - 1])) / 2 if n else None
        right = (min(b.x0 for b in groups[n + 1]) - hi) / 2 if n + 1 < len(groups) else None
        pad_l = left if left is not None else (right if right is not None else 0.3 * (hi - lo))
        pad_r = right if right is not None else pad_l
        spans.append((lo - pad_l, hi + pad_r))
    names = _legend_names((rgb, [b for b in boxes if id(b) not in {id(v.original) for v in labels.values()}]), centres, background, reread)
    names = {c: v for c, v in names.items() if any(b.cluster == c for b in bars)}
    repeated = sum(len(g) > 1 for g in groups) >= 2 and any(
        sum(any(b.cluster == c for b in g) for g in groups) >= 2 for c in {b.cluster for b in bars})
    if len(groups) < len(bars) and not repeated and len(names) < 2:
        groups = [[b] for b in sorted(bars, key=lambda b: b.cx)]  # differently coloured bars side by side, no legend
        spans = []
        for n, group in enumerate(groups):
            lo, hi = group[0].x0, group[0].x1
            left = (lo - groups[n - 1][0].x1) / 2 if n else None
            right = (groups[n + 1][0].x0 - hi) / 2 if n + 1 < len(groups) else None
            pad_l = left if left is not None else (right if right is not None else 0.3 * (hi - lo))
            spans.append((lo - pad_l, hi + (right if right is not None else pad_l)))
    if all(len(g) == 1 for g in groups) and len({b.cluster for b in bars}) > 1 and not names:
        bars = [replace(b, cluster=bars[0].cluster) for b in bars]  # one bar per category: colours decorate
        groups = _stacks_and_groups(bars)
    if hanging:  # diverging bars: each hanging segment joins the row of the bar it hangs from
        for seg in hanging:
            for group in groups:
                if any(min(seg.x1, b.x1) - max(seg.x0, b.x0) > 0.5 * seg.width for b in group):
                    group.append(seg)
                    break
        labels.update({len(bars) + i: box for i, box in hanging_labels.items()})
        used |= {id(b) for b in hanging_labels.values()}
        bars = bars + hanging
    clusters = sorted({b.cluster for b in bars}, key=lambda c: (names.get(c, (1e9,))[0], c))
    legend_words = {names[c][1] for c in names}
    index = {id(b): i for i, b in enumerate(bars)}
    rows, missing = [], 0
    words = [b for b in upright_boxes if b.text not in legend_words]
    if kind == "hbar":  # rotated text left of horizontal bars is the category axis' title, not a label; a short
        # turned word ('Day') has a box only somewhat taller than wide, which no upright word of 3+ letters has (round 7)
        words = [b for b in words if not b.original.turned and not (len(b.text.strip()) >= 3 and b.original.h > 1.2 * (b.original.x1 - b.original.x0))]
    typical = float(np.median([b.h for b in upright_boxes]))
    if kind == "bar":  # '2003 2004 2005' read as one box under three bars
        merged = [b for b in words if b.y0 >= baseline - 2 and len(b.text.split()) >= 2 and b.h <= 1.6 * typical]  # one line
        words = [b for b in words if b not in merged] + _split_merged_labels(merged, [(lo + hi) / 2 for lo, hi in spans])
    start_by = 0.0
    if kind == "hbar":  # labels right-aligned in a column that may stand far left of short bars' zero line
        starts = [min((b.y0 for b in words if id(b) not in used and lo <= b.cx <= hi and b.y0 >= baseline - 2), default=None)
                  for lo, hi in spans]
        starts = [s for s in starts if s is not None]
        if len(starts) >= 3:
            start_by = float(np.median(starts)) + 0.5 * float(np.median([b.original.h for b in upright_boxes]))
    chosen = [_category_label(span, baseline, words, used, typical, start_by) for span in spans]
    if kind == "bar" and len(groups) >= 3:  # the x-axis title under the labels is no part of the middle label
        middle = (spans[0][0] + spans[-1][1]) / 2
        for n, boxes_n in enumerate(chosen):
            for box in boxes_n[1:]:
                # alone on its line; with an even number of groups the title is centred on the boundary between the
                # two middle spans and both took it (round 7: `Thu Day`, `Fri Day`)
                alone = not any(abs(o.cy - box.cy) < 0.5 * box.h for m, other in enumerate(chosen) if m != n for o in other
                                if o is not box)
                if alone and abs(box.cx - middle) < 0.1 * (spans[-1][1] - spans[0][0]):
                    chosen = [[b for b in c if not (b.y0 >= box.y0 and (c is boxes_n or b is box))] for c in chosen]
                    break
    if reread is not None:
        chosen = _reread_labels(rgb, kind == "hbar", spans, chosen, upright_boxes, typical, reread)
    # the edge of the label column towards the bars (labels left of horizontal bars end there; a number sticking out
    # past it was printed beside the bar, not in the label)
    label_edge = float(np.median([b.original.x1 for c in chosen for b in c if re.search(r"[A-Za-z]{2}", b.text)] or [0.0]))
    for n, (group, span) in enumerate(zip(groups, spans)):
        words_n, stray = _label_and_stray_numbers(_reading_order(chosen[n]), label_edge) if kind == "hbar" else ([b.text for b in _reading_order(chosen[n])], [])
        label = re.sub(r"(?<=\w)\s*[-–—]+$", "", " ".join(words_n))  # 'Feb -': a tick mark
        label = re.sub(r"(?<=[A-Za-z])- (?=[a-z])", "-", label)  # a label wrapped after a hyphen: 'owner-occupied' (round 7)
        unread = [bar for bar in group if index[id(bar)] not in labels]
        if len(stray) == 1 and len(unread) == 1 and axis is None:  # the one number beside the row is its one unread bar's
            labels[index[id(unread[0])]] = stray[0]
        cells: dict[int, str] = {}
        for bar in sorted(group, key=lambda b: -b.y1):
            printed = labels.get(index[id(bar)])
            if printed is not None:
                number, value = parse_value(printed.text)
                if axis is not None and re.fullmatch(r"\d{1,3}\.\d{3}", value) and abs(bar.y1 - baseline) <= 3 \
                        and abs(axis.value(bar.y0) - number * 1000) < 0.15 * number * 1000:
                    value = str(round(number * 1000))  # '1.524' on a bar the axis puts at ~1,500: a comma read as a point
                elif axis is not None and not axis.log and abs(bar.y1 - baseline) <= 3 and len(axis.ticks) >= 2:
                    number, value = _misread((number, value), axis.value(bar.y0), axis.span)
                value = _in_axis_unit(value, axis)
            elif axis is not None:
                if bar.cluster < 0:  # a segment hanging under the baseline: a negative value
                    value = _format(axis.value(bar.y1 + 1) - axis.value(bar.y0), axis)
                elif abs(bar.y1 - baseline) <= 3:
                    value = _format(axis.value(bar.y0), axis)
                else:  # a stacked segment reaches down to the top of the one below it (gaps between belong to it)
                    below = [o for o in group if o is not bar and o.y0 > bar.y0 and min(o.x1, bar.x1) - max(o.x0, bar.x0) > 0]
                    lower = min((o.y0 for o in below), default=bar.y1 + 1)
                    value = _format(axis.value(bar.y0) - axis.value(lower), axis)
            else:
                missing += 1
                continue
            cells.setdefault(bar.cluster, value)
        if cells:
            rows.append(((span[0] + span[1]) / 2, label or str(n + 1), [cells.get(c, "") for c in clusters]))
    if len(clusters) == 1 and len(groups) >= 2:
        rows += _bars_too_thin_to_see(upright_boxes, words, used, spans, baseline, typical, start_by)
    rows = [(name, values) for _, name, values in sorted(rows, key=lambda r: r[0])]
    if not rows:
        return None
    horizontal = score_h > score_v
    if len(clusters) > 1:
        kind = "stacked" if any(len({round(b.cx) for b in g}) < len(g) for g in groups) else "grouped"
        kind = ("h" if horizontal else "") + kind
    series = [names.get(c, (0, ""))[1] for c in clusters]
    if len(clusters) > 1 and not any(series) and horizontal:
        series = _column_headers(bars, clusters, upright_boxes, used, width, rgb, reread)
    series = [name or (f"Series {i + 1}" if len(clusters) > 1 else "Value") for i, name in enumerate(series)]
    rows = _consistent_percent(rows)
    original_bars = [b.rotated_back(width) if horizontal else b for b in bars]
    top = min([b.y0 for b in original_bars] + [b.original.y0 for b in labels.values()])
    bottom = max([b.y1 for b in original_bars] + [b.original.y1 for b in labels.values()])
    span = (min(b.x0 for b in original_bars), max(b.x1 for b in original_bars))
    top = min([top] + [b.y1 + 1 for b in boxes if b.text in legend_words and b.y1 < np.median([o.y0 for o in original_bars])])
    return kind, "Category", series, rows, (top, bottom, span)


VEIL = 0.2  # a see-through legend (matplotlib's framealpha 0.8) shows a fifth of the colour of what lies behind it


def _seen_through_legend(rgb: np.ndarray, boxes: list[TextBox], clusters):
    """Bars behind a see-through legend (round 10). matplotlib's legend is 80% opaque and its face is the plot's
    backdrop B, so a bar of colour c shows inside the frame as 0.8*B + 0.2*c: the bar seemed cut at the frame, its
    pale part became a series of its own or nothing (`Series 4`, a bar's foot lost). Near a legend of 2+ named
    entries, pixels of those veiled colours (and the anti-aliased steps from a colour to its veiled form, at the
    frame's edge) go to the named colour's mask and leave any other; the legend's words and the swatches left of
    them (opaque patches that keep off the edges of their place) leave the masks, and a veiled bar runs on under
    them from veiled pixel to veiled pixel along rows and columns. Returns the clusters and the text boxes the bar
    reader may bridge (the legend's words are left out: bridged here). Nothing changes where no veil is found."""
    import cv2

    masks, centres, background = clusters
    if len(centres) < 2:
        return clusters, boxes
    names = _legend_names((rgb, [b for b in boxes if parse_value(b.text) is None]), centres, background)
    words = [b for b in boxes if any(_bare(b.text) == name for _, name in names.values())]
    if len(names) < 2 or len(words) < 2:
        return clusters, boxes
    h = float(np.median([b.h for b in words]))
    height, width = rgb.shape[:2]
    # matplotlib's frame: 2.8 em of swatch and gap left of the words, 0.4 em of border (a word's box is ~1.4 em tall)
    x0, x1 = max(0, int(min(b.x0 for b in words) - 2.5 * h)), min(width, int(max(b.x1 for b in words) + 0.8 * h))
    y0, y1 = max(0, int(min(b.y0 for b in words) - 0.8 * h)), min(height, int(max(b.y1 for b in words) + 0.8 * h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return clusters, boxes
    # only coloured entries: a veiled grey is the grey of the frame's edge or of another grey bar (grayscale plots);
    # and only light backdrops: behind a dark face every colour fades to the dark of text edges (dark_background)
    named = sorted(k for k in names if np.ptp(centres[k]) > 40)
    if not named or float(np.mean(background)) < 128:
        return clusters, boxes
    colours = np.stack([centres[k] for k in named]).astype(np.float32)
    # the backdrop's own colour (the cluster's centre is a mean over a coarse bin: a plot's grey and its white margin)
    flat = rgb.reshape(-1, 3)
    near = np.linalg.norm(flat.astype(np.float32) - np.asarray(background, np.float32), axis=1) < 45
    codes = (flat[near] >> 3).astype(np.int32) @ np.array([1024, 32, 1])
    back = flat[near][codes == np.bincount(codes).argmax()].mean(axis=0).astype(np.float32) if near.any() else np.asarray(background, np.float32)
    # the face is taken to be the backdrop ('inherit', matplotlib's default): with a white face over a grey plot
    # every light grey would look veiled, so that case is left alone
    pixels = rgb[y0:y1, x0:x1].astype(np.float32)
    step = (1 - VEIL) * (back - colours)  # from each colour to its veiled form
    t = np.clip(np.einsum("yxkc,kc->yxk", pixels[:, :, None, :] - colours, step) / np.maximum((step ** 2).sum(axis=1), 1e-6),
                0.3, 1.0)  # the opaque end is the colour's own (already in its mask)
    on_step = np.linalg.norm(pixels[:, :, None, :] - (colours + t[..., None] * step), axis=3)
    others = np.concatenate([back[None], colours])  # the face over the backdrop is the backdrop; a pale copy's own
    # cluster is no other (its pixels are the ones wanted)
    distance_other = np.linalg.norm(pixels[:, :, None, :] - others, axis=3)
    which, distance = on_step.argmin(axis=2), on_step.min(axis=2)
    hit = (distance < 22) & (distance < distance_other.min(axis=2))  # JPEG's colour noise is ~10 per channel
    for b in boxes:  # text's anti-aliased greys (the legend's words, tick labels near it) are no veiled colour
        hit[max(0, int(b.y0) - y0):max(0, int(b.y1) + 1 - y0), max(0, int(b.x0) - x0):max(0, int(b.x1) + 1 - x0)] = False
    # the swatches: opaque patches left of the legend's words that keep off the edges of their place
    swatch = np.zeros((height, width), bool)
    for b in words:
        zy0, zy1 = max(0, int(b.y0 - 0.2 * h)), min(height, int(b.y1 + 0.2 * h) + 1)
        zx0, zx1 = max(0, int(b.x0 - 3.5 * h)), min(width, int(b.x0))
        if zy1 - zy0 < 3 or zx1 - zx0 < 3:
            continue
        for opaque in masks:
            _, labels, stats, _ = cv2.connectedComponentsWithStats(np.ascontiguousarray(opaque[zy0:zy1, zx0:zx1]), connectivity=8)
            for label, (px, py, pw, ph, _) in enumerate(stats[1:], 1):
                # (2 em long: a bar's sliver between the axis and the frame is no swatch)
                if px > 0 and py > 0 and px + pw < zx1 - zx0 and py + ph < zy1 - zy0 and pw >= 0.8 * h:
                    swatch[zy0:zy1, zx0:zx1] |= labels == label
    # a veiled patch is a bar's part only where it meets that bar's opaque part outside the frame (round 10's
    # first try took pale greys of grayscale plots and the rims of swatches for veiled bars)
    for k, index in enumerate(named):
        opaque = cv2.dilate((masks[index][y0:y1, x0:x1].astype(bool) & ~swatch[y0:y1, x0:x1]).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        count, labels = cv2.connectedComponents((hit & (which == k)).astype(np.uint8), connectivity=8)
        if count > 1:
            meets = np.zeros(count, bool)
            meets[np.unique(labels[opaque & (labels > 0)])] = True
            hit &= ~((which == k) & ~meets[labels])
    if hit.sum() < max(30, 0.01 * hit.size):
        return clusters, boxes
    out = [m.copy() for m in masks]
    for index, mask in enumerate(out):
        part = mask[y0:y1, x0:x1]
        part[hit] = 0
        if index in named:
            part[hit & (which == named.index(index))] = 1
    taken = np.zeros(hit.shape, bool)
    for mask in out:
        taken |= mask[y0:y1, x0:x1].astype(bool)
    unlike_backdrop = distance_other[:, :, 0] > 15
    for index in named:  # the frame's edge (a grey line 2-3 px wide) cuts a bar where it enters the legend: closed
        part = out[index][y0:y1, x0:x1]
        closed = cv2.morphologyEx(cv2.morphologyEx(part, cv2.MORPH_CLOSE, np.ones((1, 5), np.uint8)), cv2.MORPH_CLOSE, np.ones((5, 1), np.uint8))
        part[(closed > 0) & ~taken & unlike_backdrop] = 1
    occluded = np.zeros((height, width), bool)  # the legend's own marks: its words and swatches
    for b in words:
        occluded[max(0, int(b.y0)):int(b.y1) + 1, max(0, int(b.x0)):int(b.x1) + 1] = True
        for mask in out:  # the word's box is unknown ground: filled below from the veiled bars around it
            mask[max(0, int(b.y0)):int(b.y1) + 1, max(0, int(b.x0)):int(b.x1) + 1] = 0
    occluded |= swatch
    for mask in out:
        mask[swatch] = 0
    free = occluded[y0:y1, x0:x1].copy()
    for mask in out:
        free &= ~mask[y0:y1, x0:x1].astype(bool)
    for k, index in enumerate(named):
        part, veiled = out[index][y0:y1, x0:x1], hit & (which == k)
        for lines, ends, fill in ((part, veiled, free), (part.T, veiled.T, free.T)):
            for n in range(lines.shape[0]):
                at = np.flatnonzero(ends[n])  # from veiled pixel to veiled pixel: not from a bar outside the frame
                for a, b in zip(at[:-1], at[1:]):
                    if b - a > 1 and fill[n, a + 1:b].all():
                        lines[n, a + 1:b] = 1
    return (out, centres, background), [b for b in boxes if not any(b is w for w in words)]


def _joined_across_legend(bars: list[Bar], rects: list[Bar], boxes: list[TextBox]) -> list[Bar]:
    """A bar cut by a legend drawn over it (matplotlib's `best` place often lies on the bars): the bar shows as a
    sliver on the baseline and a rectangle of its colour floating beyond the legend, right over it, with the
    legend's words in between; the floating part was no bar, and the segments stacked on it were lost with it.
    The bar runs on to the far end of that part, and what stands on it is stacked again (round 9)."""
    words = [b for b in boxes if re.search(r"[A-Za-z]{2}", b.text)]
    kept = {id(b) for b in bars}
    joined, used = list(bars), set()
    for n, bar in enumerate(bars):
        if any(o is not bar and o.y1 <= bar.y0 + 3 and min(o.x1, bar.x1) - max(o.x0, bar.x0) > 0.5 * bar.width for o in bars):
            continue  # something already stands on it
        beyond = [r for r in rects if id(r) not in kept and id(r) not in used and r.cluster == bar.cluster and r.y1 < bar.y0 - 2
                  and min(r.x1, bar.x1) - max(r.x0, bar.x0) >= 0.9 * max(r.width, bar.width)
                  and any(w.y0 < bar.y0 and w.y1 > r.y1 and w.x1 > bar.x0 and w.x0 < bar.x1 for w in words)]
        if beyond:
            part = max(beyond, key=lambda r: r.y1)  # the nearest
            used.add(id(part))
            joined[n] = replace(bar, y0=part.y0)
    if not used:
        return bars
    return _stacked_on(joined, [r for r in rects if id(r) not in kept and id(r) not in used], widest=True)


def _two_tick_axis(boxes: list[TextBox], bars: list[Bar], baseline: float) -> Axis | None:
    """A value axis of which only two tick labels were read (a small `0` the detector missed): two numbers in a
    column beside the bars whose scale puts zero on the line the bars stand on (within 3 px)."""
    numeric = [b for b in boxes if b.number is not None and b.number > 0 and not any(bar.x0 - 2 <= b.cx <= bar.x1 + 2 for bar in bars)]
    tol = max(6.0, 0.5 * float(np.median([b.h for b in numeric]))) if numeric else 6.0
    for key in (lambda b: b.x1, lambda b: b.cx, lambda b: b.x0):
        for group in _groups(numeric, key, tol=tol):
            if len(group) != 2 or abs(group[0].cy - group[1].cy) < 2 * max(b.h for b in group):
                continue
            (p1, v1), (p2, v2) = sorted((b.cy, b.number) for b in group)
            if v1 <= v2:
                continue  # values grow upwards
            slope = (v2 - v1) / (p2 - p1)
            intercept = v1 - slope * p1
            if abs(-intercept / slope - baseline) <= 3:
                percent = sum(b.text.strip().endswith("%") for b in group) == 2
                return Axis(float(slope), float(intercept), False, percent, float(v1 - v2), list(group))
    return None


def _reread_labels(rgb: np.ndarray, horizontal: bool, spans, chosen: list[list[TextBox]], boxes: list[TextBox],
                   typical: float, reread: Callable[[np.ndarray], str]) -> list[list[TextBox]]:
    """Category labels the text detector missed (faint grey labels: every other one) or ran together across
    bars (`OncologWeurologpediatrics`): the band where the other labels stand, cut at that group's span, read
    again on its own. Only one-line labels (slanted ones do not stand in a span), only where no text was found."""
    chosen = [list(c) for c in chosen]
    redo: dict[int, tuple[float, float, TextBox | None]] = {}
    if not horizontal:  # one box across the spans of several groups: each group's part read alone
        for n, c in enumerate(chosen):
            if len(c) != 1 or c[0].x1 - c[0].x0 < 1.6 * (spans[n][1] - spans[n][0]):
                continue
            covered = [m for m, (lo, hi) in enumerate(spans) if min(hi, c[0].x1) - max(lo, c[0].x0) > 0.5 * (hi - lo)]
            if len(covered) >= 2 and all(not chosen[m] or chosen[m] == c for m in covered):
                for m in covered:
                    redo[m] = (c[0].y0 - 2, c[0].y1 + 2, c[0])
    found = [c for n, c in enumerate(chosen) if c and n not in redo]
    missing = [n for n, c in enumerate(chosen) if not c]
    if missing and len(found) >= 2:
        heads = [c[0] for c in found]
        if horizontal or np.median([b.h for b in heads]) <= 1.8 * typical:  # (slanted labels are tall boxes)
            band = (min(b.y0 for c in found for b in c) - 2, max(b.y1 for c in found for b in c) + 2)
            for n in missing:
                redo[n] = band + (None,)
    if not redo:
        return chosen
    picture = np.ascontiguousarray(np.rot90(rgb)) if horizontal else rgb
    height, width = picture.shape[:2]
    for n, (y0, y1, merged) in sorted(redo.items(), key=lambda item: item[0]):
        x0, x1 = max(0, int(spans[n][0])), min(width, int(spans[n][1]) + 1)
        y0, y1 = max(0, int(y0)), min(height, int(y1) + 1)
        if x1 - x0 < 6 or y1 - y0 < 6 or any(x0 <= b.cx <= x1 and y0 <= b.cy <= y1 for b in boxes if b is not merged):
            continue  # other text was found there: no label the detector missed
        crop = picture[y0:y1, x0:x1]
        text = re.sub(r"\s*[-–—]+$", "", reread(np.ascontiguousarray(np.rot90(crop, k=-1)) if horizontal else crop).strip())  # a tick mark
        if (re.search(r"[A-Za-z]{2}", text) or re.fullmatch(r"\d{4}", text)) and not _CHROME.search(text):
            chosen[n] = [TextBox(text, x0, y0, x1, y1)]
        elif chosen[n]:
            chosen[n] = []  # a merged box's part that reads as nothing is no label of its own
    return chosen


def _label_and_stray_numbers(boxes: list[TextBox], edge: float) -> tuple[list[str], list[TextBox]]:
    """A horizontal bar's row label (its boxes in reading order) -> (its words, the numbers read into it, each as a
    box with the number's text at the place of the box it was read in): a number printed beside the row (Pew's NET
    total, a value printed just outside the bar) that the text detector took with the label, as its own box or at
    the end of one (`Media 51`). Only a box that sticks out past `edge` (the label column's edge towards the bars,
    original x) by half its height holds such a number: `Taipei 101` ends where the other labels end and stays.
    Years stay (`Spring 2019`); a label that is only numbers is left as it is."""
    if not any(re.search(r"[A-Za-z]{2}", b.text) for b in boxes):
        return [b.text for b in boxes], []
    words, stray = [], []
    for box in boxes:
        text = box.text.strip()
        tail = re.fullmatch(r"(.*[A-Za-z].*?)\s+(\d{1,3}(?:\.\d+)?%?)", text)
        if box.original.x1 <= edge + 0.5 * box.original.h:
            words.append(text)
        elif parse_value(text) is not None and not re.fullmatch(r"(?:19|20)\d\d", text):
            stray.append(box)
        elif tail and not re.fullmatch(r"(?:19|20)\d\d", tail[2]):
            words.append(tail[1])
            stray.append(replace(box, text=tail[2]))
        else:
            words.append(text)
    return words, stray


def _bars_too_thin_to_see(upright_boxes, words, used, spans, baseline, typical, start_by):
    """Rows of a one-series chart whose bar is too short to find (1,470 next to 162,189): a number printed
    just past the zero line, outside every found bar's span, with a category label under it."""
    pitch = float(np.median([hi - lo for lo, hi in spans]))
    extra = []
    for box in upright_boxes:
        if id(box) in used or parse_value(box.text) is None:
            continue
        gap = baseline - box.y1
        if not -2 <= gap <= max(12.0, 2 * box.original.h) or any(lo <= box.cx <= hi for lo, hi in spans):
            continue
        span = (box.cx - pitch / 2, box.cx + pitch / 2)
        label = _category_label(span, baseline, words, used | {id(box)}, typical, start_by)
        if label and not any(parse_value(b.text) is not None for b in label):
            extra.append((box.cx, " ".join(b.text for b in _reading_order(label)), [parse_value(box.text)[1]]))
    return extra


def _column_headers(bars: list[Bar], clusters: list[int], upright_boxes: list[TextBox], used: set[int], width: int,
                    rgb: np.ndarray | None = None, reread: Callable[[np.ndarray], str] | None = None) -> list[str]:
    """Series names printed as column headers over the first row of horizontal stacked bars (Pew style). One
    OCR box over several columns (`Should not Should`) is read again cut between the columns (`reread`)."""
    original = [b.rotated_back(width) for b in bars]
    first_row = min(b.y0 for b in original)
    heads, picked, segments = [], [], []
    for cluster in clusters:
        mine = [b for b in original if b.cluster == cluster and abs(b.y0 - first_row) <= 3]
        if not mine:
            heads.append("")
            picked.append([])
            segments.append(None)
            continue
        seg = mine[0]
        segments.append(seg)
        above = sorted((b.original for b in upright_boxes if id(b) not in used and b.original.y1 <= seg.y0 + 2
                        and seg.x0 - 10 <= b.original.cx <= seg.x1 + 10 and parse_value(b.text) is None),
                       key=lambda b: -b.y1)
        chosen, reach = [], seg.y0
        for box in above:  # the nearest line above the segment, then the lines touching it (not a subtitle
            if box.y1 < reach - (1.5 if not chosen else 0.6) * box.h:  # running across all columns)
                break
            if chosen and box.x1 - box.x0 > 1.6 * max(max(b.x1 - b.x0 for b in chosen), seg.x1 - seg.x0):
                break
            chosen.append(box)
            reach = min(reach, box.y0)
        heads.append(" ".join(b.text for b in _reading_order(chosen)))
        picked.append(chosen)
    if reread is None or rgb is None:
        return heads
    for n, chosen in enumerate(picked):
        if len(chosen) != 1:
            continue
        box = chosen[0]
        under = sorted((m for m, seg in enumerate(segments) if seg is not None and min(box.x1, seg.x1) - max(box.x0, seg.x0) > 0.3 * box.h
                        and (m == n or not picked[m] or picked[m] == chosen)), key=lambda m: segments[m].cx)
        if len(under) < 2 or n not in under:
            continue
        cuts = [box.x0 - 2] + [(segments[a].x1 + segments[b].x0) / 2 for a, b in zip(under, under[1:])] + [box.x1 + 2]
        y0, y1 = max(0, int(box.y0) - 2), min(rgb.shape[0], int(box.y1) + 3)
        for m, lo, hi in zip(under, cuts, cuts[1:]):
            crop = rgb[y0:y1, max(0, int(lo)):min(rgb.shape[1], int(hi) + 1)]
            text = reread(np.ascontiguousarray(crop)).strip() if crop.shape[1] >= 6 else ""
            heads[m] = text if re.search(r"[A-Za-z]{2}", text) else ""
    return heads


def _consistent_percent(rows: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Charts that print '%' on the first values only (Pew): when some values carry it and others do not,
    the '%' is a reading aid, not part of the number."""
    cells = [v for _, values in rows for v in values if v]
    if any(v.endswith("%") for v in cells) and not all(v.endswith("%") for v in cells):
        rows = [(name, [v.rstrip("%") for v in values]) for name, values in rows]
    return rows


# -- pies ---------------------------------------------------------------------------------------------------
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
    if min(bw, bh) < 0.25 * min(h, w) or not 0.85 <= bw / bh <= 1.18:
        return None
    radius = (bw + bh) / 4
    cx, cy = x + bw / 2, y + bh / 2
    yy, xx = np.mgrid[0:h, 0:w]
    disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= (0.97 * radius) ** 2
    inside = (labels == best) & disc
    if inside.sum() < 0.8 * disc.sum() or area > 1.1 * np.pi * radius ** 2:
        return None  # not a filled disc (a donut, a blob, a map)
    if len(centres) >= 10:  # a pie may have more slices than the usual 10 colours (Statista: 11 airlines)
        masks, centres, background = _colour_clusters(rgb, [], 0, most=16)
    # each slice's share is its angle: the colours met going round a ring at 0.75-0.93 of the radius (clear of
    # the percentages printed at 0.6 and of the wedges' edges), by majority over the radii
    turn = np.linspace(-np.pi, np.pi, 720, endpoint=False)
    owners = np.full((4, len(turn)), -1)
    for k, r in enumerate((0.75, 0.82, 0.88, 0.93)):
        px = np.clip(np.round(cx + r * radius * np.cos(turn)).astype(int), 0, w - 1)
        py = np.clip(np.round(cy + r * radius * np.sin(turn)).astype(int), 0, h - 1)
        for i, mask in enumerate(masks):
            owners[k][mask[py, px] > 0] = i
    votes = np.stack([(owners == i).sum(axis=0) for i in range(len(masks))])
    owner = np.where(votes.max(axis=0) > 0, votes.argmax(axis=0), -1)
    counts = np.array([(owner == i).sum() for i in range(len(masks))], float)
    total = counts.sum()
    if total == 0:
        return None
    slices = [i for i in range(len(masks)) if counts[i] / total >= 0.008]
    if len(slices) < 2:
        return None
    from scipy.optimize import linear_sum_assignment

    def clean(name: str) -> str:
        return name.strip().lstrip("-•·*–— ").strip()

    def slice_label(b: TextBox) -> bool:  # 'Canada 6.97%' printed above the disc is a label, not the title
        return clean(b.text).endswith("%") or (_LABELLED.match(clean(b.text)) is not None and np.hypot(b.cx - cx, b.cy - cy) < 1.5 * radius)

    title = _page_title([b for b in boxes if not slice_label(b)], y)
    words = [b for b in boxes if not _CHROME.search(b.text) and not (title and b.y1 < y and b.text in title)]
    legend = _legend_names((rgb, boxes), centres, background)
    legend = {i: entry for i, entry in legend.items() if not entry[1].strip().endswith("%")}  # a slice beside 'Fri 1.3%' is no swatch
    mids, spans = {}, {}
    for i in slices:
        a = turn[owner == i]
        mids[i] = float(np.arctan2(np.sin(a).mean(), np.cos(a).mean()))
        spans[i] = counts[i] / total * 2 * np.pi

    def gap(a: float, b: float) -> float:
        return abs((a - b + np.pi) % (2 * np.pi) - np.pi)

    def assign(items: list[TextBox], limit: float) -> dict[int, TextBox]:
        """slice -> box, by the angle of the box seen from the centre (one box per slice)."""
        if not items:
            return {}
        cost = np.array([[gap(np.arctan2(b.cy - cy, b.cx - cx), mids[i]) for b in items] for i in slices])
        rows, cols = linear_sum_assignment(cost)
        return {slices[r]: items[c] for r, c in zip(rows, cols) if cost[r, c] <= max(limit, spans[slices[r]] / 2 + 0.15)}

    def labelled(text: str):  # 'Name 45%', and '2019 45%' (a year names the slice)
        return _LABELLED.match(text) or _NAME_SHARE.match(text.strip())

    numbers = [b for b in words if parse_value(b.text) is not None or labelled(b.text)]
    if any(b.text.strip().endswith("%") for b in numbers):  # printed shares: bare numbers are names (years)
        numbers = [b for b in numbers if b.text.strip().endswith("%")]
    elif numbers and all(b.number is not None and b.number == int(b.number) and 1800 <= b.number <= 2100 for b in numbers):
        numbers = []  # years only, no percentage printed: they name the slices, whose shares are measured
    plain = [b for b in words if b not in numbers and not b.turned and np.hypot(b.cx - cx, b.cy - cy) > 0.8 * radius
             and np.hypot(b.cx - cx, b.cy - cy) < 1.8 * radius and b.text not in {n for _, n in legend.values()}]
    values, names = {}, {}
    top = float(y)
    for i, box in assign(numbers, 0.5).items():
        parsed = parse_value(box.text)
        if parsed is None:
            match = labelled(box.text)
            parsed = parse_value(match["value"])
            names[i] = clean(match["name"])
        if parsed is not None:
            values[i] = parsed[1]
    name_boxes, named_by = [], {}
    for i, box in assign(plain, 0.5).items():
        if i not in names:
            names[i], named_by[i] = clean(box.text), box
        top = min(top, box.y0)
        name_boxes.append(box)
    named = [i for i in slices if i in names]
    if reread is not None and not legend and len(named) >= max(2, len(slices) / 2):
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
    rows = []
    if len(values) >= 0.7 * len(slices):  # every real slice carries its number: an unlabelled sliver is an edge blend
        slices = [i for i in slices if i in values or i in names or i in legend or counts[i] / total >= 0.02]
    for i in sorted(slices, key=lambda i: -counts[i]):
        name = clean(legend.get(i, (0, ""))[1]) or names.get(i) or f"Slice {len(rows) + 1}"
        rows.append((name, [values.get(i) or f"{100 * counts[i] / total:.1f}%"]))
    # the title: the first line above the disc and above the names beside it ('Name 12%' labels are never the title)
    title = _page_title([b for b in boxes if not slice_label(b)], top)
    if not title:  # the top slice's name printed at the title's height (matplotlib): the line above the disc, names aside
        title = _page_title([b for b in boxes if not slice_label(b) and not any(b is n for n in name_boxes)], y)
    if not title:  # ... and read with the title as one box ('2016 Visits by year'): the title is the part centred over the disc
        for i, box in named_by.items():
            split = _title_beside_name(box, cx, radius, np.cos(mids[i]))
            if split is not None:
                names[i], title = clean(split[0]), split[1]
                rows = [(names[i] if row[0] == clean(box.text) else row[0], row[1]) for row in rows]
                break
    return "pie", "Category", ["Share"], rows, title  # a pie's values are shares (the column is named when printed)


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


@lru_cache(maxsize=1)
def shared_chart_expert() -> ChartExpert:
    """One OCR engine per process (benchmarks, eval and the pipeline reuse it)."""
    return ChartExpert()

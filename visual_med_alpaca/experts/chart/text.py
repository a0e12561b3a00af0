"""OCR'd text: TextBox (a box of text and its place), and what its words say: numbers, printed values, powers of
ten, accents and spaces OCR got wrong, page chrome, reading order; category labels OCR read run together, cut
apart (`split_merged_labels`; year labels by the axis' own years, `split_merged_years`)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np

_NUMBER = re.compile(r"^[-−–]?[$€£]?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?$|^[-−–]?[$€£]?\d*\.?\d+%?$")
_SCALE_OF = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "bn": 1e9, "k": 1e3}  # a label's scale word
_SCALE_WORD = re.compile(r"(?<=\d)\s*(?:" + "|".join(_SCALE_OF) + r")$", re.I)
# A printed value label: sign, currency, digits with ',' / ' ' thousand separators, decimals, '%', and a short
# unit after it ('175.09 g', '3.5bn', '12 kg', '1,2 m') that is dropped; the whole label must be this.
_VALUE = re.compile(r"^(?P<sign>[-−–+]?)\s*(?:[$€£¥₹]|US\$|USD|EUR|GBP)?\s*(?P<num>\d{1,4}(?:[, ]\d{3})+(?:\.\d+)?|\d*\.?\d+)"
                    r"\s*(?P<pct>%?)\s*(?P<unit>[A-Za-zµ°²³^/$€£]{0,8}\.?)\*?$")
_OWID = re.compile(r"our\s*world\s*in\s*data|ourworldindata", re.I)  # the publisher's logo or source line
_PEW = re.compile(r"pew\s*research\s*center", re.I)  # the publisher's footer (round 27)
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
    power: bool = field(default=False, repr=False, compare=False)  # a log axis' label read as a power of ten

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

    def rotated_back(self, width: int) -> TextBox:
        """The box's place in the picture as drawn, undoing `rotated(width)`: a box of its own (no `src`)."""
        return TextBox(self.text, width - 1 - self.y1, self.x0, width - 1 - self.y0, self.x1)


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
SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUPERSCRIPT = str.maketrans(SUPERSCRIPT_DIGITS + "⁻−", "0123456789--")


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
        return _decades_read_as_digits(boxes)
    out = []
    for box in boxes:
        p = power(box.text)
        if p is not None and (p[1] or (len(box.text.strip()) == 3 and any(
                abs(box.x1 - w.x1) <= w.h or abs(box.x0 - w.x0) <= w.h or abs(box.cy - w.cy) <= 0.5 * w.h for w in written))):
            box = replace(box, text=_power_text(p[0]), power=True)
        out.append(box)
    written_ids = {id(w) for w in written}
    return _exponents_placed(out, {id(o): _POWER.match(b.text.strip()) for o, b in zip(out, boxes) if id(b) in written_ids})


_GROUPED = re.compile(r"\d,\d{3}(?!\d)")  # a thousands separator: `800,000`, not a year


def scale_words_spelled_out(boxes: list[TextBox]) -> list[TextBox]:
    """(round 202) OWID writes an axis' labels under a million in full (`800,000`) and those from a million up with a
    word (`1 million`, `1.2 million`). `parse_number` drops the word (a scale word is the axis' unit, as Statista's
    tables keep it), so such an axis held two linear scales, `0, 200,000 ... 800,000` and `0, 1, 1.2 ... 1.6`, and
    the one with more labels won: the values came out in millions, with no unit, where the chart means persons. A
    label with a scale word standing in one column (right ends within a label's height) or one row (middles within
    half a height) with a plain number of 1,000 or more written with a thousands separator (`800,000`; round 204: not
    a year, `1910`, whose column a Pew axis' `4 million` shares by chance) is written out in full (`1,200,000`, a
    currency sign kept); any other box is returned as it is."""
    plain = [b for b in boxes if _SCALE_WORD.search(b.text.strip()) is None and _GROUPED.search(b.text)
             and (n := parse_number(b.text)) is not None and abs(n) >= 1000]
    if not plain:
        return boxes
    out = []
    for box in boxes:
        word = _SCALE_WORD.search(box.text.strip())
        number = parse_number(box.text) if word else None
        if number is not None and any(abs(box.x1 - p.x1) <= p.h or abs(box.cy - p.cy) <= 0.5 * p.h for p in plain):
            value = round(number * _SCALE_OF[word.group().strip().lower()], 6)
            sign = re.match(r"^[-−–]?[$€£]?", box.text.strip()).group()
            box = replace(box, text=sign + (f"{value:,.0f}" if value == int(value) else f"{value:,}"))
        out.append(box)
    return out


def _power_text(value: float) -> str:
    return str(int(round(value))) if value >= 1 else f"{value:.6f}".rstrip("0")


def _exponents_placed(boxes: list[TextBox], read: dict[int, re.Match]) -> list[TextBox]:
    """A log axis whose labels are written as powers of ten (`read`: the boxes so written, by id, and their match
    of _POWER) with exponents OCR misread (`10^{2` for 10³ over `10^²`; `10o2` for 10¹): in a column (aligned right)
    or row holding two or more such labels, the labels' places and lead digits (`6` of `6×10²`, 1 for a bare `10`
    and a plain `10` + one or two characters) give the exponents relative to each other: the fit of a log axis, one
    lead digit's step per pixel gap, that most labels agree with (within 4 px, three or more). The exponent itself is
    the one most read exponents agree with; where that ties, the one most numbers printed in the plot (right of the
    column, above the row) agree with (within a factor of 3 of the axis at their place). Where that still ties
    between readings, the labels stay as read. The labels are rewritten to their placed values."""
    written = [b for b in boxes if id(b) in read]
    if len(written) < 2:
        return boxes
    rewrite: dict[int, str] = {}
    for vertical in (True, False):
        for w in written:
            line = [o for o in boxes if (abs(o.x1 - w.x1) <= w.h if vertical else abs(o.cy - w.cy) <= 0.5 * w.h)
                    and (id(o) in read or re.fullmatch(r"10[0-9oO]{1,2}", o.text.strip()))]
            if sum(id(o) in read for o in line) < 2 or w is not min((o for o in line if id(o) in read), key=lambda o: (o.cy, o.cx)):
                continue
            if any(id(o) in rewrite for o in line):
                continue
            placed = _place_exponents(line, read, boxes, vertical)
            if placed is not None:
                rewrite.update({key: _power_text(v) for key, v in placed.items()})
    return [replace(b, text=rewrite[id(b)], power=True) if id(b) in rewrite else b for b in boxes]


def _place_exponents(line: list[TextBox], read: dict[int, re.Match], boxes: list[TextBox], vertical: bool) -> dict[int, float] | None:
    """_exponents_placed for one column (row) `line`: {id(label): value}, or None where no placing stands out."""
    def lead_and_exponent(box: TextBox) -> tuple[float, int | None]:
        match = read.get(id(box))
        if match is None:
            return 0.0, None  # `10` and a misread superscript: a decade, exponent unknown
        exponent = match["exp"].translate(_SUPERSCRIPT)
        return math.log10(float(match["lead"] or 1)), int(exponent)

    up = [-b.cy if vertical else b.cx for b in line]  # values grow upwards / rightwards
    leads, exps = zip(*(lead_and_exponent(b) for b in line))
    height = float(np.median([b.h for b in line]))
    if vertical:
        right = max(b.x1 for b in line)
        printed = [(b.number, -b.cy) for b in boxes if b.x0 > right and b.number and b.number > 0 and not any(b is o for o in line)]
    else:
        top = min(b.y0 for b in line)
        printed = [(b.number, b.cx) for b in boxes if b.y1 < top and b.number and b.number > 0 and not any(b is o for o in line)]
    scored = []
    for i in range(len(line)):
        for j in range(len(line)):
            if up[j] - up[i] < 2 * height:
                continue
            for decades in range(4):
                rise = leads[j] + decades - leads[i]
                if rise <= 0.05:
                    continue
                slope = rise / (up[j] - up[i])  # decades per pixel
                steps, misfit = {}, 0.0
                for k in range(len(line)):
                    f = leads[i] + slope * (up[k] - up[i]) - leads[k]
                    if abs(f - round(f)) <= 4 * slope:
                        steps[k], misfit = int(round(f)), misfit + ((f - round(f)) / slope) ** 2
                if len(steps) < 3:
                    continue
                for e0 in range(-3, 10):
                    agree = sum(exps[k] == e0 + steps[k] for k in steps)
                    near = sum(abs(math.log10(v) - (leads[i] + e0 + slope * (u - up[i]))) <= 0.5 for v, u in printed)
                    values = tuple(round(leads[k] + e0 + steps[k], 6) if k in steps else None for k in range(len(line)))
                    scored.append(((len(steps), agree, near), -misfit, values))
    if not scored:
        return None
    best = max(scored, key=lambda s: (s[0], s[1]))
    if any(s[0] == best[0] and s[2] != best[2] for s in scored):
        return None  # two placings explain the labels equally well
    return {id(line[k]): 10 ** v for k, v in enumerate(best[2]) if v is not None}


def _decades_read_as_digits(boxes: list[TextBox]) -> list[TextBox]:
    """A log axis whose labels `10¹`, `10²`, `10³` OCR read with every superscript as a plain digit, and one or more
    of them wrong (`103`, `102`, `102`), so that no line fits them: three or more labels `10` and one digit, in a
    column (aligned right) or a row, at equal gaps, whose numbers are not evenly spaced (`101`, `102`, `103` may be
    a linear axis and stay). They are read as one decade per gap, growing upwards (rightwards), the exponents placed
    where more than half of the read digits agree and no other placing agrees as well."""
    tens = [b for b in boxes if re.fullmatch(r"10[0-9]", b.text.strip())]
    rewrite: dict[int, str] = {}
    for vertical in (True, False):
        for b in tens:
            line = [o for o in tens if (abs(o.x1 - b.x1) <= b.h if vertical else abs(o.cy - b.cy) <= 0.5 * b.h)]
            ordered = sorted(line, key=lambda o: -o.cy if vertical else o.cx)  # smallest value first
            if len(ordered) < 3 or b is not ordered[0] or any(id(o) in rewrite for o in ordered):
                continue
            pixels = np.array([o.cy if vertical else o.cx for o in ordered], float)
            gaps = np.abs(np.diff(pixels))
            numbers = np.array([o.number for o in ordered])
            if (gaps.min() < 2 * max(o.h for o in ordered) or gaps.max() - gaps.min() > max(3.0, 0.1 * gaps.mean())
                    or np.all(np.diff(numbers) == numbers[1] - numbers[0])):
                continue
            digits = [int(o.text.strip()[2]) for o in ordered]
            votes = [sum(d == e0 + k for k, d in enumerate(digits)) for e0 in range(10 - len(digits) + 1)]
            if max(votes) * 2 <= len(digits) or votes.count(max(votes)) > 1:
                continue
            e0 = votes.index(max(votes))
            rewrite.update({id(o): str(10 ** (e0 + k)) for k, o in enumerate(ordered)})
    return [replace(b, text=rewrite[id(b)]) if id(b) in rewrite else b for b in boxes]


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


def thousands_group(part: str) -> bool:
    """A space-grouped number's thousands group, read as a word of its own ('2 184.06%' split at its space: '184.06%'):
    the number goes on, it is no second label. It is what a printed value (_VALUE) takes after a group's space."""
    match = _VALUE.fullmatch("1 " + part) if "," not in part else None  # one group, so no separator of its own
    return bool(match) and not match["unit"]


_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+")  # a number written with comma thousands separators


def grouped_run(part: str) -> list[str] | None:
    """(round 216) Numbers with comma thousands separators printed touching (`10,00012,50015,00017,500`: a value axis'
    labels in a large font, which OCR reads as one word): each group after a comma has three digits, so the next
    number starts right after it (`10,000` `12,500` `15,000` `17,500`). None for anything else."""
    if not re.fullmatch(r"(?:\d{1,3}(?:,\d{3})+){2,}", part):
        return None
    return _GROUPED.findall(part)


def evenly_stepped(numbers: list[float]) -> bool:
    """Three or more numbers rising by one step (within 1%): a value axis' tick labels."""
    steps = [b - a for a, b in zip(numbers, numbers[1:])]
    return len(numbers) >= 3 and steps[0] > 0 and all(abs(d - steps[0]) <= 0.01 * steps[0] for d in steps)


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


_YEAR_DIGITS = r"(?:1[6-9]|20)\d\d"  # a year 1600-2099 as a category label prints it
_YEAR = re.compile(rf"^{_YEAR_DIGITS}$")


# (round 42) a group's band printed as its name: an age or income range (`30-49`, `$30K-$50K`) or a number and `+`
# (`50+`, `65+`); no printed value (parse_value refuses it) and no word of letters
_BAND = re.compile(r"^(?:\$?\d+(?:\.\d+)?[KkMm]?\s*[-–]\s*\$?\d+(?:\.\d+)?[KkMm]?|\$?\d+(?:\.\d+)?[KkMm]?\s*\+)$")


def names_something(name: str) -> bool:
    """A word that may name a series: two letters or more, or a band (`30-49`, `50+`; round 42)."""
    return sum(ch.isalpha() for ch in name) >= 2 or bool(_BAND.match(name))


def _bare(text: str) -> str:
    """A name without the bullet or dash printed before it ('• 70+ years old')."""
    return text.lstrip("•·-–* ").strip() or text


def _reading_order(boxes: list[TextBox]) -> list[TextBox]:
    """Original boxes top to bottom in lines (centres within half a line height), each line left to right."""
    lines: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: b.original.cy):
        if lines and abs(box.original.cy - lines[-1][0].original.cy) < 0.5 * max(box.original.h, 1):
            lines[-1].append(box)
        else:
            lines.append([box])
    return [b for line in lines for b in sorted(line, key=lambda b: b.original.cx)]


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


def _word_start(text: str, cut: int) -> int:
    """The cut moved to the nearest word start within 3 characters (after a space, or a capital after a small letter:
    'NeurologyPediatrics'), else kept where it is (inside the text)."""
    cut = min(len(text), max(0, cut))
    starts = [i for i in range(max(1, cut - 3), min(len(text), cut + 4))
              if text[i - 1] == " " or (text[i].isupper() and text[i - 1].islower())]
    return min(starts, key=lambda i: abs(i - cut)) if starts else cut


def _grid_owners(labels: list[TextBox], columns: list[float]) -> tuple[list[list[float]], float] | None:
    """Evenly spaced columns (a line's round markers) shared out among the label boxes over them: a column missed at
    either end (cut by the plot's edge, under another line's marker) is added while it lies well inside the labels'
    span; each column goes to the nearest box within 0.3 of the spacing. None unless there are more columns than
    boxes, every column lies under a box and every box over a column."""
    spacing = float(np.median(np.diff(columns)))
    left, right = min(b.x0 for b in labels) + 0.3 * spacing, max(b.x1 for b in labels) - 0.3 * spacing
    columns = list(columns)
    while columns[0] - spacing >= left:
        columns.insert(0, columns[0] - spacing)
    while columns[-1] + spacing <= right:
        columns.append(columns[-1] + spacing)
    if len(columns) <= len(labels):
        return None
    owner = []
    for x in columns:
        boxes = [i for i, box in enumerate(labels) if box.x0 - 0.3 * spacing <= x <= box.x1 + 0.3 * spacing]
        if not boxes:
            return None
        owner.append(min(boxes, key=lambda i: abs(labels[i].cx - x)))
    if set(owner) != set(range(len(labels))):
        return None
    return [[x for x, o in zip(columns, owner) if o == i] for i in range(len(labels))], spacing


def split_merged_labels(labels: list[TextBox], columns: list[float], *, grid: bool = False) -> list[TextBox]:
    """Category labels that OCR read run together into one box ('2003 2004 2005', 'NeurologyPediatrics'), cut at the
    x positions of what they label, one piece per position and centred on it. The one splitter of the bar readers
    (`columns` = the centres of the groups of bars) and the line reader (`grid`: the columns of its round markers).

    Bar groups' centres (each found as a bar): a box is cut on its own where two or more centres lie within it and
    its words divide evenly among them, the same number of words per centre, each piece the box's share of its
    width; any other box stays as it is.
    `grid` (evenly spaced marker columns, perhaps with one missed at an end; `_grid_owners`): only when every box
    gets a column and there are more columns than boxes, each box's text is cut between its columns in proportion to
    the characters' positions, at a word start within 3 characters, each piece 0.8 of the spacing wide; otherwise
    the labels stay as they are. A box that reads one 4-digit year is never cut (round 42: a point every year, every
    other year labelled), nor (round 197) one that reads one quarter or month with its year (`Q2 '08`)."""
    if grid:
        if len(columns) < 2 or not labels:
            return labels
        owned = _grid_owners(labels, columns)
        if owned is None:
            return labels
        mine_of, spacing = owned
    else:
        mine_of, spacing = [[c for c in columns if box.x0 <= c <= box.x1] for box in labels], 0.0
    out = []
    for box, mine in zip(labels, mine_of):
        # one year is one label (round 42: Pew marks every year and labels every other one), and so is one quarter or
        # month with its year (round 197: `Q2 '08` under every third point)
        if grid and (_YEAR.match(box.text.strip()) or ((period := _period(box.text)) is not None and period[2])):
            out.append(box)
            continue
        if grid:
            text, width = box.text, max(box.x1 - box.x0, 1.0)
            cuts = [0] + [_word_start(text, round((((a + b) / 2) - box.x0) / width * len(text))) for a, b in zip(mine, mine[1:])] + [len(text)]
            pieces, half = [text[start:end].strip() or text for start, end in zip(cuts, cuts[1:])], 0.4 * spacing
        else:
            words = box.text.split()
            if len(mine) < 2 or len(words) % len(mine):
                out.append(box)
                continue
            per = len(words) // len(mine)
            pieces, half = [" ".join(words[i * per:(i + 1) * per]) for i in range(len(mine))], (box.x1 - box.x0) / (2 * len(mine))
        out.extend(TextBox(piece, x - half, box.y0, x + half, box.y1) for x, piece in zip(mine, pieces))
    return out


def stacked_label_lines(row: list[TextBox], boxes: list[TextBox], typical: float) -> tuple[list[TextBox], list[TextBox]]:
    """(round 154) A line chart's category labels printed on two or three lines (`Oct` / `2001`, `March` / `9`,
    `Oct.-` / `Dec.` / `2004`): (the row, each label's text the lines' texts top to bottom, its box unchanged; the
    boxes of the other lines taken into it). A line of text is a label line when its middle lies 0.6-1.8 label
    heights from the last line taken (over or under the row; the boxes whose middles lie within half a height of the
    nearest such box's) and every box of it stands on the row's labels: over exactly one label (spans overlapping by
    half the narrower width or more; the box within that label's column, up to its neighbours' middles), or (OCR ran
    two labels' lines together, `Jan Aug`) over n labels with n words, each word's middle (by its characters' share
    of the box) nearest its own label; each label under exactly one box. A line over the
    row made only of numbers is no label line (a low point's printed value). Anything else (a note, an axis title,
    a legend) ends the search on that side; `row` as it is where no line is taken, or where it is one box (labels OCR
    ran together, with the axis' title under them: the plain pool's `Drug`)."""
    if typical <= 0 or len(row) < 2:  # one box: labels OCR ran together, over an axis title
        return row, []
    row = sorted(row, key=lambda b: b.cx)
    parts: list[list[str]] = [[b.text.strip()] for b in row]
    taken: list[TextBox] = []
    for side in (-1, 1):
        edge = float(np.mean([b.cy for b in row]))
        for _ in range(2):
            band = [b for b in boxes if b not in row and b not in taken and 0.6 * typical <= side * (b.cy - edge) <= 1.8 * typical]
            if not band:
                break
            nearest = min(band, key=lambda b: side * (b.cy - edge))  # the next line only, not the one after it
            near = sorted((b for b in band if abs(b.cy - nearest.cy) <= 0.5 * typical), key=lambda b: b.cx)
            if side < 0 and all(parse_value(b.text) is not None for b in near):
                break
            owner: dict[int, str] = {}
            for b in near:
                under = [n for n, r in enumerate(row) if min(b.x1, r.x1) - max(b.x0, r.x0) >= 0.5 * min(b.x1 - b.x0, r.x1 - r.x0)]
                words = b.text.split()
                if len(under) == 1:  # within its label's column: up to the neighbouring labels' middles
                    n = under[0]
                    inside = (n == 0 or b.x0 >= row[n - 1].cx) and (n == len(row) - 1 or b.x1 <= row[n + 1].cx)
                    pieces = [b.text.strip()] if inside else []
                elif len(under) >= 2 and len(words) == len(under):
                    width, at, pieces = max(b.x1 - b.x0, 1.0), 0, []
                    for word in words:
                        start = b.text.index(word, at)
                        at = start + len(word)
                        middle = b.x0 + (start + at) / 2 / len(b.text) * width
                        if min(range(len(row)), key=lambda n: abs(row[n].cx - middle)) != under[len(pieces)]:
                            break
                        pieces.append(word)
                else:
                    pieces = []
                if len(pieces) != len(under) or not pieces or any(n in owner for n in under):
                    owner = {}
                    break
                owner.update(zip(under, pieces))
            if len(owner) != len(row):
                break
            for n, text in owner.items():
                parts[n] = [text] + parts[n] if side < 0 else parts[n] + [text]  # top to bottom
            taken.extend(near)
            edge = float(np.mean([b.cy for b in near]))
    if not taken:
        return row, []

    def joined(lines: list[str]) -> str:  # a line ending in a hyphen runs on (`Oct.-` / `Dec.`: `Oct.-Dec.`)
        return "".join(a + ("" if a.endswith(("-", "\u2013")) else " ") for a in lines[:-1]) + lines[-1]
    return [replace(b, text=joined(p)) for b, p in zip(row, parts)], taken


def split_merged_years(labels: list[TextBox]) -> list[TextBox]:
    """Year labels of a numeric x axis that OCR read run together, the last ticks one year apart ('1996 2000 2001'
    read '1996', '200001'; '199A997'), cut in two by the axis' own years (round 37's E1): the labels that read as
    4-digit years (two or more, increasing, evenly placed: a linear year -> x fit within 0.3 year) give each x its year.
    A box of 5-8 characters (at most one no digit), wider than 1.3 median year labels, becomes two labels, one label
    width wide, at its two ends, named by the fit's years there (each within 0.35 of a whole year), kept only when the
    two years differ and follow the year before, and the text starts with the first year's first two digits and ends
    with the second's last digit; any other box stays as it is."""
    years = [(int(b.text), b) for b in labels if _YEAR.match(b.text.strip())]
    if len(years) < 2 or any(b.cx <= a.cx or y <= x for (x, a), (y, b) in zip(years, years[1:])):
        return labels
    ys = np.array([y for y, _ in years], float)
    xs = np.array([b.cx for _, b in years])
    slope, offset = np.polyfit(ys, xs, 1)
    if slope <= 0 or np.max(np.abs((xs - offset) / slope - ys)) > 0.3:
        return labels
    width = float(np.median([b.x1 - b.x0 for _, b in years]))
    out = []
    for box in labels:
        text = box.text.strip()
        if not (5 <= len(text) <= 8 and sum(not c.isdigit() for c in text) <= 1 and box.x1 - box.x0 > 1.3 * width):
            out.append(box)
            continue
        at = [((box.x0 + width / 2) - offset) / slope, ((box.x1 - width / 2) - offset) / slope]
        first, second = (round(a) for a in at)
        before = [y for y, b in years if b.cx < box.x0]
        if (any(abs(a - round(a)) > 0.35 for a in at) or second <= first or (before and first <= max(before))
                or text[:2] != str(first)[:2] or text[-1] != str(second)[-1]):
            out.append(box)
            continue
        out.extend(TextBox(str(year), x - width / 2, box.y0, x + width / 2, box.y1)
                   for year, x in ((first, box.x0 + width / 2), (second, box.x1 - width / 2)))
    return out


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_QUARTER = re.compile(r"^Q\s*(?P<q>[1-4])\s*(?P<mark>['’‘`´]?)\s*(?P<year>\d{2}|\d{4})\*?$", re.I)
_MONTH = re.compile(r"^(?P<m>" + "|".join(_MONTHS) + r")[a-z]*\.?\s*(?P<mark>['’‘`´]?)\s*(?P<year>\d{2}|\d{4})?\*?$", re.I)
_PERIOD_YEAR = re.compile(rf"^(?P<year>{_YEAR_DIGITS})\*?$")


def _period(text: str) -> tuple[str, int, str] | None:
    """A category label read as a period of a known sequence: (kind, ordinal, how its year is written) for a year
    ('2005'), a quarter ("Q1 '11", 'Q1 2011', OCR's 'Q3 11') or a month ("Jan '19", 'Jan 2019', 'Jan'); else None."""
    text = text.strip()

    def year_of(digits: str) -> int:
        return int(digits) if len(digits) == 4 else 2000 + int(digits) if int(digits) < 50 else 1900 + int(digits)

    if match := _PERIOD_YEAR.match(text):
        return "year", int(match["year"]), "yyyy"
    if match := _QUARTER.match(text):
        style = "yyyy" if len(match["year"]) == 4 else "'yy" if match["mark"] else "yy"
        return "quarter", year_of(match["year"]) * 4 + int(match["q"]) - 1, style
    if match := _MONTH.match(text):
        month = _MONTHS.index(match["m"].lower()[:3])
        if not match["year"]:
            return "month", month, ""
        style = "yyyy" if len(match["year"]) == 4 else "'yy" if match["mark"] else "yy"
        return "month", year_of(match["year"]) * 12 + month, style


def _period_text(kind: str, ordinal: int, style: str, month_names: dict[int, str]) -> str:
    """The label of a period, written as the chart writes its others (`_period`'s kind and year style)."""
    if kind == "year":
        return str(ordinal)
    year, part = divmod(ordinal, 4 if kind == "quarter" else 12)
    head = f"Q{part + 1}" if kind == "quarter" else month_names.get(part, _MONTHS[part].title())
    if kind == "month" and not style:
        return head
    return f"{head} {year}" if style == "yyyy" else f"{head} '{year % 100:02d}" if style == "'yy" else f"{head} {year % 100:02d}"


_PERIOD_RUN = re.compile(r"(?:Q\s*[1-4]|(?:" + "|".join(_MONTHS) + r")[a-z]*\.?)\s*['’‘`´]?\s*(?:\d{4}|\d{2})", re.I)


def split_run_together_periods(labels: list[TextBox], columns: list[float]) -> list[TextBox]:
    """(round 74) Quarter / month labels that OCR read run together into one box ("Q4 '16Q2 '17Q4 '17", "Jan '14 Mar
    '14 May '14"), cut by the labels' own pattern: a box whose text is, spaces aside, wholly a run of two or more
    periods that each carry a year (`_period`: one kind, strictly increasing) becomes one label per period, placed at
    its characters' share of the box's width and moved onto the nearest of the point columns (`columns`: a line's
    markers or the axis' ticks / gridlines, evenly spaced; (round 200) a bar chart's bar centres), 0.8 of their
    spacing wide; two periods on one column, or no columns, leave the box as it is. The pieces then go through the
    usual splitter and `fill_thinned_labels` (labels under every other point); any other box is returned as it is."""
    if len(columns) < 2 or not labels:
        return labels
    pitch = float(np.median(np.diff(columns)))
    out = []
    for box in labels:
        text = box.text
        found = list(_PERIOD_RUN.finditer(text))
        periods = [_period(m.group()) for m in found]
        if (len(found) < 2 or re.sub(r"\s", "", "".join(m.group() for m in found)) != re.sub(r"\s", "", text)
                or any(p is None for p in periods) or len({p[0] for p in periods}) != 1
                or any(b[1] <= a[1] for a, b in zip(periods, periods[1:]))):
            out.append(box)
            continue
        width = max(box.x1 - box.x0, 1.0)
        at = [min(columns, key=lambda c: abs(c - (box.x0 + (m.start() + m.end()) / 2 / len(text) * width))) for m in found]
        if any(b <= a for a, b in zip(at, at[1:])):
            out.append(box)
            continue
        out.extend(TextBox(m.group().strip(), x - 0.4 * pitch, box.y0, x + 0.4 * pitch, box.y1) for m, x in zip(found, at))
    return out


def _label_grid(labels: list[TextBox]) -> tuple[float, float] | None:
    """Labels left to right on one grid: (spacing, first x) of a linear fit of x on label number, each label within
    20% of a spacing over 8 px; None when they are not (lines._evenly_spaced tests columns' gaps instead)."""
    xs = np.array([b.cx for b in labels])
    spacing, start = (float(v) for v in np.polyfit(np.arange(len(labels)), xs, 1))
    if spacing <= 8 or np.any(np.abs(xs - start - spacing * np.arange(len(labels))) > 0.2 * spacing):
        return None
    return spacing, start


def fill_thinned_labels(labels: list[TextBox], marks: list[float], x_from: float, x_to: float,
                        years: bool = False) -> list[TextBox]:
    """(round 41) Category labels printed under every k-th point only (Statista's long series), completed: the labels,
    left to right, evenly spaced (a linear fit, each within 20% of the spacing; round 57: where they are not, a word
    with no digit that reads as no period, at most one label in four, the axis' title or a piece of a slanted label
    taken as one bar's label, is left out when the others then are), read as periods of one sequence
    (`_period`: quarters or months; at least 3 and 60% of them, three in four of those on one linear fit of ordinal on
    label number, an integer step d >= 2 periods a label) are cut into k = d/p points per label gap (p periods a point;
    the finest k, a divisor of d, whose positions between the labels hold a mark in 70% of cases: `marks`, the x of the
    points' markers, bars or printed values, within 0.3 of a point's spacing, the grid moved by the marks' mean phase).
    Each position between the labels where a mark stands becomes a label, named by the sequence (a label OCR broke,
    'Q3 11' or '16', renamed by it: "Q3 '11", "Q1 '16"), each label moved onto its point's column; past either end a
    position is added only while a mark stands there, within half a point's spacing of [x_from, x_to]. Years are left
    as they are: ChartQA's year tables (Pew's, OWID's, OECD's; dev 7018, the ends pool) list only the printed years
    though a point is drawn at every year (round 41's C1, which filled them, was rejected), unless `years` (round 57:
    bars, each one a row of the table; Statista's year tables list every bar). Otherwise the labels stay as they are:
    no category is made up where no point is drawn."""
    given = labels  # returned as they are (the same list) where nothing is filled
    if len(labels) < 3:
        return labels
    grid = _label_grid(labels)
    if grid is None:
        words = [b for b in labels if not re.search(r"\d", b.text) and _period(b.text) is None]
        kept = [b for b in labels if all(b is not w for w in words)]
        if not words or len(words) > max(1, len(labels) // 4) or len(kept) < 3 or (grid := _label_grid(kept)) is None:
            return labels
        labels = kept  # (round 57) the axis' title, or a word's piece, read as one bar's label: off the labels' grid
    xs = np.array([b.cx for b in labels])
    spacing, start = grid
    periods = [_period(b.text) for b in labels]
    read = [(i, p) for i, p in enumerate(periods) if p is not None]
    kinds = [p[0] for _, p in read]
    if len(read) < max(3, 0.6 * len(labels)):
        return given
    kind = Counter(kinds).most_common(1)[0][0]  # a tie goes to the leftmost label's kind, not to string hashing
    if kind == "year" and not years:  # ChartQA's year tables (Pew, OWID, OECD) list only the printed years (round 41)
        return given
    read = [(i, p[1]) for i, p in read if p[0] == kind]
    best: tuple[int, int, int] | None = None  # (votes, first ordinal, step)
    for a in range(len(read)):
        for b in range(a + 1, len(read)):
            (i, oi), (j, oj) = read[a], read[b]
            if (oj - oi) % (j - i):
                continue
            step = (oj - oi) // (j - i)
            votes = sum(o == oi + step * (n - i) for n, o in read)
            if best is None or votes > best[0]:
                best = (votes, oi - step * i, step)
    if best is None or best[0] < max(3, 0.75 * len(read)) or best[2] < 2:
        return given
    _, first, step = best
    marks = np.array(sorted(marks)) if marks else np.zeros(0)
    near = marks[(marks >= xs[0] - spacing) & (marks <= xs[-1] + spacing)]
    if not near.size:
        return given

    def marked(x: float, pitch: float) -> bool:
        return float(np.min(np.abs(marks - x))) <= 0.3 * pitch

    for k in sorted((k for k in range(2, step + 1) if step % k == 0), reverse=True):
        pitch = spacing / k
        # the points' own columns: the labels' grid moved by the marks' mean phase on it (a slanted label's box
        # ends a few pixels off its point)
        angle = np.angle(np.mean(np.exp(2j * np.pi * (near - start) / pitch)))
        origin = start + float(angle) / (2 * np.pi) * pitch
        between = [origin + pitch * n for n in range(1, (len(labels) - 1) * k) if n % k]
        if sum(marked(x, pitch) for x in between) >= 0.7 * len(between):
            break
    else:
        return given
    styles = [p[2] for p in periods if p is not None and p[0] == kind]
    style = Counter(styles).most_common(1)[0][0]  # a tie: the leftmost label's style (the same in every process)
    if style == "yy" and styles.count("'yy") >= 2:  # (round 199) OCR drops a thin apostrophe, never adds one
        style = "'yy"
    month_names = {}
    if kind == "month":  # 'Jan' or 'January', as the chart writes them
        for b, p in zip(labels, periods):
            if p is not None and p[0] == "month":
                month_names.setdefault(p[1] % 12, re.split(r"[\s'’‘`´.]", b.text.strip())[0])
        month_names = {m: name if len(name) > 3 else _MONTHS[m].title() for m, name in month_names.items()}
    per_point = step // k
    y0, y1 = float(np.median([b.y0 for b in labels])), float(np.median([b.y1 for b in labels]))
    positions = list(range(0, (len(labels) - 1) * k + 1))
    before = 0
    while x_from - pitch / 2 <= origin - pitch * (before + 1) and marked(origin - pitch * (before + 1), pitch):
        before += 1
    after = 0
    while origin + pitch * (positions[-1] + after + 1) <= x_to + pitch / 2 and marked(origin + pitch * (positions[-1] + after + 1), pitch):
        after += 1
    positions = list(range(-before, 0)) + positions + [positions[-1] + n for n in range(1, after + 1)]
    out = []
    for n in positions:
        if n % k and not marked(origin + pitch * n, pitch):
            continue  # no point drawn there
        x = origin + pitch * n
        name = _period_text(kind, first + per_point * n, style, month_names)
        if n % k == 0 and 0 <= n // k < len(labels):
            box = labels[n // k]
            own = periods[n // k]
            kept = (own is not None and own[0] == kind and own[1] == first + per_point * n and
                    _period_text(kind, own[1], style, month_names) == _period_text(kind, own[1], own[2], month_names))
            half = (box.x1 - box.x0) / 2
            out.append(replace(box, text=box.text if kept else name, x0=x - half, x1=x + half))
        else:
            out.append(TextBox(name, x - 0.4 * pitch, y0, x + 0.4 * pitch, y1))
    return out

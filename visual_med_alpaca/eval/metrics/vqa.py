"""Medical VQA scoring as LLaVA-Med computes it (llava/eval/run_eval_batch.py + eval_metrics/), documented
in docs/eval.md: closed = yes/no accuracy, open = recall of ground-truth tokens, plus exact match and F1."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# LLaVA-Med's glossary.normalize_word, re-implemented: these characters become spaces (or vanish when
# the text has a digit,digit group or the character already touches a space), then periods not
# between digits are dropped, number words become digits, articles are removed, commas are removed.
_PUNCT = [";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"]
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")
_DIGIT_COMMA = re.compile(r"(\d)(,)(\d)")
_NUMBERS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
            "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
_ARTICLES = {"a", "an", "the"}
YES_NO = ("yes", "no")


def normalize_answer(text: str) -> str:
    """Lower-case, strip punctuation and articles, spell numbers as digits (LLaVA-Med's normalisation)."""
    text = (text or "").lower()
    out = text
    for p in _PUNCT:
        if (p + " " in text or " " + p in text) or _DIGIT_COMMA.search(text):
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    out = _PERIOD.sub("", out)
    words = [_NUMBERS.get(w, w) for w in out.split()]
    return " ".join(w for w in words if w not in _ARTICLES).replace(",", "")


def tokens(text: str) -> list[str]:
    return normalize_answer(text).split()


def open_recall(prediction: str, reference: str) -> float:
    """Fraction of reference tokens found in the prediction (counts clipped, so repeats earn nothing)."""
    ref = Counter(tokens(reference))
    if not ref:
        return 0.0
    pred = Counter(tokens(prediction))
    return sum(min(n, pred[w]) for w, n in ref.items()) / sum(ref.values())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style bag-of-tokens F1 after normalisation."""
    pred, ref = Counter(tokens(prediction)), Counter(tokens(reference))
    overlap = sum((pred & ref).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / sum(pred.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def substring_hit(prediction: str, reference: str) -> float:
    """LLaVA-Med's own hit test: the normalised reference occurs anywhere in the normalised prediction."""
    return float(normalize_answer(reference) in normalize_answer(prediction))


def first_yes_no(prediction: str) -> str | None:
    for word in tokens(prediction):
        if word in YES_NO:
            return word
    return None


def closed_correct(prediction: str, reference: str) -> float:
    """Yes/no references: the first 'yes' or 'no' word of the prediction must equal it. Other closed
    references (e.g. 'left', 'axial'): every reference token must appear in the prediction."""
    ref = normalize_answer(reference)
    if ref in YES_NO:
        return float(first_yes_no(prediction) == ref)
    return float(open_recall(prediction, reference) == 1.0)


def _mean(values: list[float]) -> float | None:
    return round(100 * sum(values) / len(values), 2) if values else None


def vqa_metrics(records: Iterable[dict]) -> dict:
    """Percentages over records with 'kind' ('closed'/'open'), 'prediction' and 'reference'."""
    closed, open_ = [], []
    for r in records:
        (closed if r["kind"] == "closed" else open_).append((r.get("prediction") or "", r["reference"]))
    every = closed + open_
    return {
        "closed_accuracy": _mean([closed_correct(p, g) for p, g in closed]),
        "open_recall": _mean([open_recall(p, g) for p, g in open_]),
        "closed_substring_llava_med": _mean([substring_hit(p, g) for p, g in closed]),
        "open_substring_llava_med": _mean([substring_hit(p, g) for p, g in open_]),
        "exact_match": _mean([exact_match(p, g) for p, g in every]),
        "token_f1": _mean([token_f1(p, g) for p, g in every]),
        "open_token_f1": _mean([token_f1(p, g) for p, g in open_]),
        "n_closed": len(closed),
        "n_open": len(open_),
    }

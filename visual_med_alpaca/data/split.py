"""The one held-out split used across the project: by a hash of a group key (a document, an image, a source
photo), so an item's side never depends on run order, seeds or what else is in the set; and the one test for
near copies of a benchmark's items (`near_copies`), so they stay out of training."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable


def stable_int(key: str) -> int:
    """A 32-bit integer from the key's SHA-1 (stable across runs and machines, unlike hash())."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16)


def in_held_out(key: str, fraction: float) -> bool:
    """True for about `fraction` of keys, always the same ones."""
    return stable_int(key) / 0xFFFFFFFF < fraction


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i:i + 3]) for i in range(max(1, len(words) - 2))}


def near_copies(texts: Iterable[str], threshold: float = 0.5) -> Callable[[str], bool]:
    """A test 'is this text a copy of one of `texts`?' that also catches copies with a typo fixed or a word
    changed: Jaccard similarity of word trigrams >= threshold. (On MEDIQA 2019, copies of the TREC LiveQA'17
    questions score 0.73-1.0 and the closest unrelated question 0.23.)"""
    grams = [_trigrams(t) for t in texts]
    index: dict[tuple[str, ...], list[int]] = {}
    for i, g in enumerate(grams):
        for gram in g:
            index.setdefault(gram, []).append(i)

    def is_copy(text: str) -> bool:
        mine = _trigrams(text)
        shared: dict[int, int] = {}
        for gram in mine:
            for i in index.get(gram, ()):
                shared[i] = shared.get(i, 0) + 1
        return any(n / (len(mine) + len(grams[i]) - n) >= threshold for i, n in shared.items())

    return is_copy

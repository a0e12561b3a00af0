"""The one held-out split used across the project: by a hash of a group key (a document, an image, a source
photo), so an item's side never depends on run order, seeds or what else is in the set."""

from __future__ import annotations

import hashlib


def stable_int(key: str) -> int:
    """A 32-bit integer from the key's SHA-1 (stable across runs and machines, unlike hash())."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16)


def in_held_out(key: str, fraction: float) -> bool:
    """True for about `fraction` of keys, always the same ones."""
    return stable_int(key) / 0xFFFFFFFF < fraction

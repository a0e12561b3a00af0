"""PathVQA test (`pathvqa_test/` in the data folder: `test.jsonl`, 6,719 QA on 858 de-duplicated images): the one
reader of its files, for the `pathvqa` benchmark (`eval/benchmarks/vqa.py`). PathVQA train is not in shared data."""

from __future__ import annotations

import random
from pathlib import Path

from ..store import read_jsonl
from . import Item, need, vqa_items

FOLDER = "pathvqa_test"  # inside the data folder
PATHVQA_SUBSET_SIZE = 1000
PATHVQA_SUBSET_SEED = 0


def pathvqa_test_items(root: str | Path) -> list[Item]:
    """`test.jsonl` as `Item`s (closed / open), in file order."""
    folder = need(Path(root) / FOLDER, "PathVQA folder")
    return vqa_items(list(read_jsonl(need(folder / "test.jsonl", "PathVQA test file"))), folder / "images")


def pathvqa_fixed_subset(items: list[Item], size: int = PATHVQA_SUBSET_SIZE,
                         seed: int = PATHVQA_SUBSET_SEED) -> list[Item]:
    """`size` questions drawn with `seed`, kept in file order (`--subset fixed1000`)."""
    keep = set(random.Random(seed).sample(range(len(items)), size))
    return [item for i, item in enumerate(items) if i in keep]

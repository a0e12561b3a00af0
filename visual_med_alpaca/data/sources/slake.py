"""SLAKE 1.0, English (`slake/` in the data folder: `test_en.jsonl`, 1,061 QA): the one reader of its files, for
the `slake` benchmark (`eval/benchmarks/vqa.py`). Shared data holds the questions but not the images (`imgs/`),
so reading the test set says so instead of returning questions about missing pictures."""

from __future__ import annotations

from pathlib import Path

from ...errors import UserInputError
from ..store import read_jsonl
from . import Item, need

FOLDER = "slake"  # inside the data folder
SPLITS = ("train", "validate", "test")


def slake_rows(root: str | Path, split: str) -> list[dict]:
    """The rows of `<split>_en.jsonl` (train | validate | test) as stored (qid, img_name, question, answer,
    answer_type, content_type, ...)."""
    if split not in SPLITS:
        raise ValueError(f"SLAKE split {split!r}: one of {', '.join(SPLITS)}")
    return list(read_jsonl(need(Path(root) / FOLDER / f"{split}_en.jsonl", f"SLAKE {split} questions")))


def slake_test_items(root: str | Path) -> list[Item]:
    """`test_en.jsonl` as `Item`s (ids `slake_test_<qid>`), images in `imgs/`; one error when any image is absent."""
    folder = need(Path(root) / FOLDER, "SLAKE folder")
    rows = slake_rows(root, "test")
    images = folder / "imgs"
    missing = [r["img_name"] for r in rows if not (images / r["img_name"]).is_file()]
    if missing:
        raise UserInputError(
            f"SLAKE images are missing: {len(missing)} of {len(rows)} test questions point at images that are "
            f"not in {images} (e.g. {missing[0]}). The questions are here but the images are not; put the "
            "official SLAKE 'imgs' folder there to run this benchmark."
        )
    return [Item(f"slake_test_{r['qid']}", r["question"], str(r["answer"]), r["answer_type"].lower(),
                 images / r["img_name"], meta={"content_type": r.get("content_type")}) for r in rows]

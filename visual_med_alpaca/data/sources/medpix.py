"""MedPix 2.0: image descriptions (caption, modality, plane, location) per split, and the images VQA-RAD
shares (`overlap_with_vqa_rad.tsv`). The one place MedPix is read: the caption instruction data, the
captioner, the radiology heads and the router all come here."""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import UserInputError

OVERLAP_FILE = "overlap_with_vqa_rad.tsv"


def listed_images(path: str | Path | None) -> set[str]:
    """Image names (file stems) in the first column of a TSV/text list with a header line; empty when the
    file is absent (the MedPix overlap file, or a user's own exclusion list)."""
    if not path or not Path(path).is_file():
        return set()
    lines = Path(path).read_text(encoding="utf-8").splitlines()[1:]
    return {Path(line.split("\t")[0].strip()).stem for line in lines if line.strip()}


def vqa_rad_overlap(root: str | Path) -> set[str]:
    """MedPix image names that VQA-RAD also uses (left out of training so VQA-RAD stays unseen)."""
    return listed_images(Path(root) / OVERLAP_FILE)


def read_descriptions(root: str | Path, splits: list[str] | None = None) -> list[dict]:
    """Description records of the given splits (`splitted_dataset/descriptions_<split>.jsonl`, each tagged
    with its split), or of every image (`Descriptions.json`) when splits is None."""
    root = Path(root)
    if splits is None:
        path = root / "Descriptions.json"
        if not path.is_file():
            raise UserInputError(f"MedPix descriptions not found: {path}")
        return json.loads(path.read_text(encoding="utf-8"))
    from ..store import read_jsonl

    items = []
    for split in splits:
        path = root / "splitted_dataset" / f"descriptions_{split}.jsonl"
        if not path.is_file():
            raise UserInputError(f"MedPix split file not found: {path}")
        items += [{**item, "split": split} for item in read_jsonl(path)]
    return items


def image_path(root: str | Path, record: dict) -> Path:
    return Path(root) / "images" / f"{record['image']}.png"


def caption(record: dict) -> str:
    return " ".join(((record.get("Description") or {}).get("Caption") or "").split())

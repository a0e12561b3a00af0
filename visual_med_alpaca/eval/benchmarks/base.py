"""What every benchmark loader returns: a list of `Item`s with stable ids (the resume key)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import UserInputError

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Item:
    """One question. `kind`: closed / open (VQA), choice (pick one of `options`), rank (MEDIQA QA answer)."""

    id: str
    question: str  # the full instruction given to the model (PubMedQA: question + abstract)
    reference: str
    kind: str
    image: Path | None = None
    options: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


def data_root(data_dir: str | Path | None = None) -> Path:
    """--data-dir, else $VMED_DATA_DIR, else ../shared/data next to the repository."""
    root = Path(data_dir or os.environ.get("VMED_DATA_DIR") or REPO.parent / "shared" / "data").expanduser()
    if not root.is_dir():
        raise UserInputError(f"benchmark data folder not found: {root} (pass --data-dir or set VMED_DATA_DIR)")
    return root


def need(path: Path, what: str) -> Path:
    if not path.exists():
        raise UserInputError(f"{what} not found: {path}")
    return path


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]

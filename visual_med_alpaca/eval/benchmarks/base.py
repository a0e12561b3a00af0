"""What every benchmark loader returns: a list of `Item`s with stable ids (the resume key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import paths
from ...data import store
from ...errors import UserInputError


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
    """--data-dir, else $VMED_DATA_DIR, else ../shared/data next to the repository (paths.data_dir)."""
    return paths.data_dir(data_dir)


def need(path: Path, what: str) -> Path:
    if not path.exists():
        raise UserInputError(f"{what} not found: {path}")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return list(store.read_jsonl(path))

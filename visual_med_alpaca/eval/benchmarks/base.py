"""What every benchmark loader returns: a list of `Item`s with stable ids (the resume key). `Item` is the data
sources' own (`data/sources`), so the VQA readers there return benchmark items directly."""

from __future__ import annotations

from pathlib import Path

from ... import paths
from ...data.sources import Item


def data_root(data_dir: str | Path | None = None) -> Path:
    """--data-dir, else $VMED_DATA_DIR, else ../shared/data next to the repository (paths.data_dir)."""
    return paths.data_dir(data_dir)


__all__ = ["Item", "data_root"]

"""What every benchmark loader returns: a list of `Item`s with stable ids (the resume key). `Item` is the data
sources' own (`data/sources`), so the VQA readers there return benchmark items directly."""

from __future__ import annotations

from ...data.sources import Item

__all__ = ["Item"]

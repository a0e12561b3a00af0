"""Dense store, embedded default: the vectors as .npy files, memory-mapped, searched exactly (one matrix product).

Hand-written because Qdrant's local mode, measured on the MedQuAD index on this 2-core machine, took seconds
to open and tens of ms per search (docs/knowledge.md); an exact dot product over 16k x 384 floats takes ~2 ms
and opening is a memory map. The Qdrant store (stores/qdrant.py) stays for a Qdrant server.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import UserInputError
from ..corpus import Passage
from .base import Hit, Query

PREFIX = "vectors-"


class NumpyStore:
    name = "numpy"
    fields = ("question", "answer")

    def __init__(self, matrices: dict[str, np.ndarray]):
        self.matrices = matrices

    @classmethod
    def build(cls, folder: Path, passages: Sequence[Passage], options: dict[str, Any], progress) -> dict[str, Any]:
        vectors: dict[str, np.ndarray] = options["vectors"]
        for field, matrix in vectors.items():
            if len(matrix) != len(passages):
                raise ValueError(f"{field}: {len(matrix)} vectors for {len(passages)} passages")
            np.save(folder / f"{PREFIX}{field}.npy", np.ascontiguousarray(matrix, dtype=np.float32))
        return {"fields": sorted(vectors), "dimension": int(next(iter(vectors.values())).shape[1])}

    @classmethod
    def open(cls, folder: Path, options: dict[str, Any]) -> NumpyStore:
        matrices = {}
        for path in sorted(folder.glob(f"{PREFIX}*.npy")):
            try:
                matrices[path.stem[len(PREFIX):]] = np.load(path, mmap_mode="r")
            except (ValueError, OSError) as exc:
                raise UserInputError(f"the knowledge index at {folder} is corrupt ({path.name}: {exc}); rebuild it "
                                     f"with `vmed knowledge build --force`") from None
        if not matrices:
            raise UserInputError(f"the knowledge index at {folder} has no dense vectors; rebuild it with "
                                 f"`vmed knowledge build` (without --no-dense) or pick a keyword method")
        return cls(matrices)

    def search(self, query: Query, field: str, k: int) -> list[Hit]:
        if field not in self.matrices:
            raise UserInputError(f"the index has no dense vectors for '{field}'; rebuild with "
                                 f"`vmed knowledge build --dense-fields question,answer`")
        scores = self.matrices[field] @ np.asarray(query.vector, dtype=np.float32)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [Hit(int(row), float(scores[row])) for row in top]

    def close(self) -> None:
        self.matrices = {}

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
NAMES = "names"  # the question asked with each other name of its focus (retrieve.name_variants): not one row per passage
NAME_ROWS = "rows-names.npy"  # the passage row of each of those vectors
WITH_NAMES = "question+names"  # search field: the question's cosine, or the best of its names' where higher


class NumpyStore:
    name = "numpy"
    fields = ("question", "answer")

    def __init__(self, matrices: dict[str, np.ndarray], name_rows: np.ndarray | None = None):
        self.matrices = matrices
        self.name_rows = name_rows

    @classmethod
    def build(cls, folder: Path, passages: Sequence[Passage], options: dict[str, Any], progress) -> dict[str, Any]:
        vectors: dict[str, np.ndarray] = options["vectors"]
        for field, matrix in vectors.items():
            rows = len(options["name_rows"]) if field == NAMES else len(passages)
            if len(matrix) != rows:
                raise ValueError(f"{field}: {len(matrix)} vectors for {rows} rows")
            np.save(folder / f"{PREFIX}{field}.npy", np.ascontiguousarray(matrix, dtype=np.float32))
        if NAMES in vectors:
            np.save(folder / NAME_ROWS, np.asarray(options["name_rows"], dtype=np.int64))
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
        name_rows = None
        if NAMES in matrices:
            try:
                name_rows = np.load(folder / NAME_ROWS)
            except (ValueError, OSError) as exc:
                raise UserInputError(f"the knowledge index at {folder} is corrupt ({NAME_ROWS}: {exc}); rebuild it "
                                     f"with `vmed knowledge build --force`") from None
            if len(name_rows) != len(matrices[NAMES]):
                raise UserInputError(f"the knowledge index at {folder} is corrupt ({NAME_ROWS} does not match its "
                                     f"vectors); rebuild it with `vmed knowledge build --force`")
        return cls(matrices, name_rows)

    def search(self, query: Query, field: str, k: int) -> list[Hit]:
        names = field == WITH_NAMES
        field = "question" if names else field
        if field not in self.matrices or (names and NAMES not in self.matrices):
            wanted = "question,names" if names else "question,answer"
            raise UserInputError(f"the index has no dense vectors for '{NAMES if names else field}'; rebuild with "
                                 f"`vmed knowledge build --dense-fields {wanted}`")
        vector = np.asarray(query.vector, dtype=np.float32)
        scores = self.matrices[field] @ vector
        if names:  # a passage scores by its question under the best-matching name of its topic
            if query.names is None:
                np.maximum.at(scores, self.name_rows, self.matrices[NAMES] @ vector)
            elif len(query.names):
                chosen = np.asarray(query.names, dtype=np.int64)
                np.maximum.at(scores, self.name_rows[chosen], self.matrices[NAMES][chosen] @ vector)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [Hit(int(row), float(scores[row])) for row in top]

    def close(self) -> None:
        self.matrices = {}
        self.name_rows = None

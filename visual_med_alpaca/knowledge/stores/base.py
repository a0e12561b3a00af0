"""The store protocol and its registry.

A store indexes passages on one or more *fields* ("question": the question a passage answers, plus its
focus; "answer": the passage text) and returns the best passages for a query on one field. The passages
themselves live in the keyword store's SQLite file (the index's document store); other stores keep only
vectors keyed by the same row numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ...errors import UserInputError
from ...registry import load_class
from ..corpus import Passage


@dataclass
class Query:
    """A question as stores see it; the dense vector is computed once, on first use, and shared."""

    text: str
    _encode: Callable[[str], Any] | None = None
    _vector: Any = field(default=None, repr=False)
    names: Sequence[int] | None = None  # field question+names: count only these names' vectors (None: all of them)

    @property
    def vector(self):
        if self._vector is None:
            if self._encode is None:
                raise UserInputError("this retrieval method needs the sentence encoder, which is not loaded")
            self._vector = self._encode(self.text)
        return self._vector


@dataclass(frozen=True)
class Hit:
    row: int       # the passage's row in the document store
    score: float   # the store's own score (higher is better): BM25 or cosine similarity


class KnowledgeStore(Protocol):
    name: str
    fields: tuple[str, ...]

    @classmethod
    def build(cls, folder: Path, passages: Sequence[Passage], options: dict[str, Any], progress) -> dict[str, Any]:
        """Write the store into `folder` (a fresh temporary folder); return facts for the manifest."""

    @classmethod
    def open(cls, folder: Path, options: dict[str, Any]) -> KnowledgeStore: ...

    def search(self, query: Query, field: str, k: int) -> list[Hit]: ...

    def close(self) -> None: ...


# name -> "module:Class"; a new engine is one new file in stores/ plus one line here.
STORES: dict[str, str] = {
    "fts5": "visual_med_alpaca.knowledge.stores.fts5:FTS5Store",
    "numpy": "visual_med_alpaca.knowledge.stores.numpy_store:NumpyStore",
    "qdrant": "visual_med_alpaca.knowledge.stores.qdrant:QdrantStore",
}
DENSE_STORES = ("numpy", "qdrant")


def load_store(name: str) -> type[KnowledgeStore]:
    return load_class(STORES, name, "knowledge store")

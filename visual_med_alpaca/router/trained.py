"""The trained router: EfficientNet-Lite0 image features + a logistic-regression head shipped in
assets/router/head.npz (plain arrays, retrain with `vmed train router`)."""

from __future__ import annotations

import numpy as np

from ..errors import BackendError
from ..features import FEATURE_DIM, linear_softmax
from ..images import LoadedImage
from .base import IMAGE_CLASSES


class TrainedRouter:
    name = "trained"

    def __init__(self, head_path=None):
        from ..train.router import HEAD_PATH

        path = head_path or HEAD_PATH
        if not path.is_file():
            raise BackendError(f"router head not found at {path}; train it with `vmed train router`")
        head = np.load(path, allow_pickle=False)
        if tuple(head["classes"].tolist()) != IMAGE_CLASSES:
            raise BackendError(f"router head {path} was trained for classes {head['classes'].tolist()}, not {IMAGE_CLASSES}")
        self.mean, self.scale = head["mean"], head["scale"]
        if self.mean.shape[-1] != FEATURE_DIM:
            raise BackendError(f"router head {path} expects {self.mean.shape[-1]}-d image features, this version "
                               f"makes {FEATURE_DIM}-d; retrain it with `vmed train router`")
        self.coef, self.intercept = head["coef"], head["intercept"]

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(n, classes) softmax of the head over (n, FEATURE_DIM) image features."""
        return linear_softmax(features, self.mean, self.scale, self.coef, self.intercept)

    def classify(self, image: LoadedImage) -> dict[str, float]:
        from ..features import embeddings_of

        probs = self.probabilities(embeddings_of([image]))[0]
        return {c: round(float(p), 4) for c, p in zip(IMAGE_CLASSES, probs)}

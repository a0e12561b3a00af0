"""A first, model-free router from colour statistics: flat colours on white -> chart, grey -> radiology,
pink/purple texture -> pathology. Fast and dependency-free; a trained router supersedes it."""

from __future__ import annotations

import numpy as np

from ..images import LoadedImage
from .base import IMAGE_CLASSES


def colour_stats(image: LoadedImage) -> dict[str, float]:
    small = np.asarray(image.image.resize((128, 128)), dtype=np.float32) / 255.0
    r, g, b = small[..., 0], small[..., 1], small[..., 2]
    spread = small.max(axis=2) - small.min(axis=2)
    quantised = (small * 7).astype(np.uint8).reshape(-1, 3)
    _, counts = np.unique(quantised, axis=0, return_counts=True)
    top = np.sort(counts)[::-1]
    return {
        "saturation": float(spread.mean()),
        "grey_fraction": float((spread < 0.06).mean()),
        "white_fraction": float((small.min(axis=2) > 0.92).mean()),
        "dark_fraction": float((small.max(axis=2) < 0.15).mean()),
        "top4_colour_share": float(top[:4].sum() / counts.sum()),
        "pinkness": float(((r > g + 0.08) & (b > g + 0.04)).mean()),
        "brightness": float(small.mean()),
    }


class HeuristicRouter:
    name = "heuristic"

    def classify(self, image: LoadedImage) -> dict[str, float]:
        return scores_from_stats(colour_stats(image))


def scores_from_stats(s: dict[str, float]) -> dict[str, float]:
    """Class probabilities from `colour_stats`, so a caller that has the stats need not recompute them."""
    logits = {
        "chart": 6 * s["white_fraction"] + 4 * s["top4_colour_share"] - 3 * s["dark_fraction"] - 2,
        "radiology": 6 * s["grey_fraction"] + 3 * s["dark_fraction"] - 3 * s["white_fraction"] - 2,
        "pathology": 8 * s["pinkness"] + 3 * s["saturation"] - 3 * s["white_fraction"] - 1,
        "other": 0.5,
    }
    values = np.array([logits[c] for c in IMAGE_CLASSES])
    probs = np.exp(values - values.max())
    probs /= probs.sum()
    return {c: round(float(p), 4) for c, p in zip(IMAGE_CLASSES, probs)}

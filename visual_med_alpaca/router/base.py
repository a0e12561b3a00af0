"""The image-type router: classifies a picture so the right visual expert (or none) describes it."""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol, runtime_checkable

from ..images import LoadedImage
from ..registry import load_class

IMAGE_CLASSES = ("chart", "radiology", "pathology", "other")


@runtime_checkable
class Router(Protocol):
    name: str

    def classify(self, image: LoadedImage) -> dict[str, float]:
        """Probability per class in IMAGE_CLASSES (sums to 1)."""
        ...


ROUTERS: dict[str, str] = {
    "heuristic": "visual_med_alpaca.router.heuristic:HeuristicRouter",
    "trained": "visual_med_alpaca.router.trained:TrainedRouter",
}

# Which expert describes each image class; a class mapped to "none" gets no expert.
EXPERT_FOR_CLASS: dict[str, str] = {
    "chart": "chart",
    "radiology": "radiology",
    "pathology": "image-facts",
    "other": "image-facts",
}


@lru_cache(maxsize=None)
def load_router(name: str) -> Router:
    """Routers load once per process and are reused."""
    return load_class(ROUTERS, name, "router")()

"""Image-type classifier that picks the visual expert (see base.py)."""

from .base import EXPERT_FOR_CLASS, IMAGE_CLASSES, ROUTERS, Router, load_router

__all__ = ["EXPERT_FOR_CLASS", "IMAGE_CLASSES", "ROUTERS", "Router", "load_router"]

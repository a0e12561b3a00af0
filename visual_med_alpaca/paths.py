"""Where the project keeps its caches and bundled assets."""

from __future__ import annotations

import os
from pathlib import Path

ASSETS = Path(__file__).parent / "assets"


def cache_dir(*parts: str) -> Path:
    """$VMED_CACHE or ~/.cache/visual_med_alpaca, created on demand."""
    root = Path(os.environ.get("VMED_CACHE") or Path.home() / ".cache" / "visual_med_alpaca")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path

"""Where the project keeps its caches, bundled assets and the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

ASSETS = Path(__file__).parent / "assets"
# A checkout's sibling ../shared/data (the development layout); installed copies use $VMED_DATA_DIR or --data-dir.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


def cache_dir(*parts: str) -> Path:
    """$VMED_CACHE or ~/.cache/visual_med_alpaca, created on demand."""
    root = Path(os.environ.get("VMED_CACHE") or Path.home() / ".cache" / "visual_med_alpaca")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir(explicit: str | Path | None = None, *need: str) -> Path:
    """The shared data folder: `explicit` (a --data-dir flag) > $VMED_DATA_DIR > the checkout's ../shared/data.

    `need` names sub-folders the caller reads (e.g. "vqa_rad"); a missing folder or sub-folder is one clear
    UserInputError, the same message everywhere."""
    from .errors import UserInputError

    root = Path(explicit or os.environ.get("VMED_DATA_DIR") or DEFAULT_DATA_DIR).expanduser()
    missing = [n for n in need if not (root / n).exists()]
    if not root.is_dir() or missing:
        what = f"{root}" if not root.is_dir() else f"{root / missing[0]}"
        raise UserInputError(f"data folder not found: {what} (pass --data-dir or set VMED_DATA_DIR to the folder "
                             f"holding vqa_rad/, medquad/, medpix2/, ...)")
    return root

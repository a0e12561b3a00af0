"""Where the project keeps its caches, bundled assets and the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UserInputError

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
    root = Path(explicit or os.environ.get("VMED_DATA_DIR") or DEFAULT_DATA_DIR).expanduser()
    missing = [n for n in need if not (root / n).exists()]
    if not root.is_dir() or missing:
        what = f"{root}" if not root.is_dir() else f"{root / missing[0]}"
        raise UserInputError(f"data folder not found: {what} (pass --data-dir or set VMED_DATA_DIR to the folder "
                             f"holding vqa_rad/, medquad/, medpix2/, ...)")
    return root


def given_path(text: str | Path) -> Path:
    """A path the user typed (every command's --out): an empty one (`--out ''`, e.g. an unset shell variable) is one
    UserInputError. `Path('')` is `.`, so it was taken as the current folder: `make-charts --out ''` drew there."""
    if isinstance(text, str) and not text:
        raise UserInputError("an empty path: give a file or folder name ('.' for the current folder)")
    return Path(text)


def output_file(path: str | Path, what: str) -> Path:
    """A file a long job writes at its end (`what`, e.g. "metrics .json file"), checked before the work starts: a
    folder there is one error line, and its parent folder is made now (a parent that is a file fails now too)."""
    path = Path(path)
    if path.is_dir():
        raise UserInputError(f"--out {path} is a folder: give the {what} to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def read_text_file(path: str | Path, what: str, hint: str = "") -> str:
    """The text of a file the user named (`what`, e.g. "prompt template"): missing, a folder or not UTF-8 is one
    UserInputError naming it (`hint` is added to the not-UTF-8 message), never an OSError or UnicodeDecodeError."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise UserInputError(f"{what} {path} is a folder, not a file")
    if not path.is_file():
        raise UserInputError(f"{what} not found: {path}")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserInputError(f"{what} {path} is not UTF-8 text (byte {exc.start}){hint}") from None


def cached_hub_folder(repo_id: str, what: str = "model") -> str:
    """A hub id's folder in the local Hugging Face cache (the snapshot holding its config.json): the one resolver
    for hub ids (the hf backend's --model, the deplot and medgit experts, `vmed train captioner`). Nothing is
    downloaded, so an id not cached fails at once with one error line that says how to fetch it, instead of
    transformers retrying the hub for a minute on a machine without network."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, "config.json")
    except ValueError:  # not a valid repo id (HFValidationError)
        found = None
    if not isinstance(found, str):
        raise UserInputError(
            f"could not load {what} '{repo_id}': not a local folder, and not in the Hugging Face cache (nothing is "
            f"downloaded: fetch it first, e.g. `hf download {repo_id}`)")
    return str(Path(found).parent)


def looks_like_path(model: str) -> bool:
    """A model named by a path (`./x`, `/x`, `~/x`, `a/b/c`), not by a hub id (`owner/name`)."""
    return model.startswith((".", "/", "~")) or model.count("/") > 1


def local_or_cached(model: str, what: str = "model") -> str:
    """A model given as a local folder or a hub id: the folder when it exists; a path that does not is one error; a
    hub id is read from the local Hugging Face cache only (`cached_hub_folder`)."""
    local = Path(model).expanduser()
    if local.exists():
        return str(local)
    if looks_like_path(model):
        raise UserInputError(f"{what} folder not found: {model}")
    return cached_hub_folder(model, what)

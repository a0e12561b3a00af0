"""Safe image loading: every way a file can be wrong becomes one clear `UserInputError`.

Returns a `LoadedImage`: an 8-bit RGB picture plus facts and notes from the file itself (DICOM and
NIfTI readers add header facts there). Pillow's decompression-bomb limit stays on.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from .errors import ImageTooLarge, UserInputError

MAX_SIDE = 2048  # larger pictures are downscaled before any expert sees them
# Below this many pixels on the short side the router and the radiology expert do not guess an image type (a 1x1
# grey picture was "Axial MRI image of the head", 0.75); the router was trained on crops of at least 32 px a side.
MIN_CLASSIFY_SIDE = 32


@dataclass
class LoadedImage:
    image: Image.Image  # RGB, 8-bit, at most MAX_SIDE on the long side
    source: str = "<memory>"
    format: str = "unknown"
    facts: dict[str, Any] = field(default_factory=dict)  # e.g. DICOM header facts (PHI-free)
    notes: list[str] = field(default_factory=list)  # e.g. "frame 12 of 24 shown"
    # Backbone features, computed once and shared by the router and the experts (see features.embeddings_of).
    embedding: Any = field(default=None, repr=False, compare=False)

    def content_key(self) -> str:
        """A digest of everything an expert reads (pixels, size, format, header facts, notes; not the file
        name): two loads of the same content have the same key."""
        import hashlib

        digest = hashlib.sha256(f"{self.image.mode}|{self.image.size}|{self.format}|{sorted(self.facts.items())!r}|"
                                f"{self.notes!r}|".encode())
        digest.update(self.image.tobytes())
        return digest.hexdigest()


def too_small_to_classify(image: LoadedImage) -> str | None:
    """The sentence an expert gives instead of a guess when the picture is too small to tell its type, else None."""
    width, height = image.image.size
    if min(width, height) >= MIN_CLASSIFY_SIDE:
        return None
    return (f"The image type could not be read: the image is only {width}x{height} pixels, too small to tell what "
            f"kind of image it is (at least {MIN_CLASSIFY_SIDE} pixels a side are needed).")


def _to_rgb(image: Image.Image, notes: list[str]) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB (16-bit scaled, palette/alpha flattened on white, CMYK converted)."""
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
        notes.append(f"first frame of {image.n_frames} shown")
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = np.percentile(array, [0.5, 99.5]) if array.size else (0.0, 1.0)
        scaled = np.clip((array - low) / max(high - low, 1e-9), 0, 1) * 255
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def limit_size(image: Image.Image, notes: list[str]) -> Image.Image:
    if max(image.size) > MAX_SIDE:
        original = image.size
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        notes.append(f"downscaled from {original[0]}x{original[1]}")
    return image


def from_pil(image: Image.Image, source: str = "<memory>") -> LoadedImage:
    """Wrap an in-memory picture (from the web demo or the API) the same way a file is wrapped."""
    notes: list[str] = []
    if image.width < 1 or image.height < 1:
        raise UserInputError("the image is empty (0 pixels)")
    rgb = limit_size(_to_rgb(image, notes), notes)
    return LoadedImage(rgb, source=source, format=(image.format or "unknown").lower(), notes=notes)


def is_dicom(path: Path) -> bool:
    if path.suffix.lower() in (".dcm", ".dicom"):
        return True
    with path.open("rb") as handle:
        head = handle.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


def is_nifti(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def load_image(path: str | Path, max_pixels: int | None = None) -> LoadedImage:
    """Open a picture, DICOM or NIfTI file from disk, or explain clearly why it cannot be used.
    `max_pixels` (width x height; all frames of a DICOM, all voxels of a NIfTI) is checked from the header before
    any pixel is decoded."""
    path = Path(path).expanduser()
    if not path.exists():
        raise UserInputError(f"image not found: {path}")
    if path.is_dir():
        raise UserInputError(f"{path} is a directory, not an image file")
    if path.stat().st_size == 0:
        raise UserInputError(f"image file is empty (0 bytes): {path}")
    kind = "dicom" if is_dicom(path) else "nifti" if is_nifti(path) else None
    if kind is not None:  # medical formats decode in medical_images (lazy: pydicom, nibabel)
        from . import medical_images

        limit = max_pixels or 2 * Image.MAX_IMAGE_PIXELS  # every frame / voxel, read whole by pydicom and nibabel
        if kind == "dicom":
            image, facts, notes = medical_images.read_dicom(path, limit)
        else:
            image, facts, notes = medical_images.read_nifti(path, limit)
        return LoadedImage(limit_size(image, notes), source=str(path), format=kind, facts=facts, notes=notes)
    return _decode_picture(path, str(path), str(path), max_pixels)


def load_image_bytes(data: bytes, max_pixels: int | None = None, label: str = "the image") -> LoadedImage:
    """The same guard as `load_image` for an image sent in memory (the API): picture or DICOM bytes.
    `max_pixels` (width x height) is checked before any pixel is decoded."""
    if not data:
        raise UserInputError(f"{label} is empty (0 bytes)")
    if data[128:132] == b"DICM":
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".dcm") as handle:
            handle.write(data)
            handle.flush()
            try:
                loaded = load_image(handle.name, max_pixels)
            except UserInputError as exc:
                raise type(exc)(str(exc).replace(handle.name, label)) from None
        loaded.source = "<memory>"
        return loaded
    import io

    return _decode_picture(io.BytesIO(data), label, "<memory>", max_pixels)


def _decode_picture(source: Any, label: str, origin: str, max_pixels: int | None = None) -> LoadedImage:
    """Pillow decoding with every guard: decompression bombs, a pixel limit, truncated or foreign files."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as opened:
                fmt = (opened.format or "unknown").lower()
                pixels = opened.width * opened.height
                if max_pixels is not None and pixels > max_pixels:
                    raise ImageTooLarge(f"{label} is too large ({opened.width}x{opened.height} = {pixels:,} pixels; "
                                        f"the limit is {max_pixels:,})")
                notes: list[str] = []
                if fmt == "jpeg":
                    opened.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode big JPEGs at reduced size
                opened.load()
                if opened.width < 1 or opened.height < 1:
                    raise UserInputError(f"{label} is empty (0 pixels)")
                rgb = limit_size(_to_rgb(opened, notes), notes)
    except UserInputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(
            f"{label} is too large to decode safely (over Pillow's {Image.MAX_IMAGE_PIXELS:,}-pixel limit)"
        ) from None
    except UnidentifiedImageError:
        raise UserInputError(f"{label} is not an image Pillow can read (PNG, JPEG, GIF, BMP, TIFF, WebP, ...)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UserInputError(f"{label} could not be decoded (truncated or corrupt?): {exc}") from None
    return LoadedImage(rgb, source=origin, format=fmt, notes=notes)

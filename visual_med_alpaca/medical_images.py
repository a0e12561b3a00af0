"""DICOM and NIfTI input: a representative 8-bit frame plus PHI-free header facts."""

from __future__ import annotations

from pathlib import Path

from .errors import UserInputError
from .images import LoadedImage


def read_dicom(path: Path) -> LoadedImage:
    raise UserInputError(f"{path}: DICOM input is not supported yet")


def read_nifti(path: Path) -> LoadedImage:
    raise UserInputError(f"{path}: NIfTI input is not supported yet")

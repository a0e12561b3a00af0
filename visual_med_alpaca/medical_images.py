"""DICOM and NIfTI input: a representative 8-bit frame plus PHI-free header facts.

PHI guard: facts are built from an ALLOW-LIST of header fields (`dicom_facts`); nothing else in the header
is ever read into text. Free-text fields on the list (study/series description, body part, contrast agent)
are dropped if they contain any identifying value of the same file, a date or a long number. pydicom's own
warnings are silenced while reading, because they can quote header values.
"""

from __future__ import annotations

import logging
import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .errors import ImageTooLarge, UserInputError

MODALITY_NAMES = {
    "CT": "CT", "MR": "MRI", "CR": "X-ray", "DX": "X-ray", "DR": "X-ray", "RG": "X-ray", "PX": "X-ray (panoramic)",
    "IO": "X-ray (intra-oral)", "MG": "mammography", "US": "ultrasound", "NM": "nuclear medicine", "PT": "PET",
    "XA": "X-ray angiography", "RF": "fluoroscopy", "OT": "other", "SC": "secondary capture",
}

# Identifying tags, used only to scrub allowed free text (never copied anywhere).
_IDENTIFYING_TAGS = (
    "PatientName", "PatientID", "OtherPatientIDs", "PatientBirthDate", "PatientAddress", "PatientTelephoneNumbers",
    "AccessionNumber", "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName",
    "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName", "NameOfPhysiciansReadingStudy",
    "RequestingPhysician", "StudyID", "StationName", "PatientMotherBirthName", "OtherPatientNames",
    "MilitaryRank", "EthnicGroup", "Occupation", "AdditionalPatientHistory", "PatientComments",
    "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate", "StudyTime", "SeriesTime", "AcquisitionDateTime",
    "DeviceSerialNumber", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
)
_DATE_OR_NUMBER = re.compile(r"\d{4}[-./]?\d{2}[-./]?\d{2}|\d{5,}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}")
_MAX_FREE_TEXT = 64


@contextmanager
def _quiet_pydicom():
    """pydicom warns and logs with header values in the message; keep both out of our output."""
    logger = logging.getLogger("pydicom")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _get(ds: Any, keyword: str) -> Any:
    """One header value or None; a malformed value (wrong VR) is treated as absent."""
    try:
        value = ds.get(keyword)
    except Exception:
        return None
    if value is None or value == "":
        return None
    return value


def _identifying_values(ds: Any) -> list[str]:
    found = []
    for keyword in _IDENTIFYING_TAGS:
        value = _get(ds, keyword)
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
        for item in values:
            text = str(item)
            found.append(text)
            found.extend(part for part in re.split(r"[\^\s,]+", text) if len(part) >= 3)
    return [v.lower() for v in found if len(v) >= 3]


def _free_text(ds: Any, keyword: str, identifying: list[str]) -> str | None:
    value = _get(ds, keyword)
    if value is None:
        return None
    text = " ".join(str(value).split())[:_MAX_FREE_TEXT]
    lowered = text.lower()
    if not text or _DATE_OR_NUMBER.search(text) or any(v in lowered for v in identifying):
        return None
    return text


def coarse_age(value: Any) -> str | None:
    """DICOM age string ('063Y', '018M') -> a decade band such as '60-69'; children under 2 -> 'under 2'."""
    match = re.fullmatch(r"(\d{1,3})([DWMY])", str(value).strip().upper())
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2)
    years = number / {"D": 365.25, "W": 52.18, "M": 12.0, "Y": 1.0}[unit]
    if years < 2:
        return "under 2"
    if years >= 90:
        return "90 or older"
    low = int(years // 10 * 10)
    return f"{low}-{low + 9}"


def _plane(ds: Any) -> str | None:
    """Axial/coronal/sagittal from ImageOrientationPatient (the slice normal's main axis)."""
    iop = _get(ds, "ImageOrientationPatient")
    try:
        row, col = np.asarray([float(v) for v in iop][:3]), np.asarray([float(v) for v in iop][3:6])
    except (TypeError, ValueError):
        return None
    if row.shape != (3,) or col.shape != (3,):
        return None
    normal = np.abs(np.cross(row, col))
    if normal.max() < 0.5:
        return None
    return ("sagittal", "coronal", "axial")[int(normal.argmax())]


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def dicom_facts(ds: Any) -> dict[str, str]:
    """The allow-listed, PHI-free header facts, as short strings keyed by a readable name."""
    identifying = _identifying_values(ds)
    facts: dict[str, str] = {}
    modality = _get(ds, "Modality")
    if modality is not None and str(modality).upper() in MODALITY_NAMES:
        facts["modality"] = MODALITY_NAMES[str(modality).upper()]
    for key, keyword in (("body part", "BodyPartExamined"), ("study", "StudyDescription"),
                         ("series", "SeriesDescription")):
        text = _free_text(ds, keyword, identifying)
        if text:
            facts[key] = text.lower() if key == "body part" else text
    view = _get(ds, "ViewPosition")
    if view is not None and re.fullmatch(r"[A-Z]{1,4}", str(view).strip().upper()):
        facts["view"] = str(view).strip().upper()
    laterality = _get(ds, "ImageLaterality") or _get(ds, "Laterality")
    if laterality is not None and str(laterality).strip().upper() in ("L", "R", "B"):
        facts["laterality"] = {"L": "left", "R": "right", "B": "both"}[str(laterality).strip().upper()]
    plane = _plane(ds)
    if plane:
        facts["plane"] = plane
    agent = _free_text(ds, "ContrastBolusAgent", identifying)
    if agent:
        facts["contrast"] = f"yes ({agent})"
    elif _get(ds, "ContrastBolusAgent") is not None:
        facts["contrast"] = "yes"
    thickness = _number(_get(ds, "SliceThickness"))
    if thickness and 0 < thickness < 1000:
        facts["slice thickness"] = f"{thickness:g} mm"
    spacing = _get(ds, "PixelSpacing")
    try:
        sizes = [float(v) for v in spacing][:2] if spacing is not None else []
    except (TypeError, ValueError):
        sizes = []
    if len(sizes) == 2 and all(0 < s < 100 for s in sizes):
        facts["pixel spacing"] = f"{sizes[0]:.3g} x {sizes[1]:.3g} mm"
    age = coarse_age(_get(ds, "PatientAge")) if _get(ds, "PatientAge") is not None else None
    if age:
        facts["patient age"] = age
    sex = _get(ds, "PatientSex")
    if sex is not None and str(sex).strip().upper() in ("M", "F", "O"):
        facts["patient sex"] = str(sex).strip().upper()
    return facts


def _to_uint8(array: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
    array = array.astype(np.float64)
    if low is None or high is None:
        low, high = np.percentile(array, [0.5, 99.5]) if array.size else (0.0, 1.0)
    scaled = np.clip((array - low) / max(high - low, 1e-9), 0, 1) * 255
    return scaled.astype(np.uint8)


def _has_voi(ds: Any) -> bool:
    return _get(ds, "VOILUTSequence") is not None or (
        _get(ds, "WindowCenter") is not None and _get(ds, "WindowWidth") is not None)


def _dicom_pixels(ds: Any, path: Path, notes: list[str]) -> Image.Image:
    from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut

    syntax = ds.file_meta.get("TransferSyntaxUID")
    syntax_name = getattr(syntax, "name", "unknown")
    try:
        array = ds.pixel_array
    except (NotImplementedError, RuntimeError, ImportError) as exc:
        if "handler" in str(exc).lower() or "plugin" in str(exc).lower() or "decod" in str(exc).lower():
            raise UserInputError(
                f"{path}: pixel data compressed as '{syntax_name}' cannot be decoded here; install the pydicom "
                "plugins (pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg) or convert the file "
                "to an uncompressed transfer syntax"
            ) from None
        raise UserInputError(f"{path}: DICOM pixel data could not be decoded ({syntax_name})") from None
    except (ValueError, AttributeError, KeyError, TypeError, EOFError, OSError):
        raise UserInputError(f"{path}: DICOM pixel data could not be read: the file is truncated or its header is "
                              "malformed (e.g. a value with the wrong VR)") from None
    photometric = str(_get(ds, "PhotometricInterpretation") or "MONOCHROME2").upper()
    frames = int(_number(_get(ds, "NumberOfFrames")) or 1)
    samples = int(_number(_get(ds, "SamplesPerPixel")) or 1)
    if frames > 1 and array.ndim == (3 if samples == 1 else 4):
        middle = frames // 2
        array = array[middle]
        notes.append(f"frame {middle + 1} of {frames} shown (middle)")
    if photometric == "PALETTE COLOR":
        array = apply_color_lut(array, ds)
        return Image.fromarray(_to_uint8(array, 0, 65535 if array.max() > 255 else 255), "RGB")
    if samples == 3 or array.ndim == 3:
        if array.dtype != np.uint8:
            array = _to_uint8(array, 0, float(2 ** int(_number(_get(ds, "BitsStored")) or 8) - 1))
        return Image.fromarray(array[..., :3].astype(np.uint8), "RGB")
    array = apply_modality_lut(array, ds)
    if _has_voi(ds):
        array = apply_voi_lut(array, ds, index=0)
        grey = _to_uint8(array, float(array.min()), float(array.max()))
        notes.append("displayed with the file's window (VOI LUT)")
    else:
        grey = _to_uint8(array)
    if photometric == "MONOCHROME1":
        grey = 255 - grey  # MONOCHROME1: low values are white
    return Image.fromarray(grey, "L").convert("RGB")


def read_dicom(path: Path, max_pixels: int) -> tuple[Image.Image, dict[str, Any], list[str]]:
    """A DICOM file -> (its (middle) frame as 8-bit RGB, allow-listed header facts, notes); images.load_image
    wraps it like every other picture. More than `max_pixels` (rows x columns x frames, from the header) is
    refused before the pixel data is decoded: pydicom decodes every frame at once."""
    try:
        import pydicom
        from pydicom.errors import InvalidDicomError
    except ImportError:
        raise UserInputError("DICOM input needs pydicom (pip install 'visual-med-alpaca[vision]')") from None
    notes: list[str] = []
    with _quiet_pydicom():
        try:
            ds = pydicom.dcmread(path, force=True)
        except InvalidDicomError:
            raise UserInputError(f"{path} is not a valid DICOM file") from None
        except (EOFError, OSError, ValueError, KeyError, TypeError, AttributeError, NotImplementedError):
            raise UserInputError(f"{path}: malformed or truncated DICOM header") from None
        try:
            has_pixels = "PixelData" in ds or "FloatPixelData" in ds or "DoubleFloatPixelData" in ds
        except Exception:
            has_pixels = False
        if not has_pixels and getattr(ds, "preamble", None) is None:  # no 128-byte preamble + DICM: read by force
            raise UserInputError(f"{path} is not a DICOM file (no DICM marker and no pixel data; another kind of "
                                 "file named .dcm?)")
        if not has_pixels:
            raise UserInputError(f"{path}: this DICOM file has no pixel data (e.g. a report or a plan), "
                                 "so there is no image to describe")
        rows, columns = int(_number(_get(ds, "Rows")) or 0), int(_number(_get(ds, "Columns")) or 0)
        frames = max(1, int(_number(_get(ds, "NumberOfFrames")) or 1))
        if rows * columns * frames > max_pixels:
            raise ImageTooLarge(f"{path} is too large ({columns}x{rows}" + (f" x {frames} frames" if frames > 1 else "")
                                + f" = {rows * columns * frames:,} pixels; the limit is {max_pixels:,})")
        if getattr(ds, "file_meta", None) is None or "TransferSyntaxUID" not in ds.file_meta:
            from pydicom.uid import ImplicitVRLittleEndian

            ds.file_meta = getattr(ds, "file_meta", None) or pydicom.dataset.FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        try:
            image = _dicom_pixels(ds, path, notes)
            facts = dicom_facts(ds)
        except UserInputError:
            raise
        except Exception:  # wrong VR / corrupt values; pydicom's message may quote header values, so drop it
            raise UserInputError(f"{path}: malformed DICOM (a header value has the wrong type or is corrupt)") from None
    return image, facts, notes


def read_nifti(path: Path, max_pixels: int) -> tuple[Image.Image, dict[str, Any], list[str]]:
    """A NIfTI volume -> (its middle axial slice after reorienting to RAS, volume facts, notes). More than
    `max_pixels` voxels (all volumes, from the header) is refused before any is read: nibabel reads them all."""
    try:
        import nibabel
        from nibabel.filebasedimages import ImageFileError
    except ImportError:
        raise UserInputError("NIfTI input needs nibabel (pip install 'visual-med-alpaca[vision]')") from None
    notes: list[str] = []
    try:
        volume = nibabel.load(str(path))
        if not isinstance(volume, (nibabel.Nifti1Image, nibabel.Nifti2Image)):
            raise UserInputError(f"{path} is a {type(volume).__name__}, not a NIfTI image volume")
        voxels = int(np.prod([int(n) for n in volume.shape], dtype=object))  # Python ints: no overflow
        if voxels > max_pixels:  # a header claiming 30000^3 voxels was a MemoryError traceback
            raise ImageTooLarge(f"{path} is too large ({' x '.join(str(n) for n in volume.shape)} = {voxels:,} "
                                f"voxels; the limit is {max_pixels:,})")
        if len(volume.shape) >= 3:
            volume = nibabel.as_closest_canonical(volume)
        data = np.asanyarray(volume.dataobj)
    except UserInputError:  # a ValueError too: not to be re-worded as "could not be read"
        raise
    except (ImageFileError, EOFError, OSError, ValueError, TypeError) as exc:
        raise UserInputError(f"{path} could not be read as NIfTI (truncated or corrupt?): {exc}") from None
    if data.ndim < 2 or data.size == 0:
        raise UserInputError(f"{path}: the NIfTI volume has no 2-D image in it (shape {data.shape})")
    data = np.squeeze(data) if data.ndim > 3 and data.shape[3] == 1 else data
    if data.ndim > 3:
        notes.append(f"first of {int(np.prod(data.shape[3:]))} volumes shown")
        data = data.reshape(data.shape[:3] + (-1,))[..., 0]
    facts: dict[str, str] = {"format": "NIfTI volume", "volume size": " x ".join(str(s) for s in data.shape)}
    zooms = volume.header.get_zooms()[: min(3, data.ndim)]
    if all(z > 0 for z in zooms):
        facts["voxel size"] = " x ".join(f"{z:.3g}" for z in zooms) + " mm"
    if data.ndim == 3:
        middle = data.shape[2] // 2
        notes.append(f"axial slice {middle + 1} of {data.shape[2]} shown (middle)")
        data = data[:, :, middle]
        facts["plane"] = "axial"
    if np.iscomplexobj(data):
        data = np.abs(data)
    grey = _to_uint8(np.rot90(np.nan_to_num(data.astype(np.float64))))  # RAS x->right, y->up on screen
    image = Image.fromarray(np.ascontiguousarray(grey), "L").convert("RGB")
    return image, facts, notes

"""DICOM and NIfTI input on real bundled test files; malformed files; coarse facts only."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from helpers_radiology import dicom_file, oversized_dicom

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.images import load_image
from visual_med_alpaca.medical_images import coarse_age, dicom_facts

pydicom = pytest.importorskip("pydicom")
nibabel = pytest.importorskip("nibabel")


def test_ct_small_facts_and_pixels():
    loaded = load_image(dicom_file("CT_small.dcm"))
    assert loaded.format == "dicom"
    assert loaded.image.mode == "RGB" and loaded.image.size == (128, 128)
    assert loaded.facts["modality"] == "CT"
    assert loaded.facts["plane"] == "axial"
    assert loaded.facts["slice thickness"] == "5 mm"
    assert loaded.facts["pixel spacing"] == "0.661 x 0.661 mm"
    assert np.asarray(loaded.image).std() > 20  # a real picture, not a flat field


def test_head_ct_jpeg2000_decodes_with_pylibjpeg():
    pytest.importorskip("openjpeg")
    loaded = load_image(dicom_file("J2K_pixelrep_mismatch.dcm"))
    assert loaded.facts["modality"] == "CT" and loaded.facts["body part"] == "head"
    assert loaded.image.size == (512, 512)


def test_abdomen_mr_window_is_applied(tmp_path):
    path = dicom_file("examples_overlay.dcm")
    loaded = load_image(path)
    assert loaded.facts["modality"] == "MRI" and loaded.facts["body part"] == "abdomen"
    assert any("window" in note for note in loaded.notes)
    # A narrower window must saturate more pixels: the VOI transform is really used.
    ds = pydicom.dcmread(path)
    wide = (np.asarray(loaded.image)[..., 0] == 255).mean()
    ds.WindowCenter, ds.WindowWidth = float(np.median(ds.pixel_array)), 10.0
    ds.save_as(tmp_path / "narrow.dcm")
    narrow = (np.asarray(load_image(tmp_path / "narrow.dcm").image)[..., 0] == 255).mean()
    assert narrow > wide + 0.2


def test_monochrome1_is_inverted(tmp_path):
    path = dicom_file("RG1_UNCR.dcm")  # CR chest, MONOCHROME1
    ds = pydicom.dcmread(path)
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    loaded = load_image(path)
    assert loaded.facts["modality"] == "X-ray" and loaded.facts["view"] == "PA"
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.save_as(tmp_path / "as_mono2.dcm")
    mono1 = np.asarray(loaded.image, dtype=np.int16)[..., 0]
    mono2 = np.asarray(load_image(tmp_path / "as_mono2.dcm").image, dtype=np.int16)[..., 0]
    assert np.abs(mono1 + mono2 - 255).max() <= 1


def test_multiframe_shows_middle_frame_with_note():
    loaded = load_image(dicom_file("emri_small.dcm"))  # 10-frame MR
    assert "frame 6 of 10 shown (middle)" in loaded.notes
    frames = pydicom.dcmread(dicom_file("emri_small.dcm")).pixel_array
    assert frames.shape[0] == 10
    picture = np.asarray(loaded.image)[..., 0].astype(float)
    correlations = [np.corrcoef(picture.ravel(), f.ravel().astype(float))[0, 1] for f in frames]
    assert int(np.argmax(correlations)) == 5


def test_ultrasound_colour_file():
    loaded = load_image(dicom_file("US1_UNCR.dcm"))
    assert loaded.facts["modality"] == "ultrasound" and loaded.image.size == (640, 480)


def test_undecodable_transfer_syntax_is_a_clear_error(tmp_path):
    ds = pydicom.dcmread(dicom_file("J2K_pixelrep_mismatch.dcm"))
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2: no plugin decodes it
    ds.save_as(tmp_path / "mpeg.dcm")
    with pytest.raises(UserInputError, match="MPEG2.*cannot be decoded"):
        load_image(tmp_path / "mpeg.dcm")


def test_truncated_dicom(tmp_path):
    data = dicom_file("CT_small.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserInputError, match="truncated"):
        load_image(tmp_path / "cut.dcm")


def test_dicom_without_pixel_data():
    with pytest.raises(UserInputError, match="no pixel data"):
        load_image(dicom_file("rtplan.dcm"))


def test_a_text_or_picture_file_named_dcm_is_not_called_a_dicom_without_pixels(tmp_path):
    """A text file named .dcm (and the API's bytes) said "this DICOM file has no pixel data (e.g. a report or a
    plan)": pydicom reads any bytes by force; without the DICM marker it is not a DICOM file at all."""
    (tmp_path / "notes.dcm").write_text("hello, not a dicom\n")
    Image.new("RGB", (8, 8)).save(tmp_path / "picture.png")
    (tmp_path / "picture.dcm").write_bytes((tmp_path / "picture.png").read_bytes())
    for name in ("notes.dcm", "picture.dcm"):
        with pytest.raises(UserInputError, match="is not a DICOM file .no DICM marker"):
            load_image(tmp_path / name)


def test_nifti_header_claiming_a_huge_volume_is_refused_before_reading(tmp_path):
    """A NIfTI header claiming 30000 x 30000 x 30000 voxels was a MemoryError traceback (nibabel allocates the
    whole volume); the voxels count against the same limit as a DICOM's frames, from the header."""
    import struct

    from visual_med_alpaca.errors import ImageTooLarge

    nibabel.save(nibabel.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4)), tmp_path / "small.nii")
    header = bytearray((tmp_path / "small.nii").read_bytes())
    struct.pack_into("<8h", header, 40, 3, 30000, 30000, 30000, 1, 1, 1, 1)  # dim[0..7]
    (tmp_path / "huge.nii").write_bytes(header)
    (tmp_path / "huge.nii.gz").write_bytes(gzip.compress(bytes(header)))
    for name in ("huge.nii", "huge.nii.gz"):
        with pytest.raises(ImageTooLarge, match="30000 x 30000 x 30000 = 27,000,000,000,000 voxels"):
            load_image(tmp_path / name)
    with pytest.raises(ImageTooLarge, match="64 voxels; the limit is 63"):
        load_image(tmp_path / "small.nii", max_pixels=63)
    assert load_image(tmp_path / "small.nii", max_pixels=64).format == "nifti"


def test_wrong_vr(tmp_path):
    data = dicom_file("CT_small.dcm").read_bytes()
    rows = data.find(b"\x28\x00\x10\x00US")  # Rows written as DS instead of US
    (tmp_path / "rows.dcm").write_bytes(data[: rows + 4] + b"DS" + data[rows + 6:])
    with pytest.raises(UserInputError, match="malformed"):
        load_image(tmp_path / "rows.dcm")
    thickness = data.find(b"\x18\x00\x50\x00DS")  # SliceThickness 'abc': dropped, image still loads
    (tmp_path / "thick.dcm").write_bytes(data[: thickness + 8] + b"abc" + data[thickness + 11:])
    loaded = load_image(tmp_path / "thick.dcm")
    assert "slice thickness" not in loaded.facts and loaded.facts["modality"] == "CT"


def test_not_dicom_with_dcm_suffix(tmp_path):
    (tmp_path / "x.dcm").write_bytes(b"hello, this is not DICOM at all" * 10)
    with pytest.raises(UserInputError):
        load_image(tmp_path / "x.dcm")


@pytest.mark.parametrize("raw,band", [("063Y", "60-69"), ("005M", "under 2"), ("091Y", "90 or older"),
                                      ("030Y", "30-39"), ("garbage", None)])
def test_coarse_age(raw, band):
    assert coarse_age(raw) == band


def test_facts_are_an_allow_list():
    ds = pydicom.dcmread(dicom_file("examples_overlay.dcm"))
    allowed = {"modality", "body part", "study", "series", "view", "laterality", "plane", "contrast",
               "slice thickness", "pixel spacing", "patient age", "patient sex"}
    assert set(dicom_facts(ds)) <= allowed
    ds.PatientAge = "057Y"
    assert dicom_facts(ds)["patient age"] == "50-59"


# -- NIfTI ----------------------------------------------------------------------------------------
def _nifti(name: str) -> Path:
    from nibabel.testing import data_path

    return Path(data_path) / name


def test_nifti_middle_axial_slice():
    loaded = load_image(_nifti("anatomical.nii"))
    volume = nibabel.as_closest_canonical(nibabel.load(_nifti("anatomical.nii")))
    assert loaded.format == "nifti" and loaded.facts["plane"] == "axial"
    assert "axial slice 13 of 25 shown (middle)" in loaded.notes
    assert loaded.image.size == (volume.shape[0], volume.shape[1])  # rot90: width = x, height = y


def test_nifti_4d_and_gz():
    loaded = load_image(_nifti("example4d.nii.gz"))
    assert "first of 2 volumes shown" in loaded.notes
    assert loaded.facts["voxel size"] == "2 x 2 x 2.2 mm"


def test_nifti_bad_files(tmp_path):
    (tmp_path / "bad.nii.gz").write_bytes(gzip.compress(b"not a nifti header" * 3))
    with pytest.raises(UserInputError, match="NIfTI"):
        load_image(tmp_path / "bad.nii.gz")
    with pytest.raises(UserInputError, match="not a NIfTI"):
        load_image(_nifti("row_major.dconn.nii"))  # CIFTI-2, not a volume


def test_dicom_pixel_limit_is_checked_from_the_header():
    pytest.importorskip("pydicom")
    from visual_med_alpaca.errors import ImageTooLarge
    from visual_med_alpaca.images import load_image_bytes

    with pytest.raises(ImageTooLarge, match=r"^the DICOM is too large \(3000x2000 = 6,000,000 pixels; the limit is 1,000,000\)"):
        load_image_bytes(oversized_dicom(2000, 3000), max_pixels=1_000_000, label="the DICOM")
    small = load_image_bytes(oversized_dicom(128, 128), max_pixels=1_000_000)
    assert small.format == "dicom" and small.image.size == (128, 128)


def test_dicom_pixel_limit_counts_every_frame():
    pytest.importorskip("pydicom")
    from visual_med_alpaca.errors import ImageTooLarge

    path = dicom_file("emri_small.dcm")  # 10 frames of 64 x 64
    with pytest.raises(ImageTooLarge, match="64x64 x 10 frames = 40,960 pixels"):
        load_image(path, max_pixels=64 * 64 * 9)
    assert load_image(path, max_pixels=64 * 64 * 10).format == "dicom"


def test_the_shipped_example_scans_are_described_with_their_modality():
    """README's `vmed ask ... --image examples/ct_scan.dcm` and `vmed describe examples/ct_scan.nii.gz`: the files
    were missing (the README named scan.dcm / scan.nii.gz, which nothing shipped). The DICOM's modality comes from
    its header, the NIfTI's (which has none) from the pixels."""
    from conftest import EXAMPLES

    from visual_med_alpaca.config import AssistantConfig
    from visual_med_alpaca.pipeline import Assistant

    assistant = Assistant(AssistantConfig())
    dicom = assistant.describe(EXAMPLES / "ct_scan.dcm")
    assert dicom.expert == "radiology" and dicom.text.startswith("Axial CT image")
    assert "modality CT from the DICOM header" in dicom.text
    nifti = assistant.describe(EXAMPLES / "ct_scan.nii.gz")
    assert nifti.expert == "radiology" and nifti.text.startswith("Axial CT image")
    # a NIfTI file's plane comes from its own header, which is not a DICOM header (the text said so)
    assert "plane axial from the NIfTI header" in nifti.text and "DICOM" not in nifti.text


def test_the_example_scans_are_what_make_examples_writes_and_hold_no_patient_fields(tmp_path, monkeypatch):
    import importlib.util

    from conftest import EXAMPLES

    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    make_examples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_examples)
    monkeypatch.setattr(make_examples, "HERE", tmp_path)
    make_examples.dicom_scan()
    make_examples.nifti_scan()
    assert (tmp_path / "ct_scan.dcm").read_bytes() == (EXAMPLES / "ct_scan.dcm").read_bytes()
    shipped, made = (nibabel.load(str(folder / "ct_scan.nii.gz")) for folder in (EXAMPLES, tmp_path))
    assert np.array_equal(np.asarray(shipped.dataobj), np.asarray(made.dataobj))
    assert np.array_equal(shipped.affine, made.affine)
    ds = pydicom.dcmread(EXAMPLES / "ct_scan.dcm")
    assert not [element.keyword for element in ds if element.tag.group in (0x0008, 0x0010, 0x0032, 0x0038)
                and element.keyword not in ("SOPClassUID", "SOPInstanceUID", "Modality")]
    assert max(path.stat().st_size for path in EXAMPLES.glob("ct_scan.*")) < 40_000
    ct = load_image(EXAMPLES / "ct_scan.dcm")
    assert ct.image.size == (128, 128) and ct.facts["modality"] == "CT"

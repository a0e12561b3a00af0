"""The dicom expert: allow-listed header facts phrased as one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_radiology import dicom_file

from visual_med_alpaca.experts import load_expert
from visual_med_alpaca.images import load_image

pytest.importorskip("pydicom")


def test_header_sentence_for_ct_and_mr():
    expert = load_expert("dicom")
    ct = expert.describe(load_image(dicom_file("J2K_pixelrep_mismatch.dcm")))
    assert ct.startswith("CT of the head, axial, ") and "slice thickness 5 mm" in ct
    mr = expert.describe(load_image(dicom_file("examples_overlay.dcm")))
    assert mr.startswith("MRI of the abdomen, axial, contrast: yes (11 ml Omniscan)")
    assert "patient age 50-59 and sex M" in mr


def test_multiframe_note_and_xray_view():
    expert = load_expert("dicom")
    assert "Note: frame 6 of 10 shown (middle)." in expert.describe(load_image(dicom_file("emri_small.dcm")))
    assert expert.describe(load_image(dicom_file("RG1_UNCR.dcm"))).startswith("X-ray of the chest, PA view")


def test_nifti_and_plain_pictures():
    from nibabel.testing import data_path

    expert = load_expert("dicom")
    text = expert.describe(load_image(Path(data_path) / "anatomical.nii"))
    assert text.startswith("NIfTI volume of 33 x 41 x 25 voxels, axial, voxel size 2 x 2 x 2 mm.")
    png = Path(__file__).resolve().parents[1] / "examples" / "ct_slice.png"
    assert "not DICOM or NIfTI" in expert.describe(load_image(png))

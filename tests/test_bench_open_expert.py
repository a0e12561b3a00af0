"""The open modality/plane rule that bench/vlm_open_expert.py scores (pre-registered, not adopted, so it lives in
the bench script, not the package): which open questions it answers, and from which expert classes."""

import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from vlm_open_expert import expert_open_answer, open_asked_head  # noqa: E402

CT_AXIAL = {"modality": ("CT", 0.93), "plane": ("axial", 0.81), "region": ("head", 0.9)}
XRAY_PA = {"modality": ("X-ray", 0.97), "plane": ("frontal (PA)", 0.9)}


@pytest.mark.parametrize("question,expected", [
    ("What imaging modality was used?", "modality"), ("what type of image is this?", "modality"),
    ("In what plane is this CT?", "plane"), ("what cut of the brain is this image taken?", "plane"),
    ("what type of mri is this?", None), ("what type of contrast agent is used?", None),
    ("what organ system is shown?", None), ("what type of brain matter is dark?", None),
    ("Is this a CT?", None), ("is this axial or coronal?", None), ("where is this plane relative to the eyes?", None),
])
def test_open_questions_that_ask_only_modality_or_plane(question, expected):
    assert open_asked_head(question) == expected


@pytest.mark.parametrize("question,facts,expected", [
    ("What imaging modality was used?", CT_AXIAL, "CT"),
    ("What imaging modality was used?", XRAY_PA, "X-ray"),
    ("What imaging modality was used?", {**CT_AXIAL, "modality": ("CT", 0.4)}, None),  # not confident
    ("What imaging modality was used?", {**CT_AXIAL, "modality": ("MRI", None)}, "MRI"),  # DICOM header
    ("What plane is this image in?", CT_AXIAL, "axial"),
    ("What plane is this image in?", XRAY_PA, None),  # plane only on CT/MRI images
    ("What plane is this image in?", {**CT_AXIAL, "plane": ("axial", 0.3)}, None),
    ("What organ system is shown?", CT_AXIAL, None),
])
def test_expert_open_answer_from_confident_classes_only(question, facts, expected):
    assert expert_open_answer(question, facts, 0.5) == expected
    pixels_pa = {"modality": ("X-ray", 0.9), "plane": ("frontal (PA/AP)", 0.9)}  # the head's class, as it says it
    assert expert_open_answer("What plane is this image in?", pixels_pa, 0.5, plane_modalities=None) == \
        "frontal (PA or AP)"

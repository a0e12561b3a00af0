"""Closed (yes/no) questions: answers start with yes or no, and the expert pipeline does not invent findings."""

import re

import pytest

from conftest import EXAMPLES, CountingLLM
from visual_med_alpaca.closed import asked_classes, examined, expert_yes_no, is_yes_no
from visual_med_alpaca.pipeline import Assistant

RADIOLOGY_TEXT = ("Axial CT image of the head. (modality CT 0.93; plane axial 0.88; region head 0.91; only the image "
                  "type is described, not findings.)")


@pytest.mark.parametrize("question,expected", [
    ("Is there a fracture?", True), ("are the lungs normal appearing?", True), ("Does the patient have a mass?", True),
    ("Is this a CT or an MRI?", False), ("What organ is shown?", False), ("Where is the lesion?", False),
])
def test_yes_no_questions_are_recognised(question, expected):
    assert is_yes_no(question) is expected


@pytest.mark.parametrize("question,expected", [
    ("Is there a fracture?", False), ("Are there any abnormal findings?", False), ("Is there a brain lesion?", False),
    ("Is this a CT image?", True), ("Is this an axial slice?", True), ("Is this an image of the head?", True),
])
def test_examined_means_the_description_reports_on_it(question, expected):
    assert examined(question, RADIOLOGY_TEXT) is expected


@pytest.mark.parametrize("question,expected", [
    ("Is this a CT?", {"modality": "CT"}), ("is this an axial plane image", {"plane": "axial"}),
    ("Is this a PA image?", {"plane": "frontal (PA/AP)"}),
    ("was the MRI taken in the sagittal plane?", {"modality": "MRI", "plane": "sagittal"}),
    ("Is this an MRI with contrast?", None), ("Is this not a CT?", None), ("Is this a chest x-ray?", None),
    ("Is this CT or MRI?", None), ("Is there a fracture?", None), ("What modality is this?", None),
])
def test_asked_classes_only_for_questions_about_modality_or_plane_alone(question, expected):
    assert asked_classes(question) == expected


CT_AXIAL = {"modality": ("CT", 0.93), "plane": ("axial", 0.81), "region": ("head", 0.9)}


@pytest.mark.parametrize("question,facts,expected", [
    ("Is this a CT?", CT_AXIAL, "yes"), ("Is this an MRI?", CT_AXIAL, "no"),
    ("Is this an axial CT?", CT_AXIAL, "yes"), ("Is this a coronal CT?", CT_AXIAL, "no"),
    ("Is this a CT?", {"modality": ("CT", 0.45)}, None),  # not confident: the VLM decides
    ("Is this an axial CT?", {"modality": ("CT", 0.9), "plane": ("axial", 0.3)}, None),
    ("Is this an MRI?", {"modality": ("MRI", None)}, "yes"),  # a DICOM header fact is certain
    ("Is this a PA view?", {"plane": ("frontal (PA)", None)}, "yes"),
    ("Is this an x-ray?", {"modality": ("X-ray angiography", None)}, "yes"),
    ("Is there a fracture?", CT_AXIAL, None),
])
def test_expert_yes_no_answers_from_confident_classes_only(question, facts, expected):
    assert expert_yes_no(question, facts, 0.5) == expected


XRAY_PA = {"modality": ("X-ray", 0.97), "plane": ("frontal (PA)", 0.9)}


@pytest.mark.parametrize("question,facts,expected", [
    ("Is this a CT?", CT_AXIAL, "yes"), ("Is this a coronal image?", CT_AXIAL, "no"),
    ("Is this an MRI?", {"modality": ("MRI", None)}, "yes"),
    ("Is this a PA film?", XRAY_PA, None), ("Is this an MRI?", XRAY_PA, None),  # X-ray images: the VLM decides
    ("Is this a CT?", {"modality": ("CT", 0.45)}, None), ("Is this axial?", {"plane": ("axial", 0.9)}, None),
])
def test_expert_yes_no_restricted_to_ct_and_mri_images(question, facts, expected):
    assert expert_yes_no(question, facts, 0.5, modalities=("CT", "MRI")) == expected


@pytest.fixture(scope="module")
def assistant(tiny_llama_dir):
    return Assistant.from_config(None, **{"llm.model": str(tiny_llama_dir), "generation.max_new_tokens": 6})


def test_fracture_question_on_ct_slice_claims_no_fracture(assistant):
    answer = assistant.ask("Is there a fracture?", EXAMPLES / "ct_slice.png")
    assert answer.expert == "radiology"
    text = answer.answer.lower()
    assert text.startswith("no") and "nothing in this system examined the image" in text
    assert "there is a fracture" not in text and "yes" not in text.split()


def test_question_the_expert_answers_starts_with_the_scored_option(assistant):
    answer = assistant.ask("Is this a CT image?", EXAMPLES / "ct_slice.png")
    assert re.match(r"(yes|no)\b", answer.answer.lower())
    assert "yes_no_s" in answer.timings
    llm = assistant.llm
    yes, no = llm.score_continuations(answer.prompt, ["Yes", "No"])
    assert answer.answer.lower().startswith("yes" if yes >= no else "no")


def test_text_question_yes_no_is_scored_not_refused(assistant):
    answer = assistant.ask("Is aspirin used to treat pain?")
    assert re.match(r"(yes|no)\b", answer.answer.lower())
    assert "nothing in this system" not in answer.answer


def test_an_answer_given_without_the_model_counts_only_its_own_tokens(assistant):
    """The fixed 'not examined' answer never sends its prompt to the model, so the prompt is not counted (`vmed eval`
    asks hundreds of these through the engine): one count, the answer's (no longer also the empty text, whose BOS
    token was taken off every answer's count). A scored answer counts its prompt and the option the model chose (the
    tokens it generated after the option come from its stream), once each."""
    counting = CountingLLM(assistant.llm)
    counted = Assistant(assistant.config, llm=counting)
    declined = counted.ask("Is there a fracture?", EXAMPLES / "ct_slice.png")
    assert "nothing in this system examined the image" in declined.answer and counting.counted == [declined.answer]
    assert declined.prompt == assistant.ask("Is there a fracture?", EXAMPLES / "ct_slice.png").prompt  # still shown
    counting.counted.clear()
    scored = counted.ask("Is this a CT image?", EXAMPLES / "ct_slice.png")
    chosen = max(scored.option_logprobs, key=scored.option_logprobs.get)
    assert counting.counted == [scored.prompt, chosen.capitalize()]

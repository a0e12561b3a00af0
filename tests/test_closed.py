"""Closed (yes/no) questions: answers start with yes or no, and the expert pipeline does not invent findings."""

import re

import pytest

from conftest import EXAMPLES
from visual_med_alpaca.closed import examined, is_yes_no
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

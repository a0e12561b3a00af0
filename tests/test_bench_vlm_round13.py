"""bench/vlm_round13.py: question forms come from the wording alone, a form with too few questions keeps the single
bias, the re-made yes/no decision adds bias + extra log-odds to the VLM's margin and never overrides the expert rule,
and the map head reads a 7x7 map (frozen, or through the encoder's last block) with a question vector."""

import sys

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from vlm_round13 import MIN_FORM, decided, fit_biases, head_logits, question_form  # noqa: E402


def test_forms_come_from_the_opening_words():
    assert question_form("Is there a fracture?") == "there"
    assert question_form("are there gallstones") == "there"
    assert question_form("Does the liver look normal?") == "does"
    assert question_form("is this an MRI?") == "this"
    assert question_form("Is it in the left lung?") == "this"
    assert question_form("Is the heart enlarged?") == "other"


def test_a_form_with_too_few_questions_keeps_the_single_bias():
    there = [(-0.5, True, "there", f"t{n}") for n in range(MIN_FORM)]  # all "yes" at margin -0.5: needs +0.5
    other = [(0.2 * (n - 5), n >= 5, "other", f"o{n}") for n in range(MIN_FORM)]  # margin's sign is right
    few = [(-2.0, True, "does", "d0")]
    single, per = fit_biases(there + other + few)
    assert per["there"] > 0.5 and per["other"] == 0.0
    assert per["does"] == single and per["this"] == single


def test_the_decision_adds_bias_and_extra_and_keeps_the_expert_rule():
    records = [
        {"id": "a", "kind": "closed", "question": "is there a mass?", "reference": "yes", "prediction": "No",
         "option_logprobs": {"yes": -1.0, "no": -0.2}},  # margin -0.8: "No" at the shipped 0.486
        {"id": "b", "kind": "closed", "question": "is this a CT?", "reference": "no", "prediction": "Yes",
         "expert": "radiology", "option_logprobs": {"yes": -1.0, "no": -0.2}},  # the rule said yes against the margin
        {"id": "c", "kind": "open", "question": "what organ?", "reference": "liver", "prediction": "liver"},
    ]
    base, margins, _ = decided(records, lambda r: 0.486)
    assert base["a"] == ("closed", 0.0) and base["b"] == ("closed", 0.0) and base["c"][1] == 1.0
    assert margins == [pytest.approx(-0.8 + 0.486)]
    moved, margins, labels = decided(records, lambda r: 0.486, {"a": 0.5, "b": -5.0})
    assert moved["a"] == ("closed", 1.0) and moved["b"] == ("closed", 0.0)  # b stays the expert's answer
    assert margins == [pytest.approx(-0.8 + 0.486 + 0.5)] and labels == [True]


@pytest.mark.parametrize("kind, channels", [("C1", 1280), ("C2", 192)])
def test_the_map_head_reads_a_7x7_map_and_a_question(kind, channels):
    import torch

    from vlm_round13 import build_head

    torch.manual_seed(0)
    model = build_head(kind).eval()
    maps = np.random.default_rng(0).random((3, channels, 7, 7)).astype(np.float32)
    questions = np.random.default_rng(1).random((4, 384)).astype(np.float32)
    z = head_logits(model, maps, [(0, 0), (2, 1), (2, 2), (1, 3)], questions)
    assert z.shape == (4,) and np.isfinite(z).all()
    other = maps.copy()
    other[2] = 0.0  # another picture changes the answers about it, not the others'
    z2 = head_logits(model, other, [(0, 0), (2, 1), (2, 2), (1, 3)], questions)
    assert np.allclose(z[[0, 3]], z2[[0, 3]], atol=1e-5) and not np.allclose(z[1:3], z2[1:3])

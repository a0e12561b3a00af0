"""VQA and text-QA metrics on hand-made cases whose answers are worked out by hand."""

import pytest

from visual_med_alpaca.eval.metrics.text import choice_metrics, extract_choice, ranking_metrics
from visual_med_alpaca.eval.metrics.vqa import (
    closed_correct, exact_match, normalize_answer, open_recall, substring_hit, token_f1, vqa_metrics,
)


@pytest.mark.parametrize("text, expected", [
    ("Yes, there is.", "yes there is"),
    ("The LEFT lung!", "left lung"),
    ("two nodules", "2 nodules"),
    ("1,000 cells", "1000 cells"),
    ("T2-weighted (axial)", "t2 weighted axial"),
    ("3.5 cm", "3.5 cm"),
    ("an x-ray", "x ray"),
])
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_closed_yes_no_uses_first_yes_or_no_word():
    assert closed_correct("Yes, there is evidence.", "yes") == 1.0
    assert closed_correct("No. Yes it is", "no") == 1.0
    assert closed_correct("Yes, there is no mass", "no") == 0.0  # LLaVA-Med's substring test says 1 here
    assert substring_hit("Yes, there is no mass", "no") == 1.0
    assert closed_correct("There is a mass", "yes") == 0.0  # no yes/no word: wrong
    assert closed_correct("the lesion is on the left side", "left") == 1.0  # non yes/no closed answer


def test_open_recall_exact_match_and_f1():
    assert open_recall("the right lung base", "right") == 1.0
    assert open_recall("right upper lobe", "right lower lobe") == pytest.approx(2 / 3)
    assert open_recall("right right right", "right lower") == 0.5  # repeats are clipped
    assert open_recall("", "right") == 0.0
    assert exact_match("The Right.", "right") == 1.0
    assert exact_match("right lung", "right") == 0.0
    # pred 2 tokens, ref 1 token, overlap 1: P = 1/2, R = 1, F1 = 2/3
    assert token_f1("right lung", "right") == pytest.approx(2 / 3)
    assert token_f1("left", "right") == 0.0


def test_vqa_metrics_aggregate():
    records = [
        {"kind": "closed", "prediction": "yes", "reference": "yes"},
        {"kind": "closed", "prediction": "no it is not", "reference": "yes"},
        {"kind": "open", "prediction": "right lung", "reference": "right"},
        {"kind": "open", "prediction": "brain", "reference": "liver"},
    ]
    m = vqa_metrics(records)
    assert m["closed_accuracy"] == 50.0
    assert m["open_recall"] == 50.0
    assert m["n_closed"] == 2 and m["n_open"] == 2
    assert m["exact_match"] == 25.0  # only the first record matches exactly
    assert m["token_f1"] == pytest.approx(round(100 * (1 + 0 + 2 / 3 + 0) / 4, 2))


def test_extract_choice():
    assert extract_choice("Maybe; the evidence is mixed.", ("yes", "no", "maybe")) == "maybe"
    assert extract_choice("The answer is: No.", ("yes", "no", "maybe")) == "no"
    assert extract_choice("unclear", ("yes", "no")) is None


def test_choice_metrics_accuracy_macro_f1_and_unanswered():
    golds = ["yes", "yes", "no", "maybe"]
    preds = ["yes", "no", "no", None]
    m = choice_metrics(golds, preds, ("yes", "no", "maybe"))
    assert m["accuracy"] == 50.0
    # yes: P 1, R 1/2 -> 2/3; no: P 1/2, R 1 -> 2/3; maybe: 0  => macro 4/9
    assert m["macro_f1"] == pytest.approx(round(100 * 4 / 9, 2))
    assert m["unanswered"] == 1
    assert m["majority_baseline"] == 50.0


def test_ranking_metrics():
    records = [  # question 1: the model ranks the correct answer second
        {"group": "1", "order": 0, "score": 2.0, "reference_rank": 2, "correct": False},
        {"group": "1", "order": 1, "score": 1.0, "reference_rank": 1, "correct": True},
        {"group": "1", "order": 2, "score": -1.0, "reference_rank": 3, "correct": False},
        # question 2: first answer correct and ranked first; ties keep the given order
        {"group": "2", "order": 0, "score": 0.5, "reference_rank": 1, "correct": True},
        {"group": "2", "order": 1, "score": 0.5, "reference_rank": 2, "correct": True},
    ]
    m = ranking_metrics(records)
    assert m["mrr"] == 75.0  # (1/2 + 1) / 2
    assert m["accuracy"] == 80.0  # labels (score > 0) T T F T T vs correct F T F T T: 4 of 5
    assert m["precision"] == 75.0  # 3 of 4 predicted-correct are correct
    # q1: model ranks [1,2,3] vs reference [2,1,3] -> rho 0.5; q2: [1,2] vs [1,2] -> 1.0
    assert m["spearman"] == pytest.approx(0.75)
    assert m["n_questions"] == 2 and m["n_answers"] == 5

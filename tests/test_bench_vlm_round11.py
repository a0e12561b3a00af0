"""bench/vlm_round11_head.py: paraphrase groups stay in one CV fold, the threshold is the grid's best (first on
ties), the CT/MRI expert rule's answers are never replaced by a head, and round 11's committed rule as written."""

import sys
from types import SimpleNamespace

import numpy as np

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from vlm_round11_head import decide, folds_of, other_classes, pick_threshold, with_head  # noqa: E402


def test_folds_keep_each_group_whole_and_are_the_same_every_time():
    items = [SimpleNamespace(id=f"q{n:03d}") for n in range(40)]
    groups = [items[n:n + 2] for n in range(0, 40, 2)]
    folds = folds_of(items, groups)
    assert all(folds[n] == folds[n + 1] for n in range(0, 40, 2))
    assert sorted(set(folds.tolist())) == [0, 1, 2, 3, 4]
    assert folds.tolist() == folds_of(items, groups).tolist()


def test_other_classes_keep_answers_seen_k_times_said_their_most_common_way():
    answers = ["Left", "left", "left ", "the left", "axial", "Axial", "liver"]
    assert other_classes(answers, 2) == {"axial": "axial", "left": "left"}  # a tie: the first seen wording
    assert "liver" not in other_classes(answers, 2) and "liver" in other_classes(answers, 1)


def test_the_threshold_maximises_the_expected_score_and_the_lowest_wins_ties():
    prob = np.array([0.95, 0.85, 0.25])
    got = np.array([1.0, 0.0, 0.0])  # the head is right only where it is surest
    fallback = np.array([0.2, 0.2, 0.2])
    best, table = pick_threshold(prob, got, fallback)
    assert best["t"] == 0.9 and best["answered"] == 1 and len(table) == 8
    best, _ = pick_threshold(prob, np.ones(3), fallback)  # right everywhere: every t from 0.2 up answers all three
    assert best["t"] == 0.2 and best["answered"] == 3


def test_a_head_never_replaces_the_expert_rules_yes_no_answer():
    records = [
        {"id": "a", "kind": "closed", "question": "is this a ct?", "reference": "yes", "prediction": "Yes",
         "expert": "radiology", "option_logprobs": {"yes": -2.0, "no": -0.1}},
        {"id": "b", "kind": "closed", "question": "is there a mass?", "reference": "no", "prediction": "Yes",
         "expert": "none", "option_logprobs": {"yes": -2.0, "no": -0.1}},
    ]
    scores, answered = with_head(records, {"a": "No", "b": "No"})
    assert scores == {"a": ("closed", 1.0), "b": ("closed", 1.0)} and answered == 1
    scores, _ = with_head(records, {}, bias0=True)  # bias 0: the raw log-probs decide, the rule's answer stays
    assert scores == {"a": ("closed", 1.0), "b": ("closed", 1.0)}


def _dev(head_closed, head_open, vlm=(70.0, 20.0)):
    def rows(hc, ho):
        return {"VLM as shipped (memory off)": {"closed": vlm[0], "open": vlm[1], "other_form_closed": 50.0},
                "(a) yes/no head MLP-a1 + VLM": {"closed": hc, "open": vlm[1], "other_form_closed": 50.0},
                "(b) answer-class head MLP-a1 k=2 t=0.2 + VLM": {"closed": vlm[0], "open": ho, "other_form_closed": 50.0}}
    return {"D-eval grouped (69)": rows(head_closed[0], head_open[0]), "train-dev (180)": rows(head_closed[1], head_open[1])}


def test_the_rule_adopts_only_when_both_dev_sets_agree():
    good_b = {"answered": 100, "precision": 50.0, "vlm_rate_on_answered": 20.0}
    assert decide(_dev((75, 72), (25, 22)), 60.0, good_b, 756) == {"yes_no_head": "adopt", "answer_class_head": "adopt"}
    assert decide(_dev((75, 64), (25, 14)), 66.0, good_b, 756) == {"yes_no_head": "reject", "answer_class_head": "reject"}
    assert decide(_dev((75, 72), (25, 22)), 54.0, dict(good_b, answered=10), 756) == \
        {"yes_no_head": "reject", "answer_class_head": "reject"}  # CV at chance; the head answers under 5%


def test_image_folds_keep_every_image_in_one_fold():
    from pathlib import Path

    from vlm_round11_encoders import image_folds

    items = [SimpleNamespace(id=f"q{n}", image=Path(f"img{n % 12}.jpg")) for n in range(60)]
    folds = image_folds(items)
    by_image = {}
    for item, fold in zip(items, folds.tolist()):
        by_image.setdefault(item.image.name, set()).add(fold)
    assert all(len(f) == 1 for f in by_image.values()) and sorted(set(folds.tolist())) == [0, 1, 2, 3, 4]

"""LiveQA scoring pieces: grades by id or moved text, unjudged = incorrect, AP and RR."""

from __future__ import annotations

import pytest

from visual_med_alpaca.knowledge.corpus import Passage
from visual_med_alpaca.knowledge.evaluate import Qrels, average_precision, reciprocal_rank


def test_grades_by_id_then_by_text_and_unjudged_is_incorrect():
    qrels = Qrels(by_id={"1": {"GHR_0000001_Sec1": 4}}, by_text={"1": {"gout is arthritis": 3}})
    assert qrels.grade("1", Passage("medquad:GHR_0000001_Sec1", "t", "", "whatever")) == 4
    assert qrels.grade("1", Passage("medquad:GHR_0000009_Sec2", "t", "", "Gout is\narthritis.")) == 3
    assert qrels.grade("1", Passage("medquad:GHR_0000002_Sec1", "t", "", "unjudged")) == 1
    assert qrels.grade("2", Passage("medquad:GHR_0000001_Sec1", "t", "", "x")) == 1


def test_average_precision_and_reciprocal_rank():
    assert average_precision([False, True, False, True], total_relevant=2) == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert average_precision([True], total_relevant=0) == 0.0
    assert average_precision([True] * 12, total_relevant=20) == 1.0  # capped at 10
    assert reciprocal_rank([False, False, True]) == pytest.approx(1 / 3)
    assert reciprocal_rank([False] * 10 + [True]) == 0.0


def test_recall_base_counts_correct_answers_the_index_holds_by_id_or_text():
    qrels = Qrels(by_id={"1": {"GHR_0000001_Sec1": 4, "GHR_0000002_Sec1": 2, "ADAM_0000001_Sec1": 4}},
                  by_text={"1": {"gout is arthritis": 3}})
    index = [Passage("medquad:GHR_0000001_Sec1", "t", "", "a"), Passage("medquad:GHR_0000002_Sec1", "t", "", "b"),
             Passage("medquad:GARD_0000009_Sec1", "t", "", "Gout is arthritis")]
    assert qrels.correct_in(index) == {"1": 2}  # the ADAM answer is not in the index


def test_judged_passages_by_id_or_text_are_listed_for_leaving_out_of_training():
    qrels = Qrels(by_id={"1": {"GHR_0000001_Sec1": 1}}, by_text={"2": {"gout is arthritis": 3}})
    index = [Passage("medquad:GHR_0000001_Sec1", "t", "", "x"), Passage("medquad:GHR_0000009_Sec2", "t", "", "Gout is arthritis"),
             Passage("medquad:GHR_0000003_Sec1", "t", "", "unjudged")]
    assert qrels.judged(index) == {"medquad:GHR_0000001_Sec1", "medquad:GHR_0000009_Sec2"}

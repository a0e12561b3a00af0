"""bench/bench_knowledge_round9.py applies the committed rule (bench/results/knowledge_round9_rule.txt) as written."""

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from bench_knowledge_round9 import decide  # noqa: E402


def _row(hit1, mrr, avg, ms=20.0, no_source=(0.43,), dev_top=(0.46,)):
    return {"dev": {"hit@1": hit1, "MRR@10": mrr, "ms_median": ms}, "dev2": {"avgScore": avg},
            "no_source_relevance": list(no_source), "dev_top_relevance": list(dev_top)}


SHIPPED = _row(25 / 34, 0.763, 2.031)
SAME = {name: SHIPPED for name in ("C5", "C6", "C7", "C8")}


def test_nothing_is_adopted_without_one_more_dev_question_at_rank_one_and_no_loss():
    assert decide({"S": SHIPPED, **SAME})["adopt"] is None
    for worse in (_row(26 / 34, 0.76, 2.031), _row(26 / 34, 0.8, 2.0), _row(26 / 34, 0.8, 2.1, ms=101.0),
                  _row(26 / 34, 0.8, 2.1, no_source=(0.43, 0.47)), _row(26 / 34, 0.8, 2.1, dev_top=(0.46, 0.44))):
        assert decide({"S": SHIPPED, **SAME, "C7": worse})["adopt"] is None


def test_of_several_the_better_dev_then_the_fewest_changes():
    one_more, two_more = _row(26 / 34, 0.77, 2.031), _row(27 / 34, 0.77, 2.031)
    found = decide({"S": SHIPPED, **SAME, "C7": one_more, "C8": two_more})
    assert found["adopt"] == "C8" and found["settings"] == {"synonyms": "focus+rqe", "clean_synonyms": True,
                                                             "types_from": "asking"}
    assert decide({"S": SHIPPED, **SAME, "C6": one_more, "C5": one_more})["adopt"] == "C5"
    assert decide({"S": SHIPPED, **SAME, "C6": one_more})["settings"]["synonyms"] == "focus+rqe+written"


def test_no_decision_when_the_shipped_configuration_does_not_repeat_its_numbers():
    found = decide({"S": _row(24 / 34, 0.763, 2.031), **SAME, "C5": _row(27 / 34, 0.8, 2.1)})
    assert found["adopt"] is None and found["sanity"] is False

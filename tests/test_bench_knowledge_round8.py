"""bench/bench_knowledge_round8.py applies the committed rules (bench/results/knowledge_round8_rule.txt, C3, and
knowledge_round8b_rule.txt, C4) as written."""

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from bench_knowledge_round8 import decide  # noqa: E402


def _row(hit1, mrr, avg, ms=20.0, no_source=(0.43,), dev_top=(0.46,)):
    return {"dev": {"hit@1": hit1, "MRR@10": mrr, "ms_median": ms}, "dev2": {"avgScore": avg},
            "no_source_relevance": list(no_source), "dev_top_relevance": list(dev_top)}


SHIPPED = _row(25 / 34, 0.763, 2.031)
BETTER = _row(26 / 34, 0.77, 2.031)


def test_a_candidate_needs_one_more_dev_question_at_rank_one_and_no_loss_anywhere():
    assert decide({"S": SHIPPED, "C3": BETTER, "C4": SHIPPED})["synonyms"] == "focus+rqe+dense"
    assert decide({"S": SHIPPED, "C3": SHIPPED, "C4": BETTER})["synonyms"] == "focus+rqe+written"
    assert decide({"S": SHIPPED, "C3": BETTER, "C4": BETTER})["adopt"] == "C3"  # C4 is scored only if C3 fails
    for worse in (_row(26 / 34, 0.76, 2.031), _row(26 / 34, 0.8, 2.0), _row(26 / 34, 0.8, 2.1, ms=101.0),
                  _row(25 / 34, 0.8, 2.1)):
        assert decide({"S": SHIPPED, "C3": worse, "C4": worse})["adopt"] is None


def test_the_no_source_threshold_must_separate_as_well():
    answers_one = _row(26 / 34, 0.8, 2.1, no_source=(0.43, 0.47))
    refuses_one = _row(26 / 34, 0.8, 2.1, dev_top=(0.46, 0.44))
    for worse in (answers_one, refuses_one):
        found = decide({"S": SHIPPED, "C3": worse, "C4": SHIPPED})
        assert found["adopt"] is None and not found["checks"]["C3"]["e the no-source threshold separates as well"]

"""bench/bench_knowledge_round7.py applies the committed rule (bench/results/knowledge_round7_rule.txt) as written."""

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from bench_knowledge_round7 import decide  # noqa: E402


def _row(hit1, mrr, avg, ms=20.0):
    return {"dev": {"hit@1": hit1, "MRR@10": mrr, "ms_median": ms}, "dev2": {"avgScore": avg}}


SHIPPED = _row(24 / 34, 0.735, 2.031)


def test_adopts_one_more_question_at_rank_one_with_no_loss_on_either_set():
    assert decide({"S": SHIPPED, "C1": _row(25 / 34, 0.735, 2.031), "C2": SHIPPED})["adopt"] == "C1"  # ties pass a, c
    assert decide({"S": SHIPPED, "C1": SHIPPED, "C2": _row(25 / 34, 0.763, 2.031)})["synonyms"] == "focus+rqe"
    assert decide({"S": SHIPPED, "C1": _row(25 / 34, 0.734, 2.1), "C2": SHIPPED})["adopt"] is None  # dev MRR falls
    assert decide({"S": SHIPPED, "C1": _row(26 / 34, 0.8, 2.0), "C2": SHIPPED})["adopt"] is None  # dev2 falls
    assert decide({"S": SHIPPED, "C1": _row(25 / 34, 0.8, 2.1, ms=101.0), "C2": SHIPPED})["adopt"] is None  # too slow
    nothing = decide({"S": SHIPPED, "C1": SHIPPED, "C2": SHIPPED})
    assert nothing["adopt"] is None and nothing["synonyms"] == "none"


def test_of_two_that_pass_the_higher_dev_hit1_then_mrr_then_the_simpler():
    assert decide({"S": SHIPPED, "C1": _row(25 / 34, 0.9, 2.1), "C2": _row(26 / 34, 0.74, 2.031)})["adopt"] == "C2"
    assert decide({"S": SHIPPED, "C1": _row(25 / 34, 0.75, 2.031), "C2": _row(25 / 34, 0.76, 2.031)})["adopt"] == "C2"
    assert decide({"S": SHIPPED, "C1": _row(25 / 34, 0.76, 2.031), "C2": _row(25 / 34, 0.76, 2.031)})["adopt"] == "C1"

"""bench/bench_knowledge_round6.py applies the committed rule (bench/results/knowledge_round6_rule.txt) as written."""

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from bench_knowledge_round6 import decide  # noqa: E402


def _row(dev_mrr, dev2_mrr, ms=40.0):
    return {"dev": {"MRR@10": dev_mrr, "ms_median": ms}, "dev2": {"MRR@10": dev2_mrr}}


SHIPPED = _row(0.735, 0.854)


def test_adopts_only_when_auc_holds_mean_mrr_rises_enough_and_neither_set_falls():
    assert decide(SHIPPED, _row(0.755, 0.854), 0.860)["adopt"]  # mean +0.010, AUC up
    assert not decide(SHIPPED, _row(0.755, 0.854), 0.850)["adopt"]  # AUC below the shipped 0.854
    assert not decide(SHIPPED, _row(0.750, 0.858), 0.860)["adopt"]  # mean +0.0095: not enough
    assert not decide(SHIPPED, _row(0.790, 0.848), 0.860)["adopt"]  # dev2 falls by 0.006
    assert decide(SHIPPED, _row(0.790, 0.850), 0.860)["adopt"]  # a fall of 0.004 is tolerated
    assert not decide(SHIPPED, _row(0.800, 0.900, ms=120.0), 0.860)["adopt"]  # too slow
    checks = decide(SHIPPED, _row(0.735, 0.854), 0.9)["checks"]
    assert [ok for ok in checks.values()] == [True, False, True, True]

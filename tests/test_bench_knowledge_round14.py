"""bench/bench_knowledge_round14.py applies the committed rule (bench/results/knowledge_round14_rule.txt) as written."""

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from bench_knowledge_round14 import decide  # noqa: E402


def _row(hit1, avg2, avg3, p3, ms=20.0, no_source=(0.43,), dev_top=(0.46,), mrr=0.793):
    return {"dev": {"hit@1": hit1, "MRR@10": mrr, "ms_median": ms, "questions": 34}, "dev2": {"avgScore": avg2},
            "dev3": {"avgScore": avg3, "P@1": p3, "questions": 85},
            "no_source_relevance": list(no_source), "dev_top_relevance": list(dev_top)}


SHIPPED = _row(25 / 34, 2.031, 1.776, 52 / 85)


def test_the_learned_ranker_needs_two_more_correct_top_answers_and_nothing_worse():
    assert decide({"S": SHIPPED, "M": _row(26 / 34, 2.031, 1.8, 53 / 85)})["adopt"] == "M"
    for worse in (_row(26 / 34, 2.031, 1.776, 52 / 85),                      # only +1
                  _row(26 / 34, 2.0, 1.8, 53 / 85),                          # dev2 falls
                  _row(27 / 34, 2.031, 1.7, 52 / 85),                        # dev3 avgScore falls
                  _row(26 / 34, 2.031, 1.8, 53 / 85, ms=101.0),
                  _row(26 / 34, 2.031, 1.8, 53 / 85, no_source=(0.43, 0.47)),
                  _row(26 / 34, 2.031, 1.8, 53 / 85, dev_top=(0.44,))):
        assert decide({"S": SHIPPED, "M": worse})["adopt"] is None


def test_nothing_is_decided_unless_the_default_repeats_its_numbers():
    off = _row(25 / 34, 2.031, 1.7, 52 / 85)
    assert decide({"S": off, "M": _row(30 / 34, 2.5, 2.0, 60 / 85)}) == {"adopt": None, "sanity": False, "checks": {}}

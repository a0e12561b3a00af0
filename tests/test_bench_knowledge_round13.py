"""bench/bench_knowledge_round13.py applies the committed rule (bench/results/knowledge_round13_rule.txt) as written."""

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from bench_knowledge_round13 import agreement, decide, merged  # noqa: E402


def _row(hit1, avg2, avg3, p3, avg1, p1, ms=20.0, no_source=(0.43,), dev_top=(0.46,), mrr=0.793):
    dev3 = {"avgScore": avg3, "P@1": p3, "questions": 85, "MAP@10": 0.0, "MRR@10": 0.0}
    train1 = {"avgScore": avg1, "P@1": p1, "questions": 77, "MAP@10": 0.0, "MRR@10": 0.0}
    return {"dev": {"hit@1": hit1, "MRR@10": mrr, "ms_median": ms, "questions": 34}, "dev2": {"avgScore": avg2},
            "dev3": dev3, "train1": train1, "dev4": merged(dev3, train1),
            "no_source_relevance": list(no_source), "dev_top_relevance": list(dev_top)}


SHIPPED = _row(25 / 34, 2.031, 1.776, 52 / 85, 1.5, 40 / 77)


def test_the_set_read_is_dev4_when_usable_else_dev3_and_two_more_correct_top_answers_are_needed():
    on_train1 = _row(25 / 34, 2.031, 1.776, 52 / 85, 1.6, 42 / 77)  # +2 on Train-1 only
    assert decide(True, True, {"S": SHIPPED, "L1": on_train1, "L2": SHIPPED})["adopt"] == "L1"
    assert decide(False, True, {"S": SHIPPED, "L1": on_train1, "L2": SHIPPED})["adopt"] is None  # dev3: no gain
    for worse in (_row(25 / 34, 2.0, 1.776, 52 / 85, 1.6, 42 / 77),             # dev2 falls
                  _row(25 / 34, 2.031, 1.6, 52 / 85, 1.6, 42 / 77),             # dev4 avgScore falls
                  _row(25 / 34, 2.031, 1.776, 52 / 85, 1.6, 42 / 77, ms=101.0),
                  _row(25 / 34, 2.031, 1.776, 52 / 85, 1.6, 42 / 77, no_source=(0.43, 0.47)),
                  _row(25 / 34, 2.031, 1.776, 52 / 85, 1.6, 41 / 77)):          # only +1
        assert decide(True, True, {"S": SHIPPED, "L1": worse, "L2": worse})["adopt"] is None


def test_of_two_passing_the_more_correct_then_the_smaller_change_and_sanity_comes_first():
    two, three = _row(26 / 34, 2.031, 1.8, 53 / 85, 1.5, 40 / 77), _row(26 / 34, 2.031, 1.8, 54 / 85, 1.5, 40 / 77)
    assert decide(True, True, {"S": SHIPPED, "L1": two, "L2": three})["adopt"] == "L2"
    found = decide(True, True, {"S": SHIPPED, "L1": two, "L2": two})
    assert found["adopt"] == "L1" and found["settings"] == {"list_penalty": 0.05} and found["read_on"] == "dev4"
    assert decide(True, False, {"S": SHIPPED, "L1": three, "L2": three})["sanity"] is False  # part A not repeated
    off = _row(25 / 34, 2.031, 1.7, 52 / 85, 1.5, 40 / 77)  # S does not repeat dev3's 1.776
    assert decide(True, True, {"S": off, "L1": three, "L2": three})["sanity"] is False


def test_dev4_is_usable_only_if_it_orders_and_decides_like_liveqa_at_least_as_well_as_dev3():
    def rows(dev3, train1):  # runs 1..21 as single-run configurations; LiveQA avgScore = run number / 100
        return [([n], n / 100, {"dev_hit1": 0.0, "dev3_avg": dev3(n), "train1_avg": train1(n),
                                "dev4_avg": (85 * dev3(n) + 77 * train1(n)) / 162}) for n in range(1, 22)]

    assert agreement(rows(lambda n: n % 5, lambda n: n))["dev4_usable"]  # Train-1 orders like LiveQA, dev3 less so
    assert not agreement(rows(lambda n: n, lambda n: -3 * n))["dev4_usable"]
    found = agreement(rows(lambda n: n, lambda n: n))  # ties pass
    assert found["dev4_usable"] and found["dev4_avg"]["agreements"] == 7


def test_merged_scores_weigh_each_set_by_its_questions():
    a = {"questions": 1, "avgScore": 3.0, "MAP@10": 1.0, "MRR@10": 1.0, "P@1": 1.0}
    b = {"questions": 3, "avgScore": 1.0, "MAP@10": 0.0, "MRR@10": 0.0, "P@1": 0.0}
    assert merged(a, b) == {"questions": 4, "avgScore": 1.5, "MAP@10": 0.25, "MRR@10": 0.25, "P@1": 0.25}

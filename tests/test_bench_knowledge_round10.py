"""bench/bench_knowledge_round10.py applies the committed rule (bench/results/knowledge_round10_rule.txt) as written."""

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from bench_knowledge_round10 import agreement, decide  # noqa: E402


def _row(hit1, mrr, avg2, avg3, p1, ms=20.0, no_source=(0.43,), dev_top=(0.46,)):
    return {"dev": {"hit@1": hit1, "MRR@10": mrr, "ms_median": ms, "questions": 34}, "dev2": {"avgScore": avg2},
            "dev3": {"avgScore": avg3, "P@1": p1, "questions": 85},
            "no_source_relevance": list(no_source), "dev_top_relevance": list(dev_top)}


SHIPPED = _row(25 / 34, 0.763, 2.031, 1.0, 40 / 85)


def test_with_dev3_usable_two_more_correct_top_answers_and_no_loss_are_needed():
    assert decide(True, {"S": SHIPPED, "C9": SHIPPED})["adopt"] is None
    assert decide(True, {"S": SHIPPED, "C9": _row(25 / 34, 0.7, 2.031, 1.01, 42 / 85)})["adopt"] == "C9"  # dev MRR may fall
    assert decide(True, {"S": SHIPPED, "C9": _row(26 / 34, 0.8, 2.031, 1.01, 41 / 85)})["adopt"] == "C9"  # pooled: 1 + 1
    for worse in (_row(26 / 34, 0.8, 2.031, 1.01, 40 / 85), _row(25 / 34, 0.8, 2.031, 0.99, 42 / 85),
                  _row(25 / 34, 0.8, 2.0, 1.01, 42 / 85), _row(25 / 34, 0.8, 2.031, 1.01, 42 / 85, ms=101.0),
                  _row(25 / 34, 0.8, 2.031, 1.01, 42 / 85, no_source=(0.43, 0.47))):
        assert decide(True, {"S": SHIPPED, "C9": worse})["adopt"] is None


def test_without_dev3_round_eights_conditions_decide_and_sanity_comes_first():
    better_on_dev3_only = _row(25 / 34, 0.763, 2.031, 1.2, 50 / 85)
    assert decide(False, {"S": SHIPPED, "C9": better_on_dev3_only})["adopt"] is None  # needs +1 dev question at rank 1
    assert decide(False, {"S": SHIPPED, "C9": _row(26 / 34, 0.77, 2.031, 0.5, 0.1)})["adopt"] == "C9"
    found = decide(True, {"S": _row(24 / 34, 0.763, 2.031, 1.0, 0.4), "C9": _row(30 / 34, 0.9, 2.1, 2.0, 0.9)})
    assert found["adopt"] is None and found["sanity"] is False


def test_dev3_is_usable_only_if_it_orders_and_decides_like_livqa_at_least_as_well_as_dev():
    def rows(dev, dev3):  # runs 1..20 as single-run configurations; LiveQA avgScore = run number / 100
        return [([n], n / 100, {"dev_hit1": dev(n), "dev3_avg": dev3(n)}) for n in range(1, 21)]

    assert agreement(rows(lambda n: -n, lambda n: n))["dev3_usable"]
    assert not agreement(rows(lambda n: n, lambda n: -n))["dev3_usable"]
    found = agreement(rows(lambda n: n, lambda n: n))  # ties pass
    assert found["dev3_usable"] and found["dev3_avg"]["agreements"] == 6 and found["dev_hit1"]["tau_b"] > 0.99


def test_round_10b_decides_among_round_nines_candidates_but_never_the_written_names():
    from bench_knowledge_round10b import decide as decide_b

    shipped = _row(25 / 34, 0.763, 2.031, 1.647, 48 / 85)
    same = {name: shipped for name in ("C5", "C7", "C8", "C6")}
    assert decide_b({"S": shipped, **same})["adopt"] is None
    two_more, three_more = _row(26 / 34, 0.8, 2.031, 1.7, 49 / 85), _row(26 / 34, 0.8, 2.031, 1.7, 50 / 85)
    assert decide_b({"S": shipped, **same, "C6": three_more})["adopt"] is None  # for the record only
    found = decide_b({"S": shipped, **same, "C7": two_more, "C8": three_more})
    assert found["adopt"] == "C8" and found["settings"] == {"clean_synonyms": True, "types_from": "asking"}
    assert decide_b({"S": shipped, **same, "C7": two_more, "C5": two_more})["adopt"] == "C5"
    assert decide_b({"S": _row(25 / 34, 0.763, 2.031, 1.6, 0.5), **same, "C5": three_more})["sanity"] is False

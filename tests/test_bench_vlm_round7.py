"""The round-7 adoption rule (bench/vlm_round7_decide.py, pre-registered in bench/results/vlm_round7_rule.txt):
a later checkpoint is adopted only if D-eval rises from step 100 and beats the shipped bundle by the margins, round
6's image-held-out mean does not fall too far, and the D-eval loss does not rise from step 100."""

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from vlm_round7_decide import decide  # noqa: E402

HELD_OUT = {"shipped": 47.24, "B200": 50.33, "B300": 44.0}


def _run(name, mean, loss):
    return {"name": name, "mean": mean, "loss": loss}


def test_adopts_the_best_later_checkpoint_that_passes_every_check():
    runs = [_run("shipped", 40.0, 3.0), _run("B100", 44.0, 2.0), _run("B200", 48.0, 1.9), _run("B300", 49.0, 1.8)]
    rows, chosen = decide(runs, HELD_OUT)
    assert chosen["name"] == "B200"  # B300 is better on D-eval but falls 3.24 on round 6's held-out images
    assert [ok for _, _, ok in rows] == [False, True, False]


def test_nothing_adopted_without_a_rise_from_step_100_or_when_the_loss_rises():
    flat = [_run("shipped", 40.0, 3.0), _run("B100", 46.0, 2.0), _run("B200", 48.0, 1.9)]
    assert decide(flat, HELD_OUT)[1] is None  # +2 from step 100 < 3
    up = [_run("shipped", 40.0, 3.0), _run("B100", 44.0, 2.0), _run("B200", 48.0, 2.1)]
    assert decide(up, HELD_OUT)[1] is None  # D-eval loss rose
    weak = [_run("shipped", 44.0, 3.0), _run("B100", 44.0, 2.0), _run("B200", 48.0, 1.9)]
    assert decide(weak, HELD_OUT)[1] is None  # only +4 over the shipped bundle

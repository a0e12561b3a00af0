"""bench/vlm_round9_decide.py: round 9's committed rule (bench/results/vlm_round9_rule.txt) as written, and a
missing run as one error line."""

import subprocess
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from vlm_round9_decide import decide  # noqa: E402


def _row(closed, open_):
    return {"closed": closed, "open": open_, "mean": (closed + open_) / 2}


def test_the_rule_adopts_a_candidate_only_when_all_three_parts_hold_and_prefers_answer_use():
    shipped = {"seen": _row(69.0, 18.4), "dev": _row(75.0, 19.0)}
    runs = {"S": shipped, "MA": {"seen": _row(88.0, 44.0), "dev": _row(75.0, 19.0)},
            "MP": {"seen": _row(88.0, 44.8), "dev": _row(75.0, 19.0)}}
    assert decide(runs)[0] == "MA"  # MP is better by 0.4 <= 0.5 points: the simpler answer use wins
    runs["MP"]["seen"] = _row(88.0, 46.0)
    assert decide(runs)[0] == "MP"  # better by 1.0
    runs["MP"]["seen"] = _row(66.0, 60.0)  # closed falls by 3.0 > 2.5: part (b) fails
    assert decide(runs)[0] == "MA"
    runs["MA"]["dev"] = _row(74.0, 19.0)  # train-dev mean falls by 0.5: still within (c)
    assert decide(runs)[0] == "MA"
    runs["MA"]["dev"] = _row(73.0, 19.0)  # by 1.0: (c) fails
    assert decide(runs)[0] is None


def test_a_missing_run_is_one_error_line(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "bench" / "vlm_round9_decide.py"), "--runs",
                           str(tmp_path / "r9-")], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stderr.startswith("error: ") and "r9-S-seen" in done.stderr and len(done.stderr.splitlines()) == 1

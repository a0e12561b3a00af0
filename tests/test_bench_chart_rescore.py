"""bench/chart_rescore.py: the three readings of RMS-F1 over saved predictions (aggregates only), and bad input as
one error line (bench/_common.run), not a traceback."""

import json
import subprocess
import sys

import pytest
from conftest import REPO

SCRIPT = REPO / "bench" / "chart_rescore.py"
GOLD = "TITLE |  <0x0A> Group | Before | After <0x0A> Treatment | 40 | 10 <0x0A> Control | 50 | 20"  # no title
READ = GOLD.replace("TITLE |  ", "TITLE | Papules")  # the chart's title read


def _write(folder, rows):
    (folder / "gold.jsonl").write_text(json.dumps({"image": "two_col_1.png", "table": GOLD}) + "\n")
    predictions = folder / "p.predictions.jsonl"
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return predictions


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60)


def test_a_read_title_costs_one_entry_as_is_and_nothing_when_not_scored_or_blanked(tmp_path):
    predictions = _write(tmp_path, [{"id": "two_col_1", "failed": False, "prediction": READ, "rms_f1": 0.8}])
    done = _run(predictions, "--set-dir", tmp_path)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[2:]}
    n, saved, again, untitled, blanked = rows["all"]
    assert n == "1" and float(saved) == float(again) == pytest.approx(0.8)
    assert float(untitled) == float(blanked) == 1.0
    assert rows["statista"] == rows["all"]


def test_predictions_of_another_set_or_a_missing_set_is_one_error_line(tmp_path):
    predictions = _write(tmp_path, [{"id": "other_chart", "failed": True, "prediction": "", "rms_f1": 0.0}])
    for args in ([predictions, "--set-dir", tmp_path], [predictions, "--set-dir", tmp_path / "missing"],
                 [tmp_path / "missing.jsonl", "--set-dir", tmp_path]):
        done = _run(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "'other_chart' is not in" in _run(predictions, "--set-dir", tmp_path).stderr

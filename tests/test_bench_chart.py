"""bench/bench_chart.py --opencqa: a missing OpenCQA folder or a split other than dev / report is one error line."""

import os
import subprocess
import sys

from conftest import REPO


def _run(tmp_path, *args):
    env = {**os.environ, "VMED_DATA_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, str(REPO / "bench" / "bench_chart.py"), "--opencqa", *args], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_a_missing_opencqa_folder_is_one_error_line(tmp_path):
    done = _run(tmp_path, "--split", "dev")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"error: data folder not found: {tmp_path / 'opencqa_charts_dev'} (pass "
                                                "--data-dir or set VMED_DATA_DIR to the folder holding vqa_rad/, "
                                                "medquad/, medpix2/, ...)"]
    assert "dev or report" in _run(tmp_path, "--split", "all").stderr

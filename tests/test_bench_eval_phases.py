"""bench/eval_phases.py: the engine's busy time and requests in flight, from request intervals."""

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from eval_phases import in_flight, union_seconds  # noqa: E402


def test_busy_seconds_and_requests_in_flight_count_overlaps_once_and_clip_to_the_window():
    requests = [(0.0, 2.0), (1.0, 3.0), (5.0, 9.0)]  # two overlap; the last runs past the window's end
    assert union_seconds(requests, 0.0, 6.0) == 4.0  # 0-3 and 5-6; 3-5 the engine had nothing
    assert in_flight(requests, 0.0, 6.0) == {0: 2.0, 1: 3.0, 2: 1.0}
    assert sum(in_flight(requests, 0.0, 6.0).values()) == 6.0


def _phases(tmp_path, *args):
    import subprocess

    return subprocess.run([sys.executable, str(REPO / "bench" / "eval_phases.py"), "--out", str(tmp_path / "run"),
                           *map(str, args)], capture_output=True, text=True, cwd=REPO, timeout=120)


def _one_error_line(done, *words):
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") or "error: " in lines[-1], lines
    assert all(word in done.stderr for word in words), done.stderr[-2000:]


def test_bad_input_is_one_error_line_before_anything_runs(tmp_path):
    """A bad --threads or --set, a missing --compare file, or a run that would start no engine (concurrency 1, or a
    benchmark answered by log-likelihood): one error line before the evaluation runs, not a traceback after it."""
    from conftest import shared_data

    _one_error_line(_phases(tmp_path, "--threads", "0"), "1 or more")
    _one_error_line(_phases(tmp_path, "--set", "assistant.llm.n_ctx=1"), "assistant.llm.n_ctx")
    missing = tmp_path / "old" / "phases.json"
    _one_error_line(_phases(tmp_path, "--compare", missing, "--data-dir", tmp_path / "no-data"), str(missing))
    _one_error_line(_phases(tmp_path, "--concurrency", "1", "--data-dir", tmp_path / "no-data"), "--concurrency")
    data = shared_data()
    _one_error_line(_phases(tmp_path, "--benchmark", "pubmedqa", "--limit", "1", "--data-dir", data), "log-likelihood")
    (tmp_path / "run").mkdir()
    _one_error_line(_phases(tmp_path), "exists")
    assert not any((tmp_path / "run").iterdir())

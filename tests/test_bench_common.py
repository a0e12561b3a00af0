"""bench/_common.py and what every bench script shares: --help runs, bad input is one error line."""

import subprocess
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from _common import measured_at, run  # noqa: E402

from visual_med_alpaca.errors import UserInputError  # noqa: E402

SCRIPTS = sorted(p for p in (REPO / "bench").glob("*.py") if not p.name.startswith("_"))


def test_run_reports_bad_input_as_one_error_line_and_exit_status_2(capsys):
    def main():
        raise UserInputError("no knowledge index at /x: build it with `vmed knowledge build`")

    with pytest.raises(SystemExit) as stopped:
        run(main)
    assert stopped.value.code == 2
    assert capsys.readouterr().err == "error: no knowledge index at /x: build it with `vmed knowledge build`\n"
    with pytest.raises(ZeroDivisionError):  # a bug still shows its traceback
        run(lambda: 1 / 0)
    assert " UTC, load average " in measured_at()


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_bench_script_shows_its_help(script):
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert done.returncode == 0 and "usage" in done.stdout.lower(), done.stderr[-2000:]

"""bench/_common.py and what every bench script shares: --help runs, bad input is one error line, --threads is
checked as the CLI checks it."""

import argparse
import re
import subprocess
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from _common import measured_at, run, threads  # noqa: E402

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


def test_threads_is_the_clis_check_as_an_argparse_error(capsys):
    parser = argparse.ArgumentParser(prog="bench_x.py")
    parser.add_argument("--threads", type=threads, default=2)
    assert parser.parse_args(["--threads", "3"]).threads == 3 and parser.parse_args([]).threads == 2
    for bad, message in (("0", "1 or more (not 0)"), ("-2", "1 or more (not -2)"), ("two", "a whole number, not 'two'")):
        with pytest.raises(SystemExit) as stopped:
            parser.parse_args(["--threads", bad])
        assert stopped.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("script", [p for p in SCRIPTS if '"--threads"' in p.read_text()], ids=lambda p: p.name)
def test_every_bench_scripts_threads_is_checked(script):
    """0 threads is not a silent default or a torch error deep inside a run: every script's --threads uses `threads`."""
    declared = re.findall(r'add_argument\("--threads",([^)]*)\)', script.read_text())
    assert declared and all("type=threads" in args for args in declared), declared


def test_bench_serve_reports_bad_input_through_run_before_starting_anything(tmp_path):
    missing = tmp_path / "missing.png"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "bench_serve.py"), "--image", str(missing), "--url",
                           "http://127.0.0.1:9"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 2 and done.stderr == f"error: --image {missing} not found\n", done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_bench_script_shows_its_help(script):
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert done.returncode == 0 and "usage" in done.stdout.lower(), done.stderr[-2000:]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_bench_scripts_import_the_packages_public_names_only(script):
    """docs/architecture.md: a script that reaches into a module's private names breaks silently when the module
    changes them; what a script needs is made public."""
    imported = re.findall(r"from visual_med_alpaca[\w.]* import (\([^)]*\)|[^\n]*)", script.read_text())
    names = [name.split(" as ")[0].strip(" ()\n") for group in imported for name in group.split(",")]
    assert not [name for name in names if name.startswith("_")], names

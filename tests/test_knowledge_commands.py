"""`vmed knowledge train-rqe` bad input: one error line before any training."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO


def _vmed(*args):
    return subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "knowledge", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def _one_error(result, fragment):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr


def test_an_out_that_is_a_folder_is_refused_before_training(tmp_path):
    """It trained (~1.5 CPU-minutes), then failed to save: 'cannot use FOLDER: Is a directory', the model lost."""
    _one_error(_vmed("train-rqe", "--out", tmp_path, "--data-dir", tmp_path / "none"), "is a folder")


@pytest.mark.parametrize("flag,value", [("--minutes", "0"), ("--epochs", "-1"), ("--stop-after", "-2")])
def test_cross_encoder_budgets_out_of_range_are_refused(tmp_path, flag, value):
    _one_error(_vmed("train-rqe", "--kind", "cross-encoder", flag, value, "--data-dir", tmp_path / "none"),
               "--minutes and --epochs are positive numbers")


def test_build_with_a_folder_that_is_no_encoder_is_one_error_line(tmp_path):
    _one_error(_vmed("build", "--encoder", tmp_path, "--name", tmp_path / "ix", "--data-dir", tmp_path / "none"),
               "not a sentence-encoder model folder")

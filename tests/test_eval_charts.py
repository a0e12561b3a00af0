"""`vmed eval charts` (eval/charts.py): bad output paths are refused before any chart is read."""

from __future__ import annotations

import json

import pytest

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.eval.charts import evaluate_chart_set


class NeverCalled:
    def describe(self, image):
        raise AssertionError("a chart was read before the output path was checked")


def _set(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "gold.jsonl").write_text(json.dumps({"image": "images/a.png", "table": "A | B <0x0A> x | 1"}) + "\n")
    return folder


def test_an_out_that_is_a_folder_or_under_a_file_fails_before_the_charts_are_read(tmp_path):
    """It failed after reading every chart (minutes on a large set), the work lost."""
    folder = _set(tmp_path)
    with pytest.raises(UserInputError, match="is a folder"):
        evaluate_chart_set(folder, out=tmp_path, progress=False, expert=NeverCalled())
    (tmp_path / "file").write_text("")
    with pytest.raises((FileExistsError, NotADirectoryError)):  # the CLI says "cannot use PATH: ..."
        evaluate_chart_set(folder, out=tmp_path / "file" / "m.json", progress=False, expert=NeverCalled())

"""data/sources/opencqa.py: OpenCQA's chart folder (pictures, titles, printed text boxes) on a tiny copy."""

from __future__ import annotations

import json

import pytest

from visual_med_alpaca.data.sources.opencqa import read_opencqa
from visual_med_alpaca.errors import UserInputError


def make_opencqa(root, charts: dict[str, tuple[str, list]]):
    """A data folder with opencqa_charts_dev/: {id: (title, [(sentence, box), ...])}, blank pictures."""
    from PIL import Image

    folder = root / "opencqa_charts_dev"
    (folder / "bboxes").mkdir(parents=True)
    (folder / "chart_images").mkdir()
    index = {}
    for chart_id, (title, boxes) in charts.items():
        index[chart_id] = [f"{chart_id}.png", title, "summary", "question", "answer", "extract"]
        Image.new("RGB", (64, 48), "white").save(folder / "chart_images" / f"{chart_id}.png")
        (folder / "bboxes" / f"{chart_id}.json").write_text(
            json.dumps([{"sentence": s, "bounding_box": list(b)} for s, b in boxes]))
    (folder / "dev.json").write_text(json.dumps(index))
    return folder


def test_reads_id_picture_title_and_boxes(tmp_path):
    make_opencqa(tmp_path, {"7": ("Views of X", [("30  30 ", (1, 2, 40, 12)), ("Rep ", (0, 20, 10, 30))])})
    [chart] = read_opencqa(tmp_path)
    assert chart.id == "7" and chart.title == "Views of X" and chart.image.is_file()
    assert [(b.text, b.box) for b in chart.boxes] == [("30 30", (1.0, 2.0, 40.0, 12.0)), ("Rep", (0.0, 20.0, 10.0, 30.0))]


def test_the_data_folder_comes_from_the_environment(tmp_path, monkeypatch):
    make_opencqa(tmp_path, {"1": ("T", [])})
    monkeypatch.setenv("VMED_DATA_DIR", str(tmp_path))
    assert [c.id for c in read_opencqa()] == ["1"]


def test_a_missing_folder_or_box_file_is_one_error_naming_it(tmp_path):
    with pytest.raises(UserInputError, match="data folder not found: .*opencqa_charts_dev"):
        read_opencqa(tmp_path)
    folder = make_opencqa(tmp_path, {"1": ("T", [])})
    (folder / "bboxes" / "1.json").unlink()
    with pytest.raises(UserInputError, match="text boxes not found: .*1.json"):
        read_opencqa(tmp_path)

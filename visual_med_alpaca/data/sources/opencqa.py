"""OpenCQA's Pew Research charts (`opencqa_charts_dev/`): the one reader of that folder, for the chart expert's
real-chart development signal (eval/charts.py `evaluate_printed_set`, bench/chart_candidates.py's `opencqa` set).

The folder holds `chart_images/<id>.png`, `dev.json` (`{id: [image file, title, summary, question, abstractive
answer, extractive answer]}`) and `bboxes/<id>.json` (`[{"sentence": ..., "bounding_box": [x0, y0, x1, y1]}]`:
the OCR text and box of everything printed in the chart). There is no data table: the printed text is the only
(partial) gold. The router's training pictures list the same images by glob (train/router.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ...errors import UserInputError
from ...paths import data_dir

FOLDER = "opencqa_charts_dev"


@dataclass(frozen=True)
class PrintedBox:
    text: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in the picture's pixels


@dataclass(frozen=True)
class PrintedChart:
    """One chart: its id, picture, title and printed text boxes."""

    id: str
    image: Path
    title: str
    boxes: tuple[PrintedBox, ...]


def opencqa_dir(explicit: str | Path | None = None) -> Path:
    """The OpenCQA folder under the data folder (--data-dir > $VMED_DATA_DIR > ../shared/data); a missing one is
    one UserInputError."""
    return data_dir(explicit, FOLDER) / FOLDER


def read_opencqa(explicit: str | Path | None = None) -> list[PrintedChart]:
    """Every chart of the folder, in dev.json's order; a missing folder, dev.json or box file is one error line."""
    root = opencqa_dir(explicit)
    index = root / "dev.json"
    if not index.is_file():
        raise UserInputError(f"OpenCQA index not found: {index}")
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserInputError(f"{index} is not valid JSON: {exc}") from None
    charts = []
    for chart_id, entry in entries.items():
        boxes_file = root / "bboxes" / f"{chart_id}.json"
        if not boxes_file.is_file():
            raise UserInputError(f"OpenCQA text boxes not found: {boxes_file}")
        boxes = tuple(PrintedBox(" ".join(str(b["sentence"]).split()), tuple(float(v) for v in b["bounding_box"]))
                      for b in json.loads(boxes_file.read_text(encoding="utf-8")))
        charts.append(PrintedChart(str(chart_id), root / "chart_images" / entry[0], str(entry[1]), boxes))
    return charts

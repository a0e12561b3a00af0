"""MedQA-style JSONL (USMLE questions): the question becomes the instruction, the lettered options the
input and "C: <answer>" the output, as in the Visual Med-Alpaca sample."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ...errors import UserInputError
from ..store import jsonl_rows
from . import make_record


class MedQA:
    name = "medqa"
    default_path = "medqa/train.jsonl"

    def read(self, path: Path) -> Iterator[dict]:
        files = sorted(Path(path).glob("*.jsonl")) if Path(path).is_dir() else [Path(path)]
        if not files:  # was "medqa: 0 records read", exit 0
            raise UserInputError(f"{path} is a folder without MedQA .jsonl files")
        for file in files:
            for number, item in jsonl_rows(file, torn_tail_ok=False):  # file line numbers: ids and errors
                options = item.get("options") if isinstance(item, dict) else None
                if options is None or "question" not in item:
                    raise UserInputError(f"{file}:{number} is not a MedQA record with 'question' and 'options'")
                if isinstance(options, list):  # some dumps list options as [{"key": "A", "value": ...}]
                    options = {o["key"]: o["value"] for o in options}
                letter = item.get("answer_idx", "")
                answer = item.get("answer") or options.get(letter, "")
                yield make_record(
                    self.name, str(item.get("id", f"{file.stem}-{number}")), item["question"],
                    input="\n".join(f"{key}: {value}" for key, value in options.items()),
                    output=f"{letter}: {answer}" if letter else answer, topic=item.get("meta_info", ""),
                )

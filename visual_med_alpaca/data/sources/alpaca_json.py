"""Alpaca-format JSON lists (`instruction`, `input`, `output`): Medical Meadow and ChatDoctor GenMedGPT-5k."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from ...errors import UserInputError
from . import make_record


def alpaca_list(path: Path, text: str | None = None) -> list:
    """The items of an Alpaca JSON file (a JSON list; `text`: its text, when already read); a cut-short file or one
    that is not a list is one UserInputError naming it. The one reader of Alpaca JSON (these sources, and
    `vmed train`'s data in train/sft.py)."""
    try:
        items = json.loads(Path(path).read_text(encoding="utf-8") if text is None else text)
    except json.JSONDecodeError as exc:
        raise UserInputError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise UserInputError(f"{path}: expected a JSON list of Alpaca records")
    return items


class AlpacaJSON:
    name = "alpaca"
    default_path = ""
    topic = ""

    def read(self, path: Path) -> Iterator[dict]:
        for index, item in enumerate(alpaca_list(path)):
            yield make_record(self.name, str(index), item.get("instruction", ""), input=item.get("input", ""),
                              output=item.get("output", ""), topic=self.topic)


class MedicalMeadow(AlpacaJSON):
    name = "medical_meadow"
    default_path = "medical_meadow/medical_meadow_small.json"
    topic = "wikidoc"


class ChatDoctor(AlpacaJSON):
    name = "chatdoctor"
    default_path = "chatdoctor_genmedgpt5k/chatdoctor5k.json"
    topic = "dialogue"

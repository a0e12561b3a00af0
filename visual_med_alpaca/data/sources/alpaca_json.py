"""Alpaca-format JSON lists (`instruction`, `input`, `output`): Medical Meadow and ChatDoctor GenMedGPT-5k."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from ...errors import UserInputError
from . import make_record


class AlpacaJSON:
    name = "alpaca"
    default_path = ""
    topic = ""

    def read(self, path: Path) -> Iterator[dict]:
        items = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(items, list):
            raise UserInputError(f"{path}: expected a JSON list of Alpaca records")
        for index, item in enumerate(items):
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

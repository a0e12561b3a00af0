"""PubMedQA PQA-L (`pubmedqa/` in the data folder: `ori_pqal.json`, 1,000 PMIDs, and `test_ground_truth.json`, the
official 500 test PMIDs with their labels): the one reader of its files. `PubMedQA` (an instruction source) reads the
other 500, never a test PMID; `pubmedqa_test` reads the 500 test items for the `pubmedqa` benchmark
(`eval/benchmarks/text.py`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from ...errors import UserInputError
from . import make_record, need

FOLDER = "pubmedqa"  # inside the data folder
DATA_FILE = "ori_pqal.json"
TEST_FILE = "test_ground_truth.json"


def _json(path: Path, what: str) -> dict:
    data = json.loads(need(path, what).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise UserInputError(f"{path} is not a PubMedQA file (a JSON object keyed by PMID)")
    return data


def pubmedqa_test(root: str | Path) -> list[tuple[str, str, dict]]:
    """(PMID, label yes/no/maybe, its PQA-L record: QUESTION, CONTEXTS, LONG_ANSWER, ...) of the 500 official
    test PMIDs, in the order of the test file."""
    folder = need(Path(root) / FOLDER, "PubMedQA folder")
    truth = _json(folder / TEST_FILE, "PubMedQA test labels")
    records = _json(folder / DATA_FILE, "PubMedQA PQA-L file")
    missing = [pmid for pmid in truth if pmid not in records]
    if missing:
        raise UserInputError(f"{len(missing)} PubMedQA test PMIDs are not in {folder / DATA_FILE} (first: {missing[0]})")
    return [(pmid, label, records[pmid]) for pmid, label in truth.items()]


class PubMedQA:
    name = "pubmedqa"
    default_path = FOLDER

    def read(self, path: Path) -> Iterator[dict]:
        path = Path(path)
        data_file = path / DATA_FILE if path.is_dir() else path
        test_file = data_file.with_name(TEST_FILE)
        if not test_file.is_file():
            raise UserInputError(f"{test_file} is missing: refusing to read PubMedQA without the test PMIDs to exclude")
        test_pmids = set(_json(test_file, "PubMedQA test labels"))
        for pmid, item in _json(data_file, "PubMedQA PQA-L file").items():
            if pmid in test_pmids:
                continue
            decision = item.get("final_decision", "")
            yield make_record(
                self.name, pmid, item["QUESTION"], input="\n".join(item.get("CONTEXTS", [])),
                output=f"{decision.capitalize()}. {item.get('LONG_ANSWER', '')}".strip(),
                topic=(item.get("MESHES") or ["research"])[0],
            )

"""PubMedQA PQA-L (`ori_pqal.json`) minus the 500 official test PMIDs, which must never reach training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from ...errors import UserInputError
from . import make_record


class PubMedQA:
    name = "pubmedqa"
    default_path = "pubmedqa"
    instruction_prefix = "Answer the research question from the abstract (yes, no or maybe), then explain."

    def read(self, path: Path) -> Iterator[dict]:
        path = Path(path)
        data_file = path / "ori_pqal.json" if path.is_dir() else path
        test_file = data_file.with_name("test_ground_truth.json")
        if not test_file.is_file():
            raise UserInputError(f"{test_file} is missing: refusing to read PubMedQA without the test PMIDs to exclude")
        test_pmids = set(json.loads(test_file.read_text()))
        for pmid, item in json.loads(data_file.read_text()).items():
            if pmid in test_pmids:
                continue
            decision = item.get("final_decision", "")
            yield make_record(
                self.name, pmid, item["QUESTION"], input="\n".join(item.get("CONTEXTS", [])),
                output=f"{decision.capitalize()}. {item.get('LONG_ANSWER', '')}".strip(),
                topic=(item.get("MESHES") or ["research"])[0],
            )

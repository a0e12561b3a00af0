"""MedQuAD: NIH consumer-health question–answer pairs, one XML document per topic."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

from . import make_record


class MedQuAD:
    name = "medquad"
    default_path = "medquad"

    def read(self, path: Path) -> Iterator[dict]:
        for xml_file in sorted(Path(path).glob("*/*.xml")):
            root = ET.parse(xml_file).getroot()
            for pair in root.iter("QAPair"):
                question, answer = pair.find("Question"), pair.find("Answer")
                if question is None or answer is None or not (answer.text or "").strip():
                    continue  # three MedlinePlus folders ship questions only (copyright)
                text = "\n".join(line.strip() for line in answer.text.strip().splitlines() if line.strip())
                # qids repeat across collections and files, so the id is collection / file / pair number
                collection = xml_file.parent.name.split("_")[1].lower()
                yield make_record(self.name, f"{collection}-{xml_file.stem}-{pair.get('pid')}", question.text or "", output=text,
                                  topic=question.get("qtype", ""))

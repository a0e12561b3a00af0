"""Source readers: one small class per native format, all behind the `Source` protocol.

Each reader yields instruction records `{id, source, instruction, input, output, topic}`; `id` is
`<source>:<native id>` so every record can be traced back, and `output` is the source's own expert answer
("" when there is none and `synthesize` must write one). Paths are relative to the data folder
(`paths.data_dir`: --data-dir > $VMED_DATA_DIR > ../shared/data) and can be set per source.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator, Protocol

from ...errors import UserInputError
from ...registry import load_class


def xml_root(path: Path) -> ET.Element:
    """The root element of an XML file; a cut-short or non-XML file is one UserInputError naming it."""
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise UserInputError(f"{path} is not valid XML: {exc}") from None


def make_record(source: str, native_id: str, instruction: str, input: str = "", output: str = "",
                topic: str = "") -> dict:
    return {"id": f"{source}:{native_id}", "source": source, "instruction": " ".join(instruction.split()),
            "input": input.strip(), "output": output.strip(), "topic": topic}


class Source(Protocol):
    """A reader for one data set in its native format."""

    name: str
    default_path: str  # relative to the data root

    def read(self, path: Path) -> Iterator[dict]: ...


# name -> "module:Class"; a new source is one new file plus one line here.
SOURCES: dict[str, str] = {
    "medquad": "visual_med_alpaca.data.sources.medquad:MedQuAD",
    "mediqa_rqe": "visual_med_alpaca.data.sources.mediqa:MediqaRQE",
    "mediqa_qa": "visual_med_alpaca.data.sources.mediqa:MediqaQA",
    "pubmedqa": "visual_med_alpaca.data.sources.pubmedqa:PubMedQA",
    "medical_meadow": "visual_med_alpaca.data.sources.alpaca_json:MedicalMeadow",
    "chatdoctor": "visual_med_alpaca.data.sources.alpaca_json:ChatDoctor",
    "medqa": "visual_med_alpaca.data.sources.medqa:MedQA",
}


def load_source(name: str) -> Source:
    return load_class(SOURCES, name, "source")()

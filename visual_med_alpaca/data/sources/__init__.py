"""Source readers: one small class per native format, all behind the `Source` protocol.

Each reader yields instruction records `{id, source, instruction, input, output, topic}`; `id` is
`<source>:<native id>` so every record can be traced back, and `output` is the source's own expert answer
("" when there is none and `synthesize` must write one). Paths are relative to the data folder
(`paths.data_dir`: --data-dir > $VMED_DATA_DIR > ../shared/data) and can be set per source.

The medical VQA sets (`vqa_rad.py`, `pathvqa.py`, `slake.py`) are not instruction sources: their readers
return `Item`s (question, reference answer, image), which VLM training, the radiology heads and the
evaluation benchmarks all read; MedPix (`medpix.py`) returns its own description records. The text QA sets'
readers (`pubmedqa.py`, `mediqa.py`) also read the test files the text benchmarks score (`pubmedqa_test`, `rqe_test`,
`qa_test`), which their instruction readers leave out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol

from ...errors import UserInputError
from ...registry import load_class


def xml_root(path: Path) -> ET.Element:
    """The root element of an XML file; a cut-short or non-XML file is one UserInputError naming it."""
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise UserInputError(f"{path} is not valid XML: {exc}") from None


def need(path: Path, what: str) -> Path:
    """`path`, or one UserInputError "<what> not found: <path>" when it is absent."""
    if not path.exists():
        raise UserInputError(f"{what} not found: {path}")
    return path


@dataclass
class Item:
    """One question with its reference answer: what the VQA readers and every benchmark loader return (`id` is
    stable: the evaluation's resume key). `kind`: closed / open (VQA), choice (pick one of `options`),
    rank (MEDIQA QA answer)."""

    id: str
    question: str  # the full instruction given to the model (PubMedQA: question + abstract)
    reference: str
    kind: str
    image: Path | None = None
    options: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


def vqa_items(rows: list[dict], images: Path) -> list[Item]:
    """`Item`s of VQA rows in the HF dump format VQA-RAD and PathVQA share (id, image, question, answer,
    answer_type CLOSED/OPEN; question_type and image_organ kept as meta); an unknown answer_type is an error."""
    items = []
    for row in rows:
        kind = row["answer_type"].strip().lower()
        if kind not in ("closed", "open"):
            raise UserInputError(f"{row['id']}: unknown answer_type {row['answer_type']!r}")
        items.append(Item(row["id"], row["question"], str(row["answer"]), kind, images / row["image"],
                          meta={k: row[k] for k in ("question_type", "image_organ") if k in row}))
    return items


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

"""The medical QA mix for the default model's adapter (`vmed train medical-data`), read through the
`data/sources` readers (one reader per source) and shaped for a 270M model.

Questions become the instruction (with no input), exactly as a user asks `vmed ask`; PubMedQA keeps its
abstract as the input. Answers are cut at a sentence boundary so a 270M model learns short, complete answers
that end with EOS. Held out: whole MedQuAD documents (by hash) and the MEDIQA QA validation answers.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from ..data.sources import load_source
from ..data.split import in_held_out

SOURCES = ("medquad", "mediqa_qa", "pubmedqa", "medical_meadow", "chatdoctor")


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def cut_answer(text: str, max_chars: int) -> str:
    """The answer up to the last full sentence within max_chars (whole text if it already fits)."""
    text = _clean(text)
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    end = max(head.rfind(". "), head.rfind("? "), head.rfind("! "))
    return head[: end + 1] if end > max_chars // 3 else head.rsplit(" ", 1)[0] + "."


def _medquad_document(record: dict) -> str:
    """The XML file name of a MedQuAD record (its id is medquad:<collection>-<file stem>-<pair number>)."""
    return record["id"].split(":", 1)[1].split("-", 1)[1].rsplit("-", 1)[0] + ".xml"


def medquad(root: Path, max_chars: int, heldout_fraction: float):
    """(train, held-out) QA pairs; a whole XML document goes to one side so no answer leaks across."""
    train, held = [], []
    for record in load_source("medquad").read(root):
        if record["instruction"] and record["output"]:
            side = held if in_held_out(_medquad_document(record), heldout_fraction) else train
            side.append({"instruction": record["instruction"], "input": "",
                         "output": cut_answer(record["output"], max_chars), "source": "medquad"})
    return train, held


def mediqa_qa(root: Path, max_chars: int, split: str = "trainingset"):
    """Answers judged correct (ReferenceScore 3-4) as question -> answer pairs, from the files of one split
    (trainingset* for training, validationset for the held-out answers)."""
    return [{"instruction": r["instruction"], "input": "", "source": "mediqa_qa",
             "output": cut_answer(r["output"], max_chars)}
            for r in load_source("mediqa_qa").read(root)
            if r["id"].split(":", 1)[1].startswith(split) and r["output"]]


def pubmedqa_train(root: Path, max_chars: int, max_context_chars: int):
    """The 500 non-test PQA-L items (the reader refuses to run without the test PMIDs to leave out)."""
    return [{"instruction": f"{r['instruction']} Answer yes, no or maybe.",
             "input": cut_answer(r["input"], max_context_chars), "output": cut_answer(r["output"], max_chars),
             "source": "pubmedqa", "id": r["id"].split(":", 1)[1]}
            for r in load_source("pubmedqa").read(root)]


def alpaca_questions(path: Path, source: str, max_chars: int):
    """Medical Meadow / ChatDoctor: the question (their `input`) becomes our instruction."""
    out = []
    for item in load_source(source).read(path):
        question = _clean(item["input"] or item["instruction"])
        if question and item["output"]:
            out.append({"instruction": question, "input": "", "output": cut_answer(item["output"], max_chars),
                        "source": source})
    return out


def build(shared: Path, counts: dict[str, int], *, max_chars: int = 700, max_context_chars: int = 600,
          heldout_fraction: float = 0.05, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(train mix, held-out reference answers). counts caps each source (sampled with the seed)."""
    def where(name: str) -> Path:
        return shared / load_source(name).default_path

    mq_train, mq_held = medquad(where("medquad"), max_chars, heldout_fraction)
    pools = {
        "medquad": mq_train,
        "mediqa_qa": mediqa_qa(where("mediqa_qa"), max_chars, "trainingset"),
        "pubmedqa": pubmedqa_train(where("pubmedqa"), max_chars, max_context_chars),
        "medical_meadow": alpaca_questions(where("medical_meadow"), "medical_meadow", max_chars),
        "chatdoctor": alpaca_questions(where("chatdoctor"), "chatdoctor", max_chars),
    }
    rng = random.Random(seed)
    train = []
    for name in SOURCES:
        pool = pools[name]
        rng.shuffle(pool)
        train.extend(pool[: counts.get(name, len(pool))])
    rng.shuffle(train)
    held = mq_held + mediqa_qa(where("mediqa_qa"), max_chars, "validationset")
    held_questions = {r["instruction"].lower() for r in held}
    train = [r for r in train if r["instruction"].lower() not in held_questions]
    return train, held


def write_jsonl(records: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

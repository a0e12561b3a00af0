"""Direct conversion of the shared medical QA sources into Alpaca records for the default model's adapter.

Stands in until the data-pipeline concern exports its instruction set. Questions become the instruction
(with no input), exactly as a user asks `vmed ask`; PubMedQA keeps its abstract as the input. Answers are cut at
a sentence boundary so a 270M model learns short, complete answers that end with EOS.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path

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


def _held_out(key: str, fraction: float) -> bool:
    """Stable split by a hash of a document key, so held-out items never depend on run order."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < fraction


def medquad(root: Path, max_chars: int, heldout_fraction: float):
    """(train, held-out) QA pairs; a whole XML document goes to one side so no answer leaks across."""
    train, held = [], []
    for xml in sorted(root.glob("*_QA*/*.xml")):
        try:
            doc = ET.parse(xml).getroot()
        except ET.ParseError:
            continue
        side = held if _held_out(xml.name, heldout_fraction) else train
        for pair in doc.iter("QAPair"):
            q, a = pair.findtext("Question"), pair.findtext("Answer")
            if q and a and a.strip():
                side.append({"instruction": _clean(q), "input": "", "output": cut_answer(a, max_chars),
                             "source": "medquad"})
    return train, held


def mediqa_qa(files: list[Path], max_chars: int, min_score: int = 3):
    """Answers judged correct (ReferenceScore 3-4) as question -> answer pairs."""
    out = []
    for path in files:
        for question in ET.parse(path).getroot().iter("Question"):
            text = _clean(question.findtext("QuestionText"))
            for answer in question.iter("Answer"):
                if int(answer.get("ReferenceScore", 0)) >= min_score and answer.findtext("AnswerText"):
                    out.append({"instruction": text, "input": "", "source": "mediqa_qa",
                                "output": cut_answer(answer.findtext("AnswerText"), max_chars)})
    return out


def pubmedqa_prompt(item: dict, max_context_chars: int) -> tuple[str, str]:
    """(instruction, input) for a PubMedQA training item (the evaluation uses the harness's own prompt)."""
    contexts = item["CONTEXTS"]
    if isinstance(contexts, str):
        import ast

        contexts = ast.literal_eval(contexts)
    context = cut_answer(" ".join(contexts), max_context_chars)
    return f"{item['QUESTION']} Answer yes, no or maybe.", context


def pubmedqa_train(ori: Path, test_ids: Path, max_chars: int, max_context_chars: int):
    """The 500 non-test PQA-L items; refuses to run if any test PMID would leak into training."""
    data = json.loads(ori.read_text())
    test = set(json.loads(test_ids.read_text()))
    assert len(test) == 500 and test <= set(data), "unexpected PubMedQA test split"
    out = []
    for pmid, item in data.items():
        if pmid in test:
            continue
        instruction, context = pubmedqa_prompt(item, max_context_chars)
        answer = f"{item['final_decision'].capitalize()}. {item['LONG_ANSWER']}"
        out.append({"instruction": instruction, "input": context, "output": cut_answer(answer, max_chars),
                    "source": "pubmedqa", "id": pmid})
    assert not test & {r["id"] for r in out}
    return out


def alpaca_questions(path: Path, source: str, max_chars: int):
    """Medical Meadow / ChatDoctor: the question (their `input`) becomes our instruction."""
    out = []
    for item in json.loads(path.read_text()):
        question = _clean(item.get("input") or item.get("instruction"))
        if question and item.get("output"):
            out.append({"instruction": question, "input": "", "output": cut_answer(item["output"], max_chars),
                        "source": source})
    return out


def build(shared: Path, counts: dict[str, int], *, max_chars: int = 700, max_context_chars: int = 600,
          heldout_fraction: float = 0.05, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(train mix, held-out reference answers). counts caps each source (sampled with the seed)."""
    mediqa = shared / "mediqa2019" / "MEDIQA_Task3_QA"
    mq_train, mq_held = medquad(shared / "medquad", max_chars, heldout_fraction)
    pools = {
        "medquad": mq_train,
        "mediqa_qa": mediqa_qa(sorted(mediqa.glob("*TrainingSet*.xml")), max_chars),
        "pubmedqa": pubmedqa_train(shared / "pubmedqa" / "ori_pqal.json",
                                   shared / "pubmedqa" / "test_ground_truth.json", max_chars, max_context_chars),
        "medical_meadow": alpaca_questions(shared / "medical_meadow" / "medical_meadow_small.json",
                                           "medical_meadow", max_chars),
        "chatdoctor": alpaca_questions(shared / "chatdoctor_genmedgpt5k" / "chatdoctor5k.json", "chatdoctor",
                                       max_chars),
    }
    rng = random.Random(seed)
    train = []
    for name in SOURCES:
        pool = pools[name]
        rng.shuffle(pool)
        train.extend(pool[: counts.get(name, len(pool))])
    rng.shuffle(train)
    held = mq_held + mediqa_qa(sorted(mediqa.glob("*ValidationSet*.xml")), max_chars)
    held_questions = {r["instruction"].lower() for r in held}
    train = [r for r in train if r["instruction"].lower() not in held_questions]
    return train, held


def write_jsonl(records: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

"""MEDIQA 2019 (train and validation files only; the test sets stay out of training).

RQE: consumer question / FAQ pairs labelled entailed or not become yes/no instructions.
QA: answers that experts scored 3–4 ("correct") become question → answer pairs.

Never training data: the 104 TREC LiveQA'17 medical questions (QA `TrainingSet1-LiveQAMed.xml`, the knowledge
benchmark of `knowledge/evaluate.py`). That file is not read, and copies of its questions elsewhere (RQE and QA
validation files, some with a typo fixed) are dropped; both readers refuse to run without the file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

from ...errors import UserInputError
from ..split import near_copies
from . import make_record, xml_root

TRAIN_FILES = ("*TrainingSet*.xml", "*ValidationSet*.xml")
LIVEQA_FILE = "MEDIQA2019-Task3-QA-TrainingSet1-LiveQAMed.xml"  # in MEDIQA_Task3_QA/: a benchmark, never trained on

RQE_INSTRUCTION = (
    "Does answering Question B also answer Question A, at least partly? That is, does Question A entail "
    "Question B? Answer yes or no."
)


def _split_tag(path: Path) -> str:
    """'MEDIQA2019-Task3-QA-TrainingSet1-LiveQAMed.xml' -> 'trainingset1'."""
    match = re.search(r"(TrainingSet\d*|ValidationSet)", path.name)
    return match.group(1).lower() if match else path.stem.lower()


def _files(path: Path) -> list[Path]:
    return sorted({f for pattern in TRAIN_FILES for f in Path(path).glob(pattern) if f.name != LIVEQA_FILE})


def liveqa_questions(task3_dir: Path) -> list[tuple[str, str]]:
    """(QID, question as the user wrote it: subject + message) of the 104 TREC LiveQA'17 medical questions."""
    return list(_liveqa(*_stamp(task3_dir)))


def is_liveqa(task3_dir: Path) -> Callable[[str], bool]:
    """A test: is this text one of the LiveQA'17 benchmark questions (or a near copy)? The file is parsed and
    the test built once per process (per file version), however many readers and calls ask for it."""
    return _liveqa_test(*_stamp(task3_dir))


def _stamp(task3_dir: Path) -> tuple[str, int, int]:
    """The LiveQA file's resolved path, modification time and size: the cache key (an edited file is re-read)."""
    path = Path(task3_dir) / LIVEQA_FILE
    if not path.is_file():
        raise UserInputError(f"the TREC LiveQA'17 questions ({path}) are needed to keep them out of training "
                             "and out of the development set; not found")
    stat = path.stat()
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=4)
def _liveqa(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, str], ...]:
    return tuple(MediqaQA.questions(Path(path)))


@lru_cache(maxsize=4)
def _liveqa_test(path: str, mtime_ns: int, size: int) -> Callable[[str], bool]:
    return near_copies(text for _, text in _liveqa(path, mtime_ns, size))


class MediqaRQE:
    name = "mediqa_rqe"
    default_path = "mediqa2019/MEDIQA_Task2_RQE"

    @staticmethod
    def pairs(xml_file: Path) -> Iterator[tuple[str, str, str, bool]]:
        """(pair id, consumer question, FAQ, entailed) for every pair of one file, whatever its split."""
        for pair in xml_root(xml_file).iter("pair"):
            yield (pair.get("pid", ""), " ".join((pair.findtext("chq") or "").split()),
                   " ".join((pair.findtext("faq") or "").split()), pair.get("value", "").lower() == "true")

    def read(self, path: Path) -> Iterator[dict]:
        benchmark = is_liveqa(Path(path).parent / "MEDIQA_Task3_QA")
        for xml_file in _files(path):
            for pid, chq, faq, entailed in self.pairs(xml_file):
                if benchmark(chq) or benchmark(faq):
                    continue
                answer = ("Yes. An answer to Question B would also answer Question A." if entailed
                          else "No. Question B asks about something else than Question A.")
                yield make_record(self.name, f"{_split_tag(xml_file)}-{pid}", RQE_INSTRUCTION,
                                  input=f"Question A: {chq}\nQuestion B: {faq}", output=answer,
                                  topic="entailment")


class MediqaQA:
    name = "mediqa_qa"
    default_path = "mediqa2019/MEDIQA_Task3_QA"
    min_score = 3  # ReferenceScore 3-4 = correct answer (Task3 README)

    @staticmethod
    def questions(xml_file: Path) -> Iterator[tuple[str, str]]:
        """(QID, question text as the user wrote it) for every question of one file, whatever its split."""
        for question in xml_root(xml_file).iter("Question"):
            yield question.get("QID", ""), " ".join((question.findtext("QuestionText") or "").split())

    @staticmethod
    def answered(xml_file: Path) -> Iterator[tuple[str, str, list[tuple[str, str, int, str]]]]:
        """(QID, question text, [(answer id, AnswerURL, ReferenceScore 1-4 or 0 when absent, answer text)]) for
        every question of one file, whatever its split."""
        for question in xml_root(xml_file).iter("Question"):
            answers = []
            for answer in question.iter("Answer"):
                score = answer.get("ReferenceScore", "0")
                answers.append((answer.get("AID", ""), (answer.findtext("AnswerURL") or "").strip(),
                                int(score) if score.isdigit() else 0, answer.findtext("AnswerText") or ""))
            yield question.get("QID", ""), " ".join((question.findtext("QuestionText") or "").split()), answers

    def read(self, path: Path) -> Iterator[dict]:
        benchmark = is_liveqa(path)
        for xml_file in _files(path):
            for _, text, answers in self.answered(xml_file):
                if benchmark(text):
                    continue
                for aid, _, score, answer in answers:
                    if score < self.min_score:
                        continue
                    yield make_record(self.name, f"{_split_tag(xml_file)}-{aid}", text, output=answer,
                                      topic="consumer-qa")

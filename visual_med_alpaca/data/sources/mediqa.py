"""MEDIQA 2019 RQE (task 2) and QA (task 3): the one reader of their XML files (`xml_pairs`, `xml_questions`).

Instruction sources (train and validation files only; the test sets stay out of training):
RQE: consumer question / FAQ pairs labelled entailed or not become yes/no instructions.
QA: answers that experts scored 3–4 ("correct") become question → answer pairs.
The test sets (`rqe_test`, `qa_test`) are read for the `mediqa-rqe` and `mediqa-qa` benchmarks
(`eval/benchmarks/text.py`); the knowledge stage (its RQE training pairs, its development sets) reads the files it
names through `MediqaRQE.pairs` and `MediqaQA.answered`.

Never training data: the 104 TREC LiveQA'17 medical questions (QA `TrainingSet1-LiveQAMed.xml`, the knowledge
benchmark of `knowledge/evaluate.py`). That file is not read, and copies of its questions elsewhere (RQE and QA
validation files, some with a typo fixed) are dropped; both readers refuse to run without the file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

from ...errors import UserInputError
from ..split import near_copies
from . import make_record, need, xml_root

TRAIN_FILES = ("*TrainingSet*.xml", "*ValidationSet*.xml")
LIVEQA_FILE = "MEDIQA2019-Task3-QA-TrainingSet1-LiveQAMed.xml"  # in MEDIQA_Task3_QA/: a benchmark, never trained on
RQE_FOLDER = "mediqa2019/MEDIQA_Task2_RQE"  # inside the data folder
QA_FOLDER = "mediqa2019/MEDIQA_Task3_QA"
RQE_TEST_FILE = "MEDIQA2019-Task2-RQE-TestSet-wLabels.xml"  # in RQE_FOLDER: the mediqa-rqe benchmark
RQE_TRAIN_FILE = "MEDIQA2019-Task2-RQE-TrainingSet-AMIA2016.xml"  # in RQE_FOLDER: the knowledge RQE model's training
RQE_VALIDATION_FILE = "MEDIQA2019-Task2-RQE-ValidationSet-AMIA2016.xml"  # in RQE_FOLDER: its C; a knowledge dev set
QA_TEST_FILE = "MEDIQA2019-Task3-QA-TestSet-wLabels.xml"  # in QA_FOLDER: the mediqa-qa benchmark


class Pair(NamedTuple):
    """One RQE pair as the file has it: `chq` and `faq` as written, `value` the label attribute (true / false)."""

    pid: str
    chq: str
    faq: str
    value: str


class Answer(NamedTuple):
    """One Task 3 answer as the file has it (the attributes as written, "" when absent)."""

    aid: str
    url: str
    reference_score: str  # 1-4; 3-4 = a correct answer
    reference_rank: str
    text: str


class Question(NamedTuple):
    qid: str
    text: str  # as written
    answers: tuple[Answer, ...]


def xml_pairs(xml_file: Path) -> Iterator[Pair]:
    """Every `<pair>` of an RQE file, whatever its split."""
    for pair in xml_root(xml_file).iter("pair"):
        yield Pair(pair.get("pid", ""), pair.findtext("chq") or "", pair.findtext("faq") or "", pair.get("value", ""))


def xml_questions(xml_file: Path) -> Iterator[Question]:
    """Every `<Question>` of a Task 3 file with its answers in file order, whatever its split."""
    for question in xml_root(xml_file).iter("Question"):
        answers = tuple(Answer(answer.get("AID", ""), answer.findtext("AnswerURL") or "",
                               answer.get("ReferenceScore", ""), answer.get("ReferenceRank", ""),
                               answer.findtext("AnswerText") or "")
                        for answer in question.iter("Answer"))
        yield Question(question.get("QID", ""), question.findtext("QuestionText") or "", answers)


def _words(text: str) -> str:
    return " ".join(text.split())


def rqe_test(root: str | Path) -> list[tuple[str, str, str, bool]]:
    """(pair id, consumer question, FAQ, entailed) of the RQE test file (230 pairs), texts as written (stripped); a
    pair without an id or a true/false label is an error."""
    path = need(Path(root) / RQE_FOLDER / RQE_TEST_FILE, "MEDIQA RQE test")
    pairs = []
    for pair in xml_pairs(path):
        if not pair.pid or pair.value.lower() not in ("true", "false"):
            raise UserInputError(f"{path}: pair {pair.pid or '(no pid)'} has no true/false label")
        pairs.append((pair.pid, pair.chq.strip(), pair.faq.strip(), pair.value.lower() == "true"))
    return pairs


def qa_test(root: str | Path) -> list[Question]:
    """The QA test file's questions (150; 1,107 answers) as written; an answer without an id, a ReferenceScore 1-4 or
    a ReferenceRank is an error (they are the benchmark's labels)."""
    path = need(Path(root) / QA_FOLDER / QA_TEST_FILE, "MEDIQA QA test")
    questions = list(xml_questions(path))
    for question in questions:
        for answer in question.answers:
            if not (answer.aid and answer.reference_score.strip() in ("1", "2", "3", "4")
                    and answer.reference_rank.strip().isdigit()):
                raise UserInputError(f"{path}: answer {answer.aid or '(no AID)'} of question {question.qid} needs a "
                                     f"ReferenceScore 1-4 and a ReferenceRank")
    return questions

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
    default_path = RQE_FOLDER

    @staticmethod
    def pairs(xml_file: Path) -> Iterator[tuple[str, str, str, bool]]:
        """(pair id, consumer question, FAQ, entailed) for every pair of one file, whatever its split; whitespace
        runs in the texts are one space."""
        for pair in xml_pairs(xml_file):
            yield pair.pid, _words(pair.chq), _words(pair.faq), pair.value.lower() == "true"

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
    default_path = QA_FOLDER
    min_score = 3  # ReferenceScore 3-4 = correct answer (Task3 README)

    @staticmethod
    def questions(xml_file: Path) -> Iterator[tuple[str, str]]:
        """(QID, question text as the user wrote it, whitespace runs one space) for every question of one file,
        whatever its split."""
        for question in xml_questions(xml_file):
            yield question.qid, _words(question.text)

    @staticmethod
    def answered(xml_file: Path) -> Iterator[tuple[str, str, list[tuple[str, str, int, str]]]]:
        """(QID, question text (as `questions`), [(answer id, AnswerURL, ReferenceScore 1-4 or 0 when absent, answer
        text)]) for every question of one file, whatever its split."""
        for question in xml_questions(xml_file):
            answers = [(a.aid, a.url.strip(), int(a.reference_score) if a.reference_score.isdigit() else 0, a.text)
                       for a in question.answers]
            yield question.qid, _words(question.text), answers

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

"""Retrieval evaluation data and metrics: TREC LiveQA 2017 medical (the report set) and a development set.

Report set: the 104 LiveQA'17 medical test questions (MEDIQA 2019 Task 3 TrainingSet1-LiveQAMed.xml, the
subject and message as users wrote them) with the 2,479 judged MedQuAD answers (grades 1 incorrect, 2 related,
3 incomplete, 4 excellent). Development set: consumer questions of MEDIQA 2019 RQE (validation and test files)
whose entailed FAQ is a MedQuAD question; the LiveQA questions and near copies of them are removed from it
(`data/sources/mediqa.is_liveqa`, the same test that keeps them out of training). Every choice (method,
weights, threshold) is made on the development set; LiveQA is run only to report. A second, graded development
set (`dev2_set`, 2026-12-02): MEDIQA 2019 Task 3 Alexa + validation questions whose expert-graded answers are
MedQuAD pairs (same URL, the pair's words contained in the graded text), scored LiveQA's way.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..data.sources.mediqa import QA_FOLDER, RQE_FOLDER, RQE_TEST_FILE, RQE_VALIDATION_FILE
from ..errors import UserInputError
from .corpus import Passage

LIVEQA_QRELS = "medquad/QA-TestSet-LiveQA-Med-Qrels-2479-Answers.zip"
RQE_DEV_FILES = (f"{RQE_FOLDER}/{RQE_VALIDATION_FILE}", f"{RQE_FOLDER}/{RQE_TEST_FILE}")  # the development questions
CORRECT = 3  # grade >= 3 (incomplete or excellent) is a correct answer


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _native_id(passage: Passage) -> str:
    """The MedQuAD answer id judgements use (SOURCE_docid_SecN): the passage id without corpus and '#2'."""
    return passage.id.split(":", 1)[-1].split("#")[0]


@dataclass
class Qrels:
    """Grades per question: by MedQuAD answer id (SOURCE_docid_SecN) and by answer text, for ids that moved."""

    by_id: dict[str, dict[str, int]] = field(default_factory=dict)
    by_text: dict[str, dict[str, int]] = field(default_factory=dict)

    def grade(self, qid: str, passage: Passage) -> int:
        """1-4; an answer nobody judged counts as incorrect (1)."""
        native = _native_id(passage)
        if native in self.by_id.get(qid, {}):
            return self.by_id[qid][native]
        return self.by_text.get(qid, {}).get(_norm(passage.text)[:300], 1)

    def judged(self, passages: Iterable[Passage]) -> set[str]:
        """Ids of the passages judged for any benchmark question (by answer id or by text): never training data."""
        ids = {a for grades in self.by_id.values() for a in grades}
        texts = {t for grades in self.by_text.values() for t in grades}
        return {p.id for p in passages if _native_id(p) in ids or _norm(p.text)[:300] in texts}

    def correct_in(self, passages: Iterable[Passage]) -> dict[str, int]:
        """Per question, how many of its correct answers the index holds (the recall base of MAP)."""
        keys = {_native_id(p): _norm(p.text)[:300] for p in passages}
        texts = set(keys.values())
        counts: dict[str, int] = {}
        for qid in self.by_id:
            by_id = {a for a, g in self.by_id[qid].items() if g >= CORRECT and a in keys}
            by_text = {t for t, g in self.by_text.get(qid, {}).items() if g >= CORRECT and t in texts}
            counts[qid] = len(by_id | {a for a, t in keys.items() if t in by_text})
        return counts


def liveqa_questions(root: Path) -> list[tuple[str, str]]:
    from ..data.sources import mediqa

    return mediqa.liveqa_questions(Path(root) / QA_FOLDER)


def liveqa_qrels(root: Path) -> Qrels:
    path = Path(root) / LIVEQA_QRELS
    if not path.is_file():
        raise UserInputError(f"LiveQA judgements not found: {path}")
    qrels = Qrels()
    texts: dict[str, str] = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("__MACOSX"):
                continue
            if name.endswith(".txt"):
                for line in archive.read(name).decode("utf-8", "replace").splitlines():
                    parts = line.split()
                    if len(parts) == 3:
                        qid, grade, answer = parts
                        qrels.by_id.setdefault(qid, {})[answer.removesuffix(".txt")] = int(grade.split("-")[0])
            elif name.endswith(".csv"):
                csv.field_size_limit(10**8)
                rows = csv.reader(io.StringIO(archive.read(name).decode("utf-8", "replace")))
                for row in rows:
                    if len(row) == 2 and "Answer:" in row[1]:
                        answer = row[1].split("Answer:", 1)[1].strip().removesuffix(")")
                        texts[row[0].removesuffix(".txt")] = _norm(answer)[:300]
    for qid, grades in qrels.by_id.items():
        for answer, grade in grades.items():
            if answer in texts:
                key = texts[answer]
                qrels.by_text.setdefault(qid, {})[key] = max(grade, qrels.by_text.get(qid, {}).get(key, 0))
    return qrels


# -- development set ---------------------------------------------------------------------------------
_FAQ_STOP = frozenset("what is are the of for a an to how do does i can there about which who may be in and on".split())


def _faq_key(question: str) -> str:
    return " ".join(sorted(set(_norm(question).split()) - _FAQ_STOP))


def dev_set(root: Path, passages: Sequence[Passage]) -> list[tuple[str, set[str]]]:
    """(consumer question, ids of the MedQuAD passages answering its entailed FAQs) from MEDIQA RQE
    validation + test, without the LiveQA benchmark's questions and near copies of them."""
    from ..data.sources.mediqa import MediqaRQE, is_liveqa

    benchmark = is_liveqa(Path(root) / QA_FOLDER)
    by_key: dict[str, set[str]] = {}
    for p in passages:
        if p.question:
            by_key.setdefault(_faq_key(p.question), set()).add(p.id)
    gold: dict[str, set[str]] = {}
    for name in RQE_DEV_FILES:
        path = Path(root) / name
        if not path.is_file():
            raise UserInputError(f"development questions not found: {path}")
        for _, chq, faq, entailed in MediqaRQE.pairs(path):
            if entailed and not benchmark(chq) and _faq_key(faq) in by_key:
                gold.setdefault(chq, set()).update(by_key[_faq_key(faq)])
    return sorted(gold.items())


# -- second development set: MEDIQA 2019 Task 3 answers graded by experts, linked to MedQuAD by URL ----------
DEV2_FILES = ("MEDIQA2019-Task3-QA-TrainingSet2-Alexa.xml", "MEDIQA2019-Task3-QA-ValidationSet.xml")  # in QA_FOLDER
DEV2_CONTAINMENT = 0.8  # share of a MedQuAD answer's words found in the graded Task 3 answer text
DEV2_COVER = 0.5  # share of the graded text's words the MedQuAD answer holds (not one section of a long page)


def _url_key(url: str) -> str:
    """http/https, 'www.', case and a trailing slash do not make another document."""
    return re.sub(r"^https?://(www\.)?", "", url.strip().lower()).rstrip("/")


def dev2_set(root: Path, passages: Sequence[Passage],
             min_containment: float = DEV2_CONTAINMENT, min_cover: float = DEV2_COVER) -> tuple[list[tuple[str, str]], Qrels]:
    """Questions of MEDIQA 2019 Task 3 TrainingSet2-Alexa and ValidationSet (not the LiveQA'17 file, not the Task 3
    test set; LiveQA questions and near copies removed) with graded MedQuAD answers, scored like LiveQA.

    A Task 3 answer (CHiQA's passage, graded 1-4 by experts) grades a MedQuAD pair when both come from the same
    document (AnswerURL = the pair's URL), at least `min_containment` of the pair's answer words occur in the
    graded text and the pair holds at least `min_cover` of the graded text's words: the same passage (CHiQA cut
    its own passages, so the texts are rarely equal), not one section of a whole page that was graded as a
    whole; a pair graded by several answers keeps the highest grade. Kept: the questions with at least one correct (>= 3) MedQuAD pair. Returns the questions as
    (id, text), ids 'alexa-QID' / 'validation-QID', and their grades as Qrels (by MedQuAD answer id)."""
    from ..data.sources.mediqa import MediqaQA, is_liveqa

    folder = Path(root) / QA_FOLDER
    benchmark = is_liveqa(folder)
    by_url: dict[str, list[tuple[str, set[str]]]] = {}
    for p in passages:
        if p.url:
            by_url.setdefault(_url_key(p.url), []).append((_native_id(p), set(_norm(p.text).split())))
    questions, qrels = [], Qrels()
    for name in DEV2_FILES:
        path = folder / name
        if not path.is_file():
            raise UserInputError(f"development questions not found: {path}")
        tag = "alexa" if "Alexa" in name else "validation"
        for qid, text, answers in MediqaQA.answered(path):
            if benchmark(text):
                continue
            grades: dict[str, int] = {}
            for _, url, score, answer in answers:
                if score < 1:
                    continue
                graded = set(_norm(answer).split())
                for native, words in by_url.get(_url_key(url), []):
                    shared = len(words & graded)
                    if words and shared >= min_containment * len(words) and shared >= min_cover * len(graded):
                        grades[native] = max(score, grades.get(native, 0))
            if any(g >= CORRECT for g in grades.values()):
                questions.append((f"{tag}-{qid}", text))
                qrels.by_id[f"{tag}-{qid}"] = grades
    return questions, qrels


# -- third development set: the TREC LiveQA'17 medical TRAINING questions, graded by their annotated focus and type -----
# LiveQA'17's question types (TREC-2017-LiveQA-Medical-Train-2.xml annotations) -> MedQuAD's; the others (organization,
# association, indication, diagnose_me, ...) have no MedQuAD counterpart and grade nothing
DEV3_TYPES = {"treatment": "treatment", "information": "information", "cause": "causes", "susceptibility": "susceptibility",
              "diagnosis": "exams and tests", "complication": "complications", "prognosis": "outlook",
              "symptom": "symptoms"}
# the annotated focus and type: excellent; the focus's overview ("What is X?") where MedQuAD holds no passage of the type
# for it (e.g. MedlinePlus health topics, overviews only): incomplete; another type of the focus: related
DEV3_TYPE_GRADE, DEV3_OVERVIEW_GRADE, DEV3_TOPIC_GRADE = 4, 3, 2


def _name_key(text: str) -> frozenset[str]:
    """A topic's name as a set of words: lowercased, the possessive and a plural "s" dropped ("Raynauds" = "Raynaud's"),
    the class nouns and stop words left out ("Parkinson" = "Parkinson's Disease")."""
    from .retrieve import CLASS_NOUNS
    from .stores.fts5 import STOP_WORDS

    words = (w[:-1] if len(w) > 3 and w.endswith("s") else w for w in re.findall(r"[a-z0-9]+", text.lower()))
    return frozenset(w for w in words if w != "s" and w not in STOP_WORDS and w not in CLASS_NOUNS)


def training_questions(path: Path) -> list[tuple[dict, str]]:
    """The rows of a transcribed LiveQA'17 training file (JSONL of qid, subject, message, annotations) with each
    question as the user wrote it: subject, then message."""
    found = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            subject, message = row["subject"].strip(), row["message"].strip()
            found.append((row, f"{subject}{'' if subject[-1:] in '.?!' else '.'} {message}" if subject and message
                          else subject or message))
    return found


def dev3_set(path: Path, root: Path, passages: Sequence[Passage], exclude: Sequence[str] = (),
             share_names: bool = True, tag: str = "train2") -> tuple[list[tuple[str, str]], Qrels]:
    """The consumer questions of the TREC LiveQA'17 medical training set (`path`: JSONL of qid, subject, message and
    the annotated [focus, type] pairs, transcribed from TREC-2017-LiveQA-Medical-Train-2.xml or -Train-1.xml; ids
    '`tag`-QID'; a question whose text repeats an earlier one of the file is read once), graded on MedQuAD by
    their annotations: a passage whose focus (or one of its synonyms) names an annotated focus (`_name_key`; a focus
    written "A/B" names A or B) grades 4 if its question type is the annotated type (DEV3_TYPES), 3 if it is the
    focus's overview ("information") and MedQuAD holds no passage of that type for the focus, 2 otherwise; annotated
    types with no MedQuAD counterpart grade nothing. Kept: the questions with a correct (>= 3) passage, without near copies of the LiveQA'17 test questions (`is_liveqa`) or
    of `exclude` (another development set's questions). Questions as users wrote them: subject, then message.
    `share_names` (round 10's second version): a name one source lists for a focus names that focus in every source
    ("Hypertension", a synonym of one High Blood Pressure document, also names the High Blood Pressure passages of the
    sources that list no synonyms); False: each passage's own focus and synonyms only (the version round 10 decided on)."""
    from ..data.sources.mediqa import is_liveqa
    from ..data.split import near_copies

    benchmark, overlap = is_liveqa(Path(root) / QA_FOLDER), near_copies(exclude)
    by_name: dict[frozenset[str], set[int]] = {}
    by_focus: dict[frozenset[str], set[int]] = {}
    for i, p in enumerate(passages):
        by_focus.setdefault(_name_key(p.focus), set()).add(i)
        for name in (p.focus, *p.synonyms):
            if _name_key(name):
                by_name.setdefault(_name_key(name), set()).add(i)
    if share_names:  # every passage of a focus that some passage with this name has
        by_name = {key: {j for i in rows for j in (by_focus[_name_key(passages[i].focus)] if passages[i].focus else {i})}
                   for key, rows in by_name.items()}
    questions, qrels, read = [], Qrels(), set()
    for row, text in training_questions(path):
        if benchmark(text) or overlap(text) or " ".join(text.lower().split()) in read:
            continue
        read.add(" ".join(text.lower().split()))
        grades: dict[str, int] = {}
        for focus, qtype in row["annotations"]:
            wanted = DEV3_TYPES.get(qtype.strip().lower())
            if wanted is None:
                continue
            named = {i for part in focus.split("/") if _name_key(part) for i in by_name.get(_name_key(part), ())}
            typed = any(passages[i].qtype == wanted for i in named)
            for i in named:
                if passages[i].qtype == wanted:
                    grade = DEV3_TYPE_GRADE
                elif not typed and passages[i].qtype == "information":
                    grade = DEV3_OVERVIEW_GRADE
                else:
                    grade = DEV3_TOPIC_GRADE
                native = _native_id(passages[i])
                grades[native] = max(grade, grades.get(native, 0))
        if any(g >= CORRECT for g in grades.values()):
            qid = f"{tag}-{row['qid']}"
            questions.append((qid, text))
            qrels.by_id[qid] = grades
    return questions, qrels


# -- metrics -----------------------------------------------------------------------------------------
def average_precision(relevant: Sequence[bool], total_relevant: int, k: int = 10) -> float:
    """AP@k: mean of precision@i over the relevant ranks i <= k, divided by min(total_relevant, k)."""
    hits, total = 0, 0.0
    for i, rel in enumerate(relevant[:k], 1):
        if rel:
            hits += 1
            total += hits / i
    return total / min(total_relevant, k) if total_relevant else 0.0


def reciprocal_rank(relevant: Sequence[bool], k: int = 10) -> float:
    for i, rel in enumerate(relevant[:k], 1):
        if rel:
            return 1.0 / i
    return 0.0

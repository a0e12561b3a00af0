"""Medical text QA test sets: PubMedQA (PQA-L test), MEDIQA 2019 RQE (task 2) and QA (task 3)."""

from __future__ import annotations

import json
from pathlib import Path

from ...data.sources import xml_root
from ...errors import UserInputError
from .base import Item, need

PUBMEDQA_INSTRUCTION = (
    "Answer the research question with yes, no or maybe, based on the abstract.\n\n"
    "Abstract:\n{contexts}\n\nQuestion: {question}"
)
RQE_INSTRUCTION = (
    "Question A: {chq}\nQuestion B: {faq}\n\n"
    "Does an answer to question B also fully or partially answer question A? Answer yes or no."
)
MEDIQA_QA_INSTRUCTION = (
    "Question: {question}\n\nCandidate answer: {answer}\n\n"
    "Does the candidate answer correctly answer the question? Answer yes or no."
)
MEDIQA_QA_MAX_ANSWER_CHARS = 1500  # long NIH pages are cut; the start holds the gist


def load_pubmedqa(root: Path, subset: str | None = None) -> list[Item]:
    """The 500 official test PMIDs, reasoning-required setting: question + abstract contexts, no long answer."""
    if subset:
        raise UserInputError("pubmedqa has no subsets; use --limit for a quick run")
    folder = need(root / "pubmedqa", "PubMedQA folder")
    truth = json.loads(need(folder / "test_ground_truth.json", "PubMedQA test labels").read_text())
    records = json.loads(need(folder / "ori_pqal.json", "PubMedQA PQA-L file").read_text())
    items = []
    for pmid, label in truth.items():
        rec = records[pmid]
        prompt = PUBMEDQA_INSTRUCTION.format(contexts="\n".join(rec["CONTEXTS"]), question=rec["QUESTION"])
        items.append(Item(f"pubmedqa_{pmid}", prompt, label, "choice", options=("yes", "no", "maybe"),
                          meta={"display_question": rec["QUESTION"], "long_answer": rec["LONG_ANSWER"]}))
    return items


def load_mediqa_rqe(root: Path, subset: str | None = None) -> list[Item]:
    """MEDIQA 2019 RQE test (230 pairs): does the FAQ entail the consumer health question? yes/no."""
    if subset:
        raise UserInputError("mediqa-rqe has no subsets; use --limit for a quick run")
    path = need(root / "mediqa2019" / "MEDIQA_Task2_RQE" / "MEDIQA2019-Task2-RQE-TestSet-wLabels.xml", "MEDIQA RQE test")
    items = []
    for pair in xml_root(path).iter("pair"):
        chq, faq = pair.findtext("chq", "").strip(), pair.findtext("faq", "").strip()
        label = {"true": "yes", "false": "no"}[pair.get("value").lower()]
        items.append(Item(f"rqe_{pair.get('pid')}", RQE_INSTRUCTION.format(chq=chq, faq=faq), label, "choice",
                          options=("yes", "no"), meta={"display_question": f"A: {chq[:200]} | B: {faq}"}))
    return items


def load_mediqa_qa(root: Path, subset: str | None = None) -> list[Item]:
    """MEDIQA 2019 QA test: 150 questions, 1,107 candidate answers; the model scores each answer and the
    ranking is compared with the reference ranks (reference score 3-4 = a correct answer)."""
    if subset:
        raise UserInputError("mediqa-qa has no subsets; use --limit for a quick run")
    path = need(root / "mediqa2019" / "MEDIQA_Task3_QA" / "MEDIQA2019-Task3-QA-TestSet-wLabels.xml", "MEDIQA QA test")
    items = []
    for question in xml_root(path).iter("Question"):
        text = question.findtext("QuestionText", "").strip()
        for order, answer in enumerate(question.iter("Answer")):
            body = answer.findtext("AnswerText", "").strip()[:MEDIQA_QA_MAX_ANSWER_CHARS]
            score = int(answer.get("ReferenceScore"))
            items.append(Item(
                answer.get("AID"), MEDIQA_QA_INSTRUCTION.format(question=text, answer=body),
                "yes" if score >= 3 else "no", "rank", options=("yes", "no"),
                meta={"group": question.get("QID"), "order": order, "reference_rank": int(answer.get("ReferenceRank")),
                      "reference_score": score, "display_question": text[:300]},
            ))
    return items

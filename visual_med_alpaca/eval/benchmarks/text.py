"""Medical text QA test sets: PubMedQA (PQA-L test), MEDIQA 2019 RQE (task 2) and QA (task 3): how each is asked
and scored. Their files are read by the data sets' own readers (`data/sources/pubmedqa.py`, `mediqa.py`), the
ones the instruction data and the adapter's training mix use."""

from __future__ import annotations

from pathlib import Path

from ...data.sources.mediqa import qa_test, rqe_test
from ...data.sources.pubmedqa import pubmedqa_test
from ...errors import UserInputError
from .base import Item

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
    items = []
    for pmid, label, rec in pubmedqa_test(root):
        prompt = PUBMEDQA_INSTRUCTION.format(contexts="\n".join(rec["CONTEXTS"]), question=rec["QUESTION"])
        items.append(Item(f"pubmedqa_{pmid}", prompt, label, "choice", options=("yes", "no", "maybe"),
                          meta={"display_question": rec["QUESTION"], "long_answer": rec["LONG_ANSWER"]}))
    return items


def load_mediqa_rqe(root: Path, subset: str | None = None) -> list[Item]:
    """MEDIQA 2019 RQE test (230 pairs): does the FAQ entail the consumer health question? yes/no."""
    if subset:
        raise UserInputError("mediqa-rqe has no subsets; use --limit for a quick run")
    return [Item(f"rqe_{pid}", RQE_INSTRUCTION.format(chq=chq, faq=faq), "yes" if entailed else "no", "choice",
                 options=("yes", "no"), meta={"display_question": f"A: {chq[:200]} | B: {faq}"})
            for pid, chq, faq, entailed in rqe_test(root)]


def load_mediqa_qa(root: Path, subset: str | None = None) -> list[Item]:
    """MEDIQA 2019 QA test: 150 questions, 1,107 candidate answers; the model scores each answer and the
    ranking is compared with the reference ranks (reference score 3-4 = a correct answer)."""
    if subset:
        raise UserInputError("mediqa-qa has no subsets; use --limit for a quick run")
    items = []
    for question in qa_test(root):
        text = question.text.strip()
        for order, answer in enumerate(question.answers):
            body = answer.text.strip()[:MEDIQA_QA_MAX_ANSWER_CHARS]
            score = int(answer.reference_score)
            items.append(Item(
                answer.aid, MEDIQA_QA_INSTRUCTION.format(question=text, answer=body),
                "yes" if score >= 3 else "no", "rank", options=("yes", "no"),
                meta={"group": question.qid, "order": order, "reference_rank": int(answer.reference_rank),
                      "reference_score": score, "display_question": text[:300]},
            ))
    return items

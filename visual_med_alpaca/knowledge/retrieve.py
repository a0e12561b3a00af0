"""Retrieval: rank an index's passages for a question, by one named method.

A method is a list of (store, field, weight) runs fused by reciprocal-rank fusion, optionally re-ranked.
Keyword runs use BM25 (SQLite FTS5); dense runs use MiniLM embeddings (the index's dense store: numpy or Qdrant). Matching the user's
question against MedQuAD's *questions* is question entailment in the MedQuAD paper's sense; matching it
against the answers is classic passage retrieval. Which one ranks best is measured in docs/knowledge.md.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserInputError
from .corpus import Passage
from .index import KnowledgeIndex
from .stores import Query

RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009)
# method -> runs of (store, field, weight)
METHODS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "bm25-answer": (("fts5", "answer", 1.0),),
    "bm25-question": (("fts5", "question", 1.0),),
    "bm25-all": (("fts5", "all", 1.0),),
    "bm25-fused": (("fts5", "question", 1.0), ("fts5", "answer", 1.0)),
    "dense-question": (("dense", "question", 1.0),),
    "dense-answer": (("dense", "answer", 1.0),),
    "dense-fused": (("dense", "question", 1.0), ("dense", "answer", 1.0)),
    "hybrid": (("fts5", "question", 1.0), ("fts5", "answer", 1.0), ("dense", "question", 1.0)),
    "hybrid-question": (("fts5", "question", 1.0), ("dense", "question", 1.0)),
    "hybrid-all": (("fts5", "question", 1.0), ("fts5", "answer", 1.0), ("dense", "question", 1.0),
                   ("dense", "answer", 1.0)),
}


def needs_dense(method: str) -> bool:
    return any(store == "dense" for store, _, _ in runs_of(method))


def runs_of(method: str) -> tuple[tuple[str, str, float], ...]:
    if method not in METHODS:
        raise UserInputError(f"unknown retrieval method '{method}'; known: {', '.join(METHODS)}")
    return METHODS[method]


@dataclass
class Retrieved:
    passage: Passage
    score: float                      # the fused score (~1.0 = first in every run) + the re-ranker's bonuses
    relevance: float                  # the score compared with the no-source threshold (see `relevance`)
    runs: dict[str, float] = field(default_factory=dict)  # each run's own score for this passage

    def source(self) -> dict[str, Any]:
        """What `vmed ask --json` and the API return per passage."""
        p = self.passage
        return {"id": p.id, "title": p.title, "url": p.url, "score": round(self.score, 4),
                "relevance": round(self.relevance, 4), "text": p.text}


# -- the re-ranker: question-type and focus agreement ------------------------------------------------
# Cue words of MedQuAD's question types; a passage whose qtype the question asks about gains `type_bonus`.
QTYPE_CUES: dict[str, tuple[str, ...]] = {
    "treatment": ("treat", "cure", "therap", "medication", "medicine", "drug", "remed", "manage", "surgery", "help"),
    "symptoms": ("symptom", "sign", "feel"),
    "causes": ("cause", "why", "reason", "trigger"),
    "inheritance": ("inherit", "hereditar", "pass on", "passed", "genetic"),
    "genetic changes": ("gene", "mutation", "genetic"),
    "exams and tests": ("test", "exam", "diagnos", "screen"),
    "diagnosis": ("test", "diagnos", "exam"),
    "prevention": ("prevent", "avoid", "stop getting", "vaccin"),
    "outlook": ("prognosis", "outlook", "life expectancy", "surviv", "recover", "die"),
    "frequency": ("how common", "how many", "prevalen"),
    "susceptibility": ("risk", "who gets", "who is at"),
    "complications": ("complication",),
    "stages": ("stage",),
    "research": ("research", "trial", "study", "studies"),
    "support groups": ("support group",),
}
_WORDS = re.compile(r"[^\W_]+")


def question_types(question: str) -> set[str]:
    lowered = question.lower()
    return {qtype for qtype, cues in QTYPE_CUES.items() if any(cue in lowered for cue in cues)}


def focus_in_question(focus: str, question_words: set[str]) -> float:
    """Share of the focus's words (>2 letters) that the question contains: 1.0 = the topic is named."""
    words = [w for w in _WORDS.findall(focus.lower()) if len(w) > 2]
    if not words:
        return 0.0
    return sum(w in question_words for w in words) / len(words)


@dataclass
class Reranker:
    focus_bonus: float = 0.0   # added (x the focus-match share) to the fused score
    type_bonus: float = 0.0    # added when the passage's qtype is one the question asks about
    info_bonus: float = 0.0    # added to 'information' passages when the question names no type

    @property
    def active(self) -> bool:
        return bool(self.focus_bonus or self.type_bonus or self.info_bonus)

    def __call__(self, question: str, items: list[Retrieved]) -> list[Retrieved]:
        if not self.active:
            return items
        words = set(_WORDS.findall(question.lower()))
        types = question_types(question)
        for item in items:
            p = item.passage
            bonus = self.focus_bonus * focus_in_question(p.focus, words)
            if types and p.qtype in types:
                bonus += self.type_bonus
            elif not types and p.qtype == "information":
                bonus += self.info_bonus
            item.score += bonus
        return sorted(items, key=lambda r: -r.score)


class Retriever:
    """Ranks passages of one opened index with one method; `search` takes ~ms once loaded."""

    def __init__(self, index: KnowledgeIndex, method: str = "bm25-question", reranker: Reranker | None = None,
                 depth: int = 50, encoder_threads: int | None = None):
        self.index = index
        self.method = method
        self.runs = runs_of(method)
        self.reranker = reranker or Reranker()
        self.depth = depth
        self.encoder_threads = encoder_threads
        self.last_timings: dict[str, float] = {}
        self._encoder = None

    def _encode(self, text: str):
        if self._encoder is None:
            from . import encoder
            from .index import ENCODER_DIR

            self._encoder = encoder.OnnxEncoder(self.index.folder / ENCODER_DIR, self.encoder_threads)
        return self._encoder.encode([text])[0]

    def search(self, question: str, k: int = 5) -> list[Retrieved]:
        started = time.perf_counter()
        query = Query(question, self._encode if needs_dense(self.method) else None)
        fused: dict[int, float] = {}
        run_scores: dict[int, dict[str, float]] = {}
        for store, field_name, weight in self.runs:
            hits = self.index.store_for(store).search(query, field_name, self.depth)
            name = f"{'bm25' if store == 'fts5' else 'dense'}-{field_name}"
            for rank, hit in enumerate(hits):
                fused[hit.row] = fused.get(hit.row, 0.0) + weight / (RRF_K + rank + 1)
                run_scores.setdefault(hit.row, {})[name] = hit.score
        if not fused:
            self.last_timings = {"retrieve_s": time.perf_counter() - started}
            return []
        best = sorted(fused, key=lambda row: -fused[row])[: max(self.depth, k)]
        passages = self.index.docs.passages(best)
        words = set(_WORDS.findall(question.lower()))
        scale = RRF_K / sum(weight for _, _, weight in self.runs)  # 1.0 ~ ranked first by every run
        items = [Retrieved(passages[row], fused[row] * scale, relevance(run_scores[row], passages[row], words),
                           run_scores[row]) for row in best if row in passages]
        items = self.reranker(question, items)[:k]
        self.last_timings = {"retrieve_s": time.perf_counter() - started}
        return items


def relevance(runs: dict[str, float], passage: Passage, question_words: set[str]) -> float:
    """How well a passage matches, on a scale that does not depend on rank or query length (0-1):
    the best dense cosine similarity when the method is dense; for keyword methods, the share of the passage's
    topic words (its focus, else its title) that the question names (5-letter prefixes, so plurals and small
    typos still count). BM25 itself is no threshold: one rare word shared with an unrelated question scores high."""
    dense = [v for k, v in runs.items() if k.startswith("dense-")]
    if dense:
        return max(dense)
    return topic_coverage(passage.focus or passage.title, question_words)


def topic_coverage(topic: str, question_words: set[str]) -> float:
    words = [w for w in _WORDS.findall(topic.lower()) if len(w) > 2 and w not in _TOPIC_STOP]
    if not words:
        return 0.0
    prefixes = {w[:5] for w in question_words}
    return sum(w[:5] in prefixes for w in words) / len(words)


_TOPIC_STOP = frozenset("the and for with what are how does about from your you".split())

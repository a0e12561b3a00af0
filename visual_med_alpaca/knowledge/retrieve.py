"""Retrieval: rank an index's passages for a question, by one named method.

A method is a list of (store, field, weight) runs fused by reciprocal-rank fusion, optionally re-ranked.
Keyword runs use BM25 (SQLite FTS5); dense runs use MiniLM embeddings (the index's dense store: numpy or Qdrant). Matching the user's
question against MedQuAD's *questions* is question entailment in the MedQuAD paper's sense; matching it
against the answers is classic passage retrieval. Which one ranks best is measured in docs/knowledge.md.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field, replace
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, get_args

import numpy as np

from ..config import SynonymSetting, TypesFromSetting
from ..errors import UserInputError
from .corpus import Passage
from .index import KnowledgeIndex
from .stores import Query
from .stores.fts5 import STOP_WORDS, WORD
from .stores.numpy_store import WITH_NAMES

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


def has_dense_question(method: str) -> bool:
    """Does the method rank by the MiniLM cosine to MedQuAD's questions (the RQE re-ranker's cosine feature)?"""
    return any((store, name) == ("dense", "question") for store, name, _ in runs_of(method))


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
    features: dict[str, float] = field(default_factory=dict)  # what the re-ranker read (knowledge/ranker.py FEATURES)

    def source(self) -> dict[str, Any]:
        """What `vmed ask --json` and the API return per passage."""
        p = self.passage
        return {"id": p.id, "title": p.title, "url": p.url, "score": round(self.score, 4),
                "relevance": round(self.relevance, 4), "text": p.text}


# -- the re-ranker: question-type and focus agreement ------------------------------------------------
# Cue words of MedQuAD's question types; a passage whose qtype the question asks about gains `type_bonus`.
QTYPE_CUES: dict[str, tuple[str, ...]] = {
    "information": ("information", "info ", "info.", "learn", "article", "journal", "jurnal", "know more", "know about",
                    "more about", "tell me about"),
    "treatment": ("treat", "cure", "therap", "medication", "medicine", "drug", "remed", "manage", "surgery", "help him",
                  "help her", "help my", "helps"),
    "symptoms": ("symptom", "sign", "feel"),
    "causes": ("cause", "why", "reason", "trigger"),
    "inheritance": ("inherit", "hereditar", "pass on", "passed", "genetic"),
    "genetic changes": ("gene", "mutation", "genetic"),
    "exams and tests": ("test", "exam", "diagnos", "screen"),
    "diagnosis": ("test", "diagnos", "exam"),
    "prevention": ("prevent", "avoid", "stop getting", "vaccin"),
    "outlook": ("prognosis", "outlook", "life expectancy", "surviv", "recover", "die", "dangerous", "how long", "live for"),
    "frequency": ("how common", "how many", "prevalen"),
    "susceptibility": ("risk", "who gets", "who is at"),
    "complications": ("complication",),
    "stages": ("stage",),
    "research": ("research", "trial", "study", "studies"),
    "support groups": ("support group",),
}


def question_types(question: str) -> set[str]:
    lowered = question.lower()
    return {qtype for qtype, cues in QTYPE_CUES.items() if any(cue in lowered for cue in cues)}


TYPES_FROM = get_args(TypesFromSetting)  # knowledge.types_from: where the re-ranker reads the question's types


def asked_types(question: str, subject_words: int = 8) -> set[str]:
    """The question types a consumer message asks about (knowledge.types_from=asking): the cue words of its short
    subject line and of its asking sentences (`_ASKS`: a question mark, a question word, a request for information),
    as `question_focus` picks them; the story around them ("I was diagnosed", "since stopping treatment") tells the
    history, not what is asked. A message whose subject and asking sentences cue no type: the whole text's types."""
    parts = sentences(question)
    asked = [part for i, part in enumerate(parts)
             if _ASKS.search(part) or (i == 0 and len(parts) > 1 and len(WORD.findall(part)) <= subject_words)]
    found = set().union(*(question_types(part) for part in asked)) if asked else set()
    return found or question_types(question)


def focus_in_question(focus: str, question_words: set[str]) -> float:
    """Share of the focus's words (>2 letters) that the question contains: 1.0 = the topic is named."""
    words = [w for w in WORD.findall(focus.lower()) if len(w) > 2]
    if not words:
        return 0.0
    return sum(w in question_words for w in words) / len(words)


# what reads MedQuAD's focus synonyms (knowledge.synonyms): the re-ranker's focus match, the RQE model's side of the
# pair, the dense search (a passage's question asked with each other name: the index's "names" vectors)
# (+dense: every other name; +written: only the names the question writes, `WrittenNames`)
SYNONYMS = get_args(SynonymSetting)


def synonym_in_question(name: str, question: str, question_words: set[str], generic: frozenset[str]) -> float:
    """`focus_in_question` for another name of the topic (a MedQuAD synonym: "Manic-depressive illness"). Stop words
    are no part of a name ("ALL"), a name whose words are all `generic` (common across foci: "Syndrome") counts 0,
    and an acronym (one token with a capital after its first letter: "CDH", "CdLS") counts only as written."""
    tokens = WORD.findall(name)
    if len(tokens) == 1 and any(c.isupper() for c in tokens[0][1:]):
        return float(tokens[0] in WORD.findall(question))
    words = [w for w in WORD.findall(name.lower()) if len(w) > 2 and w not in STOP_WORDS]
    if not words or all(w in generic for w in words):
        return 0.0
    return sum(w in question_words for w in words) / len(words)


# words whose absence does not make a name another topic: "Tourette" is "Tourette syndrome", "spastic paraplegia 8"
# is "spastic paraplegia type 8"
CLASS_NOUNS = frozenset("syndrome syndromes disease diseases disorder disorders condition conditions type".split())


def _name_words(text: str) -> frozenset[str]:
    """A name's words: stop words and the possessive "s" dropped ("Behcet's" = "Behcet"), single letters kept (the
    "A" of hemophilia A, the "I" of type I)."""
    return frozenset(w for w in WORD.findall(text.lower()) if w != "s" and (len(w) == 1 or w not in STOP_WORDS))


@lru_cache(maxsize=65536)
def broader_name(name: str, focus: str) -> bool:
    """Is this MedQuAD "synonym" of `focus` a broader name, i.e. another topic (knowledge.clean_synonyms)? Its words
    are a proper part of the focus's and more than a class noun is missing: "Thalassemia" for Alpha-thalassemia,
    "Hemophilia" for Acquired hemophilia A, "Achondrogenesis" for Achondrogenesis type 2, "Lupus" for systemic lupus
    erythematosus, or a fragment that lost its first letter ("-thalassemia": the data dropped the Greek alpha). A
    question naming the family is not asking about this member. "Tourette" for Tourette syndrome stays."""
    words, whole = _name_words(name), _name_words(focus)
    return bool(words) and words < whole and not (whole - words) <= CLASS_NOUNS


def own_names(passage: Passage, clean: bool = False) -> tuple[str, ...]:
    """The focus's other names that the re-ranker reads: MedQuAD's synonyms, without the broader ones if `clean`."""
    return tuple(n for n in passage.synonyms if not broader_name(n, passage.focus)) if clean else passage.synonyms


def topic_match(passage: Passage, question: str, question_words: set[str], synonyms: bool = False,
                generic: frozenset[str] = frozenset(), clean: bool = False) -> tuple[float, str]:
    """How much the question names the passage's topic, and by which name: its focus, or (with `synonyms`) the
    best-matching of its focus and the focus's synonyms (a synonym only where it matches strictly better; with
    `clean`, not the broader names: `broader_name`)."""
    best = (focus_in_question(passage.focus, question_words), passage.focus)
    for name in own_names(passage, clean) if synonyms else ():
        share = synonym_in_question(name, question, question_words, generic)
        if share > best[0]:
            best = (share, name)
    return best


def as_named(passage: Passage, name: str) -> str:
    """The passage's MedQuAD question with its focus called `name` (the RQE model's side of the pair)."""
    text = passage.question or passage.title
    if name == passage.focus or not passage.focus:
        return text
    replaced = re.sub(re.escape(passage.focus), lambda _: name, text, flags=re.I)
    return replaced if replaced != text else f"{text} ({name})"


def name_variants(passages: Sequence[Passage], generic: frozenset[str],
                  with_names: bool = False) -> tuple[list[str], list[int]] | tuple[list[str], list[int], list[str]]:
    """The dense search's other names of each passage's topic (knowledge.synonyms=focus+rqe+dense): for every
    MedQuAD synonym of its focus, the passage's question asked with that name ("How to diagnose OI ?"), embedded
    like the question field (question + the name). A name made only of stop words or words common across foci
    ("Syndrome", "Type 1") names nothing and is left out (the encoder is uncased: "ALL" is the word "all").
    Returns the texts and, for each, the passage's position in `passages` (and, `with_names`, the name)."""
    rows, names = other_names(passages, generic)
    texts = [f"{as_named(passages[row], name)} {name}" for row, name in zip(rows, names)]
    return (texts, rows, names) if with_names else (texts, rows)


def other_names(passages: Sequence[Passage], generic: frozenset[str]) -> tuple[list[int], list[str]]:
    """`name_variants`' names alone, in its order (the order of the index's "names" vectors), with each one's passage
    position: what `WrittenNames` needs, without building the texts."""
    rows, names = [], []
    for row, passage in enumerate(passages):
        seen = {passage.focus.lower()}
        for name in passage.synonyms:
            words = [w for w in WORD.findall(name.lower()) if w not in STOP_WORDS]
            if name.lower() in seen or all(w in generic or w.isdigit() for w in words):
                continue
            seen.add(name.lower())
            rows.append(row)
            names.append(name)
    return rows, names


def name_words(names: Sequence[str], generic: frozenset[str]) -> dict[str, list[int]]:
    """Each word that can show a name is written (not common across foci, not a stop word) -> the names holding it."""
    by_word: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        for word in set(WORD.findall(name.lower())) - generic - STOP_WORDS:
            by_word.setdefault(word, []).append(i)
    return by_word


NAMES_TABLE_VERSION = 1  # raise when `other_names`, `name_words` or `broader_name` change what they give


def words_key(generic: frozenset[str]) -> str:
    """What a names table's word lists depend on besides the passages: the table's version, the words common across
    foci and the stop words (a table made with other ones is not read: `WrittenNames.from_table`)."""
    text = f"{NAMES_TABLE_VERSION}|{' '.join(sorted(generic))}|{' '.join(sorted(STOP_WORDS))}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def names_table(passages: Sequence[Passage], generic: frozenset[str]) -> dict[str, Any]:
    """Everything `WrittenNames` reads, from the passages in row order: the names (the order of the "names" vectors),
    their passage rows, which of them are broader names (knowledge.clean_synonyms) and the names by word. Computing it
    takes ~1 s for MedQuAD, so `vmed knowledge build` stores it in the index (`index.NAMES_TABLE`)."""
    rows, names = other_names(passages, generic)
    return {"key": words_key(generic), "names": names, "rows": rows,
            "broader": [i for i, (name, row) in enumerate(zip(names, rows)) if broader_name(name, passages[row].focus)],
            "words": name_words(names, generic)}


class WrittenNames:
    """Which of the index's "names" vectors a question writes (knowledge.synonyms=focus+rqe+written): a name counts
    where `synonym_in_question` gives 1.0 (every word of it in the question; an acronym as written), found through
    the names' words that are not common across foci."""

    def __init__(self, names: Sequence[str], generic: frozenset[str], skip: Iterable[int] = (),
                 by_word: dict[str, list[int]] | None = None):
        self.names, self.generic = list(names), generic
        self.skip = frozenset(skip)  # names never counted (the broader ones with clean_synonyms); their vectors stay
        self.by_word = name_words(self.names, generic) if by_word is None else by_word

    @classmethod
    def from_table(cls, table: dict[str, Any], generic: frozenset[str], clean: bool) -> WrittenNames:
        return cls(table["names"], generic, table["broader"] if clean else (), table["words"])

    def __call__(self, question: str) -> list[int]:
        words = set(WORD.findall(question.lower()))
        found = {i for word in words for i in self.by_word.get(word, ())} - self.skip
        return sorted(i for i in found if synonym_in_question(self.names[i], question, words, self.generic) >= 1.0)


@dataclass
class Reranker:
    """Adds to each candidate's fused score: hand-set bonuses (the "rules") and/or `rqe_weight` x the trained
    question-entailment probability (knowledge/rqe.py, which reads the dense-question cosine)."""

    focus_bonus: float = 0.0   # added (x the focus-match share) to the fused score
    type_bonus: float = 0.0    # added when the passage's qtype is one the question asks about
    info_bonus: float = 0.0    # added to 'information' passages when the question names no type
    on_focus: bool = False     # read the question's types and words in its focus sentences (question_focus) only
    rqe_weight: float = 0.0    # added x P(entailment) of (question, the passage's MedQuAD question)
    rqe_model: str | None = None  # the RQE model file (default: the packaged assets/knowledge/rqe_lr.json)
    rqe_kind: str = "lr"       # lr (knowledge/rqe.py) | cross-encoder (knowledge/cross_encoder.py, on the top rqe_top_k)
    rqe_top_k: int = 10        # cross-encoder: candidates it reads (by score after the rules), ~5 ms each on 2 cores
    cross_encoder: str | None = None  # cross-encoder folder (default: <knowledge dir>/rqe-cross-encoder)
    threads: int | None = None  # cross-encoder: ONNX Runtime threads (the Retriever's encoder_threads)
    synonyms: str = "none"     # focus: the focus match reads the focus's synonyms too; focus+rqe: and the RQE side;
    # focus+rqe+dense: and the dense question search (read by the Retriever); focus+rqe+written: the names it writes
    clean_synonyms: bool = False  # leave out the synonyms that name a broader topic (`broader_name`)
    types_from: str = "whole"  # whole: the question's types are its cue words anywhere; asking: `asked_types`
    topic_first: bool = False  # the top answer's topic is chosen without the type bonus; the type orders within it
    list_penalty: float = 0.0  # subtracted x the share of a passage that points elsewhere (`pointer_share`, round 13)
    learned: bool = False      # the score is the learned ranker's (knowledge/ranker.py) over the features, not the sum
    ranker_model: str | None = None  # its model file (default: the packaged assets/knowledge/ranker_lr.json)

    @classmethod
    def from_config(cls, cfg) -> Reranker:
        """The re-ranker a KnowledgeConfig names: `reranker` = rules | rqe | rules+rqe | none. The logistic-
        regression RQE model reads the dense-question cosine, so with a method that has no such run (keyword
        methods) it is left out; the cross-encoder reads the text alone and works with every method. `learned`: the
        learned ranker's score over the features (it reads the logistic-regression RQE probability)."""
        if cfg.reranker == "learned":
            return cls(rqe_model=cfg.rqe_model, synonyms=cfg.synonyms, clean_synonyms=cfg.clean_synonyms,
                       types_from=cfg.types_from, learned=True, ranker_model=cfg.ranker_model)
        rules = cfg.reranker in ("rules", "rules+rqe")
        kind = rqe_kind(cfg)
        rqe = "rqe" in cfg.reranker and (kind == "cross-encoder" or has_dense_question(cfg.method))
        return cls(cfg.focus_bonus if rules else 0.0, cfg.type_bonus if rules else 0.0, cfg.info_bonus if rules else 0.0,
                   cfg.rerank_on_focus, cfg.rqe_weight if rqe else 0.0, cfg.rqe_model, kind, cfg.rqe_top_k,
                   cfg.rqe_cross_encoder, synonyms=cfg.synonyms, clean_synonyms=cfg.clean_synonyms,
                   types_from=cfg.types_from, topic_first=cfg.topic_first, list_penalty=cfg.list_penalty)

    def __post_init__(self):
        if self.synonyms not in SYNONYMS:
            raise UserInputError(f"unknown synonyms setting '{self.synonyms}'; known: {', '.join(SYNONYMS)}")
        if self.types_from not in TYPES_FROM:
            raise UserInputError(f"unknown types_from setting '{self.types_from}'; known: {', '.join(TYPES_FROM)}")

    @property
    def active(self) -> bool:
        return bool(self.focus_bonus or self.type_bonus or self.info_bonus or self.rqe_weight or self.list_penalty
                    or self.learned)

    def __call__(self, question: str, items: list[Retrieved], query_vector=None,
                 generic: frozenset[str] = frozenset()) -> list[Retrieved]:
        """Re-rank `items` for `question`; `query_vector` (the question's MiniLM vector) feeds the RQE model's
        question-type classifier (without it that feature counts as its training mean); `generic`: words common
        across the index's foci, which alone do not name a topic (`generic_words`; read with synonyms only). Each
        item's `features` keep what was read (knowledge/ranker.py FEATURES); with `learned`, its score is the learned
        ranker's over them, else the fused score plus the hand-set bonuses."""
        if not self.active:
            return items
        from .ranker import log_words, source_features
        words = set(WORD.findall(question.lower()))
        types = asked_types(question) if self.types_from == "asking" else question_types(question)
        named: dict[str, str] = {}  # passage id -> the name of its topic the question uses best
        typed: dict[str, float] = {}  # passage id -> its question-type bonus (topic_first leaves it out of the topic)
        for item in items:
            p = item.passage
            share, named[p.id] = topic_match(p, question, words, self.synonyms != "none", generic, self.clean_synonyms)
            if types and p.qtype in types:
                typed[p.id] = self.type_bonus
            elif not types and p.qtype == "information":
                typed[p.id] = self.info_bonus
            pointing = pointer_share(p.text)
            item.features = {"fused": item.score, "cosine": item.runs.get(RQE_COSINE, 0.0), "focus_share": share,
                             "synonym_share": share if named[p.id] != p.focus else 0.0,
                             "type_match": float(bool(types) and p.qtype in types),
                             "info_match": float(not types and p.qtype == "information"),
                             "information": float(p.qtype == "information"), "pointer_share": pointing,
                             "log_words": log_words(p.text), **source_features(p.source)}
            item.score += self.focus_bonus * share + typed.get(p.id, 0.0) - self.list_penalty * pointing
        if self.learned:
            self._learned(question, items, query_vector, named)
        elif self.rqe_weight and items and self.rqe_kind == "cross-encoder":
            from . import cross_encoder

            model = cross_encoder.load(self.cross_encoder, self.threads)
            top = sorted(items, key=lambda r: -r.score)[: self.rqe_top_k]
            for item, probability in zip(top, model.probabilities(question, [self._rqe_text(r.passage, named)
                                                                             for r in top])):
                item.runs["rqe"] = float(probability)
                item.score += self.rqe_weight * float(probability)
        elif self.rqe_weight and items:
            for item, probability in zip(items, self._rqe_lr(question, items, query_vector, named)):
                item.score += self.rqe_weight * float(probability)
        ranked = sorted(items, key=lambda r: -r.score)
        return topic_first(ranked, typed) if self.topic_first and ranked else ranked

    def _rqe_lr(self, question: str, items: list[Retrieved], query_vector, named: dict[str, str]) -> np.ndarray:
        """The logistic-regression RQE model's P(entailment) per item, also kept in its runs and features."""
        from . import rqe

        model = rqe.load_model(self.rqe_model)
        kinds = model.qtype.probabilities(query_vector)[0] if model.qtype is not None and query_vector is not None \
            else None
        side = rqe.Side.of(question)
        rows = [rqe.features(side, rqe.cached_side(self._rqe_text(item.passage, named)),
                             item.runs.get(RQE_COSINE, 0.0),
                             model.qtype.agreement(kinds, item.passage.qtype) if kinds is not None else math.nan)
                for item in items]
        probabilities = model.probability(rows) if rows else np.zeros(0)
        for item, probability in zip(items, probabilities):
            item.runs["rqe"] = item.features["rqe"] = float(probability)
        return probabilities

    def _learned(self, question: str, items: list[Retrieved], query_vector, named: dict[str, str]) -> None:
        """knowledge.reranker=learned: each item's score becomes the learned ranker's over its features."""
        from .ranker import feature_row, load_model

        model = load_model(self.ranker_model)
        self._rqe_lr(question, items, query_vector, named)
        for item, score in zip(items, model.score([feature_row(item.features) for item in items]) if items else ()):
            item.score = float(score)

    def _rqe_text(self, passage: Passage, named: dict[str, str]) -> str:
        """The candidate side of the RQE pair: the passage's question, with synonyms=focus+rqe naming the topic
        as the user did."""
        if self.synonyms.startswith("focus+rqe"):
            return as_named(passage, named.get(passage.id, passage.focus))
        return passage.question or passage.title


# -- passage shape: an answer, or a list of where to look (round 13) ------------------------------------
_CONTACT = re.compile(r"\(?\b\d{3}\)?[-. ]\d{3}-\d{4}\b|\b1-800-[\dA-Z-]{7,}|[\w.+-]+@[\w-]+\.[\w.]+|\bwww\.\S+|"
                      r"https?://\S+|\bSuite \d+|\b[A-Z]{2},? \d{5}(?:-\d{4})?\b")
_POINTS = re.compile(r"\b(?:resources?|foundations?|associations?|registry|encyclopedia|gene ?reviews?|fact ?sheets?|"
                     r"information pages?|web ?sites?|references|toll[- ]free|e-?mail)\b", re.I)
_SEGMENTS = re.compile(r"\s+-\s+|\s*\n\s*|(?<=[.!?])\s+(?=[A-Z(])")


@lru_cache(maxsize=1 << 16)
def pointer_share(text: str) -> float:
    """The share of a passage's words that point elsewhere instead of answering: an address, phone number, e-mail or
    web address, or a list of resources, organizations, registries and encyclopedias ("These resources address the
    diagnosis or management of X: - Gene Review: ... - Genetic Testing Registry: ..."). Segments are its list items and
    sentences; a segment that holds such a pointer counts whole. 0 for prose, ~1 for an address list; a list of
    symptoms or treatments ("- hemodialysis - peritoneal dialysis") points nowhere and counts 0."""
    total = len(text.split())
    if not total:
        return 0.0
    pointing = sum(len(part.split()) for part in _SEGMENTS.split(text) if _CONTACT.search(part) or _POINTS.search(part))
    return pointing / total


def topic_key(passage: Passage) -> str:
    """The topic a passage answers about: its focus (case aside), else its title."""
    return " ".join((passage.focus or passage.title).lower().split())


def topic_first(ranked: list[Retrieved], typed: dict[str, float]) -> list[Retrieved]:
    """knowledge.topic_first: LiveQA grades the top answer, and an answer about the right topic but of another type is
    "related" (1 point) where one about another topic is "incorrect" (0). So the top answer's topic is the one whose
    best passage scores highest WITHOUT its question-type bonus (`typed`: cue words are weak evidence, often read in
    the story), and the type bonus only orders the passages of that topic: they come first (by their full score), then
    every other passage as before."""
    top = topic_key(max(ranked, key=lambda r: r.score - typed.get(r.passage.id, 0.0)).passage)
    return sorted(ranked, key=lambda r: topic_key(r.passage) != top)  # stable: each part keeps its full-score order


def rqe_kind(cfg) -> str:
    """The RQE model a KnowledgeConfig uses: its `rqe_kind`, where "auto" is the cross-encoder once it has been
    built (`vmed knowledge train-rqe --kind cross-encoder`) and the shipped logistic regression until then."""
    if cfg.rqe_kind != "auto":
        return cfg.rqe_kind
    from . import cross_encoder

    return "cross-encoder" if cross_encoder.built(cfg.rqe_cross_encoder) else "lr"


RQE_COSINE = "dense-question"  # the run whose score is the RQE model's cosine feature


# -- the question as matched: a long consumer message and the sentences that ask ---------------------
_SENTENCES = re.compile(r"(?<=[.?!])\s+|\s*\n\s*")
_ASKS = re.compile(r"\?\s*$|^(what|how|why|when|where|which|who|is|are|can|could|does|do|did|should|will|would|"
                   r"may|has|have)\b|\b(information|info|know about|tell me|looking for|wondering|want to know|"
                   r"would like to know|need to know|learn)\b", re.I)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCES.split(text) if WORD.search(s)]


def question_focus(text: str, topic_words: frozenset[str] = frozenset(), subject_words: int = 8) -> str:
    """The part of a consumer message that says what is asked: a short first sentence (the subject line of
    a message: usually the condition), then the sentences that ask (a question mark, a question word, a
    request for information), name a question type (QTYPE_CUES) or name a topic of the index (`topic_words`:
    words of its passages' focus, e.g. "gastritis"). The whole text when nothing beyond the subject is picked."""
    parts = sentences(text)
    if len(parts) <= 1:
        return text
    keep = [parts[0]] if len(WORD.findall(parts[0])) <= subject_words else []
    for part in parts[len(keep):]:
        if _ASKS.search(part) or question_types(part) or topic_words & set(WORD.findall(part.lower())):
            keep.append(part)
    return " ".join(keep) if keep and keep != parts[:1] else text


_GENERIC = frozenset("""getting support family people medical best back first good long life high common after person
report doctor patient patients health healthy care problem problems condition conditions person other over only
that have""".split())


def _focus_word_counts(foci: list[str], max_share: float) -> tuple[dict[str, int], int]:
    """In how many distinct foci each word occurs, and the count above which a word is common across foci."""
    counts: dict[str, int] = {}
    for focus in set(foci):
        for word in set(WORD.findall(focus.lower())):
            counts[word] = counts.get(word, 0) + 1
    return counts, max(2, int(max_share * len(set(foci))))


def topic_lexicon(foci: list[str], max_share: float = 0.002) -> frozenset[str]:
    """Words (>3 letters) of the passages' focus names that are rare across foci (so "syndrome", "disease",
    "type" are not topic words, but "gastritis" is): the index's own list of what it has answers about."""
    cues = tuple(cue for group in QTYPE_CUES.values() for cue in group)
    counts, limit = _focus_word_counts(foci, max_share)
    return frozenset(w for w, c in counts.items() if c <= limit and len(w) > 3 and not w.isdigit()
                     and w not in STOP_WORDS and w not in _GENERIC and not w.startswith(cues))


def generic_words(foci: list[str], max_share: float = 0.002) -> frozenset[str]:
    """Words too common across the index's foci ("syndrome", "type", "disease") or in any medical talk (`_GENERIC`)
    to name a topic on their own: a synonym made only of these names nothing (`synonym_in_question`)."""
    counts, limit = _focus_word_counts(foci, max_share)
    return frozenset(w for w, c in counts.items() if c > limit) | _GENERIC


@dataclass(frozen=True)
class QueryViews:
    """How the question is embedded: a weighted mean of the embeddings of the whole text, of its focus
    (`question_focus`) and of its sentences one by one (their mean). Cosine similarity is linear in the query
    vector, so the mean of the views' vectors scores every passage by the same mean of the views' cosines
    (still a cosine scale for the no-source threshold), with one vector for any dense store."""

    full: float = 1.0
    focus: float = 0.0
    sentences: float = 0.0

    def __post_init__(self):
        if min(self.full, self.focus, self.sentences) < 0 or not (self.full or self.focus or self.sentences):
            raise UserInputError("the dense query needs a positive weight for at least one view "
                                 "(knowledge.query_full / query_focus / query_sentences, none negative)")

    def texts(self, question: str, topic_words: frozenset[str] = frozenset()) -> list[tuple[str, float]]:
        views = [(question, self.full)]
        if self.focus:
            views.append((question_focus(question, topic_words), self.focus))
        if self.sentences:
            parts = sentences(question) or [question]
            views += [(part, self.sentences / len(parts)) for part in parts]
        return [(text, weight) for text, weight in views if weight]


class Retriever:
    """Ranks passages of one opened index with one method; `search` takes ~ms once loaded."""

    def __init__(self, index: KnowledgeIndex, method: str = "bm25-question", reranker: Reranker | None = None,
                 depth: int = 50, encoder_threads: int | None = None, views: QueryViews | None = None):
        self.index = index
        self.method = method
        self.runs = runs_of(method)
        self.reranker = reranker or Reranker()
        if self.reranker.rqe_weight and self.reranker.rqe_kind == "cross-encoder":
            from . import cross_encoder

            # the threads the knowledge stage gives its encoders; one model loaded, here and by `rerank`
            self.reranker = replace(self.reranker, threads=encoder_threads)
            cross_encoder.load(self.reranker.cross_encoder, encoder_threads)  # a missing model: one clear error, now
        elif (self.reranker.rqe_weight or self.reranker.learned) and not has_dense_question(method):
            raise UserInputError(f"the {'learned' if self.reranker.learned else 'RQE'} re-ranker reads the MiniLM cosine "
                                 f"to MedQuAD's questions, which method '{method}' does not compute; use one with a "
                                 f"dense-question run (dense-question, dense-fused, hybrid, hybrid-question, hybrid-all) "
                                 f"or knowledge.reranker=rules")
        if self.reranker.learned:
            from .ranker import load_model

            load_model(self.reranker.ranker_model)  # a missing or stale model: one clear error, now
        self.depth = depth
        self.encoder_threads = encoder_threads
        self.views = views or QueryViews()
        self._encoder = None
        self._topics: frozenset[str] | None = None
        self._generic: frozenset[str] | None = None
        self._written: WrittenNames | None = None

    def query_vector(self, text: str):
        """The dense vector a search of `text` uses: its query views' encodings, weighted (one view: its own)."""
        if self._encoder is None:
            from . import encoder
            from .index import ENCODER_DIR

            self._encoder = encoder.OnnxEncoder(self.index.folder / ENCODER_DIR, self.encoder_threads)
        views = self.views.texts(text, self.topics() if self.views.focus else frozenset())
        if len(views) == 1:
            return self._encoder.encode([views[0][0]])[0]
        vectors = self._encoder.encode([view for view, _ in views])
        weights = [weight for _, weight in views]
        return (vectors * (np.asarray(weights, np.float32) / sum(weights))[:, None]).sum(0)

    def topics(self) -> frozenset[str]:
        if self._topics is None:
            self._topics = topic_lexicon(self.index.docs.foci())
        return self._topics

    def generic(self) -> frozenset[str]:
        if self._generic is None:
            self._generic = generic_words(self.index.docs.foci())
        return self._generic

    def written_names(self) -> WrittenNames:
        """The index's names (the order of its "names" vectors), once per retriever: the names table the index stores
        (`vmed knowledge build` writes it), or, for an index without a usable one, computed from its passages (~1 s
        for MedQuAD); with knowledge.clean_synonyms the broader names are never counted as written."""
        if self._written is None:
            table = self.index.names_table()
            if table is None or table.get("key") != words_key(self.generic()):
                passages = self.index.docs.passages(range(self.index.docs.count()))
                table = names_table([passages[row] for row in range(len(passages))], self.generic())
            self._written = WrittenNames.from_table(table, self.generic(), self.reranker.clean_synonyms)
        return self._written

    def search(self, question: str, k: int = 5) -> list[Retrieved]:
        query = Query(question, self.query_vector if needs_dense(self.method) else None)
        fused: dict[int, float] = {}
        run_scores: dict[int, dict[str, float]] = {}
        names = self.reranker.synonyms.endswith(("+dense", "+written"))
        if self.reranker.synonyms.endswith("+written") and needs_dense(self.method):
            query.names = self.written_names()(question)
        for store, field_name, weight in self.runs:
            searched = WITH_NAMES if names and (store, field_name) == ("dense", "question") else field_name
            hits = self.index.store_for(store).search(query, searched, self.depth)
            name = f"{'bm25' if store == 'fts5' else 'dense'}-{field_name}"
            for rank, hit in enumerate(hits):
                fused[hit.row] = fused.get(hit.row, 0.0) + weight / (RRF_K + rank + 1)
                run_scores.setdefault(hit.row, {})[name] = hit.score
        if not fused:
            return []
        best = sorted(fused, key=lambda row: -fused[row])[: max(self.depth, k)]
        passages = self.index.docs.passages(best)
        words = set(WORD.findall(question.lower()))
        scale = RRF_K / sum(weight for _, _, weight in self.runs)  # 1.0 ~ ranked first by every run
        items = [Retrieved(passages[row], fused[row] * scale, relevance(run_scores[row], passages[row], words),
                           run_scores[row]) for row in best if row in passages]
        if self.reranker.active:  # with the question's MiniLM vector, if a dense run computed it (None for keyword methods)
            items = self.reranker(question_focus(question, self.topics()) if self.reranker.on_focus else question, items,
                                  query._vector, self.generic() if self.reranker.synonyms != "none" else frozenset())
        return items[:k]


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
    words = [w for w in WORD.findall(topic.lower()) if len(w) > 2 and w not in _TOPIC_STOP]
    if not words:
        return 0.0
    prefixes = {w[:5] for w in question_words}
    return sum(w[:5] in prefixes for w in words) / len(words)


_TOPIC_STOP = frozenset("the and for with what are how does about from your you".split())

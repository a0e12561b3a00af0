"""The knowledge stage of the pipeline: question -> trusted passages -> context or extractive answer + sources.

It opens the index on first use and keeps it. Failures it can explain (no index yet, a corrupt one) become
a one-line `note` on the answer instead of an error, so `vmed ask` still answers, uncited, and says why. An index
built before the names vectors were a default (round 11) is searched as before, with a one-line `hint` saying what
to run to add them.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..closed import is_yes_no
from ..config import KnowledgeConfig
from ..errors import BackendError, UserInputError
from .retrieve import QueryViews, Reranker, Retrieved, Retriever, has_dense_question, needs_dense
from .stores.fts5 import WORD

NO_SOURCE = ("No trusted source in the knowledge index ({index}) matches this question closely enough, so "
             "there is no grounded answer to give. Rephrase it (in English: the sources are English) with the "
             "condition or medicine it is about, or ask a health professional.")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
_BARE_VERDICT = re.compile(r"^(?:yes|no)[.,!]\s+", re.IGNORECASE)  # "Yes. Immediate treatment ..."


@dataclass
class Consultation:
    """What the knowledge stage found for one question."""

    sources: list[Retrieved] = field(default_factory=list)
    note: str | None = None           # why there are no sources (no index, nothing relevant, ...)
    found: bool = False               # at least one source passed the relevance threshold
    skipped: bool = False             # the stage could not run (no index, corrupt index): answer uncited
    hint: str | None = None           # what to run so the search works as configured (`names_fallback`)
    timings: dict[str, float] = field(default_factory=dict)

    def source_dicts(self) -> list[dict[str, Any]]:
        return [item.source() for item in self.sources]

    def notes(self) -> str | None:
        """The note and the hint as one text, or None: an answer's `knowledge_note` (`vmed ask --json`, the API)."""
        return " ".join(text for text in (self.note, self.hint) if text) or None


class KnowledgeStage:
    def __init__(self, config: KnowledgeConfig | None = None):
        self.config = config or KnowledgeConfig()
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()
        self.hint: str | None = None  # set when the index is opened (`names_fallback`)

    def _store_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.config.qdrant_url:
            options["qdrant_url"] = self.config.qdrant_url
        if self.config.qdrant_api_key:
            options["qdrant_api_key"] = self.config.qdrant_api_key.get_secret_value()
        return options

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                from .index import open_index

                index = open_index(self.config.index, self._store_options(), need_dense=needs_dense(self.config.method))
                cfg, self.hint = names_fallback(self.config, index.manifest, index.folder)
                self._retriever = Retriever(index, cfg.method, Reranker.from_config(cfg),
                                            encoder_threads=cfg.encoder_threads,
                                            views=QueryViews(cfg.query_full, cfg.query_focus, cfg.query_sentences))
            return self._retriever

    def retrieve(self, question: str, k: int | None = None) -> list[Retrieved]:
        return self.retriever.search(question, k or self.config.top_k)

    def consult(self, question: str) -> Consultation:
        """Retrieve for `question`; explainable failures become a note, never an exception."""
        started = time.perf_counter()
        try:
            found = self.retrieve(question)
        except (UserInputError, BackendError) as exc:
            return Consultation(note=f"knowledge stage skipped: {exc}", skipped=True)
        timings = {"retrieve_s": round(time.perf_counter() - started, 4)}
        relevant = [item for item in found if item.relevance >= self.config.min_relevance]
        if not relevant:
            return Consultation(note=NO_SOURCE.format(index=self.config.index), timings=timings, hint=self.hint)
        return Consultation(sources=relevant, found=True, timings=timings, hint=self.hint)

    def close(self) -> None:
        if self._retriever is not None:
            self._retriever.index.close()
            self._retriever = None


def names_fallback(cfg: KnowledgeConfig, manifest: dict[str, Any], folder) -> tuple[KnowledgeConfig, str | None]:
    """The configuration the index can serve, and a one-line hint when it serves less than asked: the dense search
    of the names a question writes (knowledge.synonyms=focus+rqe+written, the default since round 11; +dense too)
    needs the index's "names" vectors. An index built without them (by `vmed knowledge build` before round 11, or
    a Qdrant store) is searched with focus+rqe, the previous default, instead of failing."""
    if not cfg.synonyms.endswith(("+dense", "+written")) or not has_dense_question(cfg.method) \
            or "names" in (manifest.get("dense_fields") or ()):
        return cfg, None
    if (manifest.get("dense_store") or "numpy") == "numpy":
        corpora = list(manifest.get("corpora") or ["medquad"])
        command = "vmed knowledge build" + (f" --name {cfg.index}" if cfg.index != "medquad" else "") \
            + ("" if "medquad" in corpora else " --no-medquad") \
            + "".join(f" --corpus {corpus}" for corpus in corpora if corpus != "medquad")
        todo = f"add them with `{command}` (the question vectors are kept; ~9 min on 2 cores for MedQuAD)"
    else:
        todo = "the Qdrant store holds none (`--set knowledge.synonyms=focus+rqe` silences this note)"
    return cfg.model_copy(update={"synonyms": "focus+rqe"}), (
        f"the knowledge index at {folder} has no 'names' vectors, so the search did not match the other names of a "
        f"topic the question writes; {todo}")


# -- answer text --------------------------------------------------------------------------------------
def trim_to_question(text: str, question: str, max_words: int) -> str:
    """An NIH answer cut to about `max_words`: its opening, plus the paragraph that shares the most words with
    the question when that one lies further down; cut at sentence ends, '…' where text was left out."""
    paragraphs = [p.strip() for p in text.splitlines() if p.strip()]
    if not paragraphs:
        return ""
    if not is_yes_no(question):  # an answer to "Can X be treated?" that MedQuAD titled "What are the treatments?"
        paragraphs[0] = _BARE_VERDICT.sub("", paragraphs[0], count=1)
    asked = {w for w in WORD.findall(question.lower()) if len(w) > 3}
    overlap = [len(asked & set(WORD.findall(p.lower()))) for p in paragraphs]
    best = max(range(len(paragraphs)), key=lambda i: (overlap[i], -i))
    chosen: list[str] = []
    budget = max_words
    order = [0] + ([best] if best and overlap[best] > overlap[0] else []) + list(range(1, len(paragraphs)))
    seen: set[int] = set()
    for i in order:
        if i in seen or budget <= 0:
            continue
        seen.add(i)
        sentences = _SENTENCE.split(paragraphs[i])
        kept: list[str] = []
        for sentence in sentences:
            words = len(sentence.split())
            if words > budget and (kept or chosen):
                break
            kept.append(sentence)
            budget -= words
        if kept:
            chosen.append(" ".join(kept) + (" …" if len(kept) < len(sentences) else ""))
    joined = "\n".join(chosen)
    if len(seen) < len(paragraphs) and not joined.endswith("…"):
        joined += " …"
    return joined


def context_text(sources: list[Retrieved], words: int, image_text: str | None = None) -> str:
    """The prompt's input: the image expert's text (if any), then each passage with its title, shortened."""
    parts = [image_text] if image_text else []
    for rank, item in enumerate(sources, 1):
        body = item.passage.text.split()
        shortened = " ".join(body[:words]) + (" …" if len(body) > words else "")
        parts.append(f"Source [{rank}] {item.passage.title}:\n{shortened}")
    return "\n\n".join(parts)


_CITED = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")  # "[4]", "Source [4]", "[1, 2]"


def invented_citations(answer: str, n_sources: int) -> list[int]:
    """The source numbers a generated answer cites that no source has (the model copied a "Source [n]" header
    and made up its number), in order of first mention."""
    cited = (int(n) for group in _CITED.findall(answer) for n in re.split(r"\s*,\s*", group))
    return list(dict.fromkeys(n for n in cited if not 1 <= n <= n_sources))


def sources_footer(sources: list[Retrieved], answer: str = "") -> str:
    """One line per cited page and title; passages that share both are one line with all their numbers
    ("[1, 2]"), so a "Source [n]" of the prompt still points at a line. A number the answer cites that no source
    has is named after them, so a reader does not look for it."""
    ranks: dict[tuple[str, str], list[int]] = {}
    for rank, item in enumerate(sources, 1):
        ranks.setdefault((item.passage.title, item.passage.url or "(no URL)"), []).append(rank)
    lines = [f"[{', '.join(map(str, numbers))}] {title} — {url}" for (title, url), numbers in ranks.items()]
    invented = invented_citations(answer, len(sources)) if lines else []
    if invented:
        lines.append(f"(The answer cites {', '.join(f'[{n}]' for n in invented)}: no such source; the language "
                     "model made the number up.)")
    return "\n\nSources:\n" + "\n".join(lines) if lines else ""

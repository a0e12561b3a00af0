"""Passages and the corpora they come from: the shared MedQuAD, or a user's folder of JSONL / Markdown.

A passage is one citable unit: an answer (or a section of a document) with the title and URL a user can
follow. Every corpus reader yields `Passage`s; the index never reads a data set's native format itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from ..data.store import jsonl_rows
from ..errors import UserInputError

MAX_PASSAGE_CHARS = 200_000  # a single passage larger than this is not a passage (a dumped file?)


@dataclass(frozen=True)
class Passage:
    id: str            # unique in the index: "medquad:GHR_0000001_Sec1", "mycorpus:notes.md#2"
    title: str         # what the citation shows
    url: str           # where a user reads the original ("" when a user corpus gives none)
    text: str          # the answer / passage text
    question: str = ""  # the question it answers, when the source has one (MedQuAD)
    focus: str = ""     # the topic (MedQuAD's Focus)
    source: str = ""    # who wrote it (GHR, GARD, ... or the corpus name)
    qtype: str = ""     # MedQuAD's question type (information, symptoms, treatment, ...)
    synonyms: tuple[str, ...] = ()  # other names of the focus (MedQuAD's <Synonyms>: "Manic-depressive illness")

    def to_dict(self) -> dict:
        return asdict(self)


def medquad_passages(root: Path) -> Iterator[Passage]:
    """The shared MedQuAD: one passage per answered QA pair, titled by its question, its id the one TREC
    LiveQA judgements use (a few CancerGov ids occur twice: the second gets '#2')."""
    from ..data.sources.medquad import MedQuAD

    seen: dict[str, int] = {}
    for pair in MedQuAD().pairs(root):
        seen[pair.qrels_id] = seen.get(pair.qrels_id, 0) + 1
        suffix = f"#{seen[pair.qrels_id]}" if seen[pair.qrels_id] > 1 else ""
        yield Passage(
            id=f"medquad:{pair.qrels_id}{suffix}", title=f"{pair.question.rstrip(' ?')}? ({pair.source})"
            if pair.question else pair.focus, url=pair.url, text=pair.answer, question=pair.question,
            focus=pair.focus, source=pair.source, qtype=pair.qtype, synonyms=pair.synonyms,
        )


def folder_passages(folder: Path, name: str | None = None) -> Iterator[Passage]:
    """A user corpus: every `*.jsonl` and `*.md` file under `folder`.

    JSONL: one object per line with `text` and at least one of `url` / `title` (optional: `id`, `question`,
    `focus`, `source`). Markdown: each `#`/`##` section is a passage titled by its heading (the file's first
    heading, or its name, before any heading); a `url: ...` line at the top gives the URL of every section.
    A file that is not what its name says is one clear error naming the file and line.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserInputError(f"corpus folder not found: {folder}")
    name = name or folder.name
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jsonl", ".md", ".markdown") and p.is_file())
    if not files:
        raise UserInputError(f"corpus folder {folder} holds no .jsonl or .md file")
    for path in files:
        relative = path.relative_to(folder).as_posix()
        reader = _jsonl_passages if path.suffix.lower() == ".jsonl" else _markdown_passages
        yield from reader(path, relative, name)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise UserInputError(f"corpus file {path} is binary, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserInputError(f"corpus file {path} is not UTF-8 text (byte {exc.start})") from None


def _jsonl_passages(path: Path, relative: str, corpus: str) -> Iterator[Passage]:
    for number, item in jsonl_rows(path, torn_tail_ok=False):
        if not isinstance(item, dict):
            raise UserInputError(f"corpus file {path} line {number} must be a JSON object")
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            raise UserInputError(f"corpus file {path} line {number} has no 'text'")
        if len(text) > MAX_PASSAGE_CHARS:
            raise UserInputError(f"corpus file {path} line {number}: the passage is over {MAX_PASSAGE_CHARS:,} characters")
        url, title = str(item.get("url") or ""), str(item.get("title") or "")
        if not url and not title:
            raise UserInputError(f"corpus file {path} line {number} needs a 'url' or a 'title' to cite")
        yield Passage(id=f"{corpus}:{item.get('id') or f'{relative}#{number}'}", title=title or url, url=url,
                      text=text.strip(), question=str(item.get("question") or ""), focus=str(item.get("focus") or ""),
                      source=str(item.get("source") or corpus))


_HEADING = re.compile(r"^(#{1,2})\s+(.+?)\s*#*\s*$")
_URL_LINE = re.compile(r"^url:\s*(\S+)\s*$", re.IGNORECASE)


def _markdown_passages(path: Path, relative: str, corpus: str) -> Iterator[Passage]:
    text = _read_text(path)
    url = ""
    title = path.stem.replace("_", " ").replace("-", " ")
    sections: list[tuple[str, list[str]]] = [(title, [])]
    for line in text.splitlines():
        heading = _HEADING.match(line)
        found_url = _URL_LINE.match(line)
        if found_url and not url and not any(body for _, body in sections):
            url = found_url.group(1)
        elif heading:
            sections.append((heading.group(2).strip(), []))
        else:
            sections[-1][1].append(line)
    number = 0
    for heading, body in sections:
        content = "\n".join(body).strip()
        if not content:
            continue
        number += 1
        if len(content) > MAX_PASSAGE_CHARS:
            raise UserInputError(f"corpus file {path}: section '{heading}' is over {MAX_PASSAGE_CHARS:,} characters")
        yield Passage(id=f"{corpus}:{relative}#{number}", title=heading, url=url, text=content, source=corpus)

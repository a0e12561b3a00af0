"""Keyword store: SQLite FTS5 with its built-in bm25() ranking (Python's standard library, no server).

The same SQLite file is the index's document store: every passage's text, title and URL live in the
`passages` table, and the FTS5 table indexes it as external content (no second copy of the text).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import UserInputError
from ..corpus import Passage
from .base import Hit, Query

FILENAME = "passages.sqlite"
COLUMNS = ("id", "title", "url", "text", "question", "focus", "source", "qtype", "synonyms")
SYNONYM_SEP = "\n"  # the synonyms column: the focus's other names, one a line
# FTS5 has no stop-word list: dropping these keeps OR queries over long user messages short and fast.
STOP_WORDS = frozenset("""a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having he
her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
off on once only or other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves please thank thanks hi hello dear regards know
want would like get got also im ive dont really question questions information info tell""".split())
WORD = re.compile(r"[^\W_]+")  # a word, as every matcher of the knowledge package reads one
MAX_TERMS = 48


def query_terms(text: str) -> list[str]:
    """Distinct lower-case word terms of a question, stop words and 1-letter tokens dropped, in order."""
    seen: dict[str, None] = {}
    for term in WORD.findall(text.lower()):
        if len(term) > 1 and term not in STOP_WORDS:
            seen.setdefault(term)
    return list(seen)[:MAX_TERMS]


class FTS5Store:
    name = "fts5"
    fields = ("question", "answer", "all")
    # FTS5 columns: question, focus, text. Each field is a column filter plus bm25() column weights.
    _FIELD = {"question": ("{question focus}", (1.0, 1.0, 0.0)),
              "answer": ("{text}", (0.0, 0.0, 1.0)),
              "all": ("{question focus text}", (1.0, 1.0, 1.0))}

    def __init__(self, db: sqlite3.Connection, weights: dict[str, tuple[float, float, float]] | None = None):
        self.db = db
        self.weights = weights or {}

    @classmethod
    def build(cls, folder: Path, passages: Sequence[Passage], options: dict[str, Any], progress) -> dict[str, Any]:
        db = sqlite3.connect(folder / FILENAME)
        db.executescript(f"""
            CREATE TABLE passages(rowid INTEGER PRIMARY KEY, {', '.join(c + ' TEXT' for c in COLUMNS)});
            CREATE UNIQUE INDEX passages_id ON passages(id);
            CREATE VIRTUAL TABLE fts USING fts5(question, focus, text, content='passages', content_rowid='rowid',
                                                tokenize='porter unicode61 remove_diacritics 2');
        """)
        task = progress.add_task("keyword index (SQLite FTS5)", total=len(passages))
        batch = 2000
        for start in range(0, len(passages), batch):
            rows = [(start + i, *(getattr(p, c) for c in COLUMNS[:-1]), SYNONYM_SEP.join(p.synonyms))
                    for i, p in enumerate(passages[start:start + batch])]
            db.executemany(f"INSERT INTO passages VALUES (?, {', '.join('?' for _ in COLUMNS)})", rows)
            progress.advance(task, len(rows))
        db.execute("INSERT INTO fts(fts) VALUES ('rebuild')")
        db.execute("INSERT INTO fts(fts) VALUES ('optimize')")
        db.commit()
        db.close()
        return {"file": FILENAME}

    @classmethod
    def open(cls, folder: Path, options: dict[str, Any]) -> FTS5Store:
        path = folder / FILENAME
        if not path.is_file():
            raise UserInputError(f"the knowledge index at {folder} has no {FILENAME}; rebuild it with `vmed knowledge build`")
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            db.execute("SELECT count(*) FROM passages").fetchone()
            db.execute("SELECT rowid FROM fts WHERE fts MATCH 'x' LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise UserInputError(f"the knowledge index at {folder} is corrupt ({exc}); rebuild it with "
                                 f"`vmed knowledge build --force`") from None
        return cls(db, options.get("bm25_weights"))

    def search(self, query: Query, field: str, k: int) -> list[Hit]:
        terms = query_terms(query.text)
        if not terms:
            return []
        columns, weights = self._FIELD[field]
        weights = self.weights.get(field, weights)
        match = f"{columns} : (" + " OR ".join(f'"{t}"' for t in terms) + ")"
        rows = self.db.execute(
            f"SELECT rowid, bm25(fts, {', '.join(str(float(w)) for w in weights)}) AS s FROM fts WHERE fts MATCH ? "
            "ORDER BY s LIMIT ?", (match, k)).fetchall()
        return [Hit(row, -score) for row, score in rows]

    # -- the document store ----------------------------------------------------------------------
    def passages(self, rows: Sequence[int]) -> dict[int, Passage]:
        if not rows:
            return {}
        marks = ", ".join("?" for _ in rows)
        found = self.db.execute(f"SELECT rowid, {', '.join(COLUMNS)} FROM passages WHERE rowid IN ({marks})",
                                list(rows)).fetchall()
        return {row[0]: Passage(*row[1:-1], tuple(row[-1].split(SYNONYM_SEP)) if row[-1] else ()) for row in found}

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM passages").fetchone()[0]

    def foci(self) -> list[str]:
        """Every passage's focus (the topic it answers about), in row order."""
        return [r[0] for r in self.db.execute("SELECT focus FROM passages ORDER BY rowid")]

    def close(self) -> None:
        self.db.close()

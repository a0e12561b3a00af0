"""Stage 4: a human pass in the terminal. One record at a time; a / e / r / s / q (accept, edit, reject,
skip, quit) as single keys on a terminal, or one per line from a pipe. Each decision is fsync'ed to
reviews.jsonl before the next record shows, so quitting or a crash loses nothing and a rerun resumes."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import TextIO

from .store import JsonlStore, read_jsonl

KEYS = {"a": "accept", "e": "edit", "r": "reject", "s": "skip", "q": "quit"}
HELP = "[a]ccept  [e]dit  [r]eject  [s]kip  [q]uit"
MAX_SHOWN_CHARS = 2000


def _read_key(stdin: TextIO) -> str | None:
    """One key press on a terminal, else one line; None at end of input."""
    if stdin.isatty():
        import click

        return click.getchar().lower()
    line = stdin.readline()
    return None if line == "" else line.strip().lower()[:1]


def _read_edit(original: str, stdin: TextIO, console) -> str:
    """$EDITOR on a terminal; from a pipe, lines up to a lone '.'; an empty edit keeps the original."""
    if stdin.isatty():
        import click

        edited = click.edit(original)
        return original if edited is None else edited.strip()
    console.print("new answer, end with a line holding only '.':")
    lines = []
    for line in iter(stdin.readline, ""):
        if line.rstrip("\n") == ".":
            break
        lines.append(line.rstrip("\n"))
    return "\n".join(lines).strip() or original


def review(kept: Path, reviews: Path, sample: int | None = None, seed: int = 0,
           stdin: TextIO = sys.stdin, console=None) -> dict:
    """Show each unreviewed record (or a seeded sample of N) and store accept/edit/reject decisions."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    console = console or Console()
    records = list(read_jsonl(kept))
    if sample is not None and sample < len(records):
        records = random.Random(seed).sample(records, sample)
    counts = {"accept": 0, "edit": 0, "reject": 0, "skip": 0}
    with JsonlStore(reviews) as store:
        todo = [r for r in records if r["id"] not in store]
        console.print(f"{len(todo)} to review ({len(records) - len(todo)} already done). {HELP}", markup=False)
        for position, record in enumerate(todo, 1):
            if stdin.isatty():
                console.clear()
            body = Text()
            for label, field in (("Instruction", "instruction"), ("Input", "input"), ("Answer", "output")):
                if record.get(field):
                    value = record[field]
                    shown = value if len(value) <= MAX_SHOWN_CHARS else value[:MAX_SHOWN_CHARS] + " […]"
                    body.append(f"{label}\n", style="bold cyan")
                    body.append(shown + "\n\n")
            title = f"{position}/{len(todo)}  {record['id']}  ({record.get('topic') or 'no topic'})"
            console.print(Panel(body, title=Text(title), subtitle=Text(HELP)))  # Text: "[a]" is not markup
            key = None
            while key not in KEYS:
                key = _read_key(stdin)
                if key is None:  # end of input: stop as if quit
                    key = "q"
                elif key not in KEYS:
                    console.print(f"unknown key; {HELP}", markup=False)
            action = KEYS[key]
            if action == "quit":
                break
            if action == "skip":
                counts["skip"] += 1
                continue
            decision = {"id": record["id"], "decision": action}
            if action == "edit":
                decision["output"] = _read_edit(record["output"], stdin, console)
            store.append(decision)
            counts[action] += 1
            console.print(f"saved: {action}")
        remaining = len([r for r in records if r["id"] not in store])
    return {**counts, "remaining": remaining}

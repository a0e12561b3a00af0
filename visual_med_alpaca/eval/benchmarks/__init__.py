"""Benchmark registry: name -> loader. Adding a benchmark = one loader function + one line here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...errors import UserInputError
from ...paths import data_dir as data_folder
from .base import Item
from .text import load_mediqa_qa, load_mediqa_rqe, load_pubmedqa
from .vqa import load_pathvqa, load_slake, load_vqa_rad


@dataclass(frozen=True)
class Benchmark:
    name: str
    task: str  # vqa | choice | rank: picks the metrics
    loader: Callable[[Path, str | None], list[Item]]
    description: str
    stop: tuple[str, ...] = ()  # generation.stop when the recipe leaves it unset (None)


# VQA-RAD's answers end at a blank line: on train-dev it started a new block in 20 of 101 generated answers
# ("# Task:", "This task requires ...", a list, the question again) and the cut text never held a reference
# word: the same scores, 9% fewer tokens decoded (docs/benchmarks.md, issue 16).
VQA_RAD_STOP = ("\n\n",)


BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in [
    Benchmark("vqa-rad", "vqa", load_vqa_rad, "VQA-RAD test, 451 QA (272 closed / 179 open)", VQA_RAD_STOP),
    Benchmark("pathvqa", "vqa", load_pathvqa, "PathVQA test, 6,719 QA; --subset fixed1000 for the fixed subset"),
    Benchmark("slake", "vqa", load_slake, "SLAKE 1.0 English test, 1,061 QA (needs the SLAKE images)"),
    Benchmark("pubmedqa", "choice", load_pubmedqa, "PubMedQA PQA-L test, 500 PMIDs, yes/no/maybe"),
    Benchmark("mediqa-rqe", "choice", load_mediqa_rqe, "MEDIQA 2019 RQE test, 230 entailment pairs"),
    Benchmark("mediqa-qa", "rank", load_mediqa_qa, "MEDIQA 2019 QA test, 150 questions / 1,107 answers to rank"),
]}


def load_benchmark(name: str, data_dir: str | Path | None = None, subset: str | None = None,
                   limit: int | None = None) -> list[Item]:
    """The benchmark's items in a fixed order; `limit` keeps the first N (so a longer run extends a shorter one)."""
    if name not in BENCHMARKS:
        raise UserInputError(f"unknown benchmark '{name}'; choose one of: {', '.join(BENCHMARKS)}")
    items = BENCHMARKS[name].loader(data_folder(data_dir), subset)
    if limit is not None:
        if limit < 1:
            raise UserInputError("--limit must be at least 1")
        items = items[:limit]
    return items


__all__ = ["BENCHMARKS", "Benchmark", "Item", "load_benchmark"]

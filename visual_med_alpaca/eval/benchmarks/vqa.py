"""Medical VQA benchmarks with images: VQA-RAD (LLaVA-Med split), PathVQA test, SLAKE (questions only here).
The files are read by the one reader per data set in `data/sources/` (`vqa_rad`, `pathvqa`, `slake`), which
VLM training and the radiology heads read too; this module picks what each benchmark and `--subset` scores."""

from __future__ import annotations

import random
from pathlib import Path

from ...data.sources.pathvqa import PATHVQA_SUBSET_SIZE, pathvqa_fixed_subset, pathvqa_test_items
from ...data.sources.slake import slake_test_items
from ...data.sources.vqa_rad import (vqa_rad_folder, vqa_rad_grouped_split, vqa_rad_items, vqa_rad_seen_split,
                                     vqa_rad_train_split)
from ...errors import UserInputError
from .base import Item

VQA_RAD_FIT_SAMPLE = 150


def vqa_rad_fit_sample(root: Path, n: int = VQA_RAD_FIT_SAMPLE) -> list[Item]:
    """A seeded sample (seed 0) of the open questions of VQA-RAD train minus dev: the questions a VLM trained on
    that split has seen with their answers, so its recall there says how well it fits its training answers
    (in-sample: a fit check, never a result)."""
    open_items = [i for i in vqa_rad_train_split(root)[0] if i.kind == "open"]
    return random.Random(0).sample(open_items, min(n, len(open_items)))


# vqa-rad --subset name -> (what it is, its items): the one list the loader, its error and the CLI help read
VQA_RAD_SUBSETS = {
    "train-dev": ("the held-out tenth of train's images; for choices, never the test set",
                  lambda root: vqa_rad_train_split(root)[1]),
    "train-dev-seen": ("its questions about images trained on with dev_split: seen",
                       lambda root: vqa_rad_seen_split(root)[1]),
    "train-dev-seen-grouped": ("the same with paraphrase groups kept on one side, as test keeps them; "
                               "dev_split: seen-grouped",
                               lambda root: vqa_rad_grouped_split(root)[1]),
    "train-fit": ("150 open train questions, in-sample for a VLM trained on them",
                  vqa_rad_fit_sample),
}


def vqa_rad_subsets_help() -> str:
    return "; ".join(f"{name} ({what})" for name, (what, _) in VQA_RAD_SUBSETS.items())


PATHVQA_SUBSETS = ("full", f"fixed{PATHVQA_SUBSET_SIZE}")  # the one list load_pathvqa, its error and the help read


def subsets_help(brief: bool = False) -> str:
    """`--subset`'s help: PathVQA's and VQA-RAD's subset names (with what each VQA-RAD one is, unless `brief`)."""
    rad = " | ".join(VQA_RAD_SUBSETS) if brief else vqa_rad_subsets_help()
    return f"pathvqa: {' | '.join(PATHVQA_SUBSETS)}; vqa-rad: {rad}"


def load_vqa_rad(root: Path, subset: str | None = None) -> list[Item]:
    """`vqa_rad/hf_test.jsonl`: 451 QA on 203 images, 272 closed / 179 open (the split LLaVA-Med reports);
    a subset (VQA_RAD_SUBSETS) is a part of VQA-RAD train instead."""
    if subset:
        if subset not in VQA_RAD_SUBSETS:
            raise UserInputError(f"vqa-rad subsets: {vqa_rad_subsets_help()}; use --limit for a quick run")
        return VQA_RAD_SUBSETS[subset][1](root)
    return vqa_rad_items(vqa_rad_folder(root), "test")


def load_pathvqa(root: Path, subset: str | None = None) -> list[Item]:
    """`pathvqa_test/test.jsonl`: 6,719 QA. subset 'fixed1000' = 1,000 questions drawn with seed 0, in file order."""
    items = pathvqa_test_items(root)
    if subset in (None, PATHVQA_SUBSETS[0]):
        return items
    if subset != PATHVQA_SUBSETS[1]:
        raise UserInputError(f"unknown PathVQA subset '{subset}'; choose {' or '.join(PATHVQA_SUBSETS)}")
    return pathvqa_fixed_subset(items)


def load_slake(root: Path, subset: str | None = None) -> list[Item]:
    """SLAKE 1.0 English test: the questions are in shared data, the images are not, so it cannot run."""
    return slake_test_items(root)

"""Medical VQA test sets with images: VQA-RAD (LLaVA-Med split), PathVQA test, SLAKE (questions only here)."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from ...errors import UserInputError
from .base import Item, need, read_jsonl

PATHVQA_SUBSET_SIZE = 1000
PATHVQA_SUBSET_SEED = 0


def _vqa_items(rows: list[dict], images: Path) -> list[Item]:
    items = []
    for row in rows:
        kind = row["answer_type"].strip().lower()
        if kind not in ("closed", "open"):
            raise UserInputError(f"{row['id']}: unknown answer_type {row['answer_type']!r}")
        items.append(Item(row["id"], row["question"], str(row["answer"]), kind, images / row["image"],
                          meta={k: row[k] for k in ("question_type", "image_organ") if k in row}))
    return items


VQA_RAD_DEV_FRACTION = 0.1
VQA_RAD_DEV_SEED = 0


def vqa_rad_train_split(root: Path, dev_fraction: float = VQA_RAD_DEV_FRACTION,
                        seed: int = VQA_RAD_DEV_SEED) -> tuple[list[Item], list[Item]]:
    """VQA-RAD *train* (1,793 QA) split by image into (train, dev): dev is for choices while training, so the
    test set is never tuned on. All questions about one image fall on the same side."""
    folder = need(root / "vqa_rad", "VQA-RAD folder")
    items = _vqa_items(read_jsonl(need(folder / "hf_train.jsonl", "VQA-RAD train file")), folder / "images")
    images = sorted({item.image.name for item in items})
    dev_images = set(random.Random(seed).sample(images, round(len(images) * dev_fraction)))
    return ([i for i in items if i.image.name not in dev_images], [i for i in items if i.image.name in dev_images])


def vqa_rad_seen_split(root: Path, dev_fraction: float = VQA_RAD_DEV_FRACTION,
                       seed: int = VQA_RAD_DEV_SEED) -> tuple[list[Item], list[Item], list[Item]]:
    """Train-dev split again BY QUESTION, test-like: VQA-RAD test asks new questions about images train has, so
    (D-train, D-eval, unseen): each kind (closed/open) ordered by the SHA-256 of the question id, its first half
    (rounded down) is D-train (trained on), the rest D-eval; a D-eval question whose image has no D-train question
    goes to `unseen` instead (kept apart, not evaluated), so every D-eval image is one the model trained on.
    It can put a question and its paraphrase on either side (35 of the 86 D-eval questions), which test never does:
    `vqa_rad_grouped_split` keeps them together."""
    dev = vqa_rad_train_split(root, dev_fraction, seed)[1]
    return _split_whole(dev, [[i] for i in dev])  # each question its own group: the first half of each kind


def _split_whole(dev: list[Item], groups: list[list[Item]]) -> tuple[list[Item], list[Item], list[Item]]:
    """(D-train, D-eval, unseen) of `dev` with each group kept whole: groups ordered by the SHA-256 of their smallest
    question id; each goes to D-train if D-train then holds no more than half (rounded down) of dev's questions of
    each kind, else to the rest; a question of the rest whose image has no D-train question is `unseen`. With one
    question per group this is the first half of each kind in hash order. Each list in dev's own order."""
    limit = {kind: sum(i.kind == kind for i in dev) // 2 for kind in ("closed", "open")}
    taken = dict.fromkeys(limit, 0)
    first_half: set[str] = set()
    for group in sorted(groups, key=lambda g: hashlib.sha256(min(i.id for i in g).encode()).hexdigest()):
        need_more = {kind: taken[kind] + sum(i.kind == kind for i in group) for kind in limit}
        if all(need_more[kind] <= limit[kind] for kind in limit):
            taken = need_more
            first_half.update(i.id for i in group)
    d_train = [i for i in dev if i.id in first_half]
    trained = {i.image.name for i in d_train}
    rest = [i for i in dev if i.id not in first_half]
    return d_train, [i for i in rest if i.image.name in trained], [i for i in rest if i.image.name not in trained]


def question_key(image: str, question: str) -> tuple[str, str]:
    """A question matched to an MEVF row by image and text (lower case, spaces squeezed, no trailing '?')."""
    return image, " ".join(question.lower().split()).rstrip("?").strip()


def vqa_rad_paraphrase_groups(items: list[Item], mevf_rows: list[dict]) -> list[list[Item]]:
    """`items` in groups that must stay on one side of a split, from VQA-RAD's MEVF question file (`mevf_trainset.json`:
    qid, image_name, question, phrase_type). A question and its paraphrase (by another clinician) sit in one run of
    consecutive qids about one image: a run that holds a `para` question makes one group of its free-form and `para`
    questions (its `frame` ones are not in the LLaVA-Med split); a free-form question with no `para` beside it is
    its own group. Items are matched to MEVF rows by image and question text; items matching the same rows, or
    rows of one group, are one group; an item that matches none is its own. Groups in the order of their first item."""
    runs: list[list[dict]] = []
    for row in sorted(mevf_rows, key=lambda r: r["qid"]):
        if runs and runs[-1][-1]["image_name"] == row["image_name"] and row["qid"] == runs[-1][-1]["qid"] + 1:
            runs[-1].append(row)
        else:
            runs.append([row])
    group_of: dict[tuple[str, str], set[tuple[int, int]]] = {}  # question -> the groups of its MEVF rows
    for n, run in enumerate(runs):
        kept = [r for r in run if r["phrase_type"] in ("freeform", "para")]
        paired = any(r["phrase_type"] == "para" for r in kept)
        for m, row in enumerate(kept):
            label = (n, 0 if paired else m + 1)
            group_of.setdefault(question_key(row["image_name"], row["question"]), set()).add(label)
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[tuple[int, int], int] = {}
    for i, item in enumerate(items):
        for label in group_of.get(question_key(item.image.name, item.question), ()):
            j = first_with.setdefault(label, i)
            parent[find(i)] = find(j)
    groups: dict[int, list[Item]] = {}
    for i, item in enumerate(items):
        groups.setdefault(find(i), []).append(item)
    return list(groups.values())


def vqa_rad_grouped_split(root: Path, dev_fraction: float = VQA_RAD_DEV_FRACTION,
                          seed: int = VQA_RAD_DEV_SEED) -> tuple[list[Item], list[Item], list[Item]]:
    """`vqa_rad_seen_split` with VQA-RAD's paraphrase groups (`vqa_rad_paraphrase_groups`) kept whole, as test keeps
    a question and its paraphrase together: (D-train, D-eval, unseen). Groups ordered by the SHA-256 of their
    smallest question id; each goes to D-train if D-train then holds no more than half (rounded down) of train-dev's
    questions of each kind, else to the rest; a question of the rest whose image has no D-train question goes to
    `unseen` (kept apart, not evaluated). Each list in train-dev's own order."""
    folder = need(root / "vqa_rad", "VQA-RAD folder")
    rows = json.loads(need(folder / "mevf_trainset.json", "VQA-RAD MEVF train question file").read_text())
    dev = vqa_rad_train_split(root, dev_fraction, seed)[1]
    return _split_whole(dev, vqa_rad_paraphrase_groups(dev, rows))


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


def load_vqa_rad(root: Path, subset: str | None = None) -> list[Item]:
    """`vqa_rad/hf_test.jsonl`: 451 QA on 203 images, 272 closed / 179 open (the split LLaVA-Med reports);
    a subset (VQA_RAD_SUBSETS) is a part of VQA-RAD train instead."""
    if subset:
        if subset not in VQA_RAD_SUBSETS:
            raise UserInputError(f"vqa-rad subsets: {vqa_rad_subsets_help()}; use --limit for a quick run")
        return VQA_RAD_SUBSETS[subset][1](root)
    folder = need(root / "vqa_rad", "VQA-RAD folder")
    return _vqa_items(read_jsonl(need(folder / "hf_test.jsonl", "VQA-RAD test file")), folder / "images")


def load_pathvqa(root: Path, subset: str | None = None) -> list[Item]:
    """`pathvqa_test/test.jsonl`: 6,719 QA. subset 'fixed1000' = 1,000 questions drawn with seed 0, in file order."""
    folder = need(root / "pathvqa_test", "PathVQA folder")
    items = _vqa_items(read_jsonl(need(folder / "test.jsonl", "PathVQA test file")), folder / "images")
    if subset in (None, "full"):
        return items
    if subset != f"fixed{PATHVQA_SUBSET_SIZE}":
        raise UserInputError(f"unknown PathVQA subset '{subset}'; choose full or fixed{PATHVQA_SUBSET_SIZE}")
    keep = set(random.Random(PATHVQA_SUBSET_SEED).sample(range(len(items)), PATHVQA_SUBSET_SIZE))
    return [item for i, item in enumerate(items) if i in keep]


def load_slake(root: Path, subset: str | None = None) -> list[Item]:
    """SLAKE 1.0 English test: the questions are in shared data, the images are not, so it cannot run."""
    folder = need(root / "slake", "SLAKE folder")
    rows = read_jsonl(need(folder / "test_en.jsonl", "SLAKE test file"))
    images = folder / "imgs"
    missing = [r["img_name"] for r in rows if not (images / r["img_name"]).is_file()]
    if missing:
        raise UserInputError(
            f"SLAKE images are missing: {len(missing)} of {len(rows)} test questions point at images that are "
            f"not in {images} (e.g. {missing[0]}). The questions are here but the images are not; put the "
            "official SLAKE 'imgs' folder there to run this benchmark."
        )
    return [Item(f"slake_test_{r['qid']}", r["question"], str(r["answer"]), r["answer_type"].lower(),
                 images / r["img_name"], meta={"content_type": r.get("content_type")}) for r in rows]

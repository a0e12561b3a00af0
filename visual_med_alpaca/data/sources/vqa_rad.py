"""VQA-RAD (`vqa_rad/` in the data folder): the one reader of its files, for VLM training (`vlm/data.py`), the
radiology heads (`train/radiology_heads.py`) and the `vqa-rad` benchmark (`eval/benchmarks/vqa.py`).

Files: `hf_train.jsonl` (1,793 QA on 313 images) and `hf_test.jsonl` (451 QA on 203 images, the split LLaVA-Med
reports), `images/synpic*.jpg`, and the MEVF question files (`mevf_trainset.json`, `mevf_testset.json`) whose
qids pair a question with its paraphrase. The splits of train below (train/dev by image, dev again by question)
are what training chooses on, so the test set is never tuned on.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from ..store import read_jsonl
from . import Item, need, vqa_items

FOLDER = "vqa_rad"  # inside the data folder
SPLITS = ("train", "test")
VQA_RAD_DEV_FRACTION = 0.1
VQA_RAD_DEV_SEED = 0


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"VQA-RAD split {split!r}: train or test")


def vqa_rad_folder(root: str | Path) -> Path:
    """The VQA-RAD folder inside the data folder `root`; one error when it is absent."""
    return need(Path(root) / FOLDER, "VQA-RAD folder")


def vqa_rad_rows(folder: str | Path, split: str) -> list[dict]:
    """The rows of `hf_<split>.jsonl` (train | test) in `folder`, as stored (id, image, question, answer,
    answer_type, question_type, image_organ)."""
    _check_split(split)
    return list(read_jsonl(need(Path(folder) / f"hf_{split}.jsonl", f"VQA-RAD {split} file")))


def vqa_rad_items(folder: str | Path, split: str) -> list[Item]:
    """`hf_<split>.jsonl` as `Item`s (closed / open), images in `folder/images`, in file order."""
    return vqa_items(vqa_rad_rows(folder, split), Path(folder) / "images")


def vqa_rad_mevf_rows(folder: str | Path, split: str = "train") -> list[dict]:
    """The MEVF question file (`mevf_trainset.json` / `mevf_testset.json`: qid, image_name, question,
    phrase_type, ...)."""
    _check_split(split)
    path = need(Path(folder) / f"mevf_{split}set.json", f"VQA-RAD MEVF {split} question file")
    return json.loads(path.read_text(encoding="utf-8"))


def vqa_rad_train_split(root: Path, dev_fraction: float = VQA_RAD_DEV_FRACTION,
                        seed: int = VQA_RAD_DEV_SEED) -> tuple[list[Item], list[Item]]:
    """VQA-RAD *train* (1,793 QA) split by image into (train, dev): dev is for choices while training, so the
    test set is never tuned on. All questions about one image fall on the same side."""
    items = vqa_rad_items(vqa_rad_folder(root), "train")
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
    rows = vqa_rad_mevf_rows(vqa_rad_folder(root), "train")
    dev = vqa_rad_train_split(root, dev_fraction, seed)[1]
    return _split_whole(dev, vqa_rad_paraphrase_groups(dev, rows))

"""The one reader per medical VQA set (data/sources: vqa_rad, pathvqa, slake): on tiny files in the shared format
(always run), and the real shared files' sizes as the data manifest and docs state them (skipped when absent)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import shared_data

from visual_med_alpaca.data.sources.pathvqa import pathvqa_fixed_subset, pathvqa_test_items
from visual_med_alpaca.data.sources.slake import slake_rows, slake_test_items
from visual_med_alpaca.data.sources.vqa_rad import (vqa_rad_folder, vqa_rad_grouped_split, vqa_rad_items,
                                                    vqa_rad_mevf_rows, vqa_rad_rows, vqa_rad_seen_split,
                                                    vqa_rad_train_split)
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.eval.benchmarks import load_benchmark


def _rows(split: str, n_images: int, per_image: int) -> list[dict]:
    return [{"id": f"vqarad_hf_{split}_{n * per_image + q:05d}", "image": f"synpic{n}.jpg",
             "question": f"is this question {q} about image {n}?" if q % 2 == 0 else f"what is in image {n}?",
             "answer": "yes" if q % 2 == 0 else f"organ {n}", "answer_type": "CLOSED" if q % 2 == 0 else "OPEN",
             "question_type": "PRES", "image_organ": "HEAD"}
            for n in range(n_images) for q in range(per_image)]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def tiny_data(tmp_path):
    """A data folder with a 20-image VQA-RAD (4 QA each), a 12-question PathVQA test and SLAKE without images."""
    vqa = tmp_path / "vqa_rad"
    _write_jsonl(vqa / "hf_train.jsonl", _rows("train", 20, 4))
    _write_jsonl(vqa / "hf_test.jsonl", _rows("test", 3, 2))
    mevf = [{"qid": n, "image_name": r["image"], "question": r["question"], "phrase_type": "freeform"}
            for n, r in enumerate(_rows("train", 20, 4))]
    (vqa / "mevf_trainset.json").write_text(json.dumps(mevf))
    _write_jsonl(tmp_path / "pathvqa_test" / "test.jsonl",
                 [{"id": f"pathvqa_{i}", "image": f"pathvqa_test_{i % 3}.jpg", "question": f"q{i}?", "answer": i,
                   "answer_type": "OPEN"} for i in range(12)])
    for split in ("train", "validate", "test"):
        _write_jsonl(tmp_path / "slake" / f"{split}_en.jsonl",
                     [{"qid": 7, "img_name": "xmlab1/source.jpg", "question": "Is this a CT?", "answer": "Yes",
                       "answer_type": "CLOSED"}])
    return tmp_path


def test_vqa_rad_items_keep_ids_kinds_images_and_meta(tiny_data):
    folder = vqa_rad_folder(tiny_data)
    test = vqa_rad_items(folder, "test")
    assert [i.id for i in test] == [r["id"] for r in vqa_rad_rows(folder, "test")]  # file order, stored ids
    first = test[0]
    assert (first.kind, first.reference, first.image) == ("closed", "yes", folder / "images" / "synpic0.jpg")
    assert first.meta == {"question_type": "PRES", "image_organ": "HEAD"} and test[1].kind == "open"
    assert [i.id for i in load_benchmark("vqa-rad", tiny_data)] == [i.id for i in test]  # the benchmark is this
    assert len(vqa_rad_mevf_rows(folder, "train")) == 80


def test_vqa_rad_train_split_is_by_image_and_the_same_every_time(tiny_data):
    train, dev = vqa_rad_train_split(tiny_data)
    assert len(train) + len(dev) == 80 and len({i.image for i in dev}) == 2  # a tenth of the 20 images
    assert not {i.image for i in train} & {i.image for i in dev}
    assert [i.id for i in vqa_rad_train_split(tiny_data)[1]] == [i.id for i in dev]
    assert [i.id for i in load_benchmark("vqa-rad", tiny_data, subset="train-dev")] == [i.id for i in dev]
    for split in (vqa_rad_seen_split, vqa_rad_grouped_split):
        d_train, d_eval, unseen = split(tiny_data)
        assert sorted(i.id for i in d_train + d_eval + unseen) == sorted(i.id for i in dev)


def test_vqa_rad_missing_files_and_bad_rows_are_one_error(tiny_data, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(UserInputError, match="VQA-RAD folder not found"):
        vqa_rad_train_split(empty)
    (tiny_data / "vqa_rad" / "hf_test.jsonl").unlink()
    with pytest.raises(UserInputError, match="VQA-RAD test file not found"):
        load_benchmark("vqa-rad", tiny_data)
    _write_jsonl(tiny_data / "vqa_rad" / "hf_test.jsonl", [{**_rows("test", 1, 1)[0], "answer_type": "MAYBE"}])
    with pytest.raises(UserInputError, match="unknown answer_type 'MAYBE'"):
        vqa_rad_items(tiny_data / "vqa_rad", "test")


def test_pathvqa_and_slake_readers(tiny_data):
    items = pathvqa_test_items(tiny_data)
    assert [i.id for i in items] == [f"pathvqa_{i}" for i in range(12)] and items[5].reference == "5"
    subset = pathvqa_fixed_subset(items, size=4)
    assert len(subset) == 4 and subset == [i for i in items if i in subset]  # file order
    assert [r["qid"] for r in slake_rows(tiny_data, "validate")] == [7]
    with pytest.raises(UserInputError, match="SLAKE images are missing: 1 of 1"):
        slake_test_items(tiny_data)
    (tiny_data / "slake" / "imgs" / "xmlab1").mkdir(parents=True)
    (tiny_data / "slake" / "imgs" / "xmlab1" / "source.jpg").write_bytes(b"")
    (item,) = slake_test_items(tiny_data)
    assert (item.id, item.kind, item.reference) == ("slake_test_7", "closed", "Yes")


def test_shared_vqa_sets_have_the_sizes_the_manifest_states():
    root = shared_data("vqa_rad", "hf_train.jsonl").parents[1]
    folder = vqa_rad_folder(root)
    train, test = vqa_rad_items(folder, "train"), vqa_rad_items(folder, "test")
    assert (len(train), len({i.image for i in train}), dict(Counter(i.kind for i in train))) == \
        (1793, 313, {"closed": 1025, "open": 768})
    assert (len(test), len({i.image for i in test}), dict(Counter(i.kind for i in test))) == \
        (451, 203, {"closed": 272, "open": 179})
    assert len({i.id for i in train + test}) == 1793 + 451
    assert len(vqa_rad_mevf_rows(folder, "train")) == 3064 and len(vqa_rad_mevf_rows(folder, "test")) == 451
    rest, dev = vqa_rad_train_split(root)
    assert (len(rest), len(dev), len({i.image for i in dev})) == (1613, 180, 31)
    assert dict(Counter(i.kind for i in dev)) == {"closed": 89, "open": 91}
    assert [len(part) for part in vqa_rad_seen_split(root)] == [89, 86, 5]
    assert [len(part) for part in vqa_rad_grouped_split(root)] == [89, 69, 22]


def test_shared_pathvqa_and_slake_have_the_sizes_the_manifest_states():
    root = shared_data("pathvqa_test", "test.jsonl").parents[1]
    items = pathvqa_test_items(root)
    assert (len(items), len({i.image for i in items}), dict(Counter(i.kind for i in items))) == \
        (6719, 858, {"closed": 3362, "open": 3357})
    shared_data("slake", "test_en.jsonl")
    sizes = {split: len(slake_rows(root, split)) for split in ("train", "validate", "test")}
    assert sizes == {"train": 4919, "validate": 1053, "test": 1061}

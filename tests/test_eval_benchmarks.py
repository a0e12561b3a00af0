"""Each benchmark loader on the real files in ../shared/data (skipped clearly when absent)."""

from collections import Counter

import pytest
from conftest import shared_data

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.eval.benchmarks import BENCHMARKS, load_benchmark
from visual_med_alpaca.eval.commands import BENCHMARK_HELP


def _load(name, **kw):
    return load_benchmark(name, shared_data(), **kw)


def test_every_benchmark_has_a_command():
    assert set(BENCHMARK_HELP) == set(BENCHMARKS)


def test_vqa_rad():
    items = _load("vqa-rad")
    assert len(items) == 451
    assert Counter(i.kind for i in items) == {"closed": 272, "open": 179}
    assert len({i.id for i in items}) == 451
    assert all(i.image.is_file() for i in items)
    assert items[0].question == "is there evidence of an aortic aneurysm?" and items[0].reference == "yes"


def test_vqa_rad_train_subsets_never_touch_test_and_the_fit_sample_is_seen_in_training():
    dev = _load("vqa-rad", subset="train-dev")
    fit = _load("vqa-rad", subset="train-fit")
    test_images = {i.image.name for i in _load("vqa-rad")}
    assert len(dev) == 180 and len(fit) == 150 and all(i.kind == "open" for i in fit)
    assert [i.id for i in fit] == [i.id for i in _load("vqa-rad", subset="train-fit")]  # seeded
    assert all(i.id.startswith("vqarad_hf_train_") for i in dev + fit)  # train questions only, never test's
    assert not {i.image.name for i in fit} & {i.image.name for i in dev}  # what the VLM trains on, not dev
    assert {i.image.name for i in fit} & test_images  # the benchmark's design: test asks about train images too
    with pytest.raises(UserInputError, match="train-fit"):
        _load("vqa-rad", subset="train")


def test_vqa_rad_seen_split_asks_about_trained_images_like_test():
    from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_seen_split, vqa_rad_train_split
    from visual_med_alpaca.vlm.data import vqa_examples

    train, dev = vqa_rad_train_split(shared_data())
    d_train, d_eval, unseen = vqa_rad_seen_split(shared_data())
    ids = lambda items: [i.id for i in items]  # noqa: E731
    assert sorted(ids(d_train + d_eval + unseen)) == sorted(ids(dev))  # a partition of train-dev's questions
    assert (len(d_train), len(d_eval), len(unseen)) == (89, 86, 5)
    assert Counter(i.kind for i in d_train) == {"closed": 44, "open": 45}  # half of each kind (rounded down)
    trained = {i.image.name for i in d_train}
    assert all(i.image.name in trained for i in d_eval) and not any(i.image.name in trained for i in unseen)
    assert ids(_load("vqa-rad", subset="train-dev-seen")) == ids(d_eval) == ids(vqa_rad_seen_split(shared_data())[1])
    seen_train, seen_dev = vqa_examples(shared_data(), 0.1, 0, "seen")
    assert len(seen_train) == len(train) + 89 and len(seen_dev) == 86
    assert {e.image.name for e in seen_dev} <= {e.image.name for e in seen_train}  # every dev image trained on
    plain_train, plain_dev = vqa_examples(shared_data(), 0.1, 0)
    assert len(plain_train) == len(train) and not {e.image for e in plain_dev} & {e.image for e in plain_train}



def test_paraphrase_groups_keep_a_question_with_the_paraphrase_beside_it():
    from pathlib import Path

    from visual_med_alpaca.data.sources import Item
    from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_paraphrase_groups

    def row(qid, image, question, phrase):
        return {"qid": qid, "image_name": image, "question": question, "phrase_type": phrase}

    rows = [row(1, "a.jpg", "Where is the mass?", "freeform"), row(2, "a.jpg", "Where is/are the mass?", "frame"),
            row(3, "a.jpg", "Which lobe holds the lesion?", "para"),
            row(11, "a.jpg", "Is this a CT?", "freeform"), row(12, "a.jpg", "Is the heart big?", "freeform"),
            row(13, "b.jpg", "Is this a CT?", "freeform"),  # same text, other image: not a paraphrase
            row(20, "a.jpg", "Is there a fracture?", "freeform"), row(21, "b.jpg", "Any fracture?", "para")]
    items = [Item(f"q{n}", q, "x", "open", Path(image)) for n, (image, q) in enumerate(
        [("a.jpg", "which lobe holds the lesion?"), ("a.jpg", "is this a ct?"), ("a.jpg", "where is the mass?"),
         ("b.jpg", "is this a ct?"), ("a.jpg", "is the heart big"), ("a.jpg", "is there a fracture?"),
         ("b.jpg", "any fracture?"), ("c.jpg", "not in the file?"), ("a.jpg", "Where is the mass?")])]
    groups = [[i.id for i in g] for g in vqa_rad_paraphrase_groups(items, rows)]
    # q0/q2 (para beside its free-form, a frame between them) and q8 (q2's text again) are one group; a run of
    # free-form questions without a para stays apart; another image or a break in the qids is another group
    assert groups == [["q0", "q2", "q8"], ["q1"], ["q3"], ["q4"], ["q5"], ["q6"], ["q7"]]


def test_grouped_seen_split_keeps_paraphrase_groups_on_one_side():
    import json

    from visual_med_alpaca.data.sources.vqa_rad import (vqa_rad_grouped_split, vqa_rad_paraphrase_groups,
                                                        vqa_rad_train_split)
    from visual_med_alpaca.vlm.data import vqa_examples

    dev = vqa_rad_train_split(shared_data())[1]
    d_train, d_eval, unseen = vqa_rad_grouped_split(shared_data())
    ids = lambda items: [i.id for i in items]  # noqa: E731
    assert sorted(ids(d_train + d_eval + unseen)) == sorted(ids(dev))
    assert (len(d_train), len(d_eval), len(unseen)) == (89, 69, 22)
    assert Counter(i.kind for i in d_train) == {"closed": 44, "open": 45}  # at most half of each kind
    rows = json.loads(shared_data("vqa_rad", "mevf_trainset.json").read_text())
    trained = set(ids(d_train))
    groups = vqa_rad_paraphrase_groups(dev, rows)
    assert sum(len(g) > 1 for g in groups) >= 50  # train-dev does hold paraphrase pairs ...
    assert all(len({i.id in trained for i in g}) == 1 for g in groups)  # ... and none crosses the sides
    assert all(i.image.name in {j.image.name for j in d_train} for i in d_eval)
    again = vqa_rad_grouped_split(shared_data())
    assert [ids(part) for part in again] == [ids(d_train), ids(d_eval), ids(unseen)]  # the same lists every time
    assert ids(_load("vqa-rad", subset="train-dev-seen-grouped")) == ids(d_eval)
    grouped_train, grouped_dev = vqa_examples(shared_data(), 0.1, 0, "seen-grouped")
    assert len(grouped_train) == len(vqa_rad_train_split(shared_data())[0]) + 89 and len(grouped_dev) == 69

def test_pathvqa_full_limit_and_fixed_subset():
    items = _load("pathvqa")
    assert len(items) == 6719
    assert Counter(i.kind for i in items) == {"closed": 3362, "open": 3357}
    subset = _load("pathvqa", subset="fixed1000")
    assert len(subset) == 1000 and [i.id for i in subset] == [i.id for i in _load("pathvqa", subset="fixed1000")]
    order = {i.id: n for n, i in enumerate(items)}
    assert [order[i.id] for i in subset] == sorted(order[i.id] for i in subset)  # kept in file order
    assert [i.id for i in _load("pathvqa", subset="fixed1000", limit=7)] == [i.id for i in subset[:7]]
    with pytest.raises(UserInputError, match="unknown PathVQA subset 'fixed10'; choose full or fixed1000"):
        _load("pathvqa", subset="fixed10")


def test_slake_says_images_are_missing():
    shared_data("slake", "test_en.jsonl")
    if shared_data("slake").joinpath("imgs").is_dir():
        pytest.skip("SLAKE images are present here")
    with pytest.raises(UserInputError, match="SLAKE images are missing: 1061 of 1061"):
        _load("slake")


def test_pubmedqa_reasoning_required_setting():
    items = _load("pubmedqa")
    assert len(items) == 500
    assert Counter(i.reference for i in items) == {"yes": 276, "no": 169, "maybe": 55}
    first = items[0]
    assert first.options == ("yes", "no", "maybe")
    assert "Abstract:" in first.question and first.meta["display_question"] in first.question
    assert first.meta["long_answer"] not in first.question  # the long answer would give the label away


def test_mediqa_rqe_and_qa():
    rqe = _load("mediqa-rqe")
    assert len(rqe) == 230 and Counter(i.reference for i in rqe) == {"yes": 115, "no": 115}
    qa = _load("mediqa-qa")
    assert len(qa) == 1107 and len({i.meta["group"] for i in qa}) == 150
    assert all(i.reference == ("yes" if i.meta["reference_score"] >= 3 else "no") for i in qa)


def test_bad_names_and_folders(tmp_path):
    broken = tmp_path / "mediqa2019" / "MEDIQA_Task2_RQE" / "MEDIQA2019-Task2-RQE-TestSet-wLabels.xml"
    broken.parent.mkdir(parents=True)
    broken.write_text('<?xml version="1.0"?><root><pair pid="1" value="true"><chq>cut sh')
    with pytest.raises(UserInputError, match="TestSet-wLabels.xml is not valid XML"):
        load_benchmark("mediqa-rqe", tmp_path)
    with pytest.raises(UserInputError, match="unknown benchmark"):
        load_benchmark("medqa", shared_data())
    with pytest.raises(UserInputError, match="data folder not found"):
        load_benchmark("vqa-rad", "/nonexistent/data")
    with pytest.raises(UserInputError, match="--limit"):
        load_benchmark("vqa-rad", shared_data(), limit=0)

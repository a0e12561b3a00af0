"""The direct medical-data conversion and the adapter evaluation's test samples."""

from __future__ import annotations

import json

from conftest import shared_data

from visual_med_alpaca.train.adapter_eval import pubmedqa_test, rqe_test, to_markdown
from visual_med_alpaca.train.medical_data import build, cut_answer


def test_cut_answer_keeps_whole_sentences():
    assert cut_answer("One. Two two. Three three three.", 20) == "One. Two two."
    assert cut_answer("short", 100) == "short"


def test_training_mix_excludes_test_and_heldout_items():
    shared = shared_data()
    train, held = build(shared, {"medquad": 300, "mediqa_qa": 50, "pubmedqa": 500, "medical_meadow": 20,
                                 "chatdoctor": 20})
    test_ids = set(json.loads((shared / "pubmedqa" / "test_ground_truth.json").read_text()))
    assert {r["id"] for r in train if r["source"] == "pubmedqa"}.isdisjoint(test_ids)
    assert sum(r["source"] == "pubmedqa" for r in train) == 500
    assert {r["instruction"].lower() for r in held}.isdisjoint(r["instruction"].lower() for r in train)
    assert all(r["output"] and len(r["output"]) <= 700 for r in train)


def test_eval_samples_cover_every_label_and_table_renders():
    shared = shared_data()
    assert {gold for _, gold in pubmedqa_test(shared, 60)} == {"yes", "no", "maybe"}
    assert {gold for _, gold in rqe_test(shared, 40)} == {"yes", "no"}
    side = {"heldout_perplexity": 9.0, "pubmedqa_accuracy": 0.5, "rqe_accuracy": 0.5, "answers": {"Q?": "A | b"}}
    table = to_markdown({"base": side, "adapter": side, "n_heldout_answers": 1, "n_pubmedqa": 2, "n_rqe": 3,
                         "pubmedqa_majority_baseline": 0.5, "rqe_majority_baseline": 0.5})
    assert "| Q? | A \\| b | A \\| b |" in table

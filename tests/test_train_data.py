"""The direct medical-data conversion: no test or held-out item in the training mix."""

from __future__ import annotations

import json

from conftest import shared_data

from visual_med_alpaca.data.sources.mediqa import is_liveqa
from visual_med_alpaca.train.medical_data import build, cut_answer


def test_cut_answer_keeps_whole_sentences():
    assert cut_answer("One. Two two. Three three three.", 20) == "One. Two two."
    assert cut_answer("short", 100) == "short"


def test_training_mix_excludes_test_and_heldout_items():
    shared = shared_data()
    train, held = build(shared, {"medquad": 300, "mediqa_qa": 1000, "pubmedqa": 500, "medical_meadow": 20,
                                 "chatdoctor": 20})
    test_ids = set(json.loads((shared / "pubmedqa" / "test_ground_truth.json").read_text()))
    assert {r["id"] for r in train if r["source"] == "pubmedqa"}.isdisjoint(test_ids)
    assert sum(r["source"] == "pubmedqa" for r in train) == 500
    assert {r["instruction"].lower() for r in held}.isdisjoint(r["instruction"].lower() for r in train)
    assert all(r["output"] and len(r["output"]) <= 700 for r in train)
    benchmark = is_liveqa(shared / "mediqa2019" / "MEDIQA_Task3_QA")  # TREC LiveQA'17: never trained on
    assert not [r["instruction"] for r in train + held if benchmark(r["instruction"])]



def test_a_negative_count_is_refused():
    """`vmed train medical-data --medquad -5` took every MedQuAD record but five (a slice [:-5]), exit 0."""
    import subprocess
    import sys

    from conftest import REPO

    run = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "train", "medical-data", "--medquad", "-5",
                          "--out", "/nonexistent/x"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stderr.startswith("error: ") and "'--medquad'" in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1

"""bench/bench_dev_agreement.py reads the LiveQA runs file (aggregate numbers only) into distinct configurations."""

import json
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from bench_dev_agreement import DECISIONS, configurations  # noqa: E402


def test_runs_become_distinct_configurations_with_the_last_score_and_old_runs_get_previous_cues(tmp_path):
    rerank = {"focus_bonus": 0.5, "type_bonus": 0.25, "info_bonus": 0.0, "on_focus": False, "rqe_weight": 1.0}
    runs = [{"method": "bm25-question", "reranker": {}, "avgScore": 0.28},
            {"method": "bm25-question", "reranker": {}, "avgScore": 0.27},  # a rerun of the same configuration
            {"method": "dense-question", "reranker": rerank, "views": {"full": 1.0, "focus": 0.0, "sentences": 0.0},
             "cues": "current", "avgScore": 0.61},
            {"method": "dense-question", "reranker": {**rerank, "rqe_weight": 4.0}, "cues": "current",
             "rqe_model_meta": {"commit": "c2a6d74"}, "avgScore": 0.47}]
    log = tmp_path / "runs.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in runs))
    found = configurations(log)
    assert [(numbers, live) for numbers, _, live in found] == [([1, 2], 0.27), ([3], 0.61), ([4], 0.47)]
    assert found[0][1]["cues"] == "previous" and found[1][1]["cues"] == "current"
    assert found[1][1]["views"] == found[2][1]["views"] == (1.0, 0.0, 0.0)
    assert (found[1][1]["rqe_commit"], found[2][1]["rqe_commit"]) == (None, "c2a6d74")


def test_every_decision_names_two_runs_of_the_runs_file():
    runs = (REPO / "bench" / "results" / "liveqa_runs.jsonl").read_text().splitlines()
    assert all(1 <= a <= len(runs) and 1 <= b <= len(runs) and a != b for a, b, _ in DECISIONS)


def test_the_synonyms_setting_tells_runs_apart_and_later_runs_can_be_left_out(tmp_path):
    rerank = {"focus_bonus": 0.5, "type_bonus": 0.25, "rqe_weight": 1.0}
    runs = [{"method": "dense-question", "reranker": rerank, "avgScore": 0.606},
            {"method": "dense-question", "reranker": {**rerank, "synonyms": "focus+rqe"}, "avgScore": 0.625},
            {"method": "dense-question", "reranker": {**rerank, "synonyms": "focus+rqe"}, "avgScore": 0.7}]
    log = tmp_path / "runs.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in runs))
    found = configurations(log, runs=2)
    assert [(numbers, live, config["synonyms"]) for numbers, config, live in found] == [
        ([1], 0.606, "none"), ([2], 0.625, "focus+rqe")]

"""The learned re-ranker (knowledge.reranker=learned, knowledge/ranker.py): fitted over the features the hand-set
re-ranker reads, scored from a JSON model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from visual_med_alpaca.config import KnowledgeConfig
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.knowledge import ranker
from visual_med_alpaca.knowledge.corpus import Passage
from visual_med_alpaca.knowledge.retrieve import Reranker, Retrieved

QUESTION = "What is the treatment for gastritis?"


def _items():
    def item(pid, qtype, fused):
        return Retrieved(Passage(pid, "t", "u", f"Gastritis {qtype} text.", f"What are the {qtype} of gastritis?",
                                 "Gastritis", "NIDDK", qtype), fused, 0.7, {"dense-question": 0.7})

    return [item("symptoms", "symptoms", 0.9), item("treatment", "treatment", 0.5)]


def _model(tmp_path, weights: dict[str, float]):
    path = tmp_path / "ranker.json"
    ranker.RankerModel(ranker.FEATURES, [0.0] * len(ranker.FEATURES), [1.0] * len(ranker.FEATURES),
                       [weights.get(f, 0.0) for f in ranker.FEATURES]).save(path)
    return path


def test_the_learned_reranker_scores_candidates_by_its_model_over_the_features(tmp_path):
    typed = Reranker(learned=True, ranker_model=str(_model(tmp_path, {"type_match": 2.0, "fused": 1.0})))
    ranked = typed(QUESTION, _items())
    assert [r.passage.id for r in ranked] == ["treatment", "symptoms"]
    assert ranked[0].score == pytest.approx(2.5) and set(ranked[0].features) <= set(ranker.FEATURES)
    assert ranked[0].features["type_match"] == 1.0 and ranked[0].features["source_NIDDK"] == 1.0
    assert 0.0 <= ranked[0].features["rqe"] <= 1.0  # the RQE probability is one of its features
    (tmp_path / "fused").mkdir()
    by_fused = Reranker(learned=True, ranker_model=str(_model(tmp_path / "fused", {"fused": 1.0})))
    assert [r.passage.id for r in by_fused(QUESTION, _items())] == ["symptoms", "treatment"]
    assert Reranker(learned=True).active
    chosen = Reranker.from_config(KnowledgeConfig(reranker="learned", ranker_model="m.json"))
    assert chosen.learned and chosen.ranker_model == "m.json" and not chosen.rqe_weight and not chosen.focus_bonus


def test_the_shipped_model_loads_and_a_missing_or_stale_one_is_one_clear_error(tmp_path):
    assert set(ranker.RankerModel.load().features) <= set(ranker.FEATURES)
    with pytest.raises(UserInputError, match="learned re-ranker model .* missing or unreadable"):
        ranker.RankerModel.load(tmp_path / "none.json")
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({"features": ["bm25"], "mean": [0], "scale": [1], "coef": [1], "intercept": 0}))
    with pytest.raises(UserInputError, match="other features"):
        ranker.RankerModel.load(stale)


def test_both_objectives_learn_which_feature_makes_a_candidate_correct_and_cv_chooses():
    rng = np.random.default_rng(0)
    rows, grades, groups = [], [], []
    for q in range(30):
        x = rng.normal(size=(10, len(ranker.FEATURES)))
        good = ranker.FEATURES.index("type_match")
        grade = np.where(x[:, good] > 0.8, 4, np.where(x[:, good] > 0, 2, 1))
        rows.append(x)
        grades.append(grade)
        groups += [f"q{q}"] * 10
    x, grades, groups = np.vstack(rows), np.concatenate(grades), np.asarray(groups)
    for objective in ranker.OBJECTIVES:
        model = ranker.fit(x, grades, groups, 1.0, objective)
        assert max(model.weights(), key=model.weights().get) == "type_match"
    results = ranker.cross_validate(x, grades, groups, [("pointwise", 0.001), ("pairwise", 1.0)], folds=3, repeats=1)
    assert all(r["held_out"] == 30 for r in results) and ranker.choose(results)["avgScore"] > 2.5
    assert ranker.choose([{"objective": "pairwise", "C": 1.0, "avgScore": 1.0, "P@1": 0.5},
                          {"objective": "pointwise", "C": 0.1, "avgScore": 1.0, "P@1": 0.5}])["C"] == 0.1
    with pytest.raises(UserInputError, match="unknown objective"):
        ranker.fit(x, grades, groups, 1.0, "listwise")

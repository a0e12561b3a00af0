"""The trained question-entailment re-ranker: features, fitting, the JSON model file, re-ranking, training data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_knowledge import hashed_bag_of_words, use_fake_encoder, write_medquad

from visual_med_alpaca.config import KnowledgeConfig
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.knowledge import rqe
from visual_med_alpaca.knowledge.corpus import medquad_passages
from visual_med_alpaca.knowledge.index import BuildOptions, build_index, open_index
from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever

pytest.importorskip("sklearn")

POSITIVE = [("How is diabetes treated? My father has it.", "What are the treatments for Diabetes ?"),
            ("Is Noonan syndrome inherited from the parents?", "Is Noonan syndrome inherited ?"),
            ("what medicines help hair loss", "What are the treatments for Hair Loss ?"),
            ("What are the symptoms of gout", "What are the symptoms of Gout ?")]
NEGATIVE = [("How is diabetes treated? My father has it.", "What are the symptoms of Diabetes ?"),
            ("Is Noonan syndrome inherited from the parents?", "What are the treatments for Hair Loss ?"),
            ("what medicines help hair loss", "Is Noonan syndrome inherited ?"),
            ("What are the symptoms of gout", "What causes glaucoma ?")]


def test_features_see_overlap_and_question_types():
    same = rqe.features(rqe.Side.of("What are the treatments for glaucoma?"),
                        rqe.Side.of("What are the treatments for Glaucoma ?"), 0.9)
    other = rqe.features(rqe.Side.of("What are the treatments for glaucoma?"),
                         rqe.Side.of("Is Noonan syndrome inherited ?"), 0.1)
    named = dict(zip(rqe.FEATURES, same))
    assert named["cosine"] == 0.9 and named["candidate_coverage"] == 1.0 and named["type_match"] == 1.0
    assert dict(zip(rqe.FEATURES, other))["candidate_coverage"] == 0.0
    assert dict(zip(rqe.FEATURES, other))["type_mismatch"] == 1.0
    assert len(same) == len(rqe.FEATURES)


def test_fit_save_load_round_trip_ranks_entailed_pairs_higher(tmp_path):
    rows = rqe.pair_rows(POSITIVE + NEGATIVE, hashed_bag_of_words)
    labels = np.array([1] * len(POSITIVE) + [0] * len(NEGATIVE))
    model = rqe.fit(rows, labels, c=1.0, meta={"note": "tiny"})
    model.save(tmp_path / "m.json")
    loaded = rqe.RqeModel.load(tmp_path / "m.json")
    assert np.allclose(loaded.probability(rows), model.probability(rows))
    p = loaded.probability(rows)
    assert p[: len(POSITIVE)].mean() > p[len(POSITIVE):].mean()
    assert (tmp_path / "m.json").stat().st_size < 4096 and loaded.meta == {"note": "tiny"}


def test_a_missing_or_foreign_model_file_is_one_clear_error(tmp_path):
    with pytest.raises(UserInputError, match="train-rqe"):
        rqe.RqeModel.load(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserInputError, match="unreadable"):
        rqe.RqeModel.load(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text(json.dumps({"features": ["cosine"], "mean": [0], "scale": [1], "coef": [1],
                                                   "intercept": 0}))
    with pytest.raises(UserInputError, match="other features"):
        rqe.RqeModel.load(tmp_path / "old.json")


def test_the_shipped_model_is_small_json_and_prefers_the_entailed_faq():
    assert rqe.MODEL_PATH.stat().st_size < 8192
    model = rqe.RqeModel.load()
    assert model.meta["trained_on"].endswith("TrainingSet-AMIA2016.xml")
    question = rqe.Side.of("My son has Noonan syndrome. Did he get it from us, is it inherited?")
    entailed = rqe.features(question, rqe.Side.of("Is Noonan syndrome inherited ?"), 0.7)
    unrelated = rqe.features(question, rqe.Side.of("What are the treatments for Hair Loss ?"), 0.1)
    p = model.probability([entailed, unrelated])
    assert p[0] > 0.5 > p[1]


@pytest.fixture()
def index(tmp_path, monkeypatch):
    use_fake_encoder(monkeypatch)
    build_index(tmp_path / "idx", list(medquad_passages(write_medquad(tmp_path / "medquad"))), BuildOptions(dense=True))
    opened = open_index(tmp_path / "idx", need_dense=True)
    yield opened
    opened.close()


def test_rqe_reranker_reorders_by_entailment_and_needs_the_dense_question_run(index, tmp_path):
    rows = rqe.pair_rows(POSITIVE + NEGATIVE, hashed_bag_of_words)
    model = rqe.fit(rows, np.array([1] * len(POSITIVE) + [0] * len(NEGATIVE)), c=1.0)
    model.save(tmp_path / "m.json")
    question = "diabetes: how is it treated?"
    ranked = Retriever(index, "dense-question", Reranker(rqe_weight=1000.0, rqe_model=str(tmp_path / "m.json"))).search(question, 6)
    probabilities = [r.runs["rqe"] for r in ranked]
    assert probabilities == sorted(probabilities, reverse=True)
    assert ranked[0].passage.question == "What are the treatments for Diabetes ?"
    with pytest.raises(UserInputError, match="dense-question run"):
        Retriever(index, "bm25-question", Reranker(rqe_weight=1.0))


def test_the_config_names_the_reranker():
    assert Reranker.from_config(KnowledgeConfig(reranker="rules")).rqe_weight == 0.0
    both = Reranker.from_config(KnowledgeConfig(reranker="rules+rqe", rqe_weight=0.5, focus_bonus=0.3))
    assert (both.focus_bonus, both.rqe_weight) == (0.3, 0.5)
    only = Reranker.from_config(KnowledgeConfig(reranker="rqe", rqe_weight=0.5, focus_bonus=0.3))
    assert (only.focus_bonus, only.type_bonus, only.rqe_weight) == (0.0, 0.0, 0.5)
    assert not Reranker.from_config(KnowledgeConfig(reranker="none")).active
    keyword = Reranker.from_config(KnowledgeConfig(reranker="rules+rqe", method="bm25-question"))
    assert keyword.rqe_weight == 0.0 and keyword.focus_bonus == KnowledgeConfig().focus_bonus  # no cosine: rules only


def _rqe_xml(pairs) -> str:
    body = "".join(f'<pair pid="{i}" value="{str(y).lower()}"><chq>{q}</chq><faq>{c}</faq></pair>'
                   for i, (q, c, y) in enumerate(pairs, 1))
    return f'<?xml version="1.0" encoding="UTF-8"?><rqe>{body}</rqe>'


def test_training_drops_benchmark_and_development_questions(tmp_path):
    liveqa = "Hello, I have a question about my mother's arthritis pain and the medicine she takes every day"
    dev = "Can you send me information about sickle cell anemia treatment for my young son please"
    pairs = [(q, c, True) for q, c in POSITIVE] + [(q, c, False) for q, c in NEGATIVE]
    pairs += [(liveqa, "What is arthritis ?", True), (dev + "!", "What are the treatments for Sickle Cell Anemia ?", True)]
    rqe_dir = tmp_path / rqe.RQE_DIR
    rqe_dir.mkdir(parents=True)
    (rqe_dir / rqe.TRAIN_FILE).write_text(_rqe_xml(pairs))
    (rqe_dir / rqe.VALIDATION_FILE).write_text(_rqe_xml(pairs[:8]))
    task3 = tmp_path / "mediqa2019" / "MEDIQA_Task3_QA"
    task3.mkdir(parents=True)
    (task3 / "MEDIQA2019-Task3-QA-TrainingSet1-LiveQAMed.xml").write_text(
        f'<?xml version="1.0"?><root><Question QID="1"><QuestionText>{liveqa}</QuestionText></Question></root>')
    messages = []
    model = rqe.train(tmp_path, hashed_bag_of_words, [dev], messages.append)
    assert model.meta["pairs"] == 8 and model.meta["dropped"] == 2
    assert "2 dropped" in messages[0]
    with pytest.raises(UserInputError, match="RQE pairs not found"):
        rqe.train(tmp_path / "nowhere", hashed_bag_of_words, [], messages.append)

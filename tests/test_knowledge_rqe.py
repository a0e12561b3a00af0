"""The trained question-entailment re-ranker: features, fitting, the JSON model file, re-ranking, training data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_knowledge import hashed_bag_of_words, tiny_index  # noqa: F401 (tiny_index: the `index` fixture)

from visual_med_alpaca.config import KnowledgeConfig
from visual_med_alpaca.data.sources.mediqa import RQE_FOLDER, RQE_TRAIN_FILE, RQE_VALIDATION_FILE
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.knowledge import rqe
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
    (tmp_path / "old.json").write_text(json.dumps({"features": ["cosine", "retired"], "mean": [0, 0], "scale": [1, 1],
                                                   "coef": [1, 1], "intercept": 0}))
    with pytest.raises(UserInputError, match="other features"):
        rqe.RqeModel.load(tmp_path / "old.json")
    (tmp_path / "qt.json").write_text(json.dumps({"features": ["cosine", "qtype_agreement"], "mean": [0, 0],
                                                  "scale": [1, 1], "coef": [1, 1], "intercept": 0}))
    with pytest.raises(UserInputError, match="question-type classifier"):
        rqe.RqeModel.load(tmp_path / "qt.json")  # names the classifier's feature, but its file is missing


def test_a_model_on_a_subset_of_the_features_reads_only_its_columns():
    rows = rqe.pair_rows(POSITIVE + NEGATIVE, hashed_bag_of_words)
    assert np.isnan(rows[:, rqe.FEATURES.index("qtype_agreement")]).all()  # no classifier: unknown
    labels = np.array([1] * len(POSITIVE) + [0] * len(NEGATIVE))
    model = rqe.fit(rows, labels, c=1.0, names=rqe.BASE_FEATURES)
    assert model.features == rqe.BASE_FEATURES and len(model.coef) == len(rqe.BASE_FEATURES)
    changed = rows.copy()
    changed[:, rqe.FEATURES.index("qtype_agreement")] = 0.9
    assert np.allclose(model.probability(rows), model.probability(changed))


def test_the_shipped_model_is_small_json_and_prefers_the_entailed_faq():
    assert rqe.MODEL_PATH.stat().st_size < 8192
    model = rqe.RqeModel.load()
    assert model.meta["trained_on"].endswith("TrainingSet-AMIA2016.xml")
    # the shipped model: MEDIQA pairs only (the MedQuAD hard pairs lost validation AUC: docs/benchmarks.md)
    assert "medquad_pairs" not in model.meta and model.meta["pairs"] > 8000 and model.features == rqe.BASE_FEATURES
    question = rqe.Side.of("My son has Noonan syndrome. Did he get it from us, is it inherited?")
    entailed = rqe.features(question, rqe.Side.of("Is Noonan syndrome inherited ?"), 0.7)
    unrelated = rqe.features(question, rqe.Side.of("What are the treatments for Hair Loss ?"), 0.1)
    p = model.probability([entailed, unrelated])
    assert p[0] > 0.5 > p[1]


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


def _mediqa_files(root, pairs, valid, liveqa: str) -> None:
    """The MEDIQA files training reads, under `root`: RQE training and validation pairs, the LiveQA question file."""
    rqe_dir = root / RQE_FOLDER
    rqe_dir.mkdir(parents=True)
    (rqe_dir / RQE_TRAIN_FILE).write_text(_rqe_xml(pairs))
    (rqe_dir / RQE_VALIDATION_FILE).write_text(_rqe_xml(valid))
    task3 = root / "mediqa2019" / "MEDIQA_Task3_QA"
    task3.mkdir(parents=True)
    (task3 / "MEDIQA2019-Task3-QA-TrainingSet1-LiveQAMed.xml").write_text(
        f'<?xml version="1.0"?><root><Question QID="1"><QuestionText>{liveqa}</QuestionText></Question></root>')


def test_training_drops_benchmark_and_development_questions(tmp_path):
    liveqa = "Hello, I have a question about my mother's arthritis pain and the medicine she takes every day"
    dev = "Can you send me information about sickle cell anemia treatment for my young son please"
    pairs = [(q, c, True) for q, c in POSITIVE] + [(q, c, False) for q, c in NEGATIVE]
    pairs += [(liveqa, "What is arthritis ?", True), (dev + "!", "What are the treatments for Sickle Cell Anemia ?", True)]
    _mediqa_files(tmp_path, pairs, pairs[:8], liveqa)
    messages = []
    model = rqe.train(tmp_path, hashed_bag_of_words, [dev], messages.append)
    assert model.meta["pairs"] == 8 and model.meta["dropped"] == 2
    assert "2 dropped" in messages[0]
    with pytest.raises(UserInputError, match="RQE pairs not found"):
        rqe.train(tmp_path / "nowhere", hashed_bag_of_words, [], messages.append)


FOCI = ("Diabetes", "Gout", "Glaucoma", "Asthma", "Noonan syndrome", "Hair Loss")
TEMPLATES = {"treatment": "What are the treatments for {} ?", "symptoms": "What are the symptoms of {} ?",
             "inheritance": "Is {} inherited ?"}


def _source(excluded=frozenset()) -> rqe.MedquadSource:
    """A MedQuAD-like set: every focus x type, and a second source asking two of them again (entailed pairs)."""
    from visual_med_alpaca.knowledge.corpus import Passage

    passages = [Passage(f"medquad:{source}_{i}_{qtype}", q, "", "answer", q, focus, source, qtype)
                for source, foci in (("A", FOCI), ("B", FOCI[:2]))
                for i, focus in enumerate(foci) for qtype, template in TEMPLATES.items() for q in [template.format(focus)]]
    return rqe.MedquadSource(passages, hashed_bag_of_words([p.question for p in passages]), frozenset(excluded))


def test_question_type_classifier_learns_medquad_types_and_round_trips(tmp_path):
    source = _source()
    model, out_of_fold = rqe.crossfit_qtype(source)
    assert sorted(model.labels) == sorted(TEMPLATES)
    p = model.probabilities(hashed_bag_of_words(["what are the treatments for my knee pain"]))[0]
    assert model.labels[int(p.argmax())] == "treatment" and abs(p.sum() - 1) < 1e-5
    assert out_of_fold.shape == (len(source.passages), len(TEMPLATES))
    assert model.meta["2_fold_accuracy"] > 0.8
    assert np.isnan(model.agreement(p, "frequency"))  # a type it never saw: unknown, not zero
    model.save(tmp_path / "q.json")
    assert np.allclose(rqe.QtypeModel.load(tmp_path / "q.json").probabilities(hashed_bag_of_words(["x"])),
                       model.probabilities(hashed_bag_of_words(["x"])), atol=1e-3)


def test_medquad_pairs_are_the_retrieved_same_focus_or_same_type_questions_without_the_excluded():
    source = _source()
    model, out_of_fold = rqe.crossfit_qtype(source)
    rows, labels, counts, pairs = rqe.medquad_pairs(source, out_of_fold, model, queries=100, depth=30)
    assert counts["entailed"] > 0 and counts["same focus, other type"] > 0 and counts["other focus, same type"] > 0
    for (q, c), label in zip(pairs, labels):
        a, b = source.passages[q], source.passages[c]
        assert q != c and (a.focus == b.focus or a.qtype == b.qtype)
        assert label == (a.focus == b.focus and a.qtype == b.qtype)
    assert not np.isnan(rows[:, rqe.FEATURES.index("qtype_agreement")]).any()
    left_out = {p.id for p in source.passages if p.focus == "Gout"}
    _, _, _, pairs = rqe.medquad_pairs(_source(left_out), out_of_fold, model, queries=100)
    assert pairs and not any(source.passages[i].id in left_out for pair in pairs for i in pair)


def test_training_with_medquad_pairs_and_the_type_feature_ranks_the_asked_type_first(tmp_path, index):
    pairs = [(q, c, True) for q, c in POSITIVE] + [(q, c, False) for q, c in NEGATIVE]
    _mediqa_files(tmp_path, pairs, pairs, "unrelated benchmark text here")
    messages = []
    model = rqe.train(tmp_path, hashed_bag_of_words, [], messages.append, _source(), hard_queries=100)
    assert model.features == rqe.FEATURES and model.qtype is not None
    assert model.meta["medquad_pairs"]["entailed"] > 0 and "question-type classifier" in " ".join(messages)
    model.save(tmp_path / "m" / "rqe_lr.json")
    assert (tmp_path / "m" / rqe.QTYPE_FILE).is_file()
    ranked = Retriever(index, "dense-question", Reranker(rqe_weight=1000.0, rqe_model=str(tmp_path / "m" / "rqe_lr.json"))
                       ).search("diabetes: what treatments are there?", 6)
    assert ranked[0].passage.question == "What are the treatments for Diabetes ?"
    assert all(0.0 <= r.runs["rqe"] <= 1.0 for r in ranked)


CLINICAL = [("Why did she get coccidiomycosis? She goes to Florida every winter.", "Why did she get coccidiomycosis?"),
            ("Why did they cut out the coccidiomycosis granuloma rather than treat it medically?",
             "Why cut out a coccidiomycosis granuloma instead of treating it medically?"),
            ("What causes unilateral nosebleeds in children?", "What causes unilateral nosebleeds?"),
            ("What causes unilateral nosebleeds in the children?", "Unilateral nosebleeds: what causes them?"),
            ("How should I treat polymenorrhea in a girl?", "How should I treat polymenorrhea?")]


def test_mediqa_hard_pairs_are_other_questions_faqs_on_the_same_topic_never_their_own_or_a_duplicates():
    pairs = [(q, f, 1) for q, f in CLINICAL] + [(CLINICAL[0][0], "What are the side effects of Florinef?", 0)]
    mined = rqe.mediqa_hard_pairs(pairs, hashed_bag_of_words, per_question=1, depth=20, max_similarity=0.9)
    own = {q: f for q, f in CLINICAL}
    assert mined and all(label == 0 and f != own[q] and f in own.values() for q, f, label in mined)
    by_question = {q: f for q, f, _ in mined}
    # the nearest other FAQ: same topic, asked differently
    assert by_question[CLINICAL[0][0]] == CLINICAL[1][1] and by_question[CLINICAL[1][0]] == CLINICAL[0][1]
    # the same question asked twice (nosebleeds) is not a negative for its near copy
    near = {CLINICAL[2][0]: CLINICAL[3][1], CLINICAL[3][0]: CLINICAL[2][1]}
    assert not any(by_question.get(q) == f for q, f in near.items())
    assert len(rqe.mediqa_hard_pairs(pairs, hashed_bag_of_words, per_question=2)) > len(mined)
    assert rqe.mediqa_hard_pairs(pairs[:1], hashed_bag_of_words) == []  # one FAQ: nothing to mine


def test_training_with_mined_hard_negatives_counts_them_and_keeps_benchmark_questions_out(tmp_path):
    liveqa = "Why did they cut out my mother's coccidiomycosis granuloma, and is the medicine she takes safe"
    pairs = [(q, c, True) for q, c in POSITIVE + CLINICAL] + [(q, c, False) for q, c in NEGATIVE]
    pairs += [(liveqa, "Is coccidiomycosis surgery safe for my mother?", True)]
    _mediqa_files(tmp_path, pairs, pairs[:8], liveqa)
    kept, _, _ = rqe.mediqa_pairs(tmp_path, [], lambda _: None)
    mined = rqe.mediqa_hard_pairs(kept, hashed_bag_of_words)
    assert mined and not any(liveqa in (q, f) or "surgery safe" in f for q, f, _ in mined)
    messages = []
    model = rqe.train(tmp_path, hashed_bag_of_words, [], messages.append, mediqa_hard=1)
    assert model.meta["mediqa_hard_negatives"] == len(mined) and model.meta["pairs"] == len(pairs) - 1
    assert model.meta["dropped"] == 1 and any("mined" in m for m in messages)
    plain = rqe.train(tmp_path, hashed_bag_of_words, [], messages.append)
    assert "mediqa_hard_negatives" not in plain.meta and plain.meta["pairs"] == model.meta["pairs"]


def test_train_rqe_refuses_a_negative_count_of_mined_negatives():
    from typer.testing import CliRunner

    from visual_med_alpaca.cli import app

    result = CliRunner().invoke(app, ["knowledge", "train-rqe", "--mediqa-hard-negatives", "-1"])
    assert isinstance(result.exception, UserInputError) and "counts (0 or more)" in str(result.exception)

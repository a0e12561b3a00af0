"""The fine-tuned bi-encoder (knowledge/bi_encoder.py, round 15): triples without held-out text, a tiny random BERT
fine-tuned in the training engine (offline, seconds) that then ranks the entailed FAQ above the hard negative, resumes
from the engine's checkpoint, and an index built with it (its own fingerprint, its own query encoder)."""

import json
import sys

import numpy as np
import pytest

from conftest import REPO

from test_bench_knowledge_round14 import SHIPPED, _row  # noqa: E402 (the rule's rows, as round 14's tests write them)
from test_knowledge_cross_encoder import build_tiny_bert  # noqa: E402
from test_knowledge_rqe import _mediqa_files  # noqa: E402
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.knowledge import bi_encoder
from visual_med_alpaca.knowledge.corpus import Passage

sys.path.insert(0, str(REPO / "bench"))
from bench_knowledge_round15 import decide, threshold_for  # noqa: E402

TRIPLES = [bi_encoder.Triple("how is diabetes treated", "what are the treatments for diabetes",
                             "what are the symptoms of diabetes", "x"),
           bi_encoder.Triple("is noonan syndrome inherited", "is noonan syndrome inherited",
                             "what causes noonan syndrome", "x"),
           bi_encoder.Triple("what medicines help hair loss", "what are the treatments for hair loss",
                             "what causes hair loss", "x"),
           bi_encoder.Triple("what are the symptoms of gout", "what are the symptoms of gout",
                             "what are the treatments for gout", "x")]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def _config(tmp_path, **more):
    return bi_encoder.BiEncoderConfig(output_dir=str(tmp_path / "run"), learning_rate=3e-3, batch_size=4,
                                      num_train_epochs=60, max_tokens=16, warmup_ratio=0.0, threads=1, save_steps=10,
                                      **more)


def _margin(folder, triples) -> float:
    """Mean cos(anchor, positive) - cos(anchor, hard negative) under the model in `folder` (torch, mean pooling)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder)).eval()
    collate = bi_encoder.TripleCollator(folder / "tokenizer.json", 16)
    with torch.no_grad():
        batch = collate(triples)
        a, p, n = (bi_encoder.embed(model, batch[k]) for k in ("anchor", "positive", "negative"))
    return float(((a * p).sum(1) - (a * n).sum(1)).mean())


@pytest.fixture(scope="module")
def trained(tiny_bert, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("bi")
    meta = bi_encoder.train(TRIPLES, _config(tmp_path), tmp_path / "model", source=tiny_bert, progress=lambda _: None)
    return tmp_path / "model", meta


def test_fine_tuning_puts_the_entailed_faq_above_the_same_topics_other_type(tiny_bert, trained, tmp_path):
    folder, meta = trained
    assert _margin(folder, TRIPLES) > _margin(tiny_bert, TRIPLES) + 0.2
    assert meta["steps"] == 60 and meta["tokens_per_s"] > 0 and meta["peak_rss_mib"] > 0
    assert json.loads((folder / "meta.json").read_text())["triples"] == {"mediqa": 0, "train1": 0, "medquad": 0}
    assert bi_encoder.model_folder(folder) == folder


def test_a_stopped_run_resumes_from_the_engines_checkpoint(tiny_bert, tmp_path):
    short = _config(tmp_path, max_steps=10)
    first = bi_encoder.train(TRIPLES, short, tmp_path / "first", source=tiny_bert, progress=lambda _: None)
    longer = _config(tmp_path, max_steps=20)
    meta = bi_encoder.train(TRIPLES, longer, tmp_path / "model", source=tiny_bert, resume=True, progress=lambda _: None)
    assert meta["steps"] == 20 and meta["tokens"] == 2 * first["tokens"] > 0  # every batch holds the same 4 triples
    with pytest.raises(UserInputError, match="already holds checkpoints"):
        bi_encoder.train(TRIPLES, longer, tmp_path / "again", source=tiny_bert, progress=lambda _: None)


def test_a_folder_that_is_not_a_model_is_one_clear_error(tmp_path):
    with pytest.raises(UserInputError, match="not a sentence-encoder model folder"):
        bi_encoder.model_folder(tmp_path)


def _passage(i, focus, qtype, source, question):
    return Passage(f"medquad:{source}_{i}_{qtype}", question, "", f"answer {i}", question, focus, source, qtype)


def test_triples_keep_benchmark_and_development_text_out(tmp_path):
    liveqa = "Hello, I have a question about my mother's arthritis pain and the medicine she takes every day"
    dev = "Can you send me information about sickle cell anemia treatment for my young son please"
    pairs = [("how is diabetes treated", "what are the treatments for diabetes", True),
             ("how is diabetes treated", "what causes glaucoma", False),
             ("what are the symptoms of gout", "what are the symptoms of gout", True),
             (liveqa, "What is arthritis ?", True), (dev + "!", "What are the treatments for Sickle Cell Anemia ?", True)]
    _mediqa_files(tmp_path, pairs, pairs[:3], liveqa)
    passages = [_passage(1, "Gout", "treatment", "A", "What are the treatments for Gout ?"),
                _passage(2, "Gout", "treatment", "B", "How is Gout treated ?"),
                _passage(3, "Gout", "symptoms", "A", "What are the symptoms of Gout ?"),
                _passage(4, "Asthma", "treatment", "A", "What are the treatments for Asthma ?"),
                _passage(5, "Asthma", "treatment", "B", "How is Asthma treated ?"),
                _passage(6, "Asthma", "symptoms", "B", "What are the symptoms of Asthma ?")]
    excluded = {passages[3].id}  # e.g. judged for LiveQA: never an anchor, positive or negative
    found = bi_encoder.training_triples(tmp_path, passages, [dev], excluded, progress=lambda _: None)
    mediqa = [t for t in found if t.kind == "mediqa"]
    assert [(t.anchor, t.negative) for t in mediqa] == [("how is diabetes treated", "what causes glaucoma"),
                                                        ("what are the symptoms of gout", None)]
    medquad = [t for t in found if t.kind == "medquad"]
    assert {t.anchor for t in medquad} == {"What are the treatments for Gout ?", "How is Gout treated ?"}
    for t in medquad:  # the same focus and type from the other source; the same focus with another type as negative
        assert "Gout" in t.positive and t.positive.split(" Gout")[0] != t.anchor.split(" Gout")[0]
        assert t.negative == "What are the symptoms of Gout ? Gout"
    assert not any("Asthma ?" in text for t in found for text in (t.anchor, t.positive, t.negative or ""))
    assert not any(liveqa in t.anchor or "Sickle" in t.positive for t in found)


def test_an_index_built_with_a_fine_tuned_encoder_is_another_index(tiny_bert, tmp_path):
    from visual_med_alpaca.knowledge.index import BuildOptions, fingerprint

    passages = [_passage(1, "Gout", "treatment", "A", "What are the treatments for Gout ?")]
    plain = fingerprint(passages, BuildOptions())
    assert fingerprint(passages, BuildOptions(encoder=str(tiny_bert))) != plain
    assert fingerprint(passages, BuildOptions(dense=False, encoder=str(tiny_bert))) == \
        fingerprint(passages, BuildOptions(dense=False))
    with pytest.raises(UserInputError, match="not a sentence-encoder model folder"):
        fingerprint(passages, BuildOptions(encoder=str(tmp_path)))


def test_the_index_embeds_and_queries_with_the_fine_tuned_encoder(trained, tmp_path):
    from visual_med_alpaca.knowledge.encoder import OnnxEncoder
    from visual_med_alpaca.knowledge.index import ENCODER_DIR, BuildOptions, build_index, open_index
    from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever

    folder, _ = trained
    passages = [_passage(1, "Diabetes", "treatment", "A", "what are the treatments for diabetes"),
                _passage(2, "Diabetes", "symptoms", "A", "what are the symptoms of diabetes"),
                _passage(3, "Gout", "symptoms", "A", "what are the symptoms of gout")]
    manifest = build_index(tmp_path / "ix", passages, BuildOptions(encoder=str(folder), dense_fields=("question",),
                                                                   threads=1))
    assert manifest["encoder_source"] == str(folder.resolve())
    texts = [bi_encoder.index_text(p) for p in passages]
    onnx = OnnxEncoder(tmp_path / "ix" / ENCODER_DIR, 1).encode(texts, 16)
    import torch
    from transformers import AutoModel

    anchors = bi_encoder.TripleCollator(folder / "tokenizer.json", 16)(  # tokenized as training tokenizes them
        [bi_encoder.Triple(text, text, None, "medquad") for text in texts])["anchor"]
    with torch.no_grad():
        expected = bi_encoder.embed(AutoModel.from_pretrained(str(folder)).eval(), anchors).numpy()
    assert np.allclose(onnx, expected, atol=1e-4)  # the query encoder is the fine-tuned model, not the wheel's
    index = open_index(tmp_path / "ix", need_dense=True)
    found = Retriever(index, "dense-question", Reranker(), encoder_threads=1).search("how is diabetes treated", 1)
    assert found[0].passage.id == passages[0].id
    index.close()


def test_the_rule_adopts_a_candidate_only_with_two_more_correct_top_answers_and_nothing_worse():
    worse = _row(26 / 34, 2.0, 1.8, 53 / 85)  # dev2 falls
    assert decide({"S": SHIPPED, "C1": _row(26 / 34, 2.031, 1.8, 53 / 85), "C2": worse})["adopt"] == "C1"
    assert decide({"S": SHIPPED, "C1": worse, "C2": _row(27 / 34, 2.031, 1.8, 53 / 85)})["adopt"] == "C2"
    assert decide({"S": SHIPPED, "C1": _row(26 / 34, 2.031, 1.8, 53 / 85),
                   "C2": _row(26 / 34, 2.031, 1.8, 53 / 85)})["adopt"] == "C1"  # a full tie: no refit
    for bad in (_row(26 / 34, 2.031, 1.776, 52 / 85), _row(27 / 34, 2.031, 1.7, 52 / 85),
                _row(26 / 34, 2.031, 1.8, 53 / 85, ms=101.0)):
        assert decide({"S": SHIPPED, "C1": bad, "C2": bad})["adopt"] is None
    off = _row(25 / 34, 2.031, 1.7, 52 / 85)
    assert decide({"S": off, "C1": SHIPPED, "C2": SHIPPED})["adopt"] is None


def test_the_no_source_threshold_moves_with_the_encoders_scale_only_where_it_separates_as_well():
    s = {"no_source_answered": 0, "dev_refused": 0}
    assert threshold_for(_row(1, 2, 2, 1, no_source=(0.40,), dev_top=(0.50,)), s) == 0.45
    assert threshold_for(_row(1, 2, 2, 1, no_source=(0.60,), dev_top=(0.70,)), s) == 0.61
    assert threshold_for(_row(1, 2, 2, 1, no_source=(0.60,), dev_top=(0.55,)), s) is None
    shifted = _row(26 / 34, 2.031, 1.8, 53 / 85, no_source=(0.60,), dev_top=(0.70,))
    decision = decide({"S": SHIPPED, "C1": shifted, "C2": _row(26 / 34, 2.031, 1.8, 53 / 85, no_source=(0.6,),
                                                                 dev_top=(0.55,))})
    assert decision["adopt"] == "C1" and decision["thresholds"] == {"C1": 0.61, "C2": None}

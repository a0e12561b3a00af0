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


def with_a_broader_name(passages: list[Passage]) -> list[Passage]:
    """The tiny corpus plus a topic one of whose MedQuAD names is a broader topic's (knowledge.clean_synonyms)."""
    return passages + [Passage("x:alpha", "What is (are) alpha thalassemia ?", "https://example.org/alpha",
                               "Alpha thalassemia is a blood disorder.", question="What is (are) alpha thalassemia ?",
                               focus="alpha thalassemia", qtype="information", synonyms=("Thalassemia", "HBA1"))]


def ranked(folder, questions: list[str], clean: bool):
    """The default search's top passages (id, score, relevance) per question, and the written-names finder it used."""
    from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever

    index = open_index(folder, need_dense=True)
    retriever = Retriever(index, "dense-question", Reranker(focus_bonus=0.5, type_bonus=0.25, rqe_weight=1.0,
                                                            synonyms="focus+rqe+written", clean_synonyms=clean))
    found = [[(r.passage.id, r.score, r.relevance) for r in retriever.search(q, 8)] for q in questions]
    written = retriever.written_names()
    index.close()
    return found, (written.names, written.skip, written.by_word)


def test_the_names_table_stored_at_build_ranks_as_the_one_computed_at_the_first_question(tmp_path, passages,
                                                                                           monkeypatch):
    """Round 12: `vmed knowledge build` stores the names a question may write (~1 s to compute for MedQuAD at every
    process start before). Same ranking with the stored table, without it (an index built before: computed as
    before) and with a table that is not this index's (ignored); a plain build adds it to an index without it,
    embedding nothing and keeping the fingerprint."""
    import visual_med_alpaca.knowledge.retrieve as retrieve

    calls = recorded_encoder_calls(monkeypatch)
    corpus = with_a_broader_name(passages)
    target = tmp_path / "idx"
    manifest = build_index(target, corpus, BuildOptions(dense=True))  # the defaults: question and names vectors
    table = json.loads((target / index_module.NAMES_TABLE).read_text())
    assert table["fingerprint"] == manifest["fingerprint"] and "Alopecia" in table["names"]
    assert [table["names"][i] for i in table["broader"]] == ["Thalassemia"]
    questions = ["What treatment is there for alopecia?", "my DM is getting worse", "is thalassemia inherited",
                 "Is HBA1 inherited from parents?", "How do you treat thinning hair on the scalp?"]
    computed_at_start = retrieve.names_table
    monkeypatch.setattr(retrieve, "names_table", lambda *a: pytest.fail("the stored table was not read"))
    stored = {clean: ranked(target, questions, clean) for clean in (False, True)}
    monkeypatch.setattr(retrieve, "names_table", computed_at_start)
    assert stored[True][1][1] == {table["names"].index("Thalassemia")} and stored[False][1][1] == frozenset()
    assert stored[True][0] != stored[False][0]  # the broader name counts only without clean_synonyms

    (target / index_module.NAMES_TABLE).unlink()  # an index built before round 12
    assert {clean: ranked(target, questions, clean) for clean in (False, True)} == stored
    for stale in ({**table, "fingerprint": "0" * 16}, {**table, "key": "another code"},
                  {**table, "rows": table["rows"][::-1]}):
        (target / index_module.NAMES_TABLE).write_text(json.dumps(stale))
        assert {clean: ranked(target, questions, clean) for clean in (False, True)} == stored
    (target / index_module.NAMES_TABLE).write_text("{truncated")
    assert ranked(target, questions, True) == stored[True]

    calls.clear()
    again = build_index(target, corpus, BuildOptions(dense=True))
    assert again["up_to_date"] and again["names_table_added"] and calls == []
    assert again["fingerprint"] == manifest["fingerprint"]
    assert json.loads((target / index_module.NAMES_TABLE).read_text()) == table
    assert json.loads((target / "manifest.json").read_text())["size_bytes"] == manifest["size_bytes"]
    assert "names_table_added" not in build_index(target, corpus, BuildOptions(dense=True))
    build_index(tmp_path / "q", corpus, BuildOptions(dense=True, dense_fields=("question",)))
    assert not (tmp_path / "q" / index_module.NAMES_TABLE).exists()  # no names vectors, no names table


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


def test_a_build_never_replaces_a_file_or_a_folder_that_is_not_an_index(tmp_path, passages):
    """`vmed knowledge build --name PATH` replaces the folder PATH whole: a user's file or folder of notes given by
    mistake was deleted and became an index."""
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(UserInputError, match="is a file, not a knowledge index"):
        build_index(notes, passages, BuildOptions(dense=False))
    assert notes.read_text() == "mine"
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "draft.md").write_text("mine too")
    with pytest.raises(UserInputError, match="holds files but no knowledge index"):
        build_index(folder, passages, BuildOptions(dense=False))
    assert (folder / "draft.md").read_text() == "mine too"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert build_index(empty, passages, BuildOptions(dense=False))["passages"] == len(passages)
    assert build_index(empty, passages, BuildOptions(dense=False), force=True)["passages"] == len(passages)

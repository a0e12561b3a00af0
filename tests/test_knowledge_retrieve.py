"""Retrieval on a tiny index: keyword, dense (stand-in encoder), fusion, re-ranker, odd questions."""

from __future__ import annotations

import pytest
from helpers_knowledge import use_fake_encoder, write_medquad

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.knowledge.corpus import medquad_passages
from visual_med_alpaca.knowledge.index import BuildOptions, build_index, open_index
from visual_med_alpaca.knowledge.retrieve import METHODS, Reranker, Retriever, question_types
from visual_med_alpaca.knowledge.stores.fts5 import query_terms


@pytest.fixture(scope="module", params=["numpy", "qdrant"])
def index(tmp_path_factory, request):
    """The same tiny corpus in both dense engines: the embedded numpy store and Qdrant's local mode."""
    mp = pytest.MonkeyPatch()
    use_fake_encoder(mp)
    root = tmp_path_factory.mktemp("kn")
    build_index(root / "idx", list(medquad_passages(write_medquad(root / "medquad"))),
                BuildOptions(dense=True, dense_store=request.param, dense_fields=("question", "answer")))
    opened = open_index(root / "idx", need_dense=True)
    yield opened
    opened.close()
    mp.undo()


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_finds_the_answer_a_user_would_expect(index, method, monkeypatch):
    use_fake_encoder(monkeypatch)
    found = Retriever(index, method).search("Which medicines treat hair loss? I am losing my hair.", 3)
    assert found and found[0].passage.focus == "Hair Loss"
    source = found[0].source()
    assert set(source) == {"id", "title", "url", "score", "relevance", "text"}
    assert source["url"].startswith("https://www.nlm.nih.gov/medlineplus/")


def test_question_entailment_matches_the_faq_not_just_words_in_answers(index):
    found = Retriever(index, "bm25-question").search("is noonan syndrome inherited from parents", 2)
    assert found[0].passage.question == "Is Noonan syndrome inherited ?"


def test_reranker_prefers_the_question_type_asked(index):
    plain = Retriever(index, "bm25-fused").search("diabetes treatment options", 2)
    ranked = Retriever(index, "bm25-fused", Reranker(type_bonus=1.0)).search("diabetes treatment options", 2)
    assert ranked[0].passage.qtype == "treatment"
    assert {r.passage.id for r in plain} == {r.passage.id for r in ranked}
    assert question_types("How is it treated and what causes it?") == {"treatment", "causes"}


def test_questions_with_no_searchable_word_return_nothing(index):
    assert Retriever(index, "bm25-question").search("?? !! the a of", 3) == []
    assert query_terms('"NOT" OR AND ) ( * col:umn') == ["col", "umn"]  # FTS5 syntax cannot leak in
    assert Retriever(index, "bm25-answer").search('minoxidil" OR "x', 3)[0].passage.focus == "Hair Loss"


def test_foreign_language_question_matches_nothing_relevant(index):
    found = Retriever(index, "bm25-question").search("¿Cuál es el tratamiento para la caída del cabello?", 3)
    assert all(r.relevance < 1.0 for r in found)


def test_unknown_method_is_a_clear_error(index):
    with pytest.raises(UserInputError, match="unknown retrieval method"):
        Retriever(index, "magic")

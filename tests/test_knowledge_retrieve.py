"""Retrieval on a tiny index: keyword, dense (stand-in encoder), fusion, re-ranker, odd questions."""

from __future__ import annotations

import helpers_knowledge
import pytest
from helpers_knowledge import use_fake_encoder, write_medquad

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.knowledge.corpus import medquad_passages
from visual_med_alpaca.knowledge.index import BuildOptions, build_index, open_index
from visual_med_alpaca.knowledge.retrieve import (METHODS, QueryViews, Reranker, Retriever, WrittenNames, asked_types,
                                                  broader_name, generic_words, question_focus, question_types,
                                                  synonym_in_question, topic_lexicon, topic_match)
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


def test_question_focus_keeps_the_subject_and_asking_sentences():
    message = ("Diabetes. Hello, my name is Ann and I am 52. I was told by my doctor last week. "
               "What are the treatments for it? Thank you so much.")
    focus = question_focus(message)
    assert focus == "Diabetes. What are the treatments for it?"
    assert question_focus("What are the treatments for glaucoma?") == "What are the treatments for glaucoma?"
    lexicon = topic_lexicon(["Gastritis", "Gastritis", "Noonan syndrome", "Hair Loss", "Diabetes"] + ["syndrome x"] * 3)
    assert "gastritis" in lexicon
    found = question_focus("My dad is 68 and has gastritis. He likes golf a lot. What do you think?", lexicon)
    assert found == "My dad is 68 and has gastritis. What do you think?"


def test_query_views_average_the_cosines_of_their_texts(index, monkeypatch):
    use_fake_encoder(monkeypatch)
    import numpy as np

    views = QueryViews(full=1.0, focus=1.0, sentences=1.0)
    question = "Hair loss. I am a man of 30 and my hair goes. Which medicines treat hair loss?"
    texts = views.texts(question)
    assert [w for _, w in texts] == [1.0, 1.0, 1 / 3, 1 / 3, 1 / 3]
    retriever = Retriever(index, "dense-question", views=views)
    found = retriever.search(question, 6)
    assert found[0].passage.focus == "Hair Loss"
    vectors = helpers_knowledge.hashed_bag_of_words([t for t, _ in views.texts(question, retriever.topics())])
    weights = np.array([w for _, w in texts]) / sum(w for _, w in texts)
    row = next(r for r in found if r.passage.question == "What are the treatments for Hair Loss ?")
    own = helpers_knowledge.hashed_bag_of_words([row.passage.question + " " + row.passage.focus])[0]
    assert row.relevance == pytest.approx(float((vectors @ own) @ weights), abs=1e-5)


def test_a_single_view_embeds_that_views_text(index, monkeypatch):
    use_fake_encoder(monkeypatch)
    question = "Diabetes. I am 52 and live in town. How is it treated? Thank you so much for your work."
    seen = []
    encode = helpers_knowledge.FakeEncoder.encode  # the stand-in MiniLM records what a search embeds
    monkeypatch.setattr(helpers_knowledge.FakeEncoder, "encode", lambda self, texts, *a, **k: seen.extend(texts) or
                        encode(self, texts, *a, **k))
    retriever = Retriever(index, "dense-question", views=QueryViews(full=0.0, focus=1.0))
    retriever.search(question, 1)
    assert seen == [question_focus(question, retriever.topics())] and seen != [question]
    with pytest.raises(UserInputError, match="at least one view"):
        QueryViews(full=0.0)


def test_a_topic_named_by_its_synonym_gets_the_focus_bonus(index, monkeypatch):
    use_fake_encoder(monkeypatch)
    question = "Is there anything that helps with alopecia?"
    shipped = Retriever(index, "dense-question", Reranker(focus_bonus=1.0)).search(question, 6)
    synonyms = Retriever(index, "dense-question", Reranker(focus_bonus=1.0, synonyms="focus")).search(question, 6)
    assert shipped[0].passage.focus != "Hair Loss"  # "alopecia" is in no Hair Loss question, answer or focus
    assert synonyms[0].passage.focus == "Hair Loss" and "Alopecia" in synonyms[0].passage.synonyms
    with pytest.raises(UserInputError, match="unknown synonyms setting"):
        Reranker(synonyms="all")


def test_synonyms_that_name_nothing_on_their_own_do_not_match():
    words = lambda text: set(text.lower().split())  # noqa: E731
    generic = generic_words(["Noonan syndrome", "Down syndrome", "Rett syndrome", "Gout"], max_share=0.0)
    assert "syndrome" in generic and "gout" not in generic
    question = "all of us have the syndrome"
    assert synonym_in_question("ALL", question, words(question), generic) == 0.0  # an acronym, not written so
    assert synonym_in_question("Syndrome", question, words(question), generic) == 0.0  # generic across foci
    assert synonym_in_question("ALL", "my son has ALL", words("my son has ALL"), generic) == 1.0
    question = "is manic depression inherited"
    assert synonym_in_question("Manic-depressive illness", question, words(question), generic) == pytest.approx(1 / 3)


def test_the_rqe_model_reads_the_faq_with_the_users_name_for_the_topic(index, monkeypatch):
    from visual_med_alpaca.config import KnowledgeConfig
    from visual_med_alpaca.knowledge import rqe
    from visual_med_alpaca.knowledge.retrieve import as_named

    hair = next(p for p in index.docs.passages(range(6)).values() if p.question == "What are the treatments for Hair Loss ?")
    question = "what helps with alopecia"
    share, name = topic_match(hair, question, set(question.split()), synonyms=True)
    assert (share, name) == (1.0, "Alopecia") and topic_match(hair, question, set(question.split()))[0] == 0.0
    assert as_named(hair, name) == "What are the treatments for Alopecia ?"
    read = []  # what the RQE model is given as the FAQ side of each pair, in a real re-ranking
    use_fake_encoder(monkeypatch)
    monkeypatch.setattr(rqe, "cached_side", lambda text: read.append(text) or rqe.Side.of(text))
    for synonyms, faq in (("focus+rqe", "What are the treatments for Alopecia ?"), ("focus", hair.question)):
        read.clear()
        Retriever(index, "dense-question", Reranker(rqe_weight=1.0, synonyms=synonyms)).search(question, 6)
        assert faq in read and (faq == hair.question or hair.question not in read), (synonyms, read)
    assert Reranker.from_config(KnowledgeConfig()).synonyms == "focus+rqe+written"  # the default since round 11
    assert Reranker.from_config(KnowledgeConfig()).clean_synonyms
    assert Reranker.from_config(KnowledgeConfig(synonyms="none")).synonyms == "none"


@pytest.fixture(scope="module")
def named_index(tmp_path_factory):
    """The tiny corpus with the "names" vectors: each question asked with every other name of its focus."""
    mp = pytest.MonkeyPatch()
    use_fake_encoder(mp)
    root = tmp_path_factory.mktemp("kn-names")
    build_index(root / "idx", list(medquad_passages(write_medquad(root / "medquad"))),
                BuildOptions(dense=True, dense_fields=("question", "names")))
    opened = open_index(root / "idx", need_dense=True)
    yield opened
    opened.close()
    mp.undo()


def test_the_dense_search_finds_a_topic_asked_by_another_of_its_names(named_index, monkeypatch):
    use_fake_encoder(monkeypatch)
    question = "What treatment is there for alopecia?"  # "alopecia" is in no Hair Loss question, answer or focus
    before = Retriever(named_index, "dense-question", Reranker(synonyms="focus+rqe")).search(question, 3)
    after = Retriever(named_index, "dense-question", Reranker(synonyms="focus+rqe+dense")).search(question, 3)
    assert before[0].passage.focus != "Hair Loss"
    assert after[0].passage.question == "What are the treatments for Hair Loss ?"
    assert after[0].relevance > before[0].relevance  # the no-source threshold reads the name's cosine
    # a passage's other names only add matches: a question naming the focus itself ranks as before
    same = "What are the symptoms of Diabetes ?"
    assert [r.passage.id for r in Retriever(named_index, "dense-question", Reranker(synonyms="focus+rqe+dense"))
            .search(same, 1)] == [r.passage.id for r in Retriever(named_index, "dense-question").search(same, 1)]
    from visual_med_alpaca.config import KnowledgeConfig

    assert Reranker.from_config(KnowledgeConfig(synonyms="focus+rqe+dense")).synonyms == "focus+rqe+dense"


def test_names_left_out_of_the_dense_search_and_an_index_without_them(index, monkeypatch):
    from visual_med_alpaca.knowledge.corpus import Passage
    from visual_med_alpaca.knowledge.retrieve import name_variants

    passage = Passage("x:1", "t", "", "answer", question="How to diagnose Osteogenesis imperfecta ?",
                      focus="Osteogenesis imperfecta",
                      synonyms=("OI", "Syndrome", "ALL", "Type 1", "osteogenesis IMPERFECTA", "Brittle bone disease"))
    texts, rows = name_variants([passage], generic_words(["Noonan syndrome", "Rett syndrome", "Down syndrome",
                                                          "Type 1 diabetes", "Type 2 diabetes", "Type 1 cancer"],
                                                         max_share=0.0))
    assert texts == ["How to diagnose OI ? OI", "How to diagnose Brittle bone disease ? Brittle bone disease"]
    assert rows == [0, 0]
    use_fake_encoder(monkeypatch)
    if "names" not in index.manifest.get("dense_fields", []) and index.manifest["dense_store"] == "numpy":
        with pytest.raises(UserInputError, match="--dense-fields question,names"):
            Retriever(index, "dense-question", Reranker(synonyms="focus+rqe+dense")).search("alopecia", 1)
    elif index.manifest["dense_store"] == "qdrant":
        with pytest.raises(UserInputError, match="numpy store only"):
            Retriever(index, "dense-question", Reranker(synonyms="focus+rqe+dense")).search("alopecia", 1)


def test_written_names_count_only_where_the_question_writes_the_name(named_index, monkeypatch):
    use_fake_encoder(monkeypatch)
    written = Retriever(named_index, "dense-question", Reranker(synonyms="focus+rqe+written"))
    names = written.written_names()
    said = lambda question: [names.names[i] for i in names(question)]  # noqa: E731 (one per Hair Loss / Diabetes passage)
    assert said("What treatment is there for alopecia?") == ["Alopecia", "Alopecia"]
    assert said("my DM is getting worse") == ["DM", "DM"] and said("what is dm") == []  # an acronym as written
    assert said("is my baldness genetic") == ["Baldness", "Baldness"] and said("diabetes") == []  # the focus: no name
    found = written.search("What treatment is there for alopecia?", 1)
    assert found[0].passage.question == "What are the treatments for Hair Loss ?"
    # no name written: the dense search is the question vectors' alone
    question = "How do you treat thinning hair on the scalp?"
    assert [(r.passage.id, r.relevance) for r in written.search(question, 3)] == \
        [(r.passage.id, r.relevance) for r in Retriever(named_index, "dense-question").search(question, 3)]


def test_clean_synonyms_leave_out_the_names_of_a_broader_topic():
    from visual_med_alpaca.config import KnowledgeConfig
    from visual_med_alpaca.knowledge.corpus import Passage

    for name, focus in (("Thalassemia", "Alpha-thalassemia"), ("-thalassemia", "alpha thalassemia"),
                        ("Hemophilia", "Acquired hemophilia A"), ("lupus", "systemic lupus erythematosus"),
                        ("Achondrogenesis", "Achondrogenesis type 2")):
        assert broader_name(name, focus), (name, focus)
    for name, focus in (("Tourette", "Tourette syndrome"), ("spastic paraplegia 8", "spastic paraplegia type 8"),
                        ("Tyrosinemia type I", "Tyrosinemia type 1"), ("Behcet's disease", "Behcet disease"),
                        ("Manic-depressive illness", "Bipolar disorder"), ("Discoid lupus", "Lupus")):
        assert not broader_name(name, focus), (name, focus)
    alpha = Passage("x:1", "t", "", "answer", question="What is (are) alpha thalassemia ?", focus="alpha thalassemia",
                    synonyms=("alpha-thalassemia", "-thalassemia"))
    question = "my friend has thalassemia, what can she do"
    words = set(question.replace(",", "").split())
    assert topic_match(alpha, question, words, synonyms=True) == (1.0, "-thalassemia")  # the family's name
    assert topic_match(alpha, question, words, synonyms=True, clean=True) == (0.5, "alpha thalassemia")
    assert topic_match(alpha, "is alpha-thalassemia inherited", {"alpha", "thalassemia"}, synonyms=True, clean=True)[0] == 1.0
    assert not Reranker.from_config(KnowledgeConfig(clean_synonyms=False)).clean_synonyms
    assert Reranker.from_config(KnowledgeConfig()).clean_synonyms  # the default since round 11 (with focus+rqe+written)
    # the dense search's written names (focus+rqe+written): a left-out name never counts, its vector stays in place
    names = WrittenNames(["Thalassemia", "OI"], frozenset(), skip=[0])
    assert names("thalassemia and OI") == [1] and WrittenNames(["Thalassemia"], frozenset())("thalassemia") == [0]


def test_types_can_be_read_where_the_message_asks(index):
    story = ("My mother has diabetes and the doctor changed her treatment last month, after many tests. "
             "What are the signs that it is getting worse?")
    assert question_types(story) >= {"treatment", "symptoms", "exams and tests"}
    assert asked_types(story) == {"symptoms"}
    assert asked_types("Diabetes treatment") == question_types("Diabetes treatment") == {"treatment"}  # one sentence
    untold = "My father was treated for diabetes for years and it got worse after that operation in the spring."
    assert asked_types(untold) == question_types(untold) == {"treatment"}  # nothing asks: the whole text's types
    ranked = Retriever(index, "bm25-fused", Reranker(type_bonus=1.0, types_from="asking")).search(story, 2)
    assert ranked[0].passage.question == "What are the symptoms of Diabetes ?"
    with pytest.raises(UserInputError, match="unknown types_from"):
        Reranker(types_from="everywhere")


def test_topic_first_keeps_the_type_bonus_from_switching_the_top_answers_topic():
    from visual_med_alpaca.config import KnowledgeConfig
    from visual_med_alpaca.knowledge.corpus import Passage
    from visual_med_alpaca.knowledge.retrieve import Retrieved

    def items():
        passages = [("s1", "Sleep Apnea", "treatment", 2.0), ("i1", "Insomnia", "information", 2.1),
                    ("i2", "insomnia", "causes", 1.5), ("i3", "Insomnia", "treatment", 1.9)]
        return [Retrieved(Passage(pid, pid, "", "", f"{qtype} of {focus}", focus, qtype=qtype), score, 0.5)
                for pid, focus, qtype, score in passages]

    question = "I cannot sleep at night. How is it treated?"
    plain = Reranker(type_bonus=0.25)(question, items())
    assert [r.passage.id for r in plain] == ["s1", "i3", "i1", "i2"]  # the cue word "treated" moves the topic
    ranked = Reranker(type_bonus=0.25, topic_first=True)(question, items())
    # the topic that scores best without the type bonus (Insomnia, 2.1) comes first, its treatment passage on top
    assert [r.passage.id for r in ranked] == ["i3", "i1", "i2", "s1"]
    assert [round(r.score, 6) for r in ranked] == [2.15, 2.1, 1.5, 2.25]  # scores unchanged: only the order
    assert Reranker.from_config(KnowledgeConfig(topic_first=True)).topic_first
    assert not Reranker.from_config(KnowledgeConfig()).topic_first


ADDRESSES = ("National Eye Institute  National Institutes of Health  2020 Vision Place  Bethesda, MD 20892-3655  "
             "301-496-5248  E-mail: 2020@nei.nih.gov  www.nei.nih.gov The Glaucoma Foundation 80 Maiden Lane, Suite 700 "
             "New York, NY 10038 212-285-0080")
RESOURCES = ("These resources address the diagnosis or management of glaucoma:  - Gene Review: Gene Review: Primary "
             "Congenital Glaucoma  - Genetic Testing Registry: Glaucoma 1, open angle  - MedlinePlus Encyclopedia: "
             "Glaucoma   These resources from MedlinePlus offer information about the diagnosis and management of various "
             "health conditions:  - Diagnostic Tests  - Drug Therapy  - Surgery and Rehabilitation")
PROSE = ("Glaucoma is a group of diseases that can damage the eye's optic nerve and result in vision loss and "
         "blindness. With early treatment, you can often protect your eyes against serious vision loss.")


def test_pointer_share_tells_addresses_and_resource_lists_from_answers():
    from visual_med_alpaca.knowledge.retrieve import pointer_share

    assert pointer_share(ADDRESSES) == 1.0
    assert 0.6 < pointer_share(RESOURCES) < 1.0  # the short items ("- Drug Therapy") name no resource
    assert pointer_share(PROSE) == 0.0 and pointer_share("") == 0.0
    treatments = "The treatments for kidney failure are  - hemodialysis  - peritoneal dialysis  - a kidney transplant"
    assert pointer_share(treatments) == 0.0  # a list that answers is not a list of where to look
    mixed = PROSE + " For more information, visit www.nei.nih.gov or call 301-496-5248."
    assert 0.0 < pointer_share(mixed) < 0.5


def test_list_penalty_puts_the_answer_above_an_address_list_of_the_same_question():
    """The glaucoma example of docs/knowledge_examples.md: NIHSeniorHealth's sections of one page share the MedQuAD
    question "What is (are) Glaucoma?" and so the same cosine; the address list came first."""
    from visual_med_alpaca.config import KnowledgeConfig
    from visual_med_alpaca.knowledge.corpus import Passage
    from visual_med_alpaca.knowledge.retrieve import Retrieved

    def items():
        return [Retrieved(Passage(pid, "What is (are) Glaucoma? (NIHSeniorHealth)", "u", text, "What is (are) Glaucoma ?",
                                  "Glaucoma", qtype="information"), 0.68, 0.68)
                for pid, text in (("sec26", ADDRESSES), ("sec1", PROSE), ("sec2", RESOURCES))]

    question = "Can you mail me patient information about Glaucoma, I was recently diagnosed?"
    assert [r.passage.id for r in Reranker(focus_bonus=0.5)(question, items())][0] == "sec26"  # ties keep their order
    ranked = Reranker(focus_bonus=0.5, list_penalty=0.05)(question, items())
    assert [r.passage.id for r in ranked] == ["sec1", "sec2", "sec26"]
    assert Reranker(list_penalty=0.05).active and not Reranker().active
    assert Reranker.from_config(KnowledgeConfig(list_penalty=0.05)).list_penalty == 0.05

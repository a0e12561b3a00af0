"""The knowledge stage in the one pipeline: extractive and generative answers with sources, no-source and
no-index cases, --no-knowledge, the CLI (`vmed knowledge ...`, `vmed ask --json`) and the HTTP API."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from conftest import EXAMPLES, REPO
from helpers_knowledge import write_medquad

from visual_med_alpaca.config import AssistantConfig, GenerationSettings, KnowledgeConfig, LLMConfig
from visual_med_alpaca.knowledge.corpus import medquad_passages
from visual_med_alpaca.knowledge.index import BuildOptions, build_index
from visual_med_alpaca.knowledge.corpus import Passage
from visual_med_alpaca.knowledge.retrieve import Retrieved
from visual_med_alpaca.knowledge.stage import context_text, sources_footer, trim_to_question
from visual_med_alpaca.pipeline import Assistant
from visual_med_alpaca.prompts import RESEARCH_NOTICE, build_prompt

QUESTION = "What medicines treat hair loss?"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("knowledge")
    build_index(root / "idx", list(medquad_passages(write_medquad(root / "medquad"))), BuildOptions(dense=False))
    return root / "idx"


def make(index_dir, tiny_llama_dir=None, **knowledge) -> Assistant:
    config = AssistantConfig(
        llm=LLMConfig(backend="hf", model=str(tiny_llama_dir or "default")),
        generation=GenerationSettings(max_new_tokens=6),
        knowledge=KnowledgeConfig(**{"index": str(index_dir), "method": "bm25-fused", "type_bonus": 0.5, **knowledge}))
    return Assistant(config)


def test_extractive_answer_is_the_nih_answer_with_its_source_and_no_llm(index_dir):
    assistant = make(index_dir, mode="extractive", top_k=2)
    answer = assistant.ask(QUESTION)
    assert "load_model_s" not in answer.timings  # the language model was never loaded
    assert answer.answer.startswith("Minoxidil is a lotion")
    assert "\n\nSources:\n[1] What are the treatments for Hair Loss? (MPlusHealthTopics) — https://" in answer.answer
    top = answer.sources[0]
    assert set(top) == {"id", "title", "url", "score", "relevance", "text"}
    assert top["id"] == "medquad:MPlusHealthTopics_0000002_Sec2" and top["text"].startswith("Minoxidil")
    assert answer.model == "knowledge:extractive" and "retrieve_s" in answer.timings


def test_generative_answer_puts_passages_in_the_unchanged_template_and_cites(index_dir, tiny_llama_dir):
    assistant = make(index_dir, tiny_llama_dir, mode="generative", top_k=2)
    answer = assistant.ask(QUESTION)
    assert "load_model_s" in answer.timings  # this one loaded the language model
    sources = assistant.consult(QUESTION).sources
    assert answer.prompt == build_prompt(QUESTION, context_text(sources, 220))
    assert "### Input:\nSource [1] What are the treatments for Hair Loss? (MPlusHealthTopics):\nMinoxidil" in answer.prompt
    assert "\n\nSources:\n[1] What are the treatments for Hair Loss? (MPlusHealthTopics) — " \
           "https://www.nlm.nih.gov/medlineplus/hairloss.html\n[2] " in answer.answer
    assert answer.answer.endswith(sources[-1].passage.url)
    assert [s["id"] for s in answer.sources] == [s.passage.id for s in sources]


def test_no_relevant_source_says_so_instead_of_guessing(index_dir):
    assistant = make(index_dir, min_relevance=0.5)
    for question in ("What is the capital of France?", "Quels sont les symptômes de la grippe ?", "?!"):
        answer = assistant.ask(question)
        assert answer.answer.startswith("No trusted source") and answer.sources == []
        assert answer.model == "knowledge:no-source" and "load_model_s" not in answer.timings


def test_no_knowledge_and_no_index_answer_from_the_model_alone(index_dir, tiny_llama_dir, tmp_path):
    off = make(index_dir, tiny_llama_dir).ask(QUESTION, knowledge=False)
    assert off.prompt == build_prompt(QUESTION) and off.sources == [] and off.knowledge_note is None
    missing = make(tmp_path / "never-built", tiny_llama_dir).ask(QUESTION)
    assert missing.prompt == build_prompt(QUESTION) and missing.sources == []
    assert "vmed knowledge build" in missing.knowledge_note


def test_an_index_without_names_vectors_is_searched_as_before_and_says_what_to_run(tmp_path, monkeypatch):
    """Round 11's default (synonyms focus+rqe+written) reads the index's names vectors: an index built before them
    still answers, ranked as with the previous default (focus+rqe), and the note names the one command to run."""
    from helpers_knowledge import use_fake_encoder

    use_fake_encoder(monkeypatch)
    passages = list(medquad_passages(write_medquad(tmp_path / "medquad")))
    build_index(tmp_path / "old", passages, BuildOptions(dense=True, dense_fields=("question",)))
    config = lambda index, **kw: AssistantConfig(knowledge=KnowledgeConfig(  # noqa: E731
        index=str(index), min_relevance=0.0, **kw))  # the stand-in encoder's cosines are low
    question = "What treatment is there for alopecia?"
    old = Assistant(config(tmp_path / "old")).ask(question)
    assert old.sources and old.answer.startswith(old.sources[0]["text"].split()[0])
    assert "\n" not in old.knowledge_note and f"`vmed knowledge build --name {tmp_path / 'old'}`" in old.knowledge_note
    before = Assistant(config(tmp_path / "old", synonyms="focus+rqe")).ask(question)
    assert [s["id"] for s in old.sources] == [s["id"] for s in before.sources] and before.knowledge_note is None
    build_index(tmp_path / "new", passages, BuildOptions(dense=True))  # the default build: with the names vectors
    new = Assistant(config(tmp_path / "new")).ask(question)
    assert new.knowledge_note is None and new.sources[0]["title"].startswith("What are the treatments for Hair Loss")
    # the command fits the index's corpora; a Qdrant store cannot hold the names
    from visual_med_alpaca.knowledge.stage import names_fallback

    cfg = KnowledgeConfig(index="mine")
    assert "`vmed knowledge build --name mine --no-medquad --corpus /notes`" in \
        names_fallback(cfg, {"dense_store": "numpy", "corpora": ["/notes"]}, "x")[1]
    qdrant_cfg, hint = names_fallback(cfg, {"dense_store": "qdrant", "dense_fields": ["question"]}, "x")
    assert qdrant_cfg.synonyms == "focus+rqe" and "Qdrant" in hint
    assert names_fallback(KnowledgeConfig(method="bm25-fused"), {}, "x") == (KnowledgeConfig(method="bm25-fused"), None)


def test_an_image_question_gets_passages_only_when_the_config_asks(index_dir, tiny_llama_dir):
    question = "What does this chart say about hair loss treatment with minoxidil?"  # open: no yes/no decline
    default = make(index_dir, tiny_llama_dir, mode="extractive").ask(question, EXAMPLES / "bar_chart.png")
    assert default.expert != "none" and default.prompt == build_prompt(question, default.expert_text)
    assert default.sources == [] and "Sources:" not in default.answer and default.knowledge_note is None
    assert "retrieve_s" not in default.timings  # not even retrieved
    asked = make(index_dir, tiny_llama_dir, mode="extractive", image_questions=True).ask(question, EXAMPLES / "bar_chart.png")
    assert asked.prompt.startswith(build_prompt("x", "y")[:60]) and asked.sources
    assert f"### Input:\n{asked.expert_text}\n\nSource [1]" in asked.prompt
    forced = make(index_dir, tiny_llama_dir, mode="extractive").ask(question, EXAMPLES / "bar_chart.png", knowledge=True)
    assert forced.prompt == asked.prompt  # an explicit knowledge=True still retrieves


def test_a_declined_image_question_cites_nothing(index_dir, tiny_llama_dir):
    """Nothing examined the image for hair loss, so the answer says so and cites no passage it did not use."""
    answer = make(index_dir, tiny_llama_dir, mode="extractive", image_questions=True).ask("Is there hair loss?",
                                                                                        EXAMPLES / "ct_slice.png")
    assert "nothing in this system examined the image" in answer.answer
    assert answer.sources == [] and "Sources:" not in answer.answer


def test_trim_keeps_the_opening_and_the_paragraph_the_question_asks_about():
    text = ("Gout is a kind of arthritis. It causes pain.\n" + "Filler sentence here. " * 30 + "\n"
            "Treatment of gout uses colchicine and allopurinol.")
    trimmed = trim_to_question(text, "What is the treatment of gout?", 20)
    assert trimmed.startswith("Gout is a kind of arthritis. It causes pain.")
    assert "colchicine" in trimmed and trimmed.endswith("…")
    assert trim_to_question("Short answer.", "q", 50) == "Short answer."



def test_an_answer_opening_with_a_bare_yes_loses_it_when_the_question_asks_no_yes_no():
    """MedQuAD re-titled "Can glaucoma be treated?" as "What are the treatments for Glaucoma?": its answer opens
    with "Yes.", which reads as nonsense under a what-question; a yes/no question keeps it."""
    text = "Yes. Immediate treatment can delay progression of the disease. Treatments include medicines."
    assert trim_to_question(text, "What are the treatments for glaucoma?", 50).startswith("Immediate treatment")
    assert trim_to_question("No. It is not contagious.", "How does gout spread?", 50) == "It is not contagious."
    assert trim_to_question(text, "Can glaucoma be treated?", 50).startswith("Yes. Immediate")
    assert trim_to_question("Yesterday's advice stands.", "What is new?", 50) == "Yesterday's advice stands."


def test_sources_with_the_same_title_and_url_are_one_line_that_keeps_their_numbers():
    """Two passages of one page under one title are cited once, as [1, 2], so the numbers the prompt's
    "Source [n]" used still point at a line."""
    def hit(n, title, url):
        return Retrieved(Passage(f"p{n}", title, url, f"text {n}"), score=1.0, relevance=1.0)
    footer = sources_footer([hit(1, "Treatments for Glaucoma", "http://a"), hit(2, "Treatments for Glaucoma", "http://a"),
                             hit(3, "Prevent Glaucoma", "http://a")])
    assert footer == ("\n\nSources:\n[1, 2] Treatments for Glaucoma — http://a\n"
                      "[3] Prevent Glaucoma — http://a")

def test_a_source_number_the_model_made_up_is_named_as_such():
    """The 270M model copies the prompt's "Source [n]" headers and writes "Source [4]" with three sources: the
    footer says no such source exists, instead of leaving the reader to look for it. Real numbers are not named."""
    def hit(n):
        return Retrieved(Passage(f"p{n}", f"Title {n}", "http://a", f"text {n}"), score=1.0, relevance=1.0)
    sources = [hit(1), hit(2), hit(3)]
    footer = sources_footer(sources, "Glaucoma is treated with eye drops (Source [4]; see also [2, 5]).")
    assert footer.endswith("\n(The answer cites [4], [5]: no such source; the language model made the number up.)")
    assert "no such source" not in sources_footer(sources, "Eye drops [1], surgery [2, 3].")
    assert sources_footer([], "Source [4]") == ""


def vmed(*args, env=None):
    return subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=240, env={**os.environ, **(env or {})})


def test_cli_build_search_ask_json_and_bad_index(tmp_path):
    data = tmp_path / "data"
    write_medquad(data / "medquad")
    env = {"VMED_KNOWLEDGE_DIR": str(tmp_path / "kn")}
    built = vmed("knowledge", "build", "--data-dir", data, "--no-dense", env=env)
    assert built.returncode == 0, built.stderr
    assert "6 passages" in built.stdout and "keyword only" in built.stdout
    assert "up to date" in vmed("knowledge", "build", "--data-dir", data, "--no-dense", env=env).stdout

    found = vmed("knowledge", "search", QUESTION, "--json", "--set", "knowledge.method=bm25-fused", env=env)
    assert json.loads(found.stdout)[0]["url"] == "https://www.nlm.nih.gov/medlineplus/hairloss.html"
    assert RESEARCH_NOTICE in found.stderr  # medical passages shown: the notice, as every command that shows them
    keyword = ("--set", "knowledge.method=bm25-fused")
    shown = vmed("knowledge", "search", QUESTION, *keyword, env=env)
    assert "hairloss.html" in shown.stdout and shown.stdout.rstrip().endswith(RESEARCH_NOTICE)
    assert RESEARCH_NOTICE not in vmed("knowledge", "search", QUESTION, "-q", *keyword, env=env).stdout
    for k in ("0", "-3"):  # 0 used to be read as the default top_k, -3 as a slice
        bad = vmed("knowledge", "search", QUESTION, "--k", k, env=env)
        assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "'--k'" in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr

    asked = vmed("ask", QUESTION, "--json", "--set", "knowledge.method=bm25-fused", "--set", "knowledge.type_bonus=0.5", env=env)
    payload = json.loads(asked.stdout)
    assert payload["sources"][0]["title"].startswith("What are the treatments for Hair Loss")
    assert payload["answer"].startswith("Minoxidil")

    (tmp_path / "kn" / "medquad" / "passages.sqlite").write_bytes(b"garbage" * 50)
    info = vmed("knowledge", "info", env=env)
    assert info.returncode == 2 and info.stderr.startswith("error: the knowledge index") and "Traceback" not in info.stderr
    bad_corpus = tmp_path / "bad"
    bad_corpus.mkdir()
    (bad_corpus / "x.jsonl").write_text("not json\n")
    refused = vmed("knowledge", "build", "--no-medquad", "--corpus", bad_corpus, env=env)
    assert refused.returncode == 2 and "line 1 is not JSON" in refused.stderr and "Traceback" not in refused.stderr
    qdrant = vmed("knowledge", "build", "--data-dir", data, "--dense-fields", "question,names", "--dense-store", "qdrant",
                  env=env)
    assert qdrant.returncode == 2 and qdrant.stderr.strip() == ("error: --dense-fields names needs the numpy store "
                                                                "(the embedded default), not qdrant"), qdrant.stderr


def test_api_response_carries_sources(index_dir, tiny_llama_dir):
    from helpers_serve import ThreadServer

    from visual_med_alpaca.serve.api import ServeConfig, create_app

    assistant = make(index_dir, tiny_llama_dir, mode="generative")
    with ThreadServer(create_app(ServeConfig(), assistant)) as server:
        reply = httpx.post(f"{server.url}/v1/chat/completions", timeout=60, json={
            "model": "visual-med-alpaca", "messages": [{"role": "user", "content": QUESTION}], "max_tokens": 4})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    sources = body["x_visual_med_alpaca"]["sources"]
    assert sources and sources[0]["url"] == "https://www.nlm.nih.gov/medlineplus/hairloss.html"
    assert "Sources:\n[1]" in body["choices"][0]["message"]["content"]

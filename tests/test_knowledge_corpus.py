"""Corpus readers: MedQuAD passages keep their citation; user folders of JSONL / Markdown, and bad files."""

from __future__ import annotations

import json

import pytest
from helpers_knowledge import write_medquad

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.knowledge.corpus import folder_passages, medquad_passages


def test_medquad_passages_carry_question_focus_source_url_and_liveqa_id(tmp_path):
    passages = list(medquad_passages(write_medquad(tmp_path / "medquad")))
    assert len(passages) == 6  # the empty answers are skipped
    first = passages[0]
    assert first.id == "medquad:GHR_0000001_Sec1"  # the id TREC LiveQA judgements use
    assert first.url == "https://ghr.nlm.nih.gov/condition/noonan-syndrome"
    assert first.focus == "Noonan syndrome" and first.source == "GHR" and first.qtype == "information"
    assert first.title == "What is (are) Noonan syndrome? (GHR)"
    assert first.text.startswith("Noonan syndrome is a condition")
    assert first.synonyms == ()  # a document without <Synonyms>
    hair = [p for p in passages if p.focus == "Hair Loss"]
    assert hair and all(p.synonyms == ("Alopecia", "Baldness") for p in hair)  # once each, the focus left out


def test_jsonl_and_markdown_folders(tmp_path):
    corpus = tmp_path / "notes"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(json.dumps({"text": "Gout is arthritis.", "url": "https://x.org/gout"}) + "\n\n"
                                    + json.dumps({"id": "p2", "text": "Acne is common.", "title": "Acne"}) + "\n")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "b.md").write_text("url: https://example.org/asthma\n# Asthma\nAsthma narrows the airways.\n"
                                         "## Treatment\nInhalers help.\n")
    passages = list(folder_passages(corpus))
    assert [p.id for p in passages] == ["notes:a.jsonl#1", "notes:p2", "notes:sub/b.md#1", "notes:sub/b.md#2"]
    assert passages[0].title == "https://x.org/gout" and passages[1].url == ""
    assert passages[3].title == "Treatment" and passages[3].url == "https://example.org/asthma"
    assert passages[3].text == "Inhalers help."


@pytest.mark.parametrize("name, content, message", [
    ("x.jsonl", "{not json\n", "line 1 is not JSON"),
    ("x.jsonl", json.dumps({"text": "no citation"}) + "\n", "needs a 'url' or a 'title'"),
    ("x.jsonl", json.dumps(["a list"]) + "\n", "must be a JSON object"),
    ("x.jsonl", json.dumps({"url": "https://x"}) + "\n", "has no 'text'"),
    ("x.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "is binary, not text"),
    ("x.md", b"caf\xe9 latin-1", "is not UTF-8 text"),
])
def test_a_corpus_file_that_is_not_what_it_claims_is_one_clear_error(tmp_path, name, content, message):
    corpus = tmp_path / "c"
    corpus.mkdir()
    path = corpus / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(UserInputError, match=message):
        list(folder_passages(corpus))


def test_missing_or_empty_corpus_folder(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        list(folder_passages(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserInputError, match="no .jsonl or .md"):
        list(folder_passages(tmp_path / "empty"))

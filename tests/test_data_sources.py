"""Source readers on tiny files in each native format, plus the real shared files where present."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import shared_data

from visual_med_alpaca.data.collect import collect
from visual_med_alpaca.data.config import CollectConfig
from visual_med_alpaca.data.sources import SOURCES, load_source
from visual_med_alpaca.data.sources.mediqa import LIVEQA_FILE, is_liveqa
from visual_med_alpaca.data.store import read_jsonl
from visual_med_alpaca.errors import UserInputError

MEDQUAD_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Document id="0000001" source="GHR"><Focus>Noonan syndrome</Focus><QAPairs>
<QAPair pid="1"><Question qid="0000001-1" qtype="information">What is (are) Noonan syndrome ?</Question>
<Answer>Noonan syndrome is a condition that affects
    many areas of the body.</Answer></QAPair>
<QAPair pid="2"><Question qid="0000001-2" qtype="symptoms">What are the symptoms of Noonan syndrome ?</Question>
<Answer></Answer></QAPair>
</QAPairs></Document>"""

RQE_XML = """<?xml version="1.0" encoding="UTF-8"?><root>
<pair pid="1" type="t" value="true"><chq> How do I treat acne? </chq><faq> How is acne treated? </faq></pair>
<pair pid="2" type="t" value="false"><chq> How do I treat acne? </chq><faq> What causes gout? </faq></pair>
</root>"""

QA_XML = """<?xml version="1.0" encoding="UTF-8"?><root><Question QID="1"><QuestionText>What is gout?</QuestionText>
<AnswerList>
<Answer AID="1_Answer1" SystemRank="1" ReferenceRank="1" ReferenceScore="4"><AnswerText>Gout is arthritis from urate crystals.</AnswerText></Answer>
<Answer AID="1_Answer2" SystemRank="2" ReferenceRank="2" ReferenceScore="3"><AnswerText>A painful joint disease.</AnswerText></Answer>
<Answer AID="1_Answer3" SystemRank="3" ReferenceRank="3" ReferenceScore="2"><AnswerText>Unrelated text.</AnswerText></Answer>
</AnswerList></Question></root>"""


# The TREC LiveQA'17 file (a benchmark): its question, and a copy of it with a typo fixed, must never be read
MESSAGE = "gout. Is gout caused by eating too {} red meat? My father has gout in his big toe and eats steak every day."
LIVEQA_XML = QA_XML.replace('QID="1"', 'QID="7"').replace("What is gout?", MESSAGE.format("mcuh"))
COPY = MESSAGE.format("much")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_every_record_keeps_source_and_id_and_parses_native_fields(tmp_path):
    _write(tmp_path / "medquad/3_GHR_QA/0000001.xml", MEDQUAD_XML)
    records = list(load_source("medquad").read(tmp_path / "medquad"))
    assert [r["id"] for r in records] == ["medquad:ghr-0000001-1"]  # the empty answer is skipped
    assert records[0]["output"] == "Noonan syndrome is a condition that affects\nmany areas of the body."
    assert records[0]["topic"] == "information" and records[0]["source"] == "medquad"

    rqe, qa = tmp_path / "MEDIQA_Task2_RQE", tmp_path / "MEDIQA_Task3_QA"
    _write(qa / LIVEQA_FILE, LIVEQA_XML)
    _write(rqe / "X-TrainingSet-AMIA2016.xml", RQE_XML)
    _write(rqe / "X-TestSet-wLabels.xml", RQE_XML)  # test split: must not be read
    records = list(load_source("mediqa_rqe").read(rqe))
    assert [r["id"] for r in records] == ["mediqa_rqe:trainingset-1", "mediqa_rqe:trainingset-2"]
    assert records[0]["input"] == "Question A: How do I treat acne?\nQuestion B: How is acne treated?"
    assert records[0]["output"].startswith("Yes") and records[1]["output"].startswith("No")

    _write(qa / "X-ValidationSet.xml", QA_XML)
    _write(qa / "X-TestSet-wLabels.xml", QA_XML)
    records = list(load_source("mediqa_qa").read(qa))
    assert [r["id"] for r in records] == ["mediqa_qa:validationset-1_Answer1", "mediqa_qa:validationset-1_Answer2"]
    assert records[0]["instruction"] == "What is gout?"


def test_liveqa_benchmark_questions_and_their_copies_are_never_read(tmp_path):
    rqe, qa = tmp_path / "MEDIQA_Task2_RQE", tmp_path / "MEDIQA_Task3_QA"
    _write(rqe / "X-ValidationSet-AMIA2016.xml", RQE_XML.replace("How do I treat acne?", COPY, 1))
    _write(qa / "X-ValidationSet.xml", QA_XML.replace("What is gout?", COPY))
    with pytest.raises(UserInputError, match="LiveQA'17 questions .* needed"):
        list(load_source("mediqa_rqe").read(rqe))  # cannot tell what to leave out: refuse, like PubMedQA
    with pytest.raises(UserInputError, match="LiveQA'17 questions .* needed"):
        list(load_source("mediqa_qa").read(qa))
    _write(qa / LIVEQA_FILE, LIVEQA_XML)
    assert [r["id"] for r in load_source("mediqa_rqe").read(rqe)] == ["mediqa_rqe:validationset-2"]
    assert list(load_source("mediqa_qa").read(qa)) == []  # its own question: a copy; the LiveQA file: not read
    assert is_liveqa(qa)(COPY.upper().replace(".", ":")) and not is_liveqa(qa)("What is gout?")


@pytest.mark.parametrize("broken", [RQE_XML[:120], "not XML at all", ""], ids=["truncated", "text", "empty"])
def test_a_broken_xml_file_is_one_error_naming_it(tmp_path, broken):
    """A cut-short download or a file that is not XML: one UserInputError naming the file (the CLI's one error line
    for `vmed data collect`, `vmed train medical-data`, `vmed knowledge ...`), not an XML ParseError traceback."""
    rqe, qa = tmp_path / "MEDIQA_Task2_RQE", tmp_path / "MEDIQA_Task3_QA"
    _write(qa / LIVEQA_FILE, LIVEQA_XML)
    bad = _write(rqe / "X-TrainingSet-AMIA2016.xml", broken)
    with pytest.raises(UserInputError, match=f"{re.escape(str(bad))} is not valid XML"):
        list(load_source("mediqa_rqe").read(rqe))
    bad = _write(qa / "X-ValidationSet.xml", broken)
    with pytest.raises(UserInputError, match=f"{re.escape(str(bad))} is not valid XML"):
        list(load_source("mediqa_qa").read(qa))
    bad = _write(tmp_path / "medquad/3_GHR_QA/0000001.xml", broken)
    with pytest.raises(UserInputError, match=f"{re.escape(str(bad))} is not valid XML"):
        list(load_source("medquad").read(tmp_path / "medquad"))
    other = tmp_path / "other" / "MEDIQA_Task3_QA"  # the LiveQA file itself, read before anything else
    bad = _write(other / LIVEQA_FILE, broken)
    with pytest.raises(UserInputError, match=f"{re.escape(str(bad))} is not valid XML"):
        is_liveqa(other)


def test_alpaca_json_and_medqa_jsonl(tmp_path):
    meadow = _write(tmp_path / "m.json", json.dumps([{"instruction": "Answer this question truthfully",
                                                       "input": "What is gout?", "output": "A kind of arthritis."}]))
    (record,) = load_source("medical_meadow").read(meadow)
    assert record == {"id": "medical_meadow:0", "source": "medical_meadow", "instruction": "Answer this question truthfully",
                      "input": "What is gout?", "output": "A kind of arthritis.", "topic": "wikidoc"}
    with pytest.raises(UserInputError):
        list(load_source("chatdoctor").read(_write(tmp_path / "bad.json", "{}")))
    cut = _write(tmp_path / "cut.json", json.dumps([{"instruction": "a", "output": "b"}] * 3)[:-20])
    with pytest.raises(UserInputError, match=f"{re.escape(str(cut))} is not valid JSON"):  # a cut-short download
        list(load_source("medical_meadow").read(cut))

    medqa = _write(tmp_path / "medqa.jsonl", json.dumps({
        "question": "A 23-year-old woman has dysuria. Which is the best treatment?",
        "options": {"A": "Ampicillin", "B": "Ceftriaxone", "C": "Nitrofurantoin", "D": "Doxycycline"},
        "answer_idx": "C", "answer": "Nitrofurantoin", "meta_info": "step1"}) + "\n\n")
    (record,) = load_source("medqa").read(medqa)
    assert record["id"] == "medqa:medqa-1"
    assert record["instruction"] == "A 23-year-old woman has dysuria. Which is the best treatment?"
    assert record["input"] == "A: Ampicillin\nB: Ceftriaxone\nC: Nitrofurantoin\nD: Doxycycline"
    assert record["output"] == "C: Nitrofurantoin"
    with pytest.raises(UserInputError, match="medqa.jsonl:1"):
        list(load_source("medqa").read(_write(tmp_path / "medqa.jsonl", '{"question": "no options"}\n')))
    (tmp_path / "empty").mkdir()  # a folder without .jsonl files was "medqa: 0 records read", exit 0
    with pytest.raises(UserInputError, match="is a folder without MedQA .jsonl files"):
        list(load_source("medqa").read(tmp_path / "empty"))


def test_collect_is_resumable_and_skips_missing_sources(tmp_path):
    _write(tmp_path / "data/medquad/3_GHR_QA/0000001.xml", MEDQUAD_XML)
    config = CollectConfig(data_root=tmp_path / "data", sources=["medquad", "pubmedqa"],
                           paths={"medquad": tmp_path / "data/medquad"})
    logs: list[str] = []
    out = tmp_path / "q.jsonl"
    assert collect(config, out, log=logs.append)["medquad"] == 1
    assert any("skip pubmedqa" in line for line in logs)
    assert sum(collect(config, out, log=logs.append).values()) == 0  # rerun adds nothing
    assert len(list(read_jsonl(out))) == 1
    with pytest.raises(UserInputError, match="data folder not found"):
        collect(CollectConfig(data_root=tmp_path / "nowhere"), tmp_path / "x.jsonl")
    # a --path that is not there is named with its path (it said 'no source found under None')
    with pytest.raises(UserInputError, match=r"no source found \(medqa: .*nowhere\.jsonl\)"):
        collect(CollectConfig(sources=["medqa"], paths={"medqa": tmp_path / "nowhere.jsonl"}), tmp_path / "x.jsonl")


def test_pubmedqa_leaves_out_all_500_test_pmids():
    folder = shared_data("pubmedqa")
    test_pmids = set(json.loads((folder / "test_ground_truth.json").read_text()))
    records = list(load_source("pubmedqa").read(folder))
    assert len(test_pmids) == 500 and len(records) == 500
    assert not {r["id"].split(":", 1)[1] for r in records} & test_pmids
    assert all(r["output"].split(".")[0] in ("Yes", "No", "Maybe") for r in records)


def test_pubmedqa_refuses_without_the_test_list(tmp_path):
    _write(tmp_path / "ori_pqal.json", "{}")
    with pytest.raises(UserInputError, match="test PMIDs"):
        list(load_source("pubmedqa").read(tmp_path))


def test_mediqa_shared_counts_use_train_and_validation_only_without_liveqa():
    rqe = list(load_source("mediqa_rqe").read(shared_data("mediqa2019", "MEDIQA_Task2_RQE")))
    # MANIFEST: train + validation pairs, test left out; 17 validation pairs ask one of 8 LiveQA'17 questions
    assert len(rqe) == 8588 + 302 - 17
    task3 = shared_data("mediqa2019", "MEDIQA_Task3_QA")
    qa = list(load_source("mediqa_qa").read(task3))
    assert qa and all("test" not in r["id"] and "trainingset1" not in r["id"] for r in qa)
    assert len({r["id"] for r in qa}) == len(qa)
    benchmark = is_liveqa(task3)
    assert not any(benchmark(r["instruction"]) for r in qa)
    assert not any(benchmark(line) for r in rqe for line in r["input"].splitlines())


def test_registry_names_match_reader_names():
    for name in SOURCES:
        assert load_source(name).name == name


def test_the_liveqa_file_is_parsed_once_for_every_reader_and_call(tmp_path, monkeypatch):
    import visual_med_alpaca.data.sources.mediqa as mediqa

    rqe, qa = tmp_path / "MEDIQA_Task2_RQE", tmp_path / "MEDIQA_Task3_QA"
    _write(rqe / "X-ValidationSet-AMIA2016.xml", RQE_XML.replace("How do I treat acne?", COPY, 1))
    _write(rqe / "X-TrainingSet-AMIA2016.xml", RQE_XML)
    _write(qa / "X-ValidationSet.xml", QA_XML)
    _write(qa / LIVEQA_FILE, LIVEQA_XML)
    parsed = []
    original = mediqa.MediqaQA.questions
    monkeypatch.setattr(mediqa.MediqaQA, "questions",
                        staticmethod(lambda path: parsed.append(Path(path).name) or original(path)))
    for _ in range(2):
        assert [r["id"] for r in load_source("mediqa_rqe").read(rqe)] == ["mediqa_rqe:trainingset-1",
                                                                          "mediqa_rqe:trainingset-2",
                                                                          "mediqa_rqe:validationset-2"]
        assert len(list(load_source("mediqa_qa").read(qa))) == 2
        assert len(mediqa.liveqa_questions(qa)) == 1 and is_liveqa(qa)(COPY)
    assert parsed == [LIVEQA_FILE]
    _write(qa / LIVEQA_FILE, LIVEQA_XML.replace("</root>", '<Question QID="2"><QuestionText>What is gout?'
                                                          "</QuestionText></Question></root>"))
    assert len(mediqa.liveqa_questions(qa)) == 2 and parsed == [LIVEQA_FILE] * 2  # an edited file is read again

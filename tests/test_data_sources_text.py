"""The one reader per text QA set (data/sources: pubmedqa, mediqa), read by the instruction sources, the adapter's
training mix and the text benchmarks: on tiny files in the shared formats (always run), and the real shared files'
sizes as the data manifest states them (skipped when absent)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import shared_data

from visual_med_alpaca.data.sources import load_source
from visual_med_alpaca.data.sources.mediqa import (LIVEQA_FILE, QA_FOLDER, QA_TEST_FILE, RQE_FOLDER, RQE_TEST_FILE,
                                                   MediqaQA, MediqaRQE, qa_test, rqe_test, xml_questions)
from visual_med_alpaca.data.sources.pubmedqa import DATA_FILE, FOLDER, TEST_FILE, pubmedqa_test
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.eval.benchmarks import load_benchmark
from visual_med_alpaca.train.medical_data import mediqa_qa, pubmedqa_train


def _pqal(pmid: int, decision: str) -> dict:
    return {"QUESTION": f"Does drug {pmid} work?", "CONTEXTS": [f"Trial {pmid}.", "It was randomised."],
            "LONG_ANSWER": f"Drug {pmid} {decision}.", "final_decision": decision, "MESHES": ["Drugs"]}


RQE_PAIRS = [("1", "true", "How do I treat  acne?\n", "How is acne treated?"),
             ("2", "false", "How do I treat acne?", "What causes gout?")]
QA_TEST = [("11", "What is gout ?\n", [("11_Answer1", "4", "1", "  Gout is arthritis.  "),
                                       ("11_Answer2", "2", "2", "Unrelated.")]),
           ("12", "Is ibuprofen safe?", [("12_Answer1", "3", "1", "Mostly, at low doses.")])]


def _rqe_xml(pairs) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><root>' + "".join(
        f'<pair pid="{pid}" value="{value}"><chq>{chq}</chq><faq>{faq}</faq></pair>' for pid, value, chq, faq in pairs)
        + "</root>")


def _qa_xml(questions) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><root>' + "".join(
        f'<Question QID="{qid}"><QuestionText>{text}</QuestionText><AnswerList>' + "".join(
            f'<Answer AID="{aid}" SystemRank="1" ReferenceRank="{rank}" ReferenceScore="{score}">'
            f"<AnswerText>{body}</AnswerText><AnswerURL> https://x.org/{aid} </AnswerURL></Answer>"
            for aid, score, rank, body in answers) + "</AnswerList></Question>" for qid, text, answers in questions)
        + "</root>")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def tiny_data(tmp_path):
    """A data folder with PubMedQA (4 PMIDs, 2 of them test), MEDIQA RQE train + test, MEDIQA QA train + LiveQA + test."""
    decisions = {"101": "yes", "102": "no", "103": "maybe", "104": "yes"}
    _write(tmp_path / FOLDER / DATA_FILE, json.dumps({p: _pqal(int(p), d) for p, d in decisions.items()}))
    _write(tmp_path / FOLDER / TEST_FILE, json.dumps({"103": "maybe", "101": "yes"}))
    _write(tmp_path / RQE_FOLDER / RQE_TEST_FILE, _rqe_xml(RQE_PAIRS))
    _write(tmp_path / RQE_FOLDER / "X-TrainingSet-AMIA2016.xml", _rqe_xml([("5", "true", "Is gout  hereditary?",
                                                                            "Is gout inherited?")]))
    _write(tmp_path / QA_FOLDER / QA_TEST_FILE, _qa_xml(QA_TEST))
    _write(tmp_path / QA_FOLDER / "X-TrainingSet2-Alexa.xml",
           _qa_xml([("21", "What causes  gout?", [("21_Answer1", "4", "1", "Urate crystals.")])]))
    _write(tmp_path / QA_FOLDER / LIVEQA_FILE, _qa_xml([("31", "Can I cure my hair loss with onions?", [])]))
    return tmp_path


def test_pubmedqa_test_items_and_training_records_split_the_same_file(tiny_data):
    test = pubmedqa_test(tiny_data)
    assert [(pmid, label) for pmid, label, _ in test] == [("103", "maybe"), ("101", "yes")]  # test-file order
    items = load_benchmark("pubmedqa", tiny_data)
    assert [(i.id, i.reference) for i in items] == [("pubmedqa_103", "maybe"), ("pubmedqa_101", "yes")]
    assert "Trial 103.\nIt was randomised." in items[0].question and "Drug 103 maybe." not in items[0].question
    records = list(load_source("pubmedqa").read(tiny_data / FOLDER))
    assert [r["id"] for r in records] == ["pubmedqa:102", "pubmedqa:104"]  # never a test PMID
    assert records[0]["output"] == "No. Drug 102 no." and records[0]["input"] == "Trial 102.\nIt was randomised."
    assert [r["id"] for r in pubmedqa_train(tiny_data / FOLDER, 700, 600)] == ["102", "104"]


def test_pubmedqa_missing_or_wrong_files_are_one_error(tiny_data, tmp_path):
    (tiny_data / FOLDER / TEST_FILE).write_text(json.dumps({"999": "yes"}))
    with pytest.raises(UserInputError, match="1 PubMedQA test PMIDs are not in .*ori_pqal.json"):
        load_benchmark("pubmedqa", tiny_data)
    (tiny_data / FOLDER / DATA_FILE).write_text("[]")
    with pytest.raises(UserInputError, match="not a PubMedQA file"):
        list(load_source("pubmedqa").read(tiny_data / FOLDER))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserInputError, match="PubMedQA folder not found"):
        load_benchmark("pubmedqa", tmp_path / "empty")
    _write(tmp_path / "only-test" / FOLDER / TEST_FILE, "{}")
    with pytest.raises(UserInputError, match="PubMedQA PQA-L file not found"):
        load_benchmark("pubmedqa", tmp_path / "only-test")


def test_mediqa_rqe_test_keeps_the_text_as_written_training_reads_other_files(tiny_data):
    assert rqe_test(tiny_data) == [("1", "How do I treat  acne?", "How is acne treated?", True),
                                   ("2", "How do I treat acne?", "What causes gout?", False)]
    items = load_benchmark("mediqa-rqe", tiny_data)
    assert [(i.id, i.reference, i.options) for i in items] == [("rqe_1", "yes", ("yes", "no")),
                                                               ("rqe_2", "no", ("yes", "no"))]
    assert items[0].question.startswith("Question A: How do I treat  acne?\nQuestion B: How is acne treated?\n\n")
    # the training pairs (test file left out) and the knowledge stage's pairs: whitespace runs one space
    assert [r["id"] for r in load_source("mediqa_rqe").read(tiny_data / RQE_FOLDER)] == ["mediqa_rqe:trainingset-5"]
    assert list(MediqaRQE.pairs(tiny_data / RQE_FOLDER / RQE_TEST_FILE))[0] == ("1", "How do I treat acne?",
                                                                               "How is acne treated?", True)


def test_mediqa_qa_test_items_ranks_and_labels(tiny_data):
    items = load_benchmark("mediqa-qa", tiny_data)
    assert [(i.id, i.reference, i.meta["group"], i.meta["order"], i.meta["reference_rank"]) for i in items] == [
        ("11_Answer1", "yes", "11", 0, 1), ("11_Answer2", "no", "11", 1, 2), ("12_Answer1", "yes", "12", 0, 1)]
    assert "Question: What is gout ?\n\nCandidate answer: Gout is arthritis.\n\n" in items[0].question
    assert [q.qid for q in qa_test(tiny_data)] == ["11", "12"]
    # the same parse for the knowledge stage (answered) and training (ReferenceScore 3-4, test and LiveQA left out)
    first = next(MediqaQA.answered(tiny_data / QA_FOLDER / QA_TEST_FILE))
    assert first[:2] == ("11", "What is gout ?") and first[2][0] == ("11_Answer1", "https://x.org/11_Answer1", 4,
                                                                       "  Gout is arthritis.  ")
    records = list(load_source("mediqa_qa").read(tiny_data / QA_FOLDER))
    assert [(r["id"], r["instruction"], r["output"]) for r in records] == [
        ("mediqa_qa:trainingset2-21_Answer1", "What causes gout?", "Urate crystals.")]
    assert [r["output"] for r in mediqa_qa(tiny_data / QA_FOLDER, 700, "trainingset")] == ["Urate crystals."]


@pytest.mark.parametrize("bad", ['ReferenceScore="4"', 'ReferenceRank="1"', 'AID="11_Answer1"'])
def test_mediqa_test_labels_missing_are_one_error(tiny_data, bad):
    path = tiny_data / QA_FOLDER / QA_TEST_FILE
    path.write_text(path.read_text().replace(bad, "", 1))
    with pytest.raises(UserInputError, match="needs a ReferenceScore 1-4 and a ReferenceRank"):
        load_benchmark("mediqa-qa", tiny_data)
    rqe = tiny_data / RQE_FOLDER / RQE_TEST_FILE
    rqe.write_text(rqe.read_text().replace('value="false"', 'value="maybe"'))
    with pytest.raises(UserInputError, match="pair 2 has no true/false label"):
        load_benchmark("mediqa-rqe", tiny_data)


def test_shared_pubmedqa_test_and_training_halves():
    root = shared_data("pubmedqa").parent
    test = pubmedqa_test(root)
    assert len(test) == 500 and Counter(label for _, label, _ in test) == {"yes": 276, "no": 169, "maybe": 55}
    train = {r["id"].split(":", 1)[1] for r in load_source("pubmedqa").read(root / FOLDER)}
    assert len(train) == 500 and not train & {pmid for pmid, _, _ in test}  # MANIFEST: 1,000 = 500 + 500


def test_shared_mediqa_file_sizes():
    root = shared_data("mediqa2019").parent
    test = rqe_test(root)
    assert len(test) == 230 and Counter(entailed for *_, entailed in test) == {True: 115, False: 115}
    rqe = root / RQE_FOLDER
    assert [len(list(MediqaRQE.pairs(f))) for f in sorted(rqe.glob("*.xml"))] == [230, 8588, 302]  # test, train, valid
    qa = root / QA_FOLDER
    sizes = {f.name.split("-QA-")[1]: (len(qs := list(xml_questions(f))), sum(len(q.answers) for q in qs))
             for f in qa.glob("*.xml")}
    assert sizes == {"TestSet-wLabels.xml": (150, 1107), "TrainingSet1-LiveQAMed.xml": (104, 839),
                     "TrainingSet2-Alexa.xml": (104, 862), "ValidationSet.xml": (25, 234)}
    assert len(qa_test(root)) == 150

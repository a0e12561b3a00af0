"""LiveQA scoring pieces: grades by id or moved text, unjudged = incorrect, AP and RR."""

from __future__ import annotations

import pytest

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.knowledge.corpus import Passage
from visual_med_alpaca.knowledge.evaluate import Qrels, average_precision, reciprocal_rank


def test_grades_by_id_then_by_text_and_unjudged_is_incorrect():
    qrels = Qrels(by_id={"1": {"GHR_0000001_Sec1": 4}}, by_text={"1": {"gout is arthritis": 3}})
    assert qrels.grade("1", Passage("medquad:GHR_0000001_Sec1", "t", "", "whatever")) == 4
    assert qrels.grade("1", Passage("medquad:GHR_0000009_Sec2", "t", "", "Gout is\narthritis.")) == 3
    assert qrels.grade("1", Passage("medquad:GHR_0000002_Sec1", "t", "", "unjudged")) == 1
    assert qrels.grade("2", Passage("medquad:GHR_0000001_Sec1", "t", "", "x")) == 1


def test_average_precision_and_reciprocal_rank():
    assert average_precision([False, True, False, True], total_relevant=2) == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert average_precision([True], total_relevant=0) == 0.0
    assert average_precision([True] * 12, total_relevant=20) == 1.0  # capped at 10
    assert reciprocal_rank([False, False, True]) == pytest.approx(1 / 3)
    assert reciprocal_rank([False] * 10 + [True]) == 0.0


def test_recall_base_counts_correct_answers_the_index_holds_by_id_or_text():
    qrels = Qrels(by_id={"1": {"GHR_0000001_Sec1": 4, "GHR_0000002_Sec1": 2, "ADAM_0000001_Sec1": 4}},
                  by_text={"1": {"gout is arthritis": 3}})
    index = [Passage("medquad:GHR_0000001_Sec1", "t", "", "a"), Passage("medquad:GHR_0000002_Sec1", "t", "", "b"),
             Passage("medquad:GARD_0000009_Sec1", "t", "", "Gout is arthritis")]
    assert qrels.correct_in(index) == {"1": 2}  # the ADAM answer is not in the index


def test_judged_passages_by_id_or_text_are_listed_for_leaving_out_of_training():
    qrels = Qrels(by_id={"1": {"GHR_0000001_Sec1": 1}}, by_text={"2": {"gout is arthritis": 3}})
    index = [Passage("medquad:GHR_0000001_Sec1", "t", "", "x"), Passage("medquad:GHR_0000009_Sec2", "t", "", "Gout is arthritis"),
             Passage("medquad:GHR_0000003_Sec1", "t", "", "unjudged")]
    assert qrels.judged(index) == {"medquad:GHR_0000001_Sec1", "medquad:GHR_0000009_Sec2"}


# -- dev2: MEDIQA Task 3 answers graded by experts, linked to MedQuAD pairs by URL and passage -----------------
GOUT = "Gout is a form of arthritis caused by urate crystals in the joints of the big toe"
_ANSWER = ('<Answer AID="{aid}" SystemRank="1" ReferenceRank="1" ReferenceScore="{score}"><AnswerURL>{url}</AnswerURL>'
           "<AnswerText>{text}</AnswerText></Answer>")


def _task3(questions) -> str:
    body = "".join(f'<Question QID="{qid}"><QuestionText>{text}</QuestionText><AnswerList>'
                   + "".join(_ANSWER.format(aid=f"{qid}_A{i}", score=s, url=u, text=t) for i, (s, u, t) in enumerate(answers))
                   + "</AnswerList></Question>" for qid, text, answers in questions)
    return f'<?xml version="1.0" encoding="UTF-8"?><root>{body}</root>'


def _liveqa_folder(root, liveqa: str):
    """The MEDIQA Task 3 folder under `root` with a one-question LiveQA'17 file (what is_liveqa reads)."""
    from visual_med_alpaca.data.sources.mediqa import QA_FOLDER

    folder = root / QA_FOLDER
    folder.mkdir(parents=True)
    (folder / "MEDIQA2019-Task3-QA-TrainingSet1-LiveQAMed.xml").write_text(_task3([("1", liveqa, [])]))
    return folder


def test_dev2_grades_medquad_pairs_by_url_and_passage_and_leaves_out_liveqa(tmp_path):
    from visual_med_alpaca.knowledge.evaluate import DEV2_FILES, dev2_set

    liveqa = "gout. Is gout caused by eating too mcuh red meat? My father has gout in his big toe and eats steak."
    folder = _liveqa_folder(tmp_path, liveqa)
    url = "https://ghr.nlm.nih.gov/condition/gout"
    alexa = _task3([
        ("1", "What is gout?", [(4, "http://www.GHR.nlm.nih.gov/condition/gout/", GOUT + " and more."),  # same passage, cut
                                (2, url, "Gout treatments: colchicine and rest for the big toe.")]),      # a related one
        ("2", "What causes gout?", [(4, url, "Whole page: " + GOUT + " " + " ".join(f"w{i}" for i in range(60)))]),
        ("3", "What is acne?", [(4, "https://other.example/acne", "Acne is a skin condition.")]),    # not in MedQuAD
        ("4", liveqa.replace("mcuh", "much"), [(4, url, GOUT)]),                                    # a LiveQA copy
    ])
    (folder / DEV2_FILES[0]).write_text(alexa)
    (folder / DEV2_FILES[1]).write_text(_task3([("9", "Gout info please", [(3, url, GOUT)])]))
    passages = [Passage("medquad:GHR_0000001_Sec1", "What is gout?", url, GOUT + "."),
                Passage("medquad:GHR_0000001_Sec2", "treatments", url, "Gout treatments: colchicine and rest."),
                Passage("medquad:GHR_0000009_Sec1", "other", "https://ghr.nlm.nih.gov/condition/acne", GOUT)]
    questions, qrels = dev2_set(tmp_path, passages)
    # question 2's graded text is a whole page in which the pair is one small section: not the same passage
    assert questions == [("alexa-1", "What is gout?"), ("validation-9", "Gout info please")]
    assert qrels.by_id["alexa-1"] == {"GHR_0000001_Sec1": 4, "GHR_0000001_Sec2": 2}  # another URL: not graded
    assert qrels.grade("alexa-1", passages[1]) == 2 and qrels.grade("alexa-1", passages[2]) == 1
    assert qrels.correct_in(passages) == {"alexa-1": 1, "validation-9": 1}
    (folder / DEV2_FILES[1]).unlink()
    with pytest.raises(UserInputError, match="development questions not found"):
        dev2_set(tmp_path, passages)


# -- dev3: the LiveQA'17 training questions, graded on MedQuAD by their annotated focus and type -----------------
def test_dev3_grades_by_annotated_focus_and_type_and_leaves_out_liveqa_and_dev_copies(tmp_path):
    import json

    from visual_med_alpaca.knowledge.evaluate import dev3_set

    _liveqa_folder(tmp_path, "gout. Is gout caused by eating too much red meat? My father has gout in his big toe and "
                             "eats steak.")
    dev_question = "parkinson. What can my father take for Parkinson's shaking, he is 84 and has skin problems?"
    rows = [("1", "treatment of parkinson", "My father has Parkinson. What medicine helps?", [["Parkinson", "Treatment"]]),
            ("2", "", "Can you send me information about acne?", [["pimples/acne", "Information"]]),
            ("3", "Raynauds", "Is Raynaud's treated?", [["Raynauds Syndrome", "Treatment"]]),  # no treatment passage
            ("4", "", "Where is a doctor for gout near me?", [["gout", "Organization"]]),       # no MedQuAD counterpart
            ("5", "gout", "Is gout caused by eating too much red meat? My father has gout in his big toe and eats steak.",
             [["gout", "Cause"]]),                                                               # a LiveQA copy
            ("6", "parkinson", "What can my father take for Parkinson's shaking, he is 84 and has skin problems?",
             [["Parkinson", "Treatment"]])]                                                      # a dev copy
    rows.append(("7", "", "how to reduce hypertension", [["hypertension", "Treatment"]]))
    path = tmp_path / "train2.jsonl"
    path.write_text("".join(json.dumps({"qid": q, "subject": s, "message": m, "annotations": a}) + "\n"
                            for q, s, m, a in rows))
    passages = [Passage("medquad:A_1_Sec1", "t", "u", "x", "What is Parkinson's Disease?", "Parkinson's Disease", qtype="information"),
                Passage("medquad:A_1_Sec2", "t", "u", "y", "How to treat Parkinson's Disease?", "Parkinson's Disease", qtype="treatment"),
                Passage("medquad:B_2_Sec1", "t", "u", "z", "What is Acne?", "Acne", qtype="information"),
                Passage("medquad:C_3_Sec1", "t", "u", "w", "What is Raynaud's phenomenon?", "Raynaud's Syndrome",
                        qtype="information"),
                Passage("medquad:C_3_Sec2", "t", "u", "v", "What causes Raynaud's?", "Raynaud's Syndrome", qtype="causes"),
                Passage("medquad:D_4_Sec1", "t", "u", "g", "What causes gout?", "Gout", qtype="causes"),
                Passage("medquad:E_5_Sec1", "t", "u", "h", "What is High Blood Pressure?", "High Blood Pressure",
                        qtype="information", synonyms=("Hypertension",)),
                Passage("medquad:F_6_Sec3", "t", "u", "k", "How to treat High Blood Pressure?", "High blood pressure",
                        qtype="treatment")]  # another source, no synonyms listed
    questions, qrels = dev3_set(path, tmp_path, passages, exclude=[dev_question])
    assert questions == [("train2-1", "treatment of parkinson. My father has Parkinson. What medicine helps?"),
                         ("train2-2", "Can you send me information about acne?"),
                         ("train2-3", "Raynauds. Is Raynaud's treated?"), ("train2-7", "how to reduce hypertension")]
    assert qrels.by_id["train2-7"] == {"E_5_Sec1": 2, "F_6_Sec3": 4}  # "Hypertension" names High Blood Pressure everywhere
    _, own_names = dev3_set(path, tmp_path, passages, exclude=[dev_question], share_names=False)
    assert own_names.by_id["train2-7"] == {"E_5_Sec1": 3}  # only the source that lists it: its overview
    assert qrels.by_id["train2-1"] == {"A_1_Sec1": 2, "A_1_Sec2": 4}  # the type asked: 4; the topic's other types: 2
    assert qrels.by_id["train2-2"] == {"B_2_Sec1": 4}                  # "pimples/acne": either name
    assert qrels.by_id["train2-3"] == {"C_3_Sec1": 3, "C_3_Sec2": 2}   # no treatment passage: its overview is correct
    assert qrels.grade("train2-1", passages[5]) == 1


def test_dev3_reads_either_training_file_once_per_question_with_its_own_ids(tmp_path):
    import json

    from visual_med_alpaca.knowledge.evaluate import dev3_set, training_questions

    _liveqa_folder(tmp_path, "gout. Is gout caused by eating too much red meat? My father has gout in his big toe.")
    rows = [("Q1", "", "What is Nephrotic Syndrome. What are its causes and cures?", [["nephrotic syndrome", "cause"]]),
            ("Q2", "", "What is  nephrotic syndrome. What are its causes and cures?", [["Nephrotic Syndrome", "cause"]]),
            ("Q3", "Acne", "Can you send me information about acne?", [["acne", "information"]])]
    path = tmp_path / "train1.jsonl"
    path.write_text("".join(json.dumps({"qid": q, "subject": s, "message": m, "annotations": a}) + "\n"
                            for q, s, m, a in rows))
    passages = [Passage("medquad:N_1_Sec2", "t", "u", "x", "What causes Nephrotic Syndrome?", "Nephrotic Syndrome",
                        qtype="causes"),
                Passage("medquad:B_2_Sec1", "t", "u", "z", "What is Acne?", "Acne", qtype="information")]
    assert [text for _, text in training_questions(path)][2] == "Acne. Can you send me information about acne?"
    questions, qrels = dev3_set(path, tmp_path, passages, tag="train1")
    assert [qid for qid, _ in questions] == ["train1-Q1", "train1-Q3"]  # Q2 repeats Q1 (case and spaces aside)
    assert qrels.by_id["train1-Q1"] == {"N_1_Sec2": 4}

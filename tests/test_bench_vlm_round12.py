"""bench/vlm_round12_prior.py: the prior's evidence is the fitted regression's log-odds beyond the base rate, SLAKE's
test split never trains it, folds keep an image (or a paraphrase group) whole, the re-made yes/no decision adds the
prior to the VLM's margin and bias and never overrides the expert rule, and the rule's conditions as written."""

import json
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from vlm_round12_prior import decide, decided, fit_prior, fold_schemes, ngrams, slake_rows  # noqa: E402

from visual_med_alpaca.errors import UserInputError  # noqa: E402

QUESTIONS = ["is there a fracture?", "is there a mass?", "is the heart enlarged?", "is the heart normal?",
             "is there a fracture of the rib?", "is the liver normal?", "is there free air?", "is the heart enlarged?"]
YES = [True, True, True, False, True, False, True, True]


def test_the_prior_weighs_words_and_word_pairs_as_round_4s_text_baseline():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    assert ngrams("Is there a X-ray?") == ["is", "there", "a", "x", "ray", "is there", "there a", "a x", "x ray"]
    prior = fit_prior(QUESTIONS, YES)
    vectorizer = CountVectorizer(ngram_range=(1, 2), min_df=2, token_pattern=r"[a-z0-9]+")
    model = LogisticRegression(C=1.0, max_iter=2000).fit(vectorizer.fit_transform(QUESTIONS), YES)
    assert prior.base_logit == pytest.approx(math.log(6 / 2))
    for question in QUESTIONS + ["is the heart enlarged and is there a mass?", "what is unseen here"]:
        expected = model.decision_function(vectorizer.transform([question]))[0] - math.log(6 / 2)
        assert prior.evidence(question) == pytest.approx(expected, abs=1e-6)


def test_slake_rows_are_yes_no_questions_of_train_and_validate_only(tmp_path):
    (tmp_path / "slake").mkdir()
    rows = [{"question": "Does the picture contain liver?", "answer": "Yes"},
            {"question": "Is this a CT or MRI?", "answer": "CT"},
            {"question": "What organ is shown?", "answer": "Liver"},
            {"question": "Is the lung healthy?", "answer": "No"}]
    for split in ("train", "validate"):
        (tmp_path / "slake" / f"{split}_en.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    questions, yes = slake_rows(tmp_path)
    assert questions == ["Does the picture contain liver?", "Is the lung healthy?"] * 2 and yes == [True, False] * 2
    with pytest.raises(UserInputError, match="test split is never used"):
        slake_rows(tmp_path, ("train", "test"))
    with pytest.raises(UserInputError, match="SLAKE train questions not found"):
        slake_rows(tmp_path / "nowhere")


def test_folds_keep_each_image_and_each_paraphrase_group_whole():
    items = [SimpleNamespace(id=f"q{n:03d}", image=Path(f"img{n // 4}.jpg")) for n in range(40)]
    groups = [items[n:n + 2] for n in range(0, 40, 2)]
    schemes = fold_schemes(items, groups)
    by_image, by_group = schemes["by image"], schemes["by paraphrase group"]
    assert all(len({by_image[n] for n in range(k, k + 4)}) == 1 for k in range(0, 40, 4))
    assert all(by_group[n] == by_group[n + 1] for n in range(0, 40, 2))
    assert sorted(set(by_image.tolist())) == [0, 1, 2, 3, 4]


class _Prior:
    def evidence(self, question):
        return 2.0 if "mass" in question else -2.0


def _closed(id_, question, reference, prediction, expert, yes, no):
    return {"id": id_, "kind": "closed", "question": question, "reference": reference, "prediction": prediction,
            "expert": expert, "option_logprobs": {"yes": yes, "no": no}}


def test_the_prior_moves_the_vlms_decision_but_never_the_expert_rules():
    records = [_closed("a", "is this a ct?", "yes", "Yes", "radiology", -2.0, -0.1),  # the expert rule decided
               _closed("b", "is there a mass?", "yes", "No", "none", -2.0, -0.5),
               _closed("c", "is it normal?", "no", "Yes", "none", -0.5, -1.0),
               {"id": "d", "kind": "open", "question": "what is shown?", "reference": "liver", "prediction": "liver"}]
    base, rows = decided(records, None, 1.0, 0.486)
    assert base == {"a": ("closed", 1.0), "b": ("closed", 0.0), "c": ("closed", 0.0), "d": ("open", 1.0)}
    assert len(rows) == 2  # the expert rule's record is not re-decided
    scores, rows = decided(records, _Prior(), 1.0, 0.486)
    assert scores == {"a": ("closed", 1.0), "b": ("closed", 1.0), "c": ("closed", 1.0), "d": ("open", 1.0)}
    assert [round(z, 3) for z, _ in rows] == [round(-2.0 + 0.5 + 0.486 + 2, 3), round(0.5 + 0.486 - 2, 3)]
    half, _ = decided(records, _Prior(), 0.5, 0.486)  # half weight: -1.014 + 1 < 0 for b
    assert half["b"] == ("closed", 0.0)


def _dev(cand_td, cand_de, auc_td=0.9, auc_de=0.9):
    def rows(closed, vlm_closed, auc):
        return {"VLM as shipped": {"closed": vlm_closed, "auc": 0.8},
                "candidate: VLM as shipped + e(q)": {"closed": closed, "auc": auc}}
    return {"train-dev (180)": rows(cand_td, 75.28, auc_td), "D-eval grouped (69)": rows(cand_de, 72.97, auc_de)}


def test_the_rules_conditions_as_written():
    cv = {"T": {"by image": {"accuracy": 60.0}}, "TS": {"by image": {"accuracy": 54.0}}}
    assert decide(cv, "T", _dev(76.0, 72.97)) == "adopt"  # D-eval grouped may tie
    assert decide(cv, "T", _dev(75.28, 80.0)).startswith("reject: (1)")  # train-dev must rise
    assert decide(cv, "T", _dev(76.0, 70.0)).startswith("reject: (2)")
    assert "(3)" in decide(cv, "T", _dev(76.0, 75.0, auc_de=0.79))
    assert decide(cv, "TS", _dev(80.0, 80.0)).startswith("reject (the chosen prior's CV accuracy")

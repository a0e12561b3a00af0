"""Round 12 (issue 13): a question prior added to the VLM's yes/no decision, decided as
bench/results/vlm_round12_rule.txt fixed before any prior was fitted.

The prior (`fit_prior`, here: nothing of it ships, the rule rejected it): P(yes | the question's lower-case words and
word pairs), scikit-learn CountVectorizer(ngram_range (1, 2), min_df 2, token_pattern [a-z0-9]+) + LogisticRegression
(C 1): round 4's text baseline; its evidence e(q) = its log-odds minus the logit of its training rows' yes-rate. The candidate decides a yes/no
question "yes" iff the VLM's log p(yes) - log p(no) + the shipped yes_no_bias + e(q) >= 0.

  1. variant T (VQA-RAD train-minus-dev yes/no questions) vs TS (+ SLAKE English train/validate yes/no questions,
     text only), by 5-fold CV on T's questions, folds by image and by paraphrase group (no VLM output involved);
  2. the chosen prior against the shipped VLM's recorded dev answers (no model runs): train-dev (180 q, 31 images
     never trained on; round 9's S-dev) and D-eval grouped (69 q; round 10's S; prior + D-train), paired;
  3. the rule's decision.
No test file is read.

    PYTHONPATH=. python bench/vlm_round12_prior.py [--out bench/results/vlm_round12_prior.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from _common import measured_at, run
from vlm_yes_no_bias import auc
from vqa_paired import compare

VLM_DEV = Path("docs/results/vlm-round9/dev/S-dev/predictions.jsonl")  # shipped VLM, memory off, train-dev (180)
VLM_DEVAL = Path("docs/results/vlm-round10/dev/S/predictions.jsonl")  # the same on D-eval grouped (69)
SHIPPED_BIAS = 0.486
FOLDS = 5
MIN_CV_ACCURACY = 55.0
_TOKEN = re.compile(r"[a-z0-9]+")


def ngrams(question: str) -> list[str]:
    """The question's lower-case words and consecutive word pairs: what the prior weighs (CountVectorizer's
    ngram_range (1, 2) with token_pattern [a-z0-9]+)."""
    tokens = _TOKEN.findall(question.lower())
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


class QuestionPrior:
    """Word weights + intercept of the fitted logistic regression, and the logit of its training rows' yes-rate."""

    def __init__(self, weights: dict[str, float], intercept: float, base_logit: float):
        self.weights, self.intercept, self.base_logit = weights, intercept, base_logit

    def evidence(self, question: str) -> float:
        """The wording's log-odds of "yes" beyond the base rate (words the prior never saw weigh 0)."""
        counts = Counter(ngrams(question))
        return self.intercept - self.base_logit + sum(self.weights.get(g, 0.0) * n for g, n in counts.items())


def fit_prior(questions: list[str], yes: list[bool]) -> QuestionPrior:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = CountVectorizer(analyzer=ngrams, min_df=2)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(vectorizer.fit_transform(questions), yes)
    rate = sum(yes) / len(yes)
    weights = dict(zip(vectorizer.get_feature_names_out(), model.coef_[0].tolist()))
    return QuestionPrior(weights, float(model.intercept_[0]), math.log(rate / (1 - rate)))


def prior_rows(items) -> tuple[list[str], list[bool]]:
    """(questions, answer is yes) of VQA items with a yes/no question and a yes/no answer."""
    from visual_med_alpaca.vlm.memory import yes_no_case

    rows = [(i.question, i.reference.strip().lower() == "yes") for i in items if yes_no_case(i.question, i.reference)]
    return [q for q, _ in rows], [y for _, y in rows]


def slake_rows(root: Path, splits: tuple[str, ...] = ("train", "validate")) -> tuple[list[str], list[bool]]:
    """SLAKE 1.0 English yes/no questions of `splits`, text only (its images are not here); never its test split."""
    from visual_med_alpaca.data.sources.slake import slake_rows as read_slake
    from visual_med_alpaca.errors import UserInputError
    from visual_med_alpaca.vlm.memory import yes_no_case

    if "test" in splits:
        raise UserInputError("SLAKE's test split is never used to train a question prior")
    questions, yes = [], []
    for split in splits:
        for row in read_slake(root, split):
            question, answer = str(row.get("question", "")), str(row.get("answer", ""))
            if yes_no_case(question, answer):
                questions.append(question)
                yes.append(answer.strip().lower() == "yes")
    return questions, yes


def round_robin(keys: list[str]) -> dict[str, int]:
    """Fold of each key: keys ordered by their SHA-256, dealt round-robin."""
    order = sorted(set(keys), key=lambda k: hashlib.sha256(k.encode()).hexdigest())
    return {k: n % FOLDS for n, k in enumerate(order)}


def fold_schemes(items, groups) -> dict[str, np.ndarray]:
    by_image = round_robin([i.image.name for i in items])
    group_of = {i.id: min(j.id for j in g) for g in groups for i in g}
    by_group = round_robin(list(group_of.values()))
    return {"by image": np.array([by_image[i.image.name] for i in items]),
            "by paraphrase group": np.array([by_group[group_of[i.id]] for i in items])}


def cv_prior(questions, yes, folds, extra) -> dict[str, float]:
    """Out-of-fold log-loss and accuracy of the prior's P(yes) (its full log-odds, base rate included)."""
    losses, right = [], []
    for f in range(FOLDS):
        train = [n for n in range(len(questions)) if folds[n] != f]
        prior = fit_prior([questions[n] for n in train] + extra[0], [yes[n] for n in train] + extra[1])
        for n in np.flatnonzero(folds == f):
            z = prior.evidence(questions[n]) + prior.base_logit
            p = 1 / (1 + math.exp(-z))
            losses.append(-math.log(p if yes[n] else 1 - p))
            right.append((z >= 0) == yes[n])
    return {"log_loss": round(float(np.mean(losses)), 4), "accuracy": round(100 * float(np.mean(right)), 2)}


def decided(records, prior, weight: float, bias: float):
    """id -> (kind, score) with each yes/no decision the VLM made by option log-likelihood re-made as
    margin + bias + weight * e(q) >= 0 (records whose yes/no came from the radiology expert keep it), and the
    (score, reference is yes) rows of the re-made decisions for the AUC."""
    from visual_med_alpaca.closed import is_yes_no
    from visual_med_alpaca.eval.metrics.vqa import closed_correct, open_recall

    out, rows = {}, []
    for r in records:
        prediction = r["prediction"]
        reference = r["reference"].strip().lower()
        if is_yes_no(r["question"]) and "option_logprobs" in r and r.get("expert") != "radiology":
            lp = r["option_logprobs"]
            z = lp["yes"] - lp["no"] + bias + (weight * prior.evidence(r["question"]) if prior else 0.0)
            prediction = "Yes" if z >= 0 else "No"
            if reference in ("yes", "no"):
                rows.append((z, reference == "yes"))
        metric = closed_correct if r["kind"] == "closed" else open_recall
        out[r["id"]] = (r["kind"], metric(prediction, r["reference"]))
    return out, rows


def closed_of(scores) -> float:
    values = [s for k, s in scores.values() if k == "closed"]
    return round(100 * sum(values) / len(values), 2)


def decide(cv: dict, chosen: str, dev: dict) -> str:
    """bench/results/vlm_round12_rule.txt's adoption conditions."""
    if cv[chosen]["by image"]["accuracy"] < MIN_CV_ACCURACY:
        return "reject (the chosen prior's CV accuracy by image is below 55%)"
    td, de = dev["train-dev (180)"], dev["D-eval grouped (69)"]
    vlm, cand = "VLM as shipped", "candidate: VLM as shipped + e(q)"
    checks = {"(1) train-dev closed above the VLM's": td[cand]["closed"] > td[vlm]["closed"],
              "(2) D-eval grouped closed not below the VLM's": de[cand]["closed"] >= de[vlm]["closed"],
              "(3) yes/no AUC above the VLM's on both sets": all(d[cand]["auc"] > d[vlm]["auc"] for d in (td, de))}
    failed = [name for name, ok in checks.items() if not ok]
    return "adopt" if not failed else "reject: " + "; ".join(failed) + " failed"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("bench/results/vlm_round12_prior.json"))
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")  # lbfgs convergence notes
    print(f"# start {measured_at()}")
    from visual_med_alpaca.data.store import read_jsonl
    from visual_med_alpaca.data.sources.vqa_rad import (vqa_rad_folder, vqa_rad_grouped_split, vqa_rad_mevf_rows,
                                                        vqa_rad_paraphrase_groups, vqa_rad_train_split)
    from visual_med_alpaca.paths import data_dir
    from visual_med_alpaca.vlm.memory import yes_no_case

    root = data_dir(args.data_dir, "vqa_rad", "slake")
    train, dev = vqa_rad_train_split(root)
    d_train, d_eval, _ = vqa_rad_grouped_split(root)
    mevf = vqa_rad_mevf_rows(vqa_rad_folder(root), "train")
    yes_no_items = [i for i in train if yes_no_case(i.question, i.reference)]
    questions, yes = prior_rows(yes_no_items)
    schemes = fold_schemes(yes_no_items, vqa_rad_paraphrase_groups(train, mevf))
    slake = slake_rows(root)
    print(f"T: {len(questions)} VQA-RAD train-minus-dev yes/no questions ({100 * sum(yes) / len(yes):.1f}% yes); "
          f"SLAKE train+validate yes/no: {len(slake[0])} ({100 * sum(slake[1]) / len(slake[1]):.1f}% yes, "
          f"{len(set(q.lower() for q in slake[0]))} distinct texts)")
    report: dict = {"rule": "bench/results/vlm_round12_rule.txt", "T_questions": len(questions),
                    "slake_questions": len(slake[0])}

    # 1. the variant
    cv = {}
    print(f"\n1. {FOLDS}-fold CV on T's {len(questions)} questions (SLAKE rows only ever in training):")
    for variant, extra in (("T", ([], [])), ("TS", slake)):
        cv[variant] = {scheme: cv_prior(questions, yes, folds, extra) for scheme, folds in schemes.items()}
        for scheme, m in cv[variant].items():
            print(f"  {variant:3s} {scheme:20s} log-loss {m['log_loss']:.4f}  accuracy {m['accuracy']:6.2f}")
    chosen = "TS" if all(cv["TS"][s]["log_loss"] < cv["T"][s]["log_loss"] for s in schemes) else "T"
    print(f"  chosen: {chosen}")
    report["cv"], report["chosen"] = cv, chosen

    # 2. dev sets
    extra = slake if chosen == "TS" else ([], [])
    report["dev"] = {}
    for label, more, path in (("train-dev (180)", [], VLM_DEV), ("D-eval grouped (69)", d_train, VLM_DEVAL)):
        q, y = prior_rows(yes_no_items + [i for i in more if yes_no_case(i.question, i.reference)])
        prior = fit_prior(q + extra[0], y + extra[1])
        records = list(read_jsonl(path))
        if {r["id"] for r in records} != {i.id for i in (dev if not more else d_eval)}:
            raise SystemExit(f"error: {path} does not hold the {label} questions")
        runs = {"VLM as shipped": (None, 1.0, SHIPPED_BIAS),
                "candidate: VLM as shipped + e(q)": (prior, 1.0, SHIPPED_BIAS),
                "context: VLM at bias 0": (None, 1.0, 0.0),
                "context: VLM as shipped + 0.5 e(q)": (prior, 0.5, SHIPPED_BIAS),
                "context: VLM at bias 0 + e(q)": (prior, 1.0, 0.0)}
        base, _ = decided(records, None, 1.0, SHIPPED_BIAS)
        alone = [(prior.evidence(r["question"]) + prior.base_logit, r["reference"].strip().lower() == "yes")
                 for r in records if "option_logprobs" in r and r["reference"].strip().lower() in ("yes", "no")]
        entry = {}
        print(f"\n2. {label}: prior fitted on {len(q)} VQA-RAD + {len(extra[0])} SLAKE questions")
        for name, (p, weight, bias) in runs.items():
            scores, rows = decided(records, p, weight, bias)
            entry[name] = {"closed": closed_of(scores), "auc": round(auc(rows), 4), "yes_no": len(rows),
                           "answered_yes": sum(z >= 0 for z, _ in rows)}
            if name != "VLM as shipped":
                entry[name]["paired_vs_shipped"] = compare(base, scores)
            print(f"  {name:38s} closed {entry[name]['closed']:6.2f}  yes/no AUC {entry[name]['auc']:.4f}  "
                  f"answered yes {entry[name]['answered_yes']} of {len(rows)}")
            for line in entry[name].get("paired_vs_shipped", [])[:1]:
                print(f"      {line}")
        right = sum((z >= 0) == is_yes for z, is_yes in alone)
        reference_yes = sum(is_yes for _, is_yes in alone)
        mean_e = float(np.mean([z - prior.base_logit for z, _ in alone]))
        entry["context: the prior alone"] = {"yes_no_accuracy": round(100 * right / len(alone), 2),
                                             "auc": round(auc(alone), 4), "yes_no": len(alone),
                                             "reference_yes": reference_yes, "mean_evidence": round(mean_e, 4)}
        print(f"  {'context: the prior alone':38s} yes/no accuracy {100 * right / len(alone):6.2f} of {len(alone)}"
              f"  AUC {auc(alone):.4f}; references yes {reference_yes} of {len(alone)}, mean e(q) {mean_e:+.3f}")
        report["dev"][label] = entry

    report["decision"] = decide(cv, chosen, report["dev"])
    print(f"\n3. decision by the rule: {report['decision']}")
    print(f"# end {measured_at()}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    run(main)

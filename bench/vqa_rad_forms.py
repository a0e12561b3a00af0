"""Why the VLM's closed accuracy on VQA-RAD train-dev (75.3) is far above test (54.8): the two sets compared from
their question files only (forms, answer types, gold yes-rates, question types, image overlap with train), text-only
baselines trained on train-minus-dev, and the shipped VLM's *dev* answers re-weighted to the test set's mix.

    PYTHONPATH=. python bench/vqa_rad_forms.py DEV_PREDICTIONS [--bias B]

DEV_PREDICTIONS: `vmed eval vqa-rad --subset train-dev --model vlm:...` predictions.jsonl (with `option_logprobs`).
No model output on the test set is read here: test enters only through its question file (questions, gold
answers, question types, image names), in aggregate; the baselines are fitted on train-minus-dev and nothing here is
chosen from test.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from vlm_yes_no_bias import auc, best_bias  # noqa: E402  (same folder)

from visual_med_alpaca.closed import asked_classes, is_yes_no  # noqa: E402
from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_train_split  # noqa: E402
from visual_med_alpaca.data.store import read_jsonl  # noqa: E402
from visual_med_alpaca.eval.benchmarks.vqa import load_vqa_rad  # noqa: E402
from visual_med_alpaca.eval.metrics.vqa import normalize_answer  # noqa: E402
from visual_med_alpaca.paths import data_dir  # noqa: E402
from visual_med_alpaca.vlm.bundle import DEFAULT_BUNDLE, read_meta  # noqa: E402

YES_NO = ("yes", "no")


def qtype(item) -> str:
    return (item.meta.get("question_type") or "?").split(",")[0].strip()


def yes_no_items(items):
    """Closed questions whose gold answer is yes or no."""
    return [i for i in items if i.kind == "closed" and normalize_answer(i.reference) in YES_NO]


def is_yes(item) -> bool:
    return normalize_answer(item.reference) == "yes"


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def counts(name: str, items, train_images: set[str]) -> None:
    closed = [i for i in items if i.kind == "closed"]
    yn = yes_no_items(items)
    yes = sum(is_yes(i) for i in yn)
    forms = Counter((is_yes_no(i.question), normalize_answer(i.reference) in YES_NO) for i in closed)
    images = {i.image.name for i in items}
    print(f"| {name} | {len(items)} | {len(images)} | {len(closed)} | {forms[(True, True)]} | {forms[(False, False)]} | "
          f"{forms[(False, True)]} | {forms[(True, False)]} | {yes}/{len(yn)} ({100 * yes / len(yn):.1f}%) | "
          f"{sum(asked_classes(i.question) is not None for i in yn)} | "
          f"{sum(i.image.name in train_images for i in items)} |")


def type_mix(splits: dict[str, list]) -> None:
    types = Counter(qtype(i) for items in splits.values() for i in yes_no_items(items))
    print("| question type (yes/no gold) | " + " | ".join(f"{n}: share, yes-rate" for n in splits) + " |")
    print("|---|" + "---:|" * len(splits))
    for t, _ in types.most_common():
        cells = []
        for items in splits.values():
            yn = yes_no_items(items)
            of = [i for i in yn if qtype(i) == t]
            cells.append(f"{100 * len(of) / len(yn):.1f}% ({len(of)}), {100 * sum(map(is_yes, of)) / len(of):.0f}%"
                         if of else "-")
        print(f"| {t} | " + " | ".join(cells) + " |")


def text_baselines(train, targets: dict[str, list]) -> None:
    """No image: (a) P(yes | VQA-RAD question type) from train; (b) logistic regression on question words + bigrams;
    (c) the gold answer of the same question text in train (only where one exists). AUC and accuracy at 0.5."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    tr = yes_no_items(train)
    by_type = defaultdict(list)
    for i in tr:
        by_type[qtype(i)].append(is_yes(i))
    base = sum(map(is_yes, tr)) / len(tr)
    type_p = {t: (sum(v) + base) / (len(v) + 1) for t, v in by_type.items()}
    vec = CountVectorizer(ngram_range=(1, 2), min_df=2, token_pattern=r"[a-z0-9]+")
    x = vec.fit_transform([i.question.lower() for i in tr])
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(x, [is_yes(i) for i in tr])
    seen = defaultdict(list)
    for i in tr:
        seen[normalize_answer(i.question)].append(is_yes(i))
    print("| set (yes/no gold) | n | type prior: AUC / acc | words LR: AUC / acc | same text in train: n, acc |")
    print("|---|---:|---:|---:|---:|")
    for name, items in targets.items():
        yn = yes_no_items(items)
        ys = [is_yes(i) for i in yn]
        p_type = [type_p.get(qtype(i), base) for i in yn]
        p_lr = clf.predict_proba(vec.transform([i.question.lower() for i in yn]))[:, 1]
        rows_t = [(logit(min(max(p, 1e-6), 1 - 1e-6)), y) for p, y in zip(p_type, ys)]
        rows_l = [(logit(min(max(p, 1e-6), 1 - 1e-6)), y) for p, y in zip(p_lr, ys)]
        acc_t = sum((p >= 0.5) == y for p, y in zip(p_type, ys)) / len(ys)
        acc_l = sum((p >= 0.5) == y for p, y in zip(p_lr, ys)) / len(ys)
        same = [(Counter(seen[normalize_answer(i.question)]).most_common(1)[0][0], is_yes(i)) for i in yn
                if normalize_answer(i.question) in seen]
        same_acc = f"{len(same)}, {100 * sum(a == b for a, b in same) / len(same):.1f}%" if same else "0, -"
        print(f"| {name} | {len(yn)} | {auc(rows_t):.3f} / {100 * acc_t:.1f}% | {auc(rows_l):.3f} / {100 * acc_l:.1f}% "
              f"| {same_acc} |")


def image_prior(train, test) -> None:
    """Test only (dev images are not in train): does the yes-rate of the train questions on the same image predict
    a test question's yes/no gold answer? (what a model that memorised images would lean on)"""
    per_image = defaultdict(list)
    for i in yes_no_items(train):
        per_image[i.image.name].append(is_yes(i))
    yn = [i for i in yes_no_items(test) if per_image.get(i.image.name)]
    rows = [(sum(per_image[i.image.name]) / len(per_image[i.image.name]) - 0.5, is_yes(i)) for i in yn]
    print(f"test yes/no questions whose image has yes/no train questions: {len(yn)} of {len(yes_no_items(test))}; "
          f"AUC of that image's train yes-rate for the test gold answer: {auc(rows):.3f}")


def dev_by_type(dev, predictions: dict, bias: float, mixes: dict[str, list]) -> None:
    """The VLM's dev yes/no accuracy per question type, and the same per-type accuracies weighted by each set's mix."""
    right = defaultdict(list)
    for i in yes_no_items(dev):
        lp = predictions[i.id].get("option_logprobs")
        if lp:
            right[qtype(i)].append(((lp["yes"] - lp["no"] + bias) >= 0) == is_yes(i))
    overall = sum(sum(v) for v in right.values()) / sum(len(v) for v in right.values())
    for name, items in mixes.items():
        yn = yes_no_items(items)
        mix = Counter(qtype(i) for i in yn)
        # a type absent from dev gets dev's overall accuracy
        est = sum(n * (sum(right[t]) / len(right[t]) if right.get(t) else overall) for t, n in mix.items()) / len(yn)
        missing = sum(n for t, n in mix.items() if not right.get(t))
        print(f"dev yes/no accuracy per type, weighted by the {name} mix: {100 * est:.2f}% "
              f"({missing} of {len(yn)} questions of types absent from dev take dev's overall {100 * overall:.2f}%)")


def grouped_bias_cv(dev, predictions: dict, folds: int = 5, seeds: int = 20) -> None:
    """The bias choice cross-validated by *image* (questions about one image share a fold), averaged over shuffles."""
    rows_by_image = defaultdict(list)
    for i in yes_no_items(dev):
        lp = predictions[i.id].get("option_logprobs")
        if lp:
            rows_by_image[i.image.name].append((lp["yes"] - lp["no"], is_yes(i)))
    images = sorted(rows_by_image)
    total = sum(len(v) for v in rows_by_image.values())
    plain = tuned = 0.0
    for seed in range(seeds):
        order = images[:]
        random.Random(seed).shuffle(order)
        for k in range(folds):
            held = [r for im in order[k::folds] for r in rows_by_image[im]]
            rest = [r for im in order if im not in set(order[k::folds]) for r in rows_by_image[im]]
            b = best_bias(rest)
            plain += sum((m >= 0) == y for m, y in held)
            tuned += sum((m + b >= 0) == y for m, y in held)
    print(f"bias chosen on the other images' folds (5-fold by image, {seeds} shuffles): yes/no accuracy "
          f"{100 * tuned / (total * seeds):.2f}% against {100 * plain / (total * seeds):.2f}% at bias 0")


def cluster_interval(dev, predictions: dict, bias: float, draws: int = 2000) -> None:
    """95% bootstrap interval of dev yes/no accuracy, resampling images (questions about one image move together)."""
    by_image = defaultdict(list)
    for i in yes_no_items(dev):
        lp = predictions[i.id].get("option_logprobs")
        if lp:
            by_image[i.image.name].append(((lp["yes"] - lp["no"] + bias) >= 0) == is_yes(i))
    images = sorted(by_image)
    rng = random.Random(0)
    accs = []
    for _ in range(draws):
        pick = [rng.choice(images) for _ in images]
        hits = [h for im in pick for h in by_image[im]]
        accs.append(sum(hits) / len(hits))
    accs.sort()
    n = sum(len(v) for v in by_image.values())
    point = sum(sum(v) for v in by_image.values()) / n
    print(f"dev yes/no accuracy at bias {bias:+.3f}: {100 * point:.2f}% on {n} questions / {len(images)} images; 95% "
          f"interval resampling images {100 * accs[int(0.025 * draws)]:.1f}–{100 * accs[int(0.975 * draws)]:.1f}%")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dev_predictions", type=Path)
    parser.add_argument("--bias", type=float, default=None, help="yes/no log-odds bias (default: the shipped bundle's)")
    args = parser.parse_args()
    bias = read_meta(DEFAULT_BUNDLE).get("yes_no_bias", 0.0) if args.bias is None else args.bias
    root = data_dir()
    train, dev = vqa_rad_train_split(root)
    test = load_vqa_rad(root)
    predictions = {r["id"]: r for r in read_jsonl(args.dev_predictions)}
    missing = [i.id for i in dev if i.id not in predictions]
    if missing:
        print(f"error: {args.dev_predictions} lacks {len(missing)} train-dev questions (e.g. {missing[0]})",
              file=sys.stderr)
        return 2
    train_images = {i.image.name for i in train}
    print("## Question files (closed questions by form: Q = the question is a yes/no form by `closed.is_yes_no`, "
          "ref = the gold answer is yes/no)")
    print("| set | questions | images | closed | Q yes/no, ref yes/no | Q choice, ref other | Q not yes/no, ref yes/no "
          "| Q yes/no, ref other | gold yes among yes/no refs | modality/plane-only | questions on a train image |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, items in (("train minus dev", train), ("train-dev", dev), ("test", test)):
        counts(name, items, train_images)
    print("\n## Question types of the yes/no-gold closed questions (VQA-RAD's own labels, first label)")
    type_mix({"train minus dev": train, "train-dev": dev, "test": test})
    p_tr = sum(map(is_yes, yes_no_items(train))) / len(yes_no_items(train))
    p_dev = sum(map(is_yes, yes_no_items(dev))) / len(yes_no_items(dev))
    print(f"\nprior shift: gold yes-rate train {100 * p_tr:.1f}%, dev {100 * p_dev:.1f}%: a bias fitted on dev carries "
          f"{logit(p_dev) - logit(p_tr):+.3f} log-odds of dev's own prior; the shipped bias {bias:+.3f} corrected to "
          f"train's prior would be {bias - (logit(p_dev) - logit(p_tr)):+.3f}")
    print("\n## Text-only baselines, fitted on train minus dev (no image)")
    text_baselines(train, {"train-dev": dev, "test": test})
    image_prior(train, test)
    print(f"\n## The shipped VLM on dev (decision: recorded log-odds + bias {bias:+.3f})")
    dev_by_type(dev, predictions, bias, {"train-dev": dev, "test": test})
    cluster_interval(dev, predictions, bias)
    cluster_interval(dev, predictions, 0.0)
    grouped_bias_cv(dev, predictions)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

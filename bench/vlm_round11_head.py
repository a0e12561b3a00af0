"""Round 11 (issue 13): an answer head on frozen features, decided by grouped cross-validation on the VLM's own
training questions and by two dev sets, as bench/results/vlm_round11_rule.txt fixed before any head ran.

Features of a question about an image: the bundle encoder's map pooled to 1x1, centred on the training images' mean,
unit length (the case memory's image vector, vlm/memory.py `pooled_maps`/`unit_vectors`), beside the question's
all-MiniLM-L6-v2 vector (the case memory's question vector). Heads (scikit-learn, seeded):
  (a) yes/no: P(yes) for a yes/no question; it decides every yes/no question (the CT/MRI expert rule stays first);
  (b) answer class: over the normalised training answers seen >= k times, for every other question, used where its
      top probability >= t, the VLM's answer elsewhere.

  1. grouped 5-fold CV on train-minus-dev (1,613 QA; folds by VQA-RAD paraphrase group): every candidate of the
     grid; (a) yes/no accuracy, (b) the threshold and expected score, chosen inside CV;
  2. the chosen heads refitted on train-minus-dev + D-train -> D-eval grouped (69 q), and on train-minus-dev ->
     train-dev (180 q), each against the shipped VLM's recorded answers there (no model runs: round 10's S and round
     9's S-dev runs), paired, with bootstrap intervals; then the rule's decision.
No test file is read. Image features come from a FeatureCache under runs/ and are cached with the question vectors
in --features (not committed).

    PYTHONPATH=. python bench/vlm_round11_head.py [--features runs/r11/features.npz] [--out bench/results/vlm_round11_head.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from _common import measured_at, run
from vqa_paired import compare

VLM_DEV = Path("docs/results/vlm-round9/dev/S-dev/predictions.jsonl")  # shipped VLM, memory off, train-dev (180)
VLM_DEVAL = Path("docs/results/vlm-round10/dev/S/predictions.jsonl")  # the same on D-eval grouped (69)
ENCODER = "efficientnet-lite0"
FOLDS = 5
CANDIDATES = ("LR-C0.1", "LR-C1", "MLP-a0.01", "MLP-a1")
KS = (2, 4)
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
IMAGE, QUESTION = "image+question", "question only"


def make_classifier(name: str):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    family, value = name.split("-", 1)
    if family == "LR":
        return LogisticRegression(C=float(value[1:]), max_iter=2000)
    return MLPClassifier(hidden_layer_sizes=(256,), alpha=float(value[1:]), max_iter=300, random_state=0)


def score(kind: str, prediction: str, reference: str) -> float:
    from visual_med_alpaca.eval.metrics.vqa import closed_correct, open_recall

    return (closed_correct if kind == "closed" else open_recall)(prediction, reference)


def answer_key(text: str) -> str:
    from visual_med_alpaca.eval.metrics.vqa import normalize_answer

    return normalize_answer(text)


def is_yes_no_case(item) -> bool:
    from visual_med_alpaca.vlm.memory import yes_no_case

    return yes_no_case(item.question, item.reference)


def other_classes(answers: list[str], k: int) -> dict[str, str]:
    """{answer class: its most common wording} for the classes seen >= k times."""
    wording: dict[str, Counter] = {}
    for a in answers:
        wording.setdefault(answer_key(a), Counter())[a.strip()] += 1
    return {key: w.most_common(1)[0][0] for key, w in sorted(wording.items()) if key and sum(w.values()) >= k}


def folds_of(items, groups) -> np.ndarray:
    """Fold of each item: groups ordered by the SHA-256 of their smallest id, dealt round-robin."""
    order = sorted(groups, key=lambda g: hashlib.sha256(min(i.id for i in g).encode()).hexdigest())
    fold = {i.id: n % FOLDS for n, g in enumerate(order) for i in g}
    return np.array([fold[i.id] for i in items])


def vectors(items, cache, sentences, center=None):
    """(image vectors, question vectors, centre) of VQA items; centre default: the mean of their distinct images."""
    import torch

    from visual_med_alpaca.vlm.memory import pooled_maps, unit_vectors

    images = list(dict.fromkeys(i.image for i in items))
    cache.fill(images)
    pooled = pooled_maps(torch.from_numpy(np.stack([cache.load(p) for p in images])), 1)
    center = pooled.mean(axis=0) if center is None else center
    index = {p: n for n, p in enumerate(images)}
    image_vectors = unit_vectors(pooled, center)[[index[i.image] for i in items]]
    return image_vectors.astype(np.float32), sentences.encode([i.question for i in items]).astype(np.float32), center


def load_features(path: Path, train, dev):
    """(train image, train question, dev image, dev question vectors), computed once and cached in `path`."""
    if path.is_file():
        with np.load(path) as f:
            return f["ti"], f["tq"], f["di"], f["dq"]
    from visual_med_alpaca.knowledge.encoder import cached_encoder
    from visual_med_alpaca.vlm.encoders import FeatureCache

    cache = FeatureCache(path.parent.parent / "feature-cache", ENCODER)
    sentences = cached_encoder(threads=2)
    ti, tq, center = vectors(train, cache, sentences)
    di, dq, _ = vectors(dev, cache, sentences, center)  # dev images centred on the training images' mean
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, ti=ti, tq=tq, di=di, dq=dq)
    return ti, tq, di, dq


def fit_yes_no(name, items, x):
    rows = [n for n, i in enumerate(items) if is_yes_no_case(i)]
    return make_classifier(name).fit(x[rows], [items[n].reference.strip().lower() == "yes" for n in rows])


def fit_other(name, k, items, x, rows):
    classes = other_classes([items[n].reference for n in rows], k)
    rows = [n for n in rows if answer_key(items[n].reference) in classes]
    model = make_classifier(name).fit(x[rows], [answer_key(items[n].reference) for n in rows])
    return model, [classes[c] for c in model.classes_]


def cv_yes_no(train, x, folds, runs):
    """Out-of-fold yes/no accuracy (%) of each (label, model name, feature columns)."""
    rows = np.array([n for n, i in enumerate(train) if is_yes_no_case(i)])
    y = np.array([train[n].reference.strip().lower() == "yes" for n in rows])
    out = {}
    for label, name, cols in runs:
        p = np.zeros(len(rows))
        for f in range(FOLDS):
            test = folds[rows] == f
            if name == "majority":
                p[test] = float(y[~test].mean() >= 0.5)
                continue
            model = make_classifier(name).fit(x[rows[~test]][:, cols], y[~test])
            p[test] = model.predict_proba(x[rows[test]][:, cols])[:, 1]
        out[label] = round(100 * float(((p >= 0.5) == y).mean()), 2)
    return out, len(rows)


def cv_other(train, x, folds, other_rows, name, k, rate):
    """Out-of-fold (top probability, head's score, VLM's rate) of the answer-class head per other-form question."""
    prob, got, fallback = (np.zeros(len(other_rows)) for _ in range(3))
    for f in range(FOLDS):
        test = np.flatnonzero(folds[other_rows] == f)
        model, texts = fit_other(name, k, train, x, list(other_rows[folds[other_rows] != f]))
        probs = model.predict_proba(x[other_rows[test]])
        for j, p in zip(test, probs):
            item, best = train[other_rows[j]], int(np.argmax(p))
            prob[j], got[j], fallback[j] = p[best], score(item.kind, texts[best], item.reference), rate[item.kind]
    return prob, got, fallback


def pick_threshold(prob, got, fallback):
    """The t of the grid maximising the expected score (head where p >= t, the VLM's rate elsewhere); first wins ties."""
    table = []
    for t in THRESHOLDS:
        use = prob >= t
        table.append({"t": t, "expected": round(100 * float(np.where(use, got, fallback).mean()), 2),
                      "answered": int(use.sum()),
                      "precision": round(100 * float(got[use].mean()), 2) if use.any() else None,
                      "vlm_rate_on_answered": round(100 * float(fallback[use].mean()), 2) if use.any() else None})
    return max(table, key=lambda r: (r["expected"], -r["t"])), table


def with_head(records, head: dict[str, str], bias0: bool = False):
    """id -> (kind, score) of the VLM's recorded answers, the head's (id -> answer) replacing them where it answers,
    except where the CT/MRI expert rule decided; `bias0`: the VLM's yes/no from its raw option log-probs."""
    from visual_med_alpaca.closed import is_yes_no

    out, answered = {}, 0
    for r in records:
        prediction = r["prediction"]
        yes_no = is_yes_no(r["question"])
        rule = yes_no and r.get("expert") == "radiology"  # facts stay out of yes/no prompts: only the rule sets it
        if bias0 and yes_no and not rule and "option_logprobs" in r:
            prediction = "Yes" if r["option_logprobs"]["yes"] >= r["option_logprobs"]["no"] else "No"
        if r["id"] in head and not rule:
            prediction, answered = head[r["id"]], answered + 1
        out[r["id"]] = (r["kind"], score(r["kind"], prediction, r["reference"]))
    return out, answered


def summary(scores, other_closed_ids, answered):
    m = {}
    for kind in ("closed", "open"):
        values = [s for k, s in scores.values() if k == kind]
        m[kind] = round(100 * sum(values) / len(values), 2)
    oc = [scores[i][1] for i in other_closed_ids]
    m["other_form_closed"] = round(100 * sum(oc) / len(oc), 2) if oc else None
    m["head_answered"] = answered
    return m


def decide(dev: dict, cv_yes_no_accuracy: float, chosen_b: dict, n_other: int) -> dict[str, str]:
    """bench/results/vlm_round11_rule.txt's adoption conditions, (a) and (b) separately, on the two dev sets' rows."""
    sets = (dev["D-eval grouped (69)"], dev["train-dev (180)"])
    vlm = "VLM as shipped (memory off)"
    row_a = next(r for r in sets[0] if r.startswith("(a) yes/no head"))
    row_b = next(r for r in sets[0] if r.startswith("(b)"))
    a_ok = all(d[row_a]["closed"] > d[vlm]["closed"] for d in sets) and cv_yes_no_accuracy >= 55.0
    b_ok = (all(d[row_b]["open"] > d[vlm]["open"] for d in sets)
            and all((d[row_b]["other_form_closed"] or 0) >= (d[vlm]["other_form_closed"] or 0) for d in sets)
            and chosen_b["answered"] >= 0.05 * n_other
            and (chosen_b["precision"] or 0) > (chosen_b["vlm_rate_on_answered"] or 100))
    return {"yes_no_head": "adopt" if a_ok else "reject", "answer_class_head": "adopt" if b_ok else "reject"}


def vqa_rad_sets(data_dir_arg):
    """(train-minus-dev, train-dev, D-train, D-eval grouped, the MEVF question rows) of VQA-RAD train: the sets
    these rounds fit and score on (never test)."""
    from visual_med_alpaca.data.sources.vqa_rad import (vqa_rad_folder, vqa_rad_grouped_split, vqa_rad_mevf_rows,
                                                        vqa_rad_train_split)
    from visual_med_alpaca.paths import data_dir

    root = data_dir(data_dir_arg, "vqa_rad")
    train, dev = vqa_rad_train_split(root)
    d_train, d_eval, _ = vqa_rad_grouped_split(root)
    return train, dev, d_train, d_eval, vqa_rad_mevf_rows(vqa_rad_folder(root), "train")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", type=Path, default=Path("runs/r11/features.npz"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/vlm_round11_head.json"))
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")  # lbfgs / adam convergence notes
    print(f"# start {measured_at()}")
    from visual_med_alpaca.closed import is_yes_no
    from visual_med_alpaca.data.store import read_jsonl
    from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_paraphrase_groups

    train, dev, d_train, d_eval, mevf = vqa_rad_sets(args.data_dir)
    folds = folds_of(train, vqa_rad_paraphrase_groups(train, mevf))
    ti, tq, di, dq = load_features(args.features, train, dev)
    x, dx = np.concatenate([ti, tq], axis=1), np.concatenate([di, dq], axis=1)
    qcols = slice(ti.shape[1], x.shape[1])
    print(f"train-minus-dev {len(train)} questions, CV folds {np.bincount(folds).tolist()} (paraphrase groups "
          f"whole); train-dev {len(dev)}; D-train {len(d_train)}, D-eval grouped {len(d_eval)}; features "
          f"{ti.shape[1]} image + {tq.shape[1]} question")
    report: dict = {"rule": "bench/results/vlm_round11_rule.txt", "folds": np.bincount(folds).tolist()}

    # 1a. yes/no head
    runs = [(n, n, slice(None)) for n in CANDIDATES]
    acc, n_yes_no = cv_yes_no(train, x, folds, runs)
    chosen_a = CANDIDATES[0]
    for name in CANDIDATES:  # the first wins ties within 0.5 point
        if acc[name] > acc[chosen_a] + 0.5:
            chosen_a = name
    context, _ = cv_yes_no(train, x, folds, [(f"{chosen_a}, {QUESTION} (context)", chosen_a, qcols),
                                             (f"LR-C1, {QUESTION} (context)", "LR-C1", qcols),
                                             ("training-fold majority (context)", "majority", None)])
    report["cv_yes_no"] = {"questions": n_yes_no, "accuracy": {**acc, **context}, "chosen": chosen_a}
    print(f"\n(a) yes/no head, grouped {FOLDS}-fold CV on {n_yes_no} yes/no questions: accuracy %")
    for name, value in {**acc, **context}.items():
        print(f"  {name:36s} {value:6.2f}{'   <- chosen' if name == chosen_a else ''}")

    # 1b. answer-class head
    vlm_dev = list(read_jsonl(VLM_DEV))
    rate = {}
    for kind in ("open", "closed"):
        part = [score(kind, r["prediction"], r["reference"]) for r in vlm_dev
                if r["kind"] == kind and not is_yes_no(r["question"])]
        rate[kind] = sum(part) / len(part)
    other_rows = np.array([n for n, i in enumerate(train) if not is_yes_no(i.question)])
    print(f"\n(b) answer-class head, grouped {FOLDS}-fold CV on {len(other_rows)} other-form questions; the VLM's "
          f"train-dev rate there: open recall {100 * rate['open']:.2f}, closed {100 * rate['closed']:.2f}")
    cv_b, chosen_b = [], None
    for k in KS:
        for name in CANDIDATES:
            best, table = pick_threshold(*cv_other(train, x, folds, other_rows, name, k, rate))
            entry = {"model": name, "k": k, **best, "table": table}
            cv_b.append(entry)
            if chosen_b is None or best["expected"] > chosen_b["expected"] + 0.5:
                chosen_b = entry
            print(f"  {name:10s} k={k}: t {best['t']:.1f}, CV expected score {best['expected']:6.2f}; the head answers "
                  f"{best['answered']}, its score there {best['precision']} (the VLM's rate there "
                  f"{best['vlm_rate_on_answered']})")
    vlm_only = round(100 * float(np.mean([rate[train[n].kind] for n in other_rows])), 2)
    print(f"  chosen: {chosen_b['model']} k={chosen_b['k']} t={chosen_b['t']}; the VLM's rate alone: expected {vlm_only}")
    report["cv_other"] = {"questions": len(other_rows), "vlm_rate": rate, "vlm_rate_only_expected": vlm_only,
                          "candidates": cv_b, "chosen": {k: chosen_b[k] for k in ("model", "k", "t")}}

    # 2. dev sets: refit (no re-choosing), answer, compare with the VLM's recorded answers
    dev_index = {i.id: n for n, i in enumerate(dev)}
    report["dev"] = {}
    for label, extra_items, eval_items, vlm_path in (("D-eval grouped (69)", d_train, d_eval, VLM_DEVAL),
                                                     ("train-dev (180)", [], dev, VLM_DEV)):
        items = train + extra_items
        fx = np.concatenate([x, dx[[dev_index[i.id] for i in extra_items]]]) if extra_items else x
        yes_no_model = fit_yes_no(chosen_a, items, fx)
        q_only = make_classifier(chosen_a).fit(
            fx[[n for n, i in enumerate(items) if is_yes_no_case(i)]][:, qcols],
            [i.reference.strip().lower() == "yes" for i in items if is_yes_no_case(i)])
        other_model, texts = fit_other(chosen_b["model"], chosen_b["k"], items, fx,
                                       [n for n, i in enumerate(items) if not is_yes_no(i.question)])
        head_a, head_q, head_b = {}, {}, {}
        for item in eval_items:
            row = dx[dev_index[item.id]][None]
            if is_yes_no(item.question):
                head_a[item.id] = "Yes" if yes_no_model.predict_proba(row)[0, 1] >= 0.5 else "No"
                head_q[item.id] = "Yes" if q_only.predict_proba(row[:, qcols])[0, 1] >= 0.5 else "No"
            else:
                p = other_model.predict_proba(row)[0]
                if p.max() >= chosen_b["t"]:
                    head_b[item.id] = texts[int(np.argmax(p))]
        records = list(read_jsonl(vlm_path))
        if {r["id"] for r in records} != {i.id for i in eval_items}:
            raise SystemExit(f"error: {vlm_path} does not hold the {label} questions")
        other_closed = [r["id"] for r in records if r["kind"] == "closed" and not is_yes_no(r["question"])]
        base, _ = with_head(records, {})
        rows = {"VLM as shipped (memory off)": (base, 0),
                "VLM at bias 0 (context)": with_head(records, {}, bias0=True),
                f"(a) yes/no head {chosen_a} + VLM": with_head(records, head_a),
                f"(a) {chosen_a}, {QUESTION} + VLM (context)": with_head(records, head_q),
                f"(b) answer-class head {chosen_b['model']} k={chosen_b['k']} t={chosen_b['t']} + VLM":
                    with_head(records, head_b),
                "(a)+(b) + VLM": with_head(records, {**head_a, **head_b})}
        print(f"\n{label}: heads fitted on {len(items)} questions ({'train-minus-dev + D-train' if extra_items else 'train-minus-dev'})")
        entry = {}
        for name, (scores, answered) in rows.items():
            entry[name] = summary(scores, other_closed, answered)
            m = entry[name]
            print(f"  {name:52s} closed {m['closed']:6.2f}  open recall {m['open']:6.2f}  other-form closed "
                  f"{m['other_form_closed']}  head answered {answered}")
            if scores is not base:
                m["paired_vs_vlm"] = compare(base, scores)
                for line in m["paired_vs_vlm"]:
                    print(f"      {line}")
        report["dev"][label] = entry

    # the rule's decision
    report["decision"] = decide(report["dev"], acc[chosen_a], chosen_b, len(other_rows))
    print(f"\nDecision by the rule: (a) yes/no head: {report['decision']['yes_no_head']}; "
          f"(b) answer-class head: {report['decision']['answer_class_head']}")
    print(f"# end {measured_at()}")
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    run(main)

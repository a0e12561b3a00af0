"""Round 13 (issue 13): (1) let the image encoder learn for the yes/no decision; (2) one yes/no bias per question
form, as bench/results/vlm_round13_rule.txt fixed before any candidate was fitted or scored.

Part 1. Question-conditioned heads on the EfficientNet-Lite0 *spatial* map (7x7, not the 1x1 pool), trained with
torch on VQA-RAD train-minus-dev's yes/no questions (the VLM's own training questions):
  C1 "map head": the frozen final map (1280 x 7 x 7, what the bundle's encoder gives) -> 1x1 convs to keys and
     values (64), attention over the 49 positions with a query from the question's MiniLM vector, an MLP on
     [attended vector, projected question] -> log-odds of "yes";
  C2 "last block": the output of block 14 (192 x 7 x 7, cached) -> the encoder's last block (block 15) + its
     1x1 head conv + BN, fine-tuned from the ImageNet weights (BN statistics frozen), then C1's head.
  Judged by 5-fold CV by image (a picture never seen) against the question alone (round 11's MLP alpha 1 on the
  MiniLM vector), then on the two dev sets against the shipped VLM: the head's image evidence (its log-odds minus
  the question-only model's) added to the VLM's margin + its shipped bias.
Part 2. One bias per question form (from the wording: "is/are there", "does/do/did", "is this/it", other), chosen
  as the shipped bias was (bench/vlm_yes_no_bias.py `best_bias`), a form with < 10 fitting questions falling back to
  the single bias; cross-validated by image on train-dev (the VLM never trained on its images) and fitted on the rest
  of train-dev -> scored on D-eval grouped. The VLM's recorded option log-probs; no model runs.
No test file is read. Maps and question vectors are cached in --cache (runs/, not committed).

    PYTHONPATH=. python bench/vlm_round13.py [--cache runs/r13] [--out bench/results/vlm_round13.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
from _common import measured_at, run, threads
from vlm_round11_encoders import image_folds
from vlm_round11_head import FOLDS, folds_of, is_yes_no_case, make_classifier, score, vqa_rad_sets
from vlm_yes_no_bias import best_bias
from vqa_paired import compare

VLM_DEV = Path("docs/results/vlm-round9/dev/S-dev/predictions.jsonl")  # shipped VLM, memory off, train-dev (180)
VLM_DEVAL = Path("docs/results/vlm-round10/dev/S/predictions.jsonl")  # the same on D-eval grouped (69)
SHIPPED_BIAS = 0.486
EPOCHS = {"C1": 30, "C2": 30}
LR_HEAD, LR_TRUNK, WEIGHT_DECAY, WIDTH, IMAGES_PER_BATCH = 1e-3, 1e-4, 1e-2, 64, 16
MIN_FORM = 10
FORMS = ("there", "does", "this", "other")


def question_form(question: str) -> str:
    """The yes/no question's form from its opening words (what a user's question carries; no VQA-RAD type)."""
    from visual_med_alpaca.closed import words

    t = words(question)
    if len(t) > 1 and t[1] == "there":
        return "there"
    if t and t[0] in ("does", "do", "did"):
        return "does"
    if len(t) > 1 and t[1] in ("this", "it", "these", "that"):
        return "this"
    return "other"


# ---------------------------------------------------------------- part 1: maps, heads, CV

def encoder_maps(images: list[Path], cache: Path):
    """(block-14 maps (n, 192, 7, 7), final maps (n, 1280, 7, 7)) of the images, fp16, cached in `cache`."""
    if cache.is_file():
        with np.load(cache) as f:
            if f["images"].tolist() == [str(p) for p in images]:
                return f["b14"], f["final"]
    import torch

    from visual_med_alpaca.features import shared_features
    from visual_med_alpaca.images import load_image

    backbone = shared_features()
    model = backbone.model
    b14, final = [], []
    with torch.inference_mode():
        for start in range(0, len(images), 16):
            x = torch.from_numpy(np.stack([backbone.preprocess(load_image(p).image)
                                           for p in images[start:start + 16]]))
            h = model._swish(model._bn0(model._conv_stem(x)))
            for block in model._blocks[:15]:
                h = block(h)
            b14.append(h.numpy().astype(np.float16))
            out = model._swish(model._bn1(model._conv_head(model._blocks[15](h))))
            if start == 0:  # the same map the bundle's encoder gives (vlm/encoders.py: extract_features)
                assert torch.allclose(out, model.extract_features(x), atol=1e-4)
            final.append(out.numpy().astype(np.float16))
    b14, final = np.concatenate(b14), np.concatenate(final)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, images=np.array([str(p) for p in images]), b14=b14, final=final)
    return b14, final


def build_head(kind: str):
    import copy

    import torch
    from torch import nn

    from visual_med_alpaca.features import shared_features

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = None
            if kind == "C2":
                m = shared_features().model
                self.trunk = nn.ModuleDict({"block": copy.deepcopy(m._blocks[15]), "conv": copy.deepcopy(m._conv_head),
                                            "bn": copy.deepcopy(m._bn1)})
                self.act = copy.deepcopy(m._swish)
            self.key, self.value = nn.Conv2d(1280, WIDTH, 1), nn.Conv2d(1280, WIDTH, 1)
            self.query, self.question = nn.Linear(384, WIDTH), nn.Linear(384, WIDTH)
            self.mlp = nn.Sequential(nn.Linear(2 * WIDTH, WIDTH), nn.ReLU(), nn.Dropout(0.2), nn.Linear(WIDTH, 1))

        def forward(self, maps, which, q):
            if self.trunk is not None:
                t = self.trunk
                maps = self.act(t["bn"](t["conv"](t["block"](maps))))
            k, v = self.key(maps).flatten(2)[which], self.value(maps).flatten(2)[which]  # (b, d, 49)
            attn = torch.softmax(torch.einsum("bdn,bd->bn", k, self.query(q)) / math.sqrt(WIDTH), dim=1)
            pooled = torch.einsum("bdn,bn->bd", v, attn)
            return self.mlp(torch.cat([pooled, torch.relu(self.question(q))], dim=1)).squeeze(1)

        def train(self, mode: bool = True):  # BN statistics of the fine-tuned block stay ImageNet's
            super().train(mode)
            if self.trunk is not None:
                self.trunk.eval()
            return self

    return Head()


def fit_head(kind: str, maps: np.ndarray, rows: list[tuple[int, int, bool]], qvec: np.ndarray, seed: int = 0):
    """A head trained on rows (image index into maps, question index into qvec, answer is yes)."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_head(kind)
    trunk = [p for n, p in model.named_parameters() if n.startswith("trunk.")]
    head = [p for n, p in model.named_parameters() if not n.startswith("trunk.")]
    groups = [{"params": head, "lr": LR_HEAD, "weight_decay": WEIGHT_DECAY}]
    if trunk:
        groups.append({"params": trunk, "lr": LR_TRUNK, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups)
    by_image: dict[int, list[tuple[int, bool]]] = {}
    for img, qi, y in rows:
        by_image.setdefault(img, []).append((qi, y))
    images = np.array(sorted(by_image))
    maps_t, q_t = torch.from_numpy(maps), torch.from_numpy(qvec)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    for _ in range(EPOCHS[kind]):
        rng.shuffle(images)
        for start in range(0, len(images), IMAGES_PER_BATCH):
            batch = images[start:start + IMAGES_PER_BATCH]
            which, qs, ys = [], [], []
            for local, img in enumerate(batch):
                for qi, y in by_image[img]:
                    which.append(local), qs.append(qi), ys.append(float(y))
            logits = model(maps_t[batch].float(), torch.tensor(which), q_t[qs])
            loss = loss_fn(logits, torch.tensor(ys))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model


def head_logits(model, maps: np.ndarray, rows: list[tuple[int, int]], qvec: np.ndarray) -> np.ndarray:
    import torch

    if not rows:
        return np.zeros(0)
    images = sorted({img for img, _ in rows})
    local = {img: n for n, img in enumerate(images)}
    with torch.inference_mode():
        out = model(torch.from_numpy(maps[images]).float(), torch.tensor([local[i] for i, _ in rows]),
                    torch.from_numpy(qvec[[q for _, q in rows]]))
    return out.numpy().astype(np.float64)


def question_only(rows_fit, qvec):
    """Round 11's question-only yes/no model (MLP alpha 1 on the MiniLM vector)."""
    return make_classifier("MLP-a1").fit(qvec[[q for _, q, _ in rows_fit]], [y for _, _, y in rows_fit])


def logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def cv_heads(kinds, maps_of, rows, folds, qvec, question_bar: bool = True):
    """Out-of-fold yes/no accuracy (%) and log-loss of each head kind and (`question_bar`) of the question alone."""
    y = np.array([r[2] for r in rows])
    out = {}
    for kind in (*kinds, *(("question only",) if question_bar else ())):
        z = np.zeros(len(rows))
        start = time.perf_counter()
        for f in range(FOLDS):
            fit = [r for r, k in zip(rows, folds) if k != f]
            held = [n for n, k in enumerate(folds) if k == f]
            if kind == "question only":
                z[held] = logit(question_only(fit, qvec).predict_proba(qvec[[rows[n][1] for n in held]])[:, 1])
            else:
                model = fit_head(kind, maps_of[kind], fit, qvec)
                z[held] = head_logits(model, maps_of[kind], [rows[n][:2] for n in held], qvec)
        p = 1 / (1 + np.exp(-z))
        out[kind] = {"accuracy": round(100 * float(((z >= 0) == y).mean()), 2),
                     "log_loss": round(float(-np.mean(y * np.log(np.clip(p, 1e-6, 1)) + (1 - y) * np.log(np.clip(1 - p, 1e-6, 1)))), 4),
                     "seconds": round(time.perf_counter() - start, 1)}
    return out


# ---------------------------------------------------------------- decisions from the VLM's recorded answers

def auc_of(margins, labels) -> float:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(labels, margins)), 4) if len(set(labels)) == 2 else float("nan")


def decided(records, bias_of, extra=None):
    """id -> (kind, score): each record's answer with its yes/no re-decided where the VLM decided it by option
    log-likelihood (the CT/MRI expert rule's answers kept): yes iff margin + bias_of(record) + extra[id] >= 0;
    also (margins, labels) of those re-decided questions for the AUC."""
    from visual_med_alpaca.closed import is_yes_no
    from visual_med_alpaca.eval.metrics.vqa import first_yes_no

    out, margins, labels = {}, [], []
    for r in records:
        answer, lp = r["prediction"], r.get("option_logprobs")
        reference = str(r["reference"]).strip().lower()
        if lp and reference in ("yes", "no") and is_yes_no(r["question"]):
            m = lp["yes"] - lp["no"]
            if first_yes_no(answer) == ("yes" if m + SHIPPED_BIAS >= 0 else "no"):  # not the expert rule's answer
                s = m + bias_of(r) + (extra or {}).get(r["id"], 0.0)
                answer = "Yes" if s >= 0 else "No"
                margins.append(s), labels.append(reference == "yes")
        out[r["id"]] = (r["kind"], score(r["kind"], answer, r["reference"]))
    return out, margins, labels


def closed_of(scores) -> float:
    values = [s for k, s in scores.values() if k == "closed"]
    return round(100 * sum(values) / len(values), 2)


def bias_rows(records):
    """(margin, is yes, form, id) of the records the VLM decided by option log-likelihood at the shipped bias."""
    from visual_med_alpaca.closed import is_yes_no
    from visual_med_alpaca.eval.metrics.vqa import first_yes_no

    rows = []
    for r in records:
        lp, reference = r.get("option_logprobs"), str(r["reference"]).strip().lower()
        if lp and reference in ("yes", "no") and is_yes_no(r["question"]):
            m = lp["yes"] - lp["no"]
            if first_yes_no(r["prediction"]) == ("yes" if m + SHIPPED_BIAS >= 0 else "no"):
                rows.append((m, reference == "yes", question_form(r["question"]), r["id"]))
    return rows


def fit_biases(rows) -> tuple[float, dict[str, float]]:
    """(single bias, {form: bias}) as the shipped bias was chosen (`best_bias`); a form with < MIN_FORM rows keeps
    the single bias."""
    single = best_bias([(m, y) for m, y, _, _ in rows])
    per = {}
    for form in FORMS:
        part = [(m, y) for m, y, f, _ in rows if f == form]
        per[form] = best_bias(part) if len(part) >= MIN_FORM else single
    return single, per


def diagnose(maps_of, rows, folds, qvec, out: Path) -> None:
    """The rule's addendum: CV by image at other epoch counts, and the head with the image map zeroed."""
    zeros = {"C1": np.zeros_like(maps_of["C1"][:1]).repeat(len(maps_of["C1"]), axis=0)}
    settings = [("C1", 3, maps_of), ("C1", 10, maps_of), ("C2", 5, maps_of), ("C1", 10, zeros), ("C1", 30, zeros)]
    result = {}
    print("\nDiagnostic (context only): 5-fold CV by image")
    for kind, epochs, source in settings:
        EPOCHS[kind] = epochs
        label = f"{kind} {epochs} epochs{', image map zeroed' if source is zeros else ''}"
        m = cv_heads((kind,), source, rows, folds, qvec, question_bar=False)[kind]
        result[label] = m
        print(f"  {label:34s} accuracy {m['accuracy']:6.2f}  log-loss {m['log_loss']:.4f}  ({m['seconds']} s)")
    print(f"# end {measured_at()}")
    out.write_text(json.dumps(result, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path("runs/r13"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/vlm_round13.json"))
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--diagnose", action="store_true", help="context only (the rule's addendum): CV by image of the "
                    "heads at other epoch counts and with the image map zeroed; writes --out with _diagnose")
    ap.add_argument("--threads", type=threads, default=2, help="for the sentence encoder; the heads train on 1 thread "
                    "(faster than 2 for their small steps, measured)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    print(f"# start {measured_at()}")
    import torch

    from visual_med_alpaca.data.store import read_jsonl
    from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_paraphrase_groups
    from visual_med_alpaca.knowledge.encoder import cached_encoder

    train, dev, d_train, d_eval, mevf = vqa_rad_sets(args.data_dir)
    items = train + dev
    images = list(dict.fromkeys(i.image for i in items))
    image_index = {p: n for n, p in enumerate(images)}
    start = time.perf_counter()
    torch.set_num_threads(args.threads)
    b14, final = encoder_maps(images, args.cache / "maps.npz")
    qcache = args.cache / "questions.npy"
    if qcache.is_file():
        qvec = np.load(qcache)
    else:
        qvec = cached_encoder(threads=args.threads).encode([i.question for i in items]).astype(np.float32)
        np.save(qcache, qvec)
    torch.set_num_threads(1)
    print(f"maps of {len(images)} images and {len(items)} question vectors: {time.perf_counter() - start:.1f} s")
    maps_of = {"C1": final, "C2": b14}
    row_of = {i.id: (image_index[i.image], n, i.reference.strip().lower() == "yes") for n, i in enumerate(items)}
    train_yn = [i for i in train if is_yes_no_case(i)]
    rows = [row_of[i.id] for i in train_yn]
    report: dict = {"rule": "bench/results/vlm_round13_rule.txt", "epochs": EPOCHS}

    # 1. CV by image: C1, C2 and the question alone
    by_image = image_folds(train)[[n for n, i in enumerate(train) if is_yes_no_case(i)]]
    if args.diagnose:
        diagnose(maps_of, rows, by_image, qvec, args.out.with_name(args.out.stem + "_diagnose.json"))
        return
    print(f"\nPart 1: {len(rows)} train-minus-dev yes/no questions on {len({r[0] for r in rows})} images; "
          f"5-fold CV by image")
    cv = cv_heads(("C1", "C2"), maps_of, rows, by_image, qvec)
    for name, m in cv.items():
        print(f"  {name:14s} accuracy {m['accuracy']:6.2f}  log-loss {m['log_loss']:.4f}  ({m['seconds']} s)")
    chosen = "C2" if cv["C2"]["accuracy"] > cv["C1"]["accuracy"] + 0.5 else "C1"
    gate = cv[chosen]["accuracy"] >= cv["question only"]["accuracy"] + 1.0
    print(f"  chosen {chosen}; gate (>= question only + 1.0): {'passed' if gate else 'failed'}")
    groups = folds_of(train, vqa_rad_paraphrase_groups(train, mevf))[[n for n, i in enumerate(train)
                                                                       if is_yes_no_case(i)]]
    cv_group = cv_heads((chosen,), maps_of, rows, groups, qvec)
    print(f"  context, 5-fold CV by paraphrase group (images shared across folds, as train and test):")
    for name, m in cv_group.items():
        print(f"  {name:14s} accuracy {m['accuracy']:6.2f}  log-loss {m['log_loss']:.4f}  ({m['seconds']} s)")
    report["part1"] = {"cv_by_image": cv, "chosen": chosen, "gate": gate, "cv_by_group_context": cv_group}

    # 1b. dev sets: the chosen head's image evidence added to the VLM's decision
    report["part1"]["dev"] = {}
    dev_ids = {i.id for i in dev}
    for label, extra, eval_set, path in (("train-dev (180)", [], dev, VLM_DEV),
                                         ("D-eval grouped (69)", d_train, d_eval, VLM_DEVAL)):
        fit = rows + [row_of[i.id] for i in extra if is_yes_no_case(i)]
        model = fit_head(chosen, maps_of[chosen], fit, qvec)
        q_model = question_only(fit, qvec)
        targets = [i for i in eval_set if i.id in dev_ids]
        z = head_logits(model, maps_of[chosen], [row_of[i.id][:2] for i in targets], qvec)
        zq = logit(q_model.predict_proba(qvec[[row_of[i.id][1] for i in targets]])[:, 1])
        evidence = {i.id: float(a - b) for i, a, b in zip(targets, z, zq)}
        replace_ = {i.id: float(a) - SHIPPED_BIAS for i, a in zip(targets, z)}  # context: the head alone decides
        records = list(read_jsonl(path))
        base, bm, bl = decided(records, lambda r: SHIPPED_BIAS)
        cand, cm, cl = decided(records, lambda r: SHIPPED_BIAS, evidence)
        entry = {"VLM as shipped": {"closed": closed_of(base), "auc": auc_of(bm, bl)},
                 "candidate: VLM + head's image evidence": {"closed": closed_of(cand), "auc": auc_of(cm, cl),
                                                            "paired": compare(base, cand)}}
        ctx = {"context: VLM + head log-odds (wording twice)": {i.id: float(a) for i, a in zip(targets, z)},
               "context: head alone": None}
        for name, extra_logits in ctx.items():
            if extra_logits is None:  # the margin is cancelled: decide by the head's own log-odds alone
                lp = {r["id"]: r["option_logprobs"]["yes"] - r["option_logprobs"]["no"] for r in records
                      if r.get("option_logprobs")}
                extra_logits = {k: v - lp.get(k, 0.0) for k, v in replace_.items()}
            s, m, l = decided(records, lambda r: SHIPPED_BIAS, extra_logits)
            entry[name] = {"closed": closed_of(s), "auc": auc_of(m, l)}
        report["part1"]["dev"][label] = entry
        print(f"\n{label}: head {chosen} fitted on {len(fit)} yes/no questions")
        for name, m in entry.items():
            print(f"  {name:46s} closed {m['closed']:6.2f}  yes/no AUC {m['auc']}")
            for line in m.get("paired", []):
                print(f"      {line}")
    d = report["part1"]["dev"]
    cand_name = "candidate: VLM + head's image evidence"
    adopt1 = (gate and d["train-dev (180)"][cand_name]["closed"] > d["train-dev (180)"]["VLM as shipped"]["closed"]
              and d["D-eval grouped (69)"][cand_name]["closed"] >= d["D-eval grouped (69)"]["VLM as shipped"]["closed"]
              and all(d[s][cand_name]["auc"] > d[s]["VLM as shipped"]["auc"] for s in d))
    report["part1"]["decision"] = "adopt" if adopt1 else "reject"

    # 2. one bias per question form
    print("\nPart 2: one yes/no bias per question form (the VLM's recorded option log-probs)")
    dev_records = list(read_jsonl(VLM_DEV))
    rows2 = bias_rows(dev_records)
    image_of = {i.id: i.image.name for i in dev}
    names = sorted({image_of[r[3]] for r in rows2}, key=lambda n: hashlib.sha256(n.encode()).hexdigest())
    fold_of = {r[3]: names.index(image_of[r[3]]) % FOLDS for r in rows2}  # as image_folds: by image, round-robin
    single_bias, form_bias = {}, {}
    for f in range(FOLDS):
        s, per = fit_biases([r for r in rows2 if fold_of[r[3]] != f])
        for r in rows2:
            if fold_of[r[3]] == f:
                single_bias[r[3]], form_bias[r[3]] = s, per[r[2]]
    y2 = np.array([r[1] for r in rows2])
    m2 = np.array([r[0] for r in rows2])
    acc = lambda b: round(100 * float((((m2 + np.array([b[r[3]] for r in rows2])) >= 0) == y2).mean()), 2)  # noqa: E731
    counts = {form: sum(r[2] == form for r in rows2) for form in FORMS}
    in_sample_single, in_sample_per = fit_biases(rows2)
    part2 = {"questions": len(rows2), "forms": counts,
             "cv_by_image": {"single bias": acc(single_bias), "per-form bias": acc(form_bias),
                             "shipped 0.486 (in-sample, context)": acc({r[3]: SHIPPED_BIAS for r in rows2})},
             "fitted_on_all_train_dev (context)": {"single": in_sample_single, "per_form": in_sample_per}}
    print(f"  train-dev: {len(rows2)} yes/no questions decided by the VLM, forms {counts}; 5-fold CV by image "
          f"(31 images): single {part2['cv_by_image']['single bias']}, per-form {part2['cv_by_image']['per-form bias']}")
    # D-eval grouped: fitted on the other train-dev questions (D-train + set apart), scored on D-eval
    d_eval_ids = {i.id for i in d_eval}
    s_fit, per_fit = fit_biases([r for r in rows2 if r[3] not in d_eval_ids])
    eval_records = list(read_jsonl(VLM_DEVAL))
    base2, _, _ = decided(eval_records, lambda r: SHIPPED_BIAS)
    single2, _, _ = decided(eval_records, lambda r: s_fit)
    per2, _, _ = decided(eval_records, lambda r: per_fit[question_form(r["question"])])
    part2["d_eval_grouped"] = {"fitted": {"single": s_fit, "per_form": per_fit}, "VLM as shipped": closed_of(base2),
                               "single bias": closed_of(single2), "per-form bias": closed_of(per2),
                               "paired per-form vs single": compare(single2, per2)}
    print(f"  D-eval grouped (biases fitted on the other {sum(r[3] not in d_eval_ids for r in rows2)} train-dev yes/no "
          f"questions: single {s_fit:+.3f}, per form {per_fit}): closed, shipped {closed_of(base2)}, single "
          f"{closed_of(single2)}, per-form {closed_of(per2)}")
    for line in part2["d_eval_grouped"]["paired per-form vs single"]:
        print(f"      {line}")
    adopt2 = (part2["cv_by_image"]["per-form bias"] > part2["cv_by_image"]["single bias"]
              and closed_of(per2) >= closed_of(single2))
    part2["decision"] = "adopt" if adopt2 else "reject"
    report["part2"] = part2
    print(f"\nDecision by the rule: part 1 (encoder learns, {chosen}): {report['part1']['decision']}; "
          f"part 2 (per-form bias): {part2['decision']}")
    print(f"# end {measured_at()}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    run(main)

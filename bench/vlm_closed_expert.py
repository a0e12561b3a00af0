"""Closed (yes/no) questions on VQA-RAD train-dev: the VLM's answers by question form, and whether answering the
questions that ask only which modality/plane an image is from the radiology expert's classification beats the VLM.

    PYTHONPATH=. python bench/vlm_closed_expert.py DEV_PREDICTIONS [--bias B] [--out FILE]

DEV_PREDICTIONS: a `vmed eval vqa-rad --subset train-dev --model vlm:...` predictions.jsonl with the yes/no options'
log-probabilities (`option_logprobs`); the VLM's decision is recomputed at the bundle's `yes_no_bias` (--bias).

The rule and the decision were fixed before any dev result of the rule was seen (this file's first commit):
- rule (`closed.expert_yes_no`): a yes/no question whose content words all name classes of the expert's modality
  or plane head ("is this a CT?", "is this an axial image?", "was the MRI taken in the sagittal plane?"; not a
  negated question, not one that also asks about contrast, a sequence, a region, a finding) is answered "yes" when
  every named class is the expert's choice with probability >= min_confidence (0.5, the expert's own setting for
  a fact it states), "no" when a named class contradicts a confident choice, and by the VLM otherwise; only when
  the router sends the image to the radiology expert (as the pipeline would).
- dev-clean heads: the shipped radiology heads were trained on VQA-RAD train images, dev images included, with
  labels taken from the answers to their MODALITY/PLANE questions, the very questions scored here. So the heads
  are retrained here with the dev images held out too (same data, config and CV otherwise; `runs/radiology-devclean`),
  and the rule is scored with those.
- the dev set has only 3 such questions of its 81 yes/no ones (counted from the question texts before any
  answer was scored), too few to tell anything, so the rule is also scored on the 40 VQA-RAD *train* (not dev)
  yes/no questions it applies to: their images' facts come from heads retrained with those images held out too
  (`runs/radiology-poolclean`), and the VLM's answers there are in-sample (it was trained on those questions and
  answers), which favours the VLM: a conservative comparison for the rule. No test question is used.
- adopt iff the rule beats the VLM on the pooled questions it answers (dev + train) by more than noise: one-sided
  exact sign test over the questions where the two disagree in correctness, p < 0.05.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

from _common import threads

from visual_med_alpaca.closed import asked_classes, expert_yes_no, is_yes_no
from visual_med_alpaca.data.sources.vqa_rad import FOLDER, vqa_rad_rows, vqa_rad_train_split
from visual_med_alpaca.data.store import read_jsonl
from visual_med_alpaca.images import load_image
from visual_med_alpaca.paths import data_dir
from visual_med_alpaca.vlm.bundle import DEFAULT_BUNDLE, read_meta

MIN_CONFIDENCE = 0.5  # the radiology expert's default min_confidence (configs: vision.min_confidence)


def sign_test(better: int, worse: int) -> float:
    """One-sided exact sign test: P(X >= better) for X ~ Binomial(better + worse, 1/2)."""
    n = better + worse
    return sum(math.comb(n, k) for k in range(better, n + 1)) / 2 ** n if n else 1.0


def heldout_facts(images: list[Path], heads_dir: Path, cache: Path) -> dict[str, dict]:
    """Per image: the router's expert and the radiology facts, from heads retrained with these images held out."""
    from visual_med_alpaca.experts.radiology import RadiologyExpert
    from visual_med_alpaca.pipeline import expert_for
    from visual_med_alpaca.router.base import load_router
    from visual_med_alpaca.train.radiology_heads import RadiologyHeadsConfig, train_heads

    if not (heads_dir / "report.json").is_file():
        report = train_heads(RadiologyHeadsConfig(out_dir=str(heads_dir), cache=str(cache)),
                             hold_out=frozenset(p.stem for p in images))
        for head, meta in report.items():
            print(f"{heads_dir.name} {head} head: C {meta['C']}, {meta['train_images']} training images, held-out "
                  f"accuracy {meta['held_out_accuracy']:.3f} on {meta['held_out_images']} (test + these images)")
    expert, router = RadiologyExpert(heads_dir=str(heads_dir)), load_router("trained")
    out = {}
    for path in images:
        loaded = load_image(path)
        routed, confidence = expert_for(router.classify(loaded))
        out[path.name] = {"expert": routed if confidence >= MIN_CONFIDENCE else "none", "facts": expert.facts(loaded)}
    return out


def vlm_logprobs(items, cache: Path, threads: int) -> dict[str, dict]:
    """The shipped VLM's yes/no option log-probabilities for items, through the assistant (cached in a file)."""
    known = {r["id"]: r["option_logprobs"] for r in read_jsonl(cache)} if cache.is_file() else {}
    todo = [i for i in items if i.id not in known]
    if todo:
        from visual_med_alpaca.pipeline import Assistant

        assistant = Assistant.from_config(None, **{"llm.model": "vlm:default", "llm.threads": threads})
        settings = assistant.config.generation.model_copy(update={"max_new_tokens": 1})
        with cache.open("a") as handle:
            for item in todo:
                known[item.id] = assistant.ask(item.question, item.image, settings=settings).option_logprobs
                handle.write(json.dumps({"id": item.id, "option_logprobs": known[item.id]}) + "\n")
    return known


def form(question: str, qtype: str) -> str:
    if asked_classes(question) is not None:
        return "modality/plane only (rule applies)"
    return f"VQA-RAD type {qtype}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", type=Path)
    parser.add_argument("--bias", type=float, default=None, help="yes/no log-odds bias (default: the shipped bundle's)")
    parser.add_argument("--heads", type=Path, default=Path("runs/radiology-devclean"))
    parser.add_argument("--cache", type=Path, default=Path("runs/radiology/features.npz"))
    parser.add_argument("--pool-heads", type=Path, default=Path("runs/radiology-poolclean"))
    parser.add_argument("--train-vlm", type=Path, default=Path("runs/closed-expert-train-vlm.jsonl"),
                        help="cache of the VLM's answers to the train questions")
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write the per-question rows (JSONL)")
    args = parser.parse_args()
    bias = read_meta(DEFAULT_BUNDLE).get("yes_no_bias", 0.0) if args.bias is None else args.bias
    root = data_dir()
    train, dev = vqa_rad_train_split(root)
    rows = {r["id"]: r for r in vqa_rad_rows(root / FOLDER, "train")}
    predictions = {r["id"]: r for r in read_jsonl(args.predictions)}
    missing = [i.id for i in dev if i.id not in predictions]
    if missing:
        print(f"error: {args.predictions} lacks {len(missing)} train-dev questions (e.g. {missing[0]})", file=sys.stderr)
        return 2
    train_pool = [i for i in train if i.kind == "closed" and asked_classes(i.question) is not None]
    facts = heldout_facts(sorted({i.image for i in dev}), args.heads, args.cache)
    facts.update(heldout_facts(sorted({i.image for i in train_pool}), args.pool_heads, args.cache))
    train_logprobs = vlm_logprobs(train_pool, args.train_vlm, args.threads)

    table: dict[str, Counter] = defaultdict(Counter)
    pooled = Counter()
    records = []
    for split, items in (("dev", dev), ("train", train_pool)):
        for item in items:
            lp = predictions[item.id].get("option_logprobs") if split == "dev" else train_logprobs[item.id]
            if item.kind != "closed" or not is_yes_no(item.question) or not lp:
                continue
            ref = str(item.reference).strip().lower()
            vlm = "yes" if lp["yes"] + bias >= lp["no"] else "no"
            seen = facts[item.image.name]
            rule = expert_yes_no(item.question, seen["facts"], MIN_CONFIDENCE) if seen["expert"] == "radiology" else None
            key = form(item.question, rows[item.id].get("question_type", "?"))
            for t in ((table[key], pooled) if split == "dev" else (pooled,)):
                t["n"] += 1
                t["vlm_right"] += vlm == ref
                t["ref_yes"] += ref == "yes"
                if rule is not None:
                    t["rule_n"] += 1
                    t["rule_right"] += rule == ref
                    t["vlm_right_where_rule"] += vlm == ref
                    t["better"] += rule == ref and vlm != ref
                    t["worse"] += vlm == ref and rule != ref
            records.append({"split": split, "id": item.id, "question": item.question, "reference": ref, "form": key,
                            "vlm": vlm, "rule": rule, "expert": seen["expert"],
                            "facts": {h: list(v) for h, v in seen["facts"].items()}})

    print(f"VQA-RAD train-dev yes/no questions (log-odds + bias {bias:+.3f}), {args.predictions}")
    print(f"| form | n | ref yes | VLM right | rule answers | rule right | VLM right there |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    total = Counter()
    for key in sorted(table, key=lambda k: -table[k]["n"]):
        t = table[key]
        total.update(t)
        print(f"| {key} | {t['n']} | {t['ref_yes']} | {t['vlm_right']} ({100 * t['vlm_right'] / t['n']:.0f}%) | "
              f"{t['rule_n']} | {t['rule_right']} | {t['vlm_right_where_rule']} |")
    print(f"| all | {total['n']} | {total['ref_yes']} | {total['vlm_right']} ({100 * total['vlm_right'] / total['n']:.1f}%) | "
          f"{total['rule_n']} | {total['rule_right']} | {total['vlm_right_where_rule']} |")
    print(f"dev: rule right where the VLM was wrong {total['better']}, VLM right where the rule was wrong "
          f"{total['worse']}; yes/no accuracy {100 * total['vlm_right'] / total['n']:.2f}% -> with the rule "
          f"{100 * (total['vlm_right'] + total['better'] - total['worse']) / total['n']:.2f}%")
    tr = Counter({k: pooled[k] - total[k] for k in pooled})
    print(f"train (not dev; VLM in-sample): {tr['rule_n']} questions the rule answers: rule right {tr['rule_right']}, "
          f"VLM right {tr['vlm_right_where_rule']} (better {tr['better']}, worse {tr['worse']})")
    p = sign_test(pooled["better"], pooled["worse"])
    print(f"pooled dev + train, {pooled['rule_n']} questions the rule answers: rule right {pooled['rule_right']}, VLM "
          f"right {pooled['vlm_right_where_rule']}; better {pooled['better']}, worse {pooled['worse']}; one-sided sign "
          f"test p = {p:.4f}")
    print("decision (fixed beforehand: adopt iff p < 0.05):", "ADOPT" if p < 0.05 else "do not adopt")
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in records))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

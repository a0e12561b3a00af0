"""Open questions on VQA-RAD train-dev (and train): the shipped VLM's open recall by VQA-RAD question type, and
whether answering the open questions that ask only which modality or plane the image is from the radiology
expert's confident class beats the VLM's answer.

    PYTHONPATH=. python bench/vlm_open_expert.py DEV_PREDICTIONS [--out FILE] [--train-sample N]

--train-sample N (added after the decision, descriptive only): the VLM's open recall by question type on a seeded
random sample of N VQA-RAD train (not dev) open questions, where it is in-sample: how well it fits its own
training questions, i.e. whether open recall is limited by fitting or by carrying over to new images.

DEV_PREDICTIONS: a `vmed eval vqa-rad --subset train-dev --model vlm:...` predictions.jsonl of the shipped
configuration (docs/results/vqa-rad-train-dev-vlm-continue/steps160-factsopen/).

The rule and the decision were fixed in writing before any result of the rule was seen (this file's first commit):
- rule (`expert_open_answer`, below; was `closed.expert_open_answer`): an open question that asks only which modality ("what imaging modality was
  used?", "what type of image is this?") or which plane ("in what plane is this CT?") the image is
  (`open_asked_head`: not yes/no, not "A or B", nothing else asked: no contrast, MR weighting or sequence,
  "what type of MRI", laterality, level, where/how, organ system, finding) is answered with the expert's class as
  the expert phrases it ("CT", "MRI", "X-ray", "axial", "coronal", "sagittal", "frontal (PA or AP)", "lateral")
  when its probability is >= min_confidence (0.5, the expert's own setting) or it comes from a DICOM header; the
  VLM answers otherwise. Only when the router sends the image to the radiology expert. Plane questions only about
  images the expert confidently calls CT or MRI (round 4: the plane head's "frontal (PA/AP)" class has just 8
  training images and disappears from heads retrained with images held out, and the rule failed on X-ray planes
  in the closed study). Organ-system questions are not answered: the region head names a body region (head,
  chest, abdomen/pelvis, spine), not an organ system.
- metric: the harness's open recall per question (`eval.metrics.vqa.open_recall`, LLaVA-Med's), rule vs VLM.
- held-out heads: the shipped heads were trained on these images with labels from the answers to these very
  questions, so the rule is scored with heads retrained with the scored images held out (dev: the dev images,
  `runs/radiology-devclean` as in the closed study; train: the images of the train questions the rule applies
  to, `runs/radiology-openpool`).
- dev has few such questions (6 of its 91 open ones are modality/plane-only by the matcher; 82 in train minus dev), so the rule is also
  scored on the VQA-RAD *train* (not dev) open questions it applies to; there the VLM is in-sample (trained on
  those questions and answers, and its prompt carries the shipped, in-sample heads' facts), which favours the VLM.
- adopt a head (modality, plane) iff on the pooled dev + train questions of that head that the rule answers, the
  rule's recall beats the VLM's by more than noise: one-sided exact sign test over the questions where the two
  recalls differ, p < 0.025 (0.05 split over the two heads), and the mean recall difference is > 0.
  No VQA-RAD test question or answer is used.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from _common import threads
from vlm_closed_expert import MIN_CONFIDENCE, heldout_facts, sign_test

from visual_med_alpaca.closed import (EXPERT_CLASS_WORDS, NEUTRAL_WORDS, canonical_class, content_words, is_yes_no,
                                      words)
from visual_med_alpaca.data.sources.vqa_rad import FOLDER, vqa_rad_rows, vqa_rad_train_split
from visual_med_alpaca.data.store import read_jsonl
from visual_med_alpaca.eval.benchmarks.vqa import vqa_rad_fit_sample
from visual_med_alpaca.eval.metrics.vqa import open_recall
from visual_med_alpaca.paths import data_dir


# -- the rule: open questions that ask only which modality or plane the image is -----------------------------------
# (moved here from visual_med_alpaca/closed.py: not adopted, so the package does not carry it; it reuses closed.py's
# question parsing, the same as the adopted yes/no rule's)
# "What imaging modality was used?", "What type of image is this?", "In what plane is this CT?". A question that
# asks a sub-type (contrast, MR weighting or sequence, "what type of MRI is this?"), laterality, a level, or where
# something is, is not one of them; nor is an organ-system question (the region head names a body region, not an
# organ system).
_OPEN_MODALITY = {"modality", "imaging"}
_OPEN_KIND = {"type", "kind", "method", "technique"}
_OPEN_IMAGE = {"image", "imaging", "scan", "picture"}
_OPEN_PLANE = {"plane", "section", "cut", "orientation", "oriented"}
_OPEN_EXCLUDED = {"contrast", "agent", "weighting", "weighted", "sequence", "laterality", "level", "where", "how",
                  "organ", "system", "not", "abnormal", "abnormality", "finding", "findings", "pathology", "or"}
_MODALITY_WORDS = set().union(*EXPERT_CLASS_WORDS["modality"].values())
_OPEN_ASKING = _OPEN_MODALITY | _OPEN_KIND | _OPEN_IMAGE | _OPEN_PLANE
_OPEN_ALLOWED = {"above", "take", "acquire", "acquired", "captured", "name", "image'", "depicted", "film", "we"}
_REGION_WORDS = {"head", "brain", "skull", "neck", "chest", "thorax", "abdomen", "pelvis", "spine", "body", "limb"}


def open_asked_head(question: str) -> str | None:
    """'modality' or 'plane' when an open (not yes/no) question asks only which modality or which plane the
    image is; None otherwise."""
    if is_yes_no(question):
        return None
    asked = set(words(question))
    if asked & _OPEN_EXCLUDED:
        return None
    extra = content_words(question) - NEUTRAL_WORDS - _OPEN_ASKING - _OPEN_ALLOWED
    if extra - _MODALITY_WORDS - _REGION_WORDS:
        return None  # it asks about something else too ("what type of brain matter?")
    if asked & _OPEN_PLANE:
        return "plane"  # the modality may be named as context: "what plane is this x-ray in?"
    if asked & _MODALITY_WORDS:
        return None  # "what type of mri is this?" asks a sequence, not the modality
    if asked & _OPEN_MODALITY or (asked & _OPEN_KIND and asked & _OPEN_IMAGE):
        return "modality"
    return None


def expert_open_answer(question: str, facts: dict[str, tuple[str, float | None]], min_confidence: float,
                       heads: tuple[str, ...] = ("modality", "plane"),
                       plane_modalities: tuple[str, ...] | None = ("CT", "MRI")) -> str | None:
    """The expert's confident class as the answer to an open question that asks only the modality or the plane
    (`open_asked_head`, among `heads`), as the expert phrases it ('CT', 'axial', 'frontal (PA or AP)'); None
    when the question is another kind or the expert is not confident (probability < min_confidence; a DICOM
    header fact, probability None, is certain). Plane questions only about images whose modality the expert
    confidently puts among `plane_modalities` (None: any)."""
    head = open_asked_head(question)
    if head is None or head not in heads:
        return None

    def sure(h: str) -> str | None:
        value, probability = facts.get(h, (None, 0.0))
        return value if value is not None and (probability is None or probability >= min_confidence) else None

    if head == "plane" and plane_modalities is not None:
        modality = sure("modality")
        if modality is None or canonical_class("modality", modality) not in plane_modalities:
            return None
    value = sure(head)
    return None if value is None else value.replace("frontal (PA/AP)", "frontal (PA or AP)")


def vlm_answers(items, cache: Path, threads: int) -> dict[str, str]:
    """The shipped VLM's generated answers for items, through the assistant as `vmed eval` runs it (cached)."""
    known = {r["id"]: r["prediction"] for r in read_jsonl(cache)} if cache.is_file() else {}
    todo = [i for i in items if i.id not in known]
    if todo:
        from visual_med_alpaca.pipeline import Assistant

        assistant = Assistant.from_config(None, **{"llm.model": "vlm:default", "llm.threads": threads})
        settings = assistant.config.generation.model_copy(update={"max_new_tokens": 16, "temperature": 0.0})
        with cache.open("a") as handle:
            for item in todo:
                known[item.id] = assistant.ask(item.question, item.image, settings=settings).answer
                handle.write(json.dumps({"id": item.id, "prediction": known[item.id]}) + "\n")
    return known


def in_sample(train, rows: dict, n: int, cache: Path, threads: int) -> None:
    """The VLM's open recall by VQA-RAD question type on a seeded sample of train open questions (in-sample)."""
    open_items = [i for i in train if i.kind == "open"]
    sample = vqa_rad_fit_sample(data_dir(), n)  # `vmed eval vqa-rad --subset train-fit` takes the same 150
    answers = vlm_answers(sample, cache, threads)
    by_type: dict[str, Counter] = defaultdict(Counter)
    for item in sample:
        t = by_type[rows[item.id].get("question_type", "?")]
        t["n"] += 1
        t["recall"] += open_recall(answers[item.id], item.reference)
    print(f"\nVQA-RAD train minus dev, {len(sample)} of its {len(open_items)} open questions (seed 0); the VLM is "
          "in-sample (trained on these questions and answers): open recall by question type")
    print("| question type | n | VLM open recall (in-sample) |")
    print("|---|---:|---:|")
    total = Counter()
    for qtype, t in sorted(by_type.items(), key=lambda kv: -kv[1]["n"]):
        total.update(t)
        print(f"| {qtype} | {t['n']} | {100 * t['recall'] / t['n']:.1f} |")
    print(f"| all | {total['n']} | {100 * total['recall'] / total['n']:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", type=Path)
    parser.add_argument("--heads", type=Path, default=Path("runs/radiology-devclean"))
    parser.add_argument("--pool-heads", type=Path, default=Path("runs/radiology-openpool"))
    parser.add_argument("--cache", type=Path, default=Path("runs/radiology/features.npz"))
    parser.add_argument("--train-vlm", type=Path, default=Path("runs/open-expert-train-vlm.jsonl"),
                        help="cache of the VLM's answers to the train questions")
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write the per-question rows (JSONL)")
    parser.add_argument("--train-sample", type=int, default=0, help="also: in-sample recall on N train open questions")
    args = parser.parse_args()
    root = data_dir()
    train, dev = vqa_rad_train_split(root)
    rows = {r["id"]: r for r in vqa_rad_rows(root / FOLDER, "train")}
    predictions = {r["id"]: r for r in read_jsonl(args.predictions)}
    dev_open = [i for i in dev if i.kind == "open"]
    missing = [i.id for i in dev_open if i.id not in predictions]
    if missing:
        print(f"error: {args.predictions} lacks {len(missing)} train-dev open questions (e.g. {missing[0]})",
              file=sys.stderr)
        return 2
    pool = [i for i in train if i.kind == "open" and open_asked_head(i.question) is not None]
    facts = heldout_facts(sorted({i.image for i in dev_open}), args.heads, args.cache)
    facts.update(heldout_facts(sorted({i.image for i in pool}), args.pool_heads, args.cache))
    train_vlm = vlm_answers(pool, args.train_vlm, args.threads)

    by_type: dict[tuple[str, str], Counter] = defaultdict(Counter)
    per_head: dict[str, Counter] = defaultdict(Counter)
    records = []
    for split, items in (("dev", dev_open), ("train", pool)):
        for item in items:
            vlm = predictions[item.id]["prediction"] if split == "dev" else train_vlm[item.id]
            seen = facts[item.image.name]
            head = open_asked_head(item.question)
            rule = (expert_open_answer(item.question, seen["facts"], MIN_CONFIDENCE)
                    if seen["expert"] == "radiology" else None)
            r_vlm = open_recall(vlm, item.reference)
            r_rule = open_recall(rule, item.reference) if rule is not None else r_vlm
            qtype = rows[item.id].get("question_type", "?")
            t = by_type[(split, qtype)]
            t["n"] += 1
            t["vlm"] += r_vlm
            t["with_rule"] += r_rule
            t["rule_n"] += rule is not None
            if head is not None:
                h = per_head[head]
                h["asked"] += 1
                if rule is not None:
                    h["n"] += 1
                    h[f"{split}_n"] += 1
                    h["rule"] += r_rule
                    h["vlm"] += r_vlm
                    h["better"] += r_rule > r_vlm
                    h["worse"] += r_rule < r_vlm
            records.append({"split": split, "id": item.id, "question": item.question, "type": qtype,
                            "reference": item.reference, "head": head, "vlm": vlm, "rule": rule,
                            "recall_vlm": round(r_vlm, 4), "recall_rule": round(r_rule, 4), "expert": seen["expert"],
                            "facts": {k: list(v) for k, v in seen["facts"].items()}})

    for split, note in (("dev", "train-dev, held out from the VLM"),
                        ("train", "train minus dev, only the questions the matcher picks; the VLM is in-sample")):
        print(f"\nVQA-RAD {note}: open recall by VQA-RAD question type")
        print("| question type | n | VLM open recall | rule answers | with the rule |")
        print("|---|---:|---:|---:|---:|")
        total = Counter()
        for (s, qtype), t in sorted(by_type.items(), key=lambda kv: -kv[1]["n"]):
            if s != split:
                continue
            total.update(t)
            print(f"| {qtype} | {t['n']} | {100 * t['vlm'] / t['n']:.1f} | {t['rule_n']} | "
                  f"{100 * t['with_rule'] / t['n']:.1f} |")
        print(f"| all | {total['n']} | {100 * total['vlm'] / total['n']:.2f} | {total['rule_n']} | "
              f"{100 * total['with_rule'] / total['n']:.2f} |")
    print("\nrule vs VLM, pooled dev + train, per head (questions the rule answers)")
    print("| head | matched | rule answers (dev / train) | rule recall | VLM recall | rule higher | VLM higher | p | decision |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for head in ("modality", "plane"):
        h = per_head[head]
        n = max(h["n"], 1)
        p = sign_test(h["better"], h["worse"])
        adopt = p < 0.025 and h["rule"] > h["vlm"]
        print(f"| {head} | {h['asked']} | {h['n']} ({h['dev_n']} / {h['train_n']}) | {100 * h['rule'] / n:.1f} | "
              f"{100 * h['vlm'] / n:.1f} | {h['better']} | {h['worse']} | {p:.4f} | "
              f"{'ADOPT' if adopt else 'do not adopt'} |")
    if args.train_sample:
        in_sample(train, rows, args.train_sample, args.train_vlm, args.threads)
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in records))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

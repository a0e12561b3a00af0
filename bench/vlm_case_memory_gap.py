"""Why the case memory helped on D-eval and not on VQA-RAD test, from the question files alone (no model output is
read): for each question set and the memory it was scored with, per form (yes/no, other), how many questions have a
case about the same image and form, how close the closest such question is, how many the memory answers (at the
shipped thresholds), and how often the remembered answer is the gold one (aggregates only). Also VQA-RAD's own
phrase types (MEVF files): a free-form question and its paraphrase (by another clinician) sit in the same split.

    PYTHONPATH=. python bench/vlm_case_memory_gap.py --seen-memory runs/r9/mem-seen [--data-dir DIR]
    PYTHONPATH=. python bench/vlm_case_memory_gap.py --seen-memory runs/r10/mem-grouped \
        --subset train-dev-seen-grouped --no-test     # round 10: the grouped D-eval alone (test not read again)
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
from _common import measured_at, run


def summary(name: str, memory, items, vectors: dict[str, np.ndarray]) -> None:
    from visual_med_alpaca.eval.metrics.vqa import normalize_answer
    from visual_med_alpaca.vlm.memory import yes_no_case

    questions = memory.encode_questions([i.question for i in items])
    settings = memory.settings  # the shipped thresholds; recall runs loose so that every same-image case is seen
    memory.settings = settings.model_copy(update={"yes_no_min": 1e-6, "other_min": 1e-6})
    for form in ("yes_no", "other"):
        part = [(i, q) for i, q in zip(items, questions) if yes_no_case(i.question, i.reference) == (form == "yes_no")]
        sims, matched, agree = [], 0, 0
        for item, q in part:
            case = memory.recall(item.question, vectors[item.image.name], question_vector=q)
            if case is None:
                continue
            sims.append(case.question_similarity)
            if case.question_similarity >= (settings.yes_no_min if form == "yes_no" else settings.other_min):
                matched += 1
                agree += normalize_answer(case.answer) == normalize_answer(item.reference)
        q = np.quantile(sims, [0.25, 0.5, 0.75]).round(3).tolist() if sims else []
        print(f"{name:<8} {form:<6} n {len(part):3d}  with a same-image case {len(sims):3d}  closest-question cosine "
              f"quartiles {q}  answered {matched:3d}  remembered answer = gold {agree:3d}"
              f" ({100 * agree / max(matched, 1):.0f}%)")
    memory.settings = settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seen-memory", type=Path, required=True,
                    help="the D-eval memory (built with the dev_split of --subset)")
    ap.add_argument("--subset", default="train-dev-seen", choices=["train-dev-seen", "train-dev-seen-grouped"],
                    help="the D-eval (default train-dev-seen; train-dev-seen-grouped: dev_split seen-grouped)")
    ap.add_argument("--no-test", action="store_true", help="the D-eval alone: VQA-RAD test is not read")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    print(f"# {measured_at()}")
    from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_folder, vqa_rad_mevf_rows
    from visual_med_alpaca.eval.benchmarks.vqa import load_vqa_rad
    from visual_med_alpaca.images import load_image
    from visual_med_alpaca.paths import data_dir
    from visual_med_alpaca.vlm.bundle import DEFAULT_BUNDLE, read_meta
    from visual_med_alpaca.vlm.encoders import load_encoder
    from visual_med_alpaca.vlm.memory import CaseMemory

    root = data_dir(args.data_dir, "vqa_rad")
    for split in ("train", "test"):
        rows = vqa_rad_mevf_rows(vqa_rad_folder(root), split)
        print(f"MEVF {split}set: {len(rows)} questions, phrase types {dict(Counter(r['phrase_type'] for r in rows))}")
    sets = {"D-eval": (CaseMemory.load(args.seen_memory, read_meta(args.seen_memory)), load_vqa_rad(root, args.subset))}
    if not args.no_test:
        sets["test"] = (CaseMemory.load(DEFAULT_BUNDLE, read_meta(DEFAULT_BUNDLE)), load_vqa_rad(root))
    encoder = load_encoder("efficientnet-lite0")
    for name, (memory, items) in sets.items():
        paths = list(dict.fromkeys(i.image for i in items))
        images = memory.image_vectors(encoder, (load_image(p).image for p in paths))
        summary(name, memory, items, dict(zip((p.name for p in paths), images)))
    print(f"# {measured_at()}")


if __name__ == "__main__":
    run(main)

"""The VLM case memory's thresholds, from VQA-RAD *train* alone (no model run, nothing test-side): issue 13, round 9.

1. Image threshold: the memory's images against each other (nearest other image's cosine) and against copies of
   themselves as a user might send them (resized to 80% and re-saved as JPEG quality 75): `image_min` must keep
   every copy and no other image.
2. Question thresholds by leave-one-out: each memory question is asked of the memory without itself; its closest
   remaining question about the same image (same form: yes/no or other) is the remembered case. For each threshold
   on a grid: coverage (share answered from memory) and precision (mean score of the remembered answers against
   the gold answer, LLaVA-Med's scorer: closed accuracy / open recall), per form. The threshold chosen per form
   maximises the expected score when the questions below it are left to the VLM, scored at the VLM's own dev score
   on that form (`--vlm-dev`: the shipped bundle's train-dev predictions, yes/no at the bundle's bias); ties go to
   the higher threshold.

    PYTHONPATH=. python bench/vlm_case_memory_loo.py BUNDLE --vlm-dev PRED.jsonl --bias 0.486 [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from _common import measured_at, run


def dev_scores(path: Path, bias: float) -> dict[str, float]:
    """The VLM's mean score per memory form on its dev predictions (yes/no decided at `bias`)."""
    from visual_med_alpaca.data.store import read_jsonl
    from visual_med_alpaca.eval.metrics.vqa import closed_correct, first_yes_no, open_recall
    from visual_med_alpaca.vlm.memory import yes_no_case

    by_form: dict[str, list[float]] = {"yes_no": [], "other": []}
    for r in read_jsonl(path):
        answer, scored = r["prediction"], r.get("option_logprobs")
        if scored and first_yes_no(answer) == ("yes" if scored["yes"] - scored["no"] >= 0 else "no"):
            answer = "yes" if scored["yes"] - scored["no"] + bias >= 0 else "no"
        score = closed_correct(answer, r["reference"]) if r["kind"] == "closed" else open_recall(answer, r["reference"])
        by_form["yes_no" if yes_no_case(r["question"], r["reference"]) else "other"].append(score)
    return {form: float(np.mean(scores)) for form, scores in by_form.items()}


def image_check(memory, paths: list[Path], encoder_name: str) -> dict:
    from PIL import Image

    from visual_med_alpaca.images import load_image
    from visual_med_alpaca.vlm.encoders import load_encoder

    sims = memory.images @ memory.images.T
    np.fill_diagonal(sims, -1.0)
    nearest = sims.max(axis=1)
    encoder = load_encoder(encoder_name)
    copies = []
    for path in paths:
        image = load_image(path).image.convert("RGB")
        small = image.resize((max(1, round(image.width * 0.8)), max(1, round(image.height * 0.8))))
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=75)
        copies.append(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    vectors = memory.image_vectors(encoder, copies)
    own = np.einsum("ij,ij->i", vectors, memory.images)
    q = lambda xs: [round(float(np.quantile(xs, p)), 4) for p in (0.0, 0.01, 0.5, 0.99, 1.0)]  # noqa: E731
    return {"nearest_other_image_quantiles_0_1_50_99_100": q(nearest),
            "pairs_of_distinct_images_above_0.95": int((sims > 0.95).sum() // 2),
            "copy_vs_original_quantiles_0_1_50_99_100": q(own)}


def leave_one_out(memory, kinds: dict[str, str]) -> list[dict]:
    """One row per memory question: its form, VQA-RAD kind, the remembered case's question similarity and score."""
    from visual_med_alpaca.eval.metrics.vqa import closed_correct, open_recall

    loose = memory.settings.model_copy(update={"yes_no_min": 1e-6, "other_min": 1e-6})
    memory.settings = loose
    rows = []
    for i, case_id in enumerate(memory.ids):
        vector = memory.images[memory.item_image[i]]
        case = memory.recall(memory.questions[i], vector, exclude=case_id, question_vector=memory.question_vectors[i])
        kind = kinds[case_id]
        row = {"id": case_id, "form": "yes_no" if memory.yes_no[i] else "other", "kind": kind,
               "similarity": None, "score": None}
        if case is not None:
            scorer = closed_correct if kind == "closed" else open_recall
            row.update(similarity=case.question_similarity, score=scorer(case.answer_text(), memory.answers[i]))
        rows.append(row)
    return rows


def choose(rows: list[dict], vlm: float) -> tuple[float, list[dict]]:
    table = []
    for t in np.round(np.arange(0.50, 1.0001, 0.01), 2):
        answered = [r["score"] for r in rows if r["similarity"] is not None and r["similarity"] >= t]
        gain = sum(s - vlm for s in answered)
        table.append({"threshold": float(t), "answered": len(answered), "coverage": len(answered) / len(rows),
                      "precision": float(np.mean(answered)) if answered else None, "gain_over_vlm": gain,
                      "expected": (sum(answered) + vlm * (len(rows) - len(answered))) / len(rows)})
    best = max(table, key=lambda row: (round(row["gain_over_vlm"], 9), row["threshold"]))
    return best["threshold"], table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path, help="a bundle with memory.npz (vmed train vlm -c RECIPE --memory BUNDLE)")
    ap.add_argument("--vlm-dev", type=Path, required=True, help="the bundle's train-dev predictions.jsonl")
    ap.add_argument("--bias", type=float, required=True, help="the bundle's yes_no_bias")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=None, help="write the tables as JSON here")
    args = ap.parse_args()
    print(f"# {measured_at()}")
    from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_train_split
    from visual_med_alpaca.paths import data_dir
    from visual_med_alpaca.vlm.bundle import read_meta
    from visual_med_alpaca.vlm.memory import CaseMemory

    meta = read_meta(args.bundle)
    memory = CaseMemory.load(args.bundle, meta)
    if memory is None:
        raise SystemExit(f"error: {args.bundle} has no memory.npz")
    root = data_dir(args.data_dir, "vqa_rad")
    train, dev = vqa_rad_train_split(root)
    items = {i.id: i for i in train + dev}
    kinds = {case_id: items[case_id].kind for case_id in memory.ids}
    paths = [items[case_id].image for case_id in dict.fromkeys(
        memory.ids[i] for i in np.unique(memory.item_image, return_index=True)[1])]
    images = image_check(memory, paths, meta["encoder"])
    print("images:", json.dumps(images))
    vlm = dev_scores(args.vlm_dev, args.bias)
    print("VLM dev score per form:", json.dumps({k: round(v, 4) for k, v in vlm.items()}))
    rows = leave_one_out(memory, kinds)
    result = {"images": images, "vlm_dev": vlm, "forms": {}}
    for form in ("yes_no", "other"):
        mine = [r for r in rows if r["form"] == form]
        threshold, table = choose(mine, vlm[form])
        result["forms"][form] = {"n": len(mine), "with_candidate": sum(r["similarity"] is not None for r in mine),
                                 "chosen": threshold, "table": table}
        print(f"\n{form}: {len(mine)} questions, {result['forms'][form]['with_candidate']} with a same-image "
              f"same-form candidate; VLM dev score {vlm[form]:.4f}; chosen threshold {threshold}")
        print("threshold answered coverage precision expected")
        for row in table:
            if row["threshold"] in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, threshold):
                print(f"{row['threshold']:.2f} {row['answered']:5d} {row['coverage']:.3f} "
                      f"{row['precision'] if row['precision'] is None else round(row['precision'], 4)} "
                      f"{row['expected']:.4f}")
        for kind in ("closed", "open"):
            part = [r for r in mine if r["kind"] == kind and r["similarity"] is not None and r["similarity"] >= threshold]
            if part:
                print(f"  at {threshold}: {kind} {len(part)} answered, precision {np.mean([r['score'] for r in part]):.4f}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"# {measured_at()}")


if __name__ == "__main__":
    run(main)

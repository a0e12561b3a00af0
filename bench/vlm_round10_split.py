"""Round 10: VQA-RAD's paraphrase groups (`vqa_rad_paraphrase_groups`) checked on train, where both halves of a
pair are visible, and the two seen-image dev splits compared: how many D-eval questions have a paraphrase-group
partner on the D-train side (round 7's `train-dev-seen`, split by question id) or none (`train-dev-seen-grouped`).
Question files only (VQA-RAD train; no test file, no model output). With --cosine, also the sentence encoder's
cosine (the case memory's) between group partners against other same-image question pairs.

    PYTHONPATH=. python bench/vlm_round10_split.py [--cosine] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from itertools import combinations

import numpy as np
from _common import measured_at, run


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def jaccard(a: str, b: str) -> float:
    return len(words(a) & words(b)) / max(len(words(a) | words(b)), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cosine", action="store_true", help="also the sentence encoder's cosine of the pairs")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    print(f"# {measured_at()}")
    from visual_med_alpaca.data.sources.vqa_rad import (question_key, vqa_rad_folder, vqa_rad_grouped_split,
                                                        vqa_rad_mevf_rows, vqa_rad_paraphrase_groups,
                                                        vqa_rad_seen_split, vqa_rad_train_split)
    from visual_med_alpaca.eval.metrics.vqa import normalize_answer
    from visual_med_alpaca.paths import data_dir

    root = data_dir(args.data_dir, "vqa_rad")
    rows = vqa_rad_mevf_rows(vqa_rad_folder(root), "train")
    train, dev = vqa_rad_train_split(root)
    items = train + dev
    groups = vqa_rad_paraphrase_groups(items, rows)
    phrase = {}
    for row in rows:
        phrase.setdefault(question_key(row["image_name"], row["question"]), set()).add(row["phrase_type"])
    kind_of = {i.id: phrase.get(question_key(i.image.name, i.question), set()) for i in items}
    print(f"VQA-RAD train: {len(items)} questions in {len(groups)} groups; sizes "
          f"{dict(sorted(Counter(len(g) for g in groups).items()))}")
    paras = [g for g in groups if any("para" in kind_of[i.id] for i in g)]
    with_free = sum(any("freeform" in kind_of[i.id] for i in g) for g in paras)
    print(f"groups holding a `para` question: {len(paras)}; of them with a free-form question too: {with_free}")
    pairs = [g for g in groups if len(g) == 2]
    same_answer = sum(normalize_answer(a.reference) == normalize_answer(b.reference) for a, b in pairs)
    same_kind = sum(a.kind == b.kind for a, b in pairs)
    print(f"2-question groups: {len(pairs)}; same answer {same_answer} ({100 * same_answer / len(pairs):.1f}%), "
          f"same kind (closed/open) {same_kind} ({100 * same_kind / len(pairs):.1f}%)")
    group_of = {i.id: n for n, g in enumerate(groups) for i in g}
    by_image: dict[str, list] = {}
    for i in items:
        by_image.setdefault(i.image.name, []).append(i)
    other = [(a, b) for qs in by_image.values() for a, b in combinations(qs, 2) if group_of[a.id] != group_of[b.id]]
    for name, part in (("group partners", pairs), ("other same-image pairs", other)):
        agree = sum(normalize_answer(a.reference) == normalize_answer(b.reference) for a, b in part)
        print(f"{name} ({len(part)}): same answer {100 * agree / len(part):.1f}%, token Jaccard of the questions, "
              f"median {np.median([jaccard(a.question, b.question) for a, b in part]):.3f}")
    if args.cosine:
        from visual_med_alpaca.knowledge.encoder import cached_encoder

        encoder = cached_encoder(threads=2)
        vec = dict(zip((i.id for i in items), encoder.encode([i.question for i in items])))
        cos = lambda pairs: [float(vec[a.id] @ vec[b.id]) for a, b in pairs]  # noqa: E731
        for name, part in (("group partners", pairs), ("other same-image pairs", other)):
            quartiles = np.quantile(cos(part), [0.25, 0.5, 0.75]).round(3).tolist()
            print(f"sentence-encoder cosine, {name}: quartiles {quartiles}")
    for name, split in (("train-dev-seen (round 7)", vqa_rad_seen_split),
                        ("train-dev-seen-grouped (round 10)", vqa_rad_grouped_split)):
        d_train, d_eval, unseen = split(root)
        sides = {i.id: side for side, part in (("train", d_train), ("eval", d_eval), ("unseen", unseen)) for i in part}
        crossing = sum(any(sides[j.id] == "train" for j in groups[group_of[i.id]]) for i in d_eval)
        print(f"{name}: D-train {len(d_train)} {dict(Counter(i.kind for i in d_train))}, D-eval {len(d_eval)} "
              f"{dict(Counter(i.kind for i in d_eval))} on {len({i.image.name for i in d_eval})} images, unseen "
              f"{len(unseen)}; D-eval questions with a paraphrase-group partner in D-train: {crossing}")
    print(f"# {measured_at()}")


if __name__ == "__main__":
    run(main)

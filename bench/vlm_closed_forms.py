"""How the assistant with a VLM answers the closed VQA-RAD questions that are not plain yes/no questions, on
*train* and train-dev only (never test): choice questions ("is this a solid or cystic lesion?"), questions whose gold
answer is yes/no but whose form `closed.is_yes_no` does not recognise ("any abnormal findings?", "is the brain
atrophied or shrunk?"), and the yes/no questions that ask only which modality/plane an image is (which a bundle with
`expert_yes_no` lets the radiology expert decide). Each is scored as `vmed eval` scores it (`closed_correct`).

    PYTHONPATH=. python bench/vlm_closed_forms.py --model vlm:default [--threads 2] [--out FILE]

The VLM was trained on the train questions, so its train answers are in-sample (they show behaviour, not skill);
the radiology heads were trained on these images too.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import threads  # noqa: E402

from visual_med_alpaca.closed import asked_classes, is_yes_no  # noqa: E402
from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_train_split  # noqa: E402
from visual_med_alpaca.eval.metrics.vqa import YES_NO, closed_correct, first_yes_no, normalize_answer  # noqa: E402
from visual_med_alpaca.paths import data_dir  # noqa: E402


def form(item) -> str | None:
    gold_yes_no = normalize_answer(item.reference) in YES_NO
    if not is_yes_no(item.question):
        return "yes/no gold, form not recognised" if gold_yes_no else "choice"
    if gold_yes_no and asked_classes(item.question) is not None:
        return "modality/plane only"
    return None


def names_an_option(question: str, answer: str) -> bool:
    """Whether the answer uses a content word from either side of the question's ' or '."""
    words = set(normalize_answer(question.replace(" vs. ", " or ").replace(" vs ", " or ")).split())
    said = set(normalize_answer(answer).split())
    return bool((said & words) - {"is", "the", "this", "a", "an", "or", "in", "of", "image", "on", "it", "there"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="vlm:default")
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--out", type=Path, default=None, help="per-question rows (JSONL)")
    args = parser.parse_args()
    from visual_med_alpaca.pipeline import Assistant

    train, dev = vqa_rad_train_split(data_dir())
    items = [(split, i, form(i)) for split, items in (("train", train), ("dev", dev)) for i in items
             if i.kind == "closed" and form(i)]
    assistant = Assistant.from_config(None, **{"llm.model": args.model, "llm.threads": args.threads,
                                               "generation.max_new_tokens": args.max_new_tokens,
                                               "generation.temperature": 0.0})
    table: dict[tuple[str, str], Counter] = {}
    rows = []
    for split, item, kind in items:
        answer = assistant.ask(item.question, item.image)
        right = closed_correct(answer.answer, item.reference)
        t = table.setdefault((kind, split), Counter())
        t["n"] += 1
        t["right"] += right
        t["yes/no first word"] += first_yes_no(answer.answer) is not None and normalize_answer(
            answer.answer).split()[:1] == [first_yes_no(answer.answer)]
        t["names an option"] += names_an_option(item.question, answer.answer)
        t["expert decided"] += answer.expert == "radiology" and is_yes_no(item.question)
        rows.append({"split": split, "form": kind, "id": item.id, "question": item.question,
                     "reference": item.reference, "answer": answer.answer, "right": right, "expert": answer.expert})
    print(f"model {args.model}; closed questions of VQA-RAD train (in-sample) and train-dev, by form")
    print("| form | split | n | right | answer starts with yes/no | names an option of 'A or B' | expert decided |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (kind, split), t in sorted(table.items()):
        print(f"| {kind} | {split} | {t['n']} | {t['right']:.0f} ({100 * t['right'] / t['n']:.0f}%) | "
              f"{t['yes/no first word']} | {t['names an option']} | {t['expert decided']} |")
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

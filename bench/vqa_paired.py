"""Two runs of `vmed eval` on the same VQA-RAD/PathVQA questions, compared question by question: closed accuracy
and open recall of each, their difference with a paired bootstrap interval (questions resampled; questions that
share an image are not independent, so the interval is optimistic), and how many questions got better or worse.

    python bench/vqa_paired.py BEFORE/predictions.jsonl AFTER/predictions.jsonl [--draws 2000]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from visual_med_alpaca.data.store import read_jsonl
from visual_med_alpaca.eval.metrics.vqa import closed_correct, open_recall


def scores(path: Path) -> dict[str, tuple[str, float]]:
    out = {}
    for r in read_jsonl(path):
        score = closed_correct if r["kind"] == "closed" else open_recall
        out[r["id"]] = (r["kind"], score(r["prediction"], r["reference"]))
    return out


def compare(a: dict[str, tuple[str, float]], b: dict[str, tuple[str, float]], draws: int = 2000) -> list[str]:
    """Closed accuracy and open recall of `a` and `b` (id -> (kind, score)), their paired difference with a
    bootstrap 95% interval, and how many questions got better or worse: one line per kind."""
    rng = random.Random(0)
    lines = []
    for kind, name in (("closed", "closed acc"), ("open", "open recall")):
        ids = sorted(i for i in a if a[i][0] == kind)
        diff = [b[i][1] - a[i][1] for i in ids]
        mean = lambda xs: 100 * sum(xs) / len(xs)  # noqa: E731
        boot = sorted(mean([diff[rng.randrange(len(diff))] for _ in diff]) for _ in range(draws))
        lo, hi = boot[int(0.025 * draws)], boot[int(0.975 * draws) - 1]
        lines.append(f"{name} ({len(ids)} q): {mean([a[i][1] for i in ids]):.2f} -> {mean([b[i][1] for i in ids]):.2f}, "
                     f"difference {mean(diff):+.2f} (95% {lo:+.1f} to {hi:+.1f}); "
                     f"{sum(d > 0 for d in diff)} better, {sum(d < 0 for d in diff)} worse")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--draws", type=int, default=2000)
    args = ap.parse_args()
    a, b = scores(args.before), scores(args.after)
    if a.keys() != b.keys():
        raise SystemExit("error: the two runs answered different questions")
    for line in compare(a, b, args.draws):
        print(line)


if __name__ == "__main__":
    main()

"""Round 9's adoption rule (bench/results/vlm_round9_rule.txt) applied to the runs' metrics.json: the shipped bundle S
and the case-memory candidates MA (use answer) and MP (use prompt), each on D-eval (train-dev-seen) and train-dev.

    python bench/vlm_round9_decide.py --runs runs/eval/r9-   # reads r9-{S,MA,MP}-{seen,dev}/metrics.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import run


def scores(path: Path) -> dict[str, float]:
    from visual_med_alpaca.errors import UserInputError

    if not path.is_file():
        raise UserInputError(f"{path} not found: run that evaluation first (or give --runs the folders' prefix)")
    result = json.loads(path.read_text())
    m = result["metrics"]
    closed, open_ = m["closed_accuracy"], m["open_recall"]  # already in points
    return {"closed": closed, "open": open_, "mean": (closed + open_) / 2, "n": result["n_scored"],
            "remembered": result.get("n_remembered", 0)}


def decide(runs: dict[str, dict[str, dict[str, float]]]) -> tuple[str | None, list[str]]:
    s_seen, s_dev = runs["S"]["seen"], runs["S"]["dev"]
    lines, passing = [], []
    for c in ("MA", "MP"):
        seen, dev = runs[c]["seen"], runs[c]["dev"]
        checks = {"a": seen["mean"] - s_seen["mean"] >= 3.0,
                  "b": seen["closed"] >= s_seen["closed"] - 2.5 and seen["open"] >= s_seen["open"] - 2.5,
                  "c": dev["mean"] >= s_dev["mean"] - 0.5}
        lines.append(f"{c}: D-eval mean {seen['mean']:.2f} ({seen['mean'] - s_seen['mean']:+.2f} vs S; closed "
                     f"{seen['closed'] - s_seen['closed']:+.2f}, open {seen['open'] - s_seen['open']:+.2f}); train-dev "
                     f"mean {dev['mean']:.2f} ({dev['mean'] - s_dev['mean']:+.2f}); "
                     + ", ".join(f"({k}) {'pass' if v else 'FAIL'}" for k, v in checks.items()))
        if all(checks.values()):
            passing.append(c)
    if not passing:
        return None, lines
    best = max(passing, key=lambda c: runs[c]["seen"]["mean"])
    if "MA" in passing and runs[best]["seen"]["mean"] - runs["MA"]["seen"]["mean"] <= 0.5:
        best = "MA"
    return best, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs/eval/r9-", help="prefix of the run folders")
    args = ap.parse_args()
    runs = {c: {split: scores(Path(f"{args.runs}{c}-{split}") / "metrics.json") for split in ("seen", "dev")}
            for c in ("S", "MA", "MP")}
    print("run        set        n  closed   open    mean  remembered")
    for c, by_set in runs.items():
        for split, r in by_set.items():
            name = "D-eval" if split == "seen" else "train-dev"
            print(f"{c:<10} {name:<9} {r['n']:3d} {r['closed']:7.2f} {r['open']:6.2f} {r['mean']:7.2f} {r['remembered']:5d}")
    chosen, lines = decide(runs)
    print("\n".join(lines))
    print(f"decision: {'adopt ' + chosen if chosen else 'nothing adopted'}")


if __name__ == "__main__":
    run(main)

"""Round 6 of the VLM (stage 2, longer): the pre-registered decision (bench/results/vlm_round6_rule.txt) applied to
train-dev runs of the shipped bundle and of the candidates, each made at yes_no_bias 0 (bundles exported with
`vmed train vlm -c configs/vlm-cpu-round6.yaml --export ...`).

    PYTHONPATH=. python bench/vlm_round6_decide.py --run shipped PRED LOSS --run step100 PRED LOSS ...

PRED: predictions.jsonl of `vmed eval vqa-rad --subset train-dev --model vlm:BUNDLE` (bias 0; yes/no records carry
option_logprobs). LOSS: the bundle's dev loss from `bench/vlm_dev_loss.py` (nats per answer token). The first
--run is the shipped bundle (the reference); the others are candidates. Only dev (held-out VQA-RAD train images)
enters; the yes/no bias of each model is chosen with dev's questions reweighted to train's yes-rate.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from _common import run
from vlm_yes_no_bias import accuracy, auc, best_bias, closed_accuracy, prior_weights, yes_no_records

from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_train_split
from visual_med_alpaca.data.store import read_jsonl
from visual_med_alpaca.eval.metrics.vqa import open_recall
from visual_med_alpaca.paths import data_dir

MIN_BIAS_GAIN = 2.0  # points of reweighted yes/no accuracy a bias must add over 0 to be used
MIN_MEAN_GAIN = 2.0  # points of mean(dev closed, dev open recall) a candidate must add over the shipped bundle


@functools.lru_cache(maxsize=None)
def train_yes_rate(root: Path) -> float:
    """Share of 'yes' among the yes/no answers of VQA-RAD train minus dev (what the VLM was trained on); read once
    per root (score_runs and the printed header both ask)."""
    answers = [i.reference.strip().lower() for i in vqa_rad_train_split(root)[0]]
    yes_no = [a for a in answers if a in ("yes", "no")]
    return sum(a == "yes" for a in yes_no) / len(yes_no)


def rule_bias(rows, yes_rate: float) -> tuple[float, float, float]:
    """(bias, reweighted accuracy at 0, at the best bias): the best bias under train's yes-rate, used only when it
    adds >= MIN_BIAS_GAIN points of reweighted accuracy over 0."""
    weights = prior_weights(rows, yes_rate)
    best = best_bias(rows, weights)
    at0, at_best = 100 * accuracy(rows, 0.0, weights), 100 * accuracy(rows, best, weights)
    return (best if at_best - at0 >= MIN_BIAS_GAIN else 0.0), at0, at_best


def score(name: str, path: Path, loss: float, yes_rate: float) -> dict:
    records = list(read_jsonl(path))
    rows = yes_no_records(path)
    bias, at0, at_best = rule_bias(rows, yes_rate)
    opened = [open_recall(r["prediction"], r["reference"]) for r in records if r["kind"] == "open"]
    closed = closed_accuracy(records, bias)
    recall = 100 * sum(opened) / len(opened)
    return {"name": name, "n": len(records), "yes_no": len(rows), "auc": auc(rows), "bias": bias, "w_at0": at0,
            "w_best": at_best, "closed0": closed_accuracy(records, 0.0), "closed": closed, "open": recall,
            "mean": (closed + recall) / 2, "loss": loss, "raw_best": best_bias(rows)}


def score_runs(specs: list[list[str]]) -> list[dict] | None:
    """score() of each (NAME, PREDICTIONS, DEV_LOSS) at train's yes-rate; None (after one error line) when the runs
    answered different questions."""
    yes_rate = train_yes_rate(data_dir())
    ids = [{r["id"] for r in read_jsonl(Path(path))} for _, path, _ in specs]
    if any(i != ids[0] for i in ids):
        print("error: the runs answered different questions", file=sys.stderr)
        return None
    return [score(name, Path(path), float(loss), yes_rate) for name, path, loss in specs]


def best_of(passing: list[dict], runs: list[dict]) -> dict | None:
    """The passing run with the best mean (ties: the one given first), None when none passes."""
    return max(passing, key=lambda r: (round(r["mean"], 6), -runs.index(r))) if passing else None


def print_decision(chosen: dict | None) -> None:
    if chosen:
        print(f"\nDECISION: adopt {chosen['name']} with yes_no_bias {chosen['bias']:.3f}; run VQA-RAD test once")
    else:
        print("\nDECISION: adopt nothing; the shipped bundle stays and VQA-RAD test is not run")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", nargs=3, action="append", required=True, metavar=("NAME", "PREDICTIONS", "DEV_LOSS"))
    args = ap.parse_args()
    if len(args.run) < 2:
        print("error: give the shipped bundle's run first, then at least one candidate", file=sys.stderr)
        return 2
    runs = score_runs(args.run)
    if runs is None:
        return 2
    ship = runs[0]
    print(f"train yes-rate (VQA-RAD train minus dev, yes/no answers): {100 * train_yes_rate(data_dir()):.1f}%; "
          "the dev yes/no questions are reweighted to it for the bias")
    print("| train-dev | yes/no AUC | bias by the rule | reweighted yes/no acc at 0 -> best | closed at 0 | "
          "closed at the rule's bias | open recall | mean | dev loss | adopt? |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    passing = []
    for run in runs:
        checks = ""
        if run is not ship:
            keeps = run["closed"] >= ship["closed"] or run["open"] >= ship["open"]
            gain = run["mean"] - ship["mean"] >= MIN_MEAN_GAIN
            loss = run["loss"] <= ship["loss"]
            checks = (f"not both fall: {'yes' if keeps else 'NO'}; mean +{MIN_MEAN_GAIN:g}: "
                      f"{'yes' if gain else 'NO'} ({run['mean'] - ship['mean']:+.2f}); dev loss not up: "
                      f"{'yes' if loss else 'NO'}")
            if keeps and gain and loss:
                passing.append(run)
        print(f"| {run['name']} | {run['auc']:.3f} | {run['bias']:+.3f} (best unweighted {run['raw_best']:+.3f}) | "
              f"{run['w_at0']:.2f} -> {run['w_best']:.2f} | {run['closed0']:.2f} | {run['closed']:.2f} | "
              f"{run['open']:.2f} | {run['mean']:.2f} | {run['loss']:.4f} | {checks or 'reference'} |")
    print_decision(best_of(passing, runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))

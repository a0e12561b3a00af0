"""Round 7 of the VLM (seen-image dev): the pre-registered decision (bench/results/vlm_round7_rule.txt) applied to
D-eval runs (`vmed eval vqa-rad --subset train-dev-seen`, bias 0) of the shipped bundle and of the candidates
trained with `configs/vlm-cpu-round7.yaml` (train-minus-dev + D-train), each model's yes/no bias chosen by round 6's
rule (`vlm_round6_decide.rule_bias`: D-eval's yes/no questions reweighted to train's yes-rate).

    PYTHONPATH=. python bench/vlm_round7_decide.py --run shipped PRED LOSS --run B100 PRED LOSS ... \\
        --held-out shipped 47.24 --held-out B100 44.30 ...

LOSS: D-eval loss (`bench/vlm_dev_loss.py configs/vlm-cpu-round7.yaml BUNDLE`). --held-out NAME MEAN: round 6's
image-held-out train-dev mean(closed at the rule's bias, open recall) of the same recipe at the same step without
D-train (docs/results/vlm-round6/decide.txt): the new candidates trained on every train-dev image, so no
image-held-out questions remain for them and round 6's run of the recipe stands in. The first --run is the shipped
bundle, the second the step-100 candidate (the reference of criterion a).
"""

from __future__ import annotations

import argparse
import sys

from _common import run
from vlm_round6_decide import best_of, print_decision, score_runs, train_yes_rate

from visual_med_alpaca.paths import data_dir

MIN_RISE = 3.0      # (a) D-eval mean at L minus at step 100
MIN_OVER_SHIP = 5.0  # (b) D-eval mean at L minus the shipped bundle's (which never saw D-eval's images)
MAX_HELD_OUT_FALL = 3.0  # (c) round 6's image-held-out train-dev mean of the recipe at L below the shipped bundle's


def decide(runs: list[dict], held_out: dict[str, float]) -> tuple[list[tuple[dict, list[str], bool]], dict | None]:
    """Each candidate after the step-100 one with its checks; the adopted one (best D-eval mean, ties fewer
    steps) or None. runs[0] = shipped, runs[1] = step 100."""
    ship, first = runs[0], runs[1]
    rows, passing = [], []
    for run in runs[1:]:
        if run is first:
            rows.append((run, ["reference of (a): cannot be adopted"], False))
            continue
        rise, over = run["mean"] - first["mean"], run["mean"] - ship["mean"]
        fall = held_out[ship["name"]] - held_out[run["name"]]
        checks = [(rise >= MIN_RISE, f"(a) rise from step 100 {rise:+.2f}"),
                  (over >= MIN_OVER_SHIP, f"(b) over shipped {over:+.2f}"),
                  (fall <= MAX_HELD_OUT_FALL, f"(c) held-out mean {held_out[run['name']]:.2f} vs "
                                                f"{held_out[ship['name']]:.2f}"),
                  (run["loss"] <= first["loss"], f"(d) D-eval loss {run['loss']:.4f} vs step 100 {first['loss']:.4f}")]
        ok = all(c for c, _ in checks)
        rows.append((run, [f"{t}: {'yes' if c else 'NO'}" for c, t in checks], ok))
        if ok:
            passing.append(run)
    return rows, best_of(passing, runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", nargs=3, action="append", required=True, metavar=("NAME", "PREDICTIONS", "DEV_LOSS"))
    ap.add_argument("--held-out", nargs=2, action="append", default=[], metavar=("NAME", "MEAN"))
    args = ap.parse_args()
    held_out = {name: float(mean) for name, mean in args.held_out}
    if len(args.run) < 3 or any(name not in held_out for name, _, _ in [args.run[0], *args.run[2:]]):
        print("error: give the shipped run, the step-100 run and at least one later candidate, and --held-out for "
              "the shipped bundle and every later candidate", file=sys.stderr)
        return 2
    runs = score_runs(args.run)
    if runs is None:
        return 2
    rows, chosen = decide(runs, held_out)
    print(f"D-eval: {runs[0]['n']} questions ({runs[0]['yes_no']} yes/no); train yes-rate "
          f"{100 * train_yes_rate(data_dir()):.1f}% "
          "(the bias rule reweights D-eval's yes/no questions to it)")
    print("| D-eval (seen images) | yes/no AUC | bias by the rule | closed at 0 | closed at the rule's bias | "
          "open recall | mean | D-eval loss | checks | adopt? |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for run, checks in [(runs[0], ["never saw D-eval's images: not a fair baseline"])] + [(r, c) for r, c, _ in rows]:
        verdict = "reference" if run is runs[0] else ("PASSES" if any(r is run and ok for r, _, ok in rows) else "no")
        print(f"| {run['name']} | {run['auc']:.3f} | {run['bias']:+.3f} | {run['closed0']:.2f} | {run['closed']:.2f} | "
              f"{run['open']:.2f} | {run['mean']:.2f} | {run['loss']:.4f} | {'; '.join(checks)} | {verdict} |")
    print_decision(chosen)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))

"""The VLM's yes/no decision: how its log-odds, log p(" yes") - log p(" no") after "Answer:", is distributed, and
which bias (log-odds added to "yes" before the decision; `yes_no_bias` in the bundle's vlm.json) a dev set supports.

    python bench/vlm_yes_no_bias.py DEV_PREDICTIONS [--apply B REPORT_PREDICTIONS ...]

DEV_PREDICTIONS: predictions.jsonl of `vmed eval vqa-rad --subset train-dev --model vlm:...` (the held-out VQA-RAD
train images; each yes/no record carries `option_logprobs`). The bias is chosen there only: the candidate with
the best dev accuracy, ties to the smallest |bias|; a 5-fold cross-validation on dev says whether choosing it
generalises. `--apply B FILE` scores another predictions file (e.g. the test set, once) at bias B.
"""

from __future__ import annotations

import argparse
import random
import statistics
from pathlib import Path

from visual_med_alpaca.data.store import read_jsonl


def yes_no_records(path: Path) -> list[tuple[float, bool]]:
    """(log-odds of yes, reference is yes) for the records decided by option log-likelihood."""
    rows = []
    for record in read_jsonl(path):
        scores = record.get("option_logprobs")
        reference = str(record["reference"]).strip().lower()
        if scores and reference in ("yes", "no"):
            rows.append((scores["yes"] - scores["no"], reference == "yes"))
    return rows


def accuracy(rows: list[tuple[float, bool]], bias: float, weights: tuple[float, float] = (1.0, 1.0)) -> float:
    """Share of rows decided right at bias; weights = (per yes-reference, per no-reference) question."""
    right = sum(weights[0 if is_yes else 1] for margin, is_yes in rows if (margin + bias >= 0) == is_yes)
    return right / max(sum(weights[0 if is_yes else 1] for _, is_yes in rows), 1e-9)


def prior_weights(rows: list[tuple[float, bool]], yes_rate: float) -> tuple[float, float]:
    """Question weights that give rows' yes-references the share yes_rate (e.g. train's), so a bias chosen with
    them does not learn the dev set's own lean towards one answer."""
    share = sum(is_yes for _, is_yes in rows) / len(rows)
    return yes_rate / share, (1 - yes_rate) / (1 - share)


def best_bias(rows: list[tuple[float, bool]], weights: tuple[float, float] = (1.0, 1.0)) -> float:
    """The bias with the best (weighted) accuracy on rows: every distinct decision is tried (midpoints between
    sorted log-odds, and beyond both ends); ties go to the smallest |bias|, so no evidence means no change."""
    cuts = sorted({-m for m, _ in rows})
    candidates = [0.0] + [(a + b) / 2 for a, b in zip(cuts, cuts[1:])] + ([cuts[0] - 1, cuts[-1] + 1] if cuts else [])
    return max(candidates, key=lambda b: (round(accuracy(rows, b, weights), 9), -abs(b)))


def closed_accuracy(records: list[dict], bias: float, run_bias: float = 0.0) -> float:
    """Closed accuracy of a run made at run_bias as if its yes/no decisions had been made at bias: a record with a
    yes/no reference whose answer is its option log-likelihood decision at run_bias answers yes iff its log-odds +
    bias >= 0; the others keep their answer (e.g. one the radiology expert decided: it still carries the model's
    option_logprobs). At bias == run_bias this is the run's own closed accuracy."""
    from visual_med_alpaca.eval.metrics.vqa import closed_correct, first_yes_no

    scores = []
    for r in records:
        if r["kind"] != "closed":
            continue
        answer, scored = r["prediction"], r.get("option_logprobs")
        if scored and str(r["reference"]).strip().lower() in ("yes", "no"):
            margin = scored["yes"] - scored["no"]
            if first_yes_no(answer) == ("yes" if margin + run_bias >= 0 else "no"):
                answer = "yes" if margin + bias >= 0 else "no"
        scores.append(closed_correct(answer, r["reference"]))
    return 100 * sum(scores) / max(len(scores), 1)


def auc(rows: list[tuple[float, bool]]) -> float:
    """Probability that a yes-question's log-odds exceed a no-question's (0.5 = no discrimination; ties count half):
    ROC AUC, by the package's one implementation (sklearn's roc_auc_score); nan without both kinds of reference."""
    from visual_med_alpaca.knowledge.rqe import auc as roc_auc

    labels = [is_yes for _, is_yes in rows]
    return roc_auc([m for m, _ in rows], labels) if len(set(labels)) == 2 else float("nan")


def cross_validated(rows: list[tuple[float, bool]], folds: int = 5, seed: int = 0) -> tuple[float, float]:
    """(accuracy at bias 0, accuracy with the bias chosen on the other folds), over held-out folds."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    plain = tuned = 0
    for k in range(folds):
        held = [rows[i] for i in order[k::folds]]
        rest = [rows[i] for i in order if i not in set(order[k::folds])]
        plain += accuracy(held, 0.0) * len(held)
        tuned += accuracy(held, best_bias(rest)) * len(held)
    return plain / len(rows), tuned / len(rows)


def describe(name: str, rows: list[tuple[float, bool]], bias: float) -> None:
    yes = [m for m, y in rows if y]
    no = [m for m, y in rows if not y]
    quart = lambda xs: " / ".join(f"{q:+.2f}" for q in statistics.quantiles(xs, n=4)) if len(xs) > 1 else "-"
    print(f"{name}: {len(rows)} yes/no questions decided by log-likelihood ({len(yes)} yes, {len(no)} no references)")
    print(f"  log-odds quartiles: yes-references {quart(yes)}; no-references {quart(no)}; AUC {auc(rows):.3f}")
    for b in dict.fromkeys([0.0, bias]):
        said_yes = sum(m + b >= 0 for m, _ in rows)
        print(f"  bias {b:+.3f}: accuracy {100 * accuracy(rows, b):.2f}% ({said_yes} answered yes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dev", type=Path)
    parser.add_argument("--apply", nargs=2, action="append", default=[], metavar=("BIAS", "PREDICTIONS"))
    args = parser.parse_args()
    dev = yes_no_records(args.dev)
    if not dev:
        raise SystemExit(f"error: {args.dev} holds no yes/no records with option_logprobs")
    chosen = best_bias(dev)
    describe(f"dev {args.dev}", dev, chosen)
    plain, tuned = cross_validated(dev)
    print(f"  5-fold cross-validation on dev: bias 0 {100 * plain:.2f}%, bias chosen on the other folds {100 * tuned:.2f}%")
    print(f"  chosen on dev: yes_no_bias = {chosen:.3f}")
    for bias, path in args.apply:
        rows = yes_no_records(Path(path))
        if rows:
            describe(f"applied to {path}", rows, float(bias))


if __name__ == "__main__":
    main()

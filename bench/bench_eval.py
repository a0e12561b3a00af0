"""Wall time of `vmed eval <benchmark>` one item at a time vs `--concurrency N` through the llama-server engine.

Each run writes to its own fresh folder; the table gives wall time (as `seconds_this_run` in metrics.json,
model load excluded), items/s, the headline metrics, and whether the predictions equal the first run's
(greedy decoding: they should, item for item).

    python bench/bench_eval.py --benchmark vqa-rad --concurrency 1,8
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import load_average, measured_at, run, threads  # noqa: E402

from visual_med_alpaca.eval.runner import PREDICTIONS, EvalConfig, Evaluator, read_predictions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="vqa-rad")
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--keep", type=Path, default=None,
                        help="a new folder that keeps each run's files (j<N>/predictions.jsonl, metrics.json)")
    args = parser.parse_args()
    if args.keep is not None and args.keep.exists():
        sys.exit(f"{args.keep} exists: --keep needs a new folder (a run there would resume, not measure)")

    rows, reference = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(c) for c in args.concurrency.split(",")]:
            out = (args.keep or Path(tmp)) / f"j{n}"
            config = EvalConfig.model_validate({
                "benchmark": args.benchmark, "limit": args.limit, "out": str(out), "concurrency": n,
                "data_dir": args.data_dir, "assistant": {"llm": {"model": "default", "threads": args.threads}}})
            load_before = load_average(one_minute=True)
            result = Evaluator(config, progress=True).run()
            load_after = load_average(one_minute=True)
            predictions = [(r["id"], r.get("prediction"), r.get("choice")) for r in read_predictions(out / PREDICTIONS)]
            reference = reference or predictions
            same = sum(a == b for a, b in zip(predictions, reference))
            headline = {k: v for k, v in result["metrics"].items() if isinstance(v, (int, float))}
            rows.append((n, result["n_scored"], result["seconds_this_run"], same, len(reference), headline,
                         load_before, load_after, result["model"]))

    print(f"\n{'concurrency':>11} {'items':>6} {'wall s':>8} {'items/s':>8} {'same as first':>14}  load before/after  metrics")
    for n, items, seconds, same, total, headline, before, after, model in rows:
        print(f"{n:>11} {items:>6} {seconds:>8.1f} {items / seconds:>8.2f} {f'{same}/{total}':>14}  "
              f"{before:>5} / {after:<5}      {headline}")
    for n, *_, model in rows:
        print(f"concurrency {n}: {model}")
    print(measured_at())


if __name__ == "__main__":
    run(main)

"""How long a VQA evaluation's generated answers are, and what a stop sequence would cut from them.

Reads a run's predictions.jsonl (`vmed eval vqa-rad ... --out DIR`), counts each generated answer's tokens with
the model's own tokenizer (GGUF vocabulary only, nothing generated), and for each candidate stop sequence gives
the answers it would end early, the tokens it removes and the metrics before and after: cutting an answer at a
stop keeps its leading text, so the metric change is exactly what the stop would do under greedy decoding.
With --other DIR (a run with the stop in place) it also counts the answers that equal this run's cut there.

    vmed eval vqa-rad --subset train-dev -j 8 --out runs/td_nostop --set 'assistant.generation.stop=[]'
    python bench/answer_lengths.py runs/td_nostop --stops '\\n\\n' '\\n' '\\n#' [--other runs/td_stop]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from visual_med_alpaca.eval.metrics.vqa import closed_correct, open_recall, token_f1, vqa_metrics  # noqa: E402

FIXED = "No finding of that kind is reported"  # the closed answer given without the model


def _score(record: dict) -> tuple[float, float]:
    """The item's own metric (closed: correct or not; open: recall), then its token F1."""
    own = closed_correct if record["kind"] == "closed" else open_recall
    return own(record["prediction"], record["reference"]), token_f1(record["prediction"], record["reference"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="folder with predictions.jsonl (a run without the stop)")
    parser.add_argument("--stops", nargs="+", default=["\\n\\n"], help="candidate stops (\\n escapes understood)")
    parser.add_argument("--other", type=Path, default=None, help="a run with the first stop in place")
    parser.add_argument("--model", default="default", help="GGUF whose tokenizer counts the tokens")
    parser.add_argument("--budget", type=int, default=32, help="max_new_tokens of the run")
    args = parser.parse_args()
    stops = [s.encode().decode("unicode_escape") for s in args.stops]

    import llama_cpp

    from visual_med_alpaca.config import LLMConfig
    from visual_med_alpaca.llm.engine import gguf_model_path

    vocab = llama_cpp.Llama(str(gguf_model_path(LLMConfig(model=args.model))[0]), vocab_only=True, verbose=False)

    def n_tokens(text: str) -> int:
        return len(vocab.tokenize(text.encode(), add_bos=False, special=False))

    records = [json.loads(line) for line in (args.run / "predictions.jsonl").open()]
    generated = [r for r in records if r["kind"] == "open" or not r["prediction"].startswith(FIXED)]
    lengths = [n_tokens(r["prediction"]) for r in generated]
    opened = [n for n, r in zip(lengths, generated) if r["kind"] == "open"]
    print(f"{len(records)} items, {len(generated)} answers generated ({len(opened)} open)")
    print(f"open answers: mean {sum(opened) / len(opened):.1f} tokens; at least {args.budget - 2} (the budget, "
          f"{args.budget}, used up): {sum(n >= args.budget - 2 for n in opened)}; under 20: {sum(n < 20 for n in opened)}")
    print("open answers by tokens (bins of 5):", dict(sorted(Counter(n // 5 * 5 for n in opened).items())))
    before = vqa_metrics(records)
    print(f"metrics as run: closed {before['closed_accuracy']}, open recall {before['open_recall']}, "
          f"token F1 {before['token_f1']}")
    print("| stop | answers it ends early | tokens removed (of generated) | closed acc. | open recall | token F1 |"
          " answers whose metric or F1 drops |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for stop in stops:
        cut = [{**r, "prediction": r["prediction"].split(stop)[0].rstrip()} for r in records]
        after = vqa_metrics(cut)
        ended = sum(stop in r["prediction"] for r in generated)
        removed = sum(n_tokens(r["prediction"]) - n_tokens(c["prediction"]) for r, c in zip(records, cut)
                      if r in generated)
        drops = sum(_score(c) < _score(r) for r, c in zip(records, cut))
        print(f"| {stop!r} | {ended} | {removed} of {sum(lengths)} | {after['closed_accuracy']} | "
              f"{after['open_recall']} | {after['token_f1']} | {drops} |")
    if args.other:
        other = {r["id"]: r["prediction"] for r in map(json.loads, (args.other / "predictions.jsonl").open())}
        same = sum(other.get(r["id"]) == r["prediction"].split(stops[0])[0].rstrip() for r in generated)
        print(f"--other: {same} of {len(generated)} generated answers equal this run's cut at {stops[0]!r}; "
              f"{sum(stops[0] in other.get(r['id'], '') for r in generated)} contain it")


if __name__ == "__main__":
    main()

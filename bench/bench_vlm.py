"""Answer speed of the VLM through the assistant (the path `vmed ask --model vlm:default` takes).

    python bench/bench_vlm.py [--model vlm:default] [--runs 5] [--threads 2]

Prints: model load time, then per question (open and yes/no, on examples/ct_slice.png) the median time to first
token, total time and image-encoding time over --runs runs after one warm-up, and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

from _common import threads  # noqa: E402

from visual_med_alpaca.pipeline import Assistant  # noqa: E402

IMAGE = Path(__file__).resolve().parents[1] / "examples" / "ct_slice.png"
QUESTIONS = {"open": "What organ system is shown?", "yes/no": "Is there a fracture?"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="vlm:default")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=threads, default=2)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    assistant = Assistant.from_config(None, **{"llm.model": args.model, "generation.max_new_tokens": 32})
    assistant.llm
    load_s = time.perf_counter() - start
    rows = [("model", assistant.llm.name), ("load model (s, once per process)", f"{load_s:.2f}")]
    for kind, question in QUESTIONS.items():
        assistant.ask(question, IMAGE)  # warm-up
        answers = [assistant.ask(question, IMAGE) for _ in range(args.runs)]
        first = statistics.median(a.timings["first_token_s"] for a in answers)
        total = statistics.median(a.timings["total_s"] for a in answers)
        encode = statistics.median(a.timings.get("encode_image_s", 0.0) for a in answers)
        rows += [(f"{kind}: time to first token (s, goal <= 1.5)", f"{first:.3f}"),
                 (f"{kind}: total (s)", f"{total:.3f}"), (f"{kind}: image encoding (s)", f"{encode:.3f}"),
                 (f"{kind}: answer", answers[-1].answer[:60])]
    rows.append(("peak RSS (MiB)", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}, "
          f"load average {os.getloadavg()[0]:.2f}, median of {args.runs} runs after a warm-up")
    width = max(len(k) for k, _ in rows)
    print(f"| {'measure':<{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for key, value in rows:
        print(f"| {key:<{width}} | {value} |")


if __name__ == "__main__":
    main()

"""Pipeline overhead of `vmed ask` on the default model versus raw llama.cpp, in one process.

    python bench/bench_ask.py [--runs 5] [--max-new-tokens 128]

Prints: raw llama.cpp tokens/s on a fixed prompt, the same prompt through the Assistant (ratio, goal >= 0.95),
time to first token with and without an image, and peak RSS. Greedy decoding, so both produce the same text.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

from visual_med_alpaca.config import GenerationSettings  # noqa: E402
from visual_med_alpaca.pipeline import Assistant  # noqa: E402
from visual_med_alpaca.prompts import STOP_SEQUENCES, build_prompt  # noqa: E402

QUESTION = "Explain how type 2 diabetes is diagnosed and treated."
IMAGE = Path(__file__).resolve().parents[1] / "examples" / "bar_chart.png"


def raw_run(llama, prompt: str, settings: GenerationSettings) -> tuple[str, float]:
    llama.reset()  # as the gguf backend does: no prompt-cache reuse
    start = time.perf_counter()
    text = "".join(
        chunk["choices"][0]["text"]
        for chunk in llama.create_completion(
            prompt, max_tokens=settings.max_new_tokens, temperature=0.0, top_p=settings.top_p, top_k=settings.top_k,
            repeat_penalty=settings.repetition_penalty, seed=settings.seed, stop=list(STOP_SEQUENCES), stream=True,
        )
    )
    return text, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--adapter", default="none", help="'none' (base model, the default) or 'medical' (the shipped adapter)")
    args = parser.parse_args()

    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, stop_on_repeat=False)
    assistant = Assistant.from_config(None, **{"llm.adapter": args.adapter})
    llm = assistant.llm  # loads once
    prompt = build_prompt(QUESTION)

    raw_text, _ = raw_run(llm.llama, prompt, settings)  # warm-up
    assistant.ask(QUESTION, settings=settings)
    assistant.describe(IMAGE)  # warm the router and expert

    raw_times, pipe_times, ttft_text, ttft_image = [], [], [], []
    for _ in range(args.runs):
        text, seconds = raw_run(llm.llama, prompt, settings)
        raw_times.append(seconds)
        start = time.perf_counter()
        answer = assistant.ask(QUESTION, settings=settings)
        pipe_times.append(time.perf_counter() - start)
        ttft_text.append(answer.timings["first_token_s"])
        ttft_image.append(assistant.ask("How effective is this treatment on papule?", IMAGE,
                                        settings=settings.model_copy(update={"max_new_tokens": 8})).timings["first_token_s"])
    tokens = llm.count_tokens(raw_text, special=False)  # the text alone, no BOS
    same = answer.answer == raw_text.strip()
    raw_tps = tokens / statistics.median(raw_times)
    pipe_tps = tokens / statistics.median(pipe_times)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"machine: {platform.processor() or platform.machine()}, model: {llm.name}, "
          f"{tokens} generated tokens, median of {args.runs} runs, identical text: {same}")
    print(f"| {'measure':<42} | {'value':>10} |")
    print(f"|{'-' * 44}|{'-' * 12}|")
    rows = [
        ("raw llama.cpp tokens/s", f"{raw_tps:.1f}"),
        ("vmed ask pipeline tokens/s", f"{pipe_tps:.1f}"),
        ("ratio pipeline / raw (goal >= 0.95)", f"{pipe_tps / raw_tps:.3f}"),
        ("time to first token, no image (s)", f"{statistics.median(ttft_text):.3f}"),
        (f"time to first token, with {IMAGE.name} (s)", f"{statistics.median(ttft_image):.3f}"),
        ("expert on the image", assistant.describe(IMAGE).expert),
        ("peak RSS (MiB)", f"{peak_mib:.0f}"),
    ]
    for name, value in rows:
        print(f"| {name:<42} | {value:>10} |")


if __name__ == "__main__":
    main()

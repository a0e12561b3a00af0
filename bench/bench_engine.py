"""Raw decode speed: llama-cpp-python in-process vs the llama-server engine, one stream and K streams at once.

Same GGUF (the embedded Gemma-3-270M unless --model), same threads, greedy, end-of-text ignored so every
stream decodes exactly --tokens tokens. Decode tok/s = (tokens - 1) / (time of last token - time of first
token), measured by the client; for K streams the aggregate is K x tokens over the wall time of the batch.
The in-process single stream is the "raw llama.cpp" reference of the serving goal (vmed serve's 1-client
decode tok/s, from bench_serve.py, must be >= 0.95x of it).

    python bench/bench_engine.py --tokens 128 --streams 1,2,4,8 --threads 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import load_average, measured_at, run, threads  # noqa: E402

from visual_med_alpaca.config import LLMConfig  # noqa: E402
from visual_med_alpaca.llm.engine import EngineConfig, gguf_model_path, open_engine  # noqa: E402
from visual_med_alpaca.prompts import build_prompt  # noqa: E402

QUESTIONS = ["What are the chemicals that treat hair loss?", "How effective is this treatment on papule?",
             "What is the normal range of systolic blood pressure?", "What causes type 2 diabetes?",
             "Is aspirin used to treat pain?", "What does a chest X-ray show in pneumonia?",
             "How is asthma treated?", "What is a normal resting heart rate?"]


def in_process(model: Path, threads: int, tokens: int, repeats: int) -> list[float]:
    from llama_cpp import Llama

    llama = Llama(model_path=str(model), n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False)
    eos = llama.token_eos()
    rates = []
    for i in range(repeats):
        llama.reset()
        times = []
        for _ in llama.create_completion(build_prompt(QUESTIONS[i % len(QUESTIONS)]), max_tokens=tokens,
                                         temperature=0.0, stream=True, logit_bias={eos: -1e9}):
            times.append(time.perf_counter())
        rates.append((len(times) - 1) / (times[-1] - times[0]))
    return rates


def one_stream(root: str, question: str, tokens: int) -> tuple[int, float, float, float]:
    """(tokens, first-token time, last-token time, the server's own predicted_per_second)."""
    body = {"prompt": build_prompt(question), "n_predict": tokens, "temperature": 0.0, "ignore_eos": True,
            "stream": True, "cache_prompt": False}
    times, server_rate = [], float("nan")
    with httpx.stream("POST", root + "/completion", json=body, timeout=600) as response:
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            chunk = json.loads(line[6:])
            if chunk.get("content"):
                times.append(time.perf_counter())
            if chunk.get("stop") and "timings" in chunk:
                server_rate = chunk["timings"]["predicted_per_second"]
    return len(times), times[0], times[-1], server_rate


def engine_streams(root: str, k: int, tokens: int, repeats: int) -> tuple[list[float], list[float], list[float]]:
    """Per-stream decode tok/s, aggregate tok/s of the batch, and the server's own per-stream rate."""
    per_stream, aggregate, server = [], [], []
    for r in range(repeats):
        with ThreadPoolExecutor(k) as pool:
            results = list(pool.map(lambda i: one_stream(root, QUESTIONS[(r + i) % len(QUESTIONS)], tokens), range(k)))
        per_stream += [(n - 1) / (last - first) for n, first, last, _ in results]
        server += [rate for *_, rate in results]
        start = min(first for _, first, _, _ in results)
        end = max(last for _, _, last, _ in results)
        aggregate.append(sum(n - 1 for n, *_ in results) / (end - start))
    return per_stream, aggregate, server


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--streams", default="1,2,4,8", help="concurrent streams on the engine, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    llm = LLMConfig(model=args.model, threads=args.threads)
    model, _, label = gguf_model_path(llm)
    ks = [int(k) for k in args.streams.split(",")]
    load_before = load_average(one_minute=True)
    raw = median(in_process(model, args.threads, args.tokens, args.repeats))
    rows = [("in-process llama-cpp-python", 1, raw, raw, float("nan"))]
    with open_engine(EngineConfig(kind="llama-server", parallel=max(ks)), llm) as engine:
        root = engine.model.root
        one_stream(root, QUESTIONS[0], 8)  # warm up
        for k in ks:
            per_stream, aggregate, server = engine_streams(root, k, args.tokens, args.repeats)
            rows.append((f"llama-server, {k} stream(s)", k, median(per_stream), median(aggregate), median(server)))
    load_after = load_average(one_minute=True)

    print(f"\nmodel: {label}; threads {args.threads}; {args.tokens} tokens per stream; median of {args.repeats}")
    print(f"{'path':<32} {'streams':>7} {'tok/s per stream':>16} {'aggregate tok/s':>15} {'x raw':>6} "
          f"{'server-reported':>15}")
    for name, k, stream_rate, aggregate, server in rows:
        print(f"{name:<32} {k:>7} {stream_rate:>16.1f} {aggregate:>15.1f} {aggregate / raw:>6.2f} {server:>15.1f}")
    print(f"1-min load average before / after: {load_before} / {load_after}; {measured_at()}")


if __name__ == "__main__":
    run(main)

"""Throughput of `vmed data synthesize` against a local llama-cpp-python server with the embedded Gemma.

Starts the server, answers a seeded sample of questions with a fresh cache (every item is a real request),
prints one table. Usage:
    PYTHONPATH=. python bench/bench_synthesize.py --questions runs/data/questions.jsonl --n 200
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

from _common import free_port, threads  # noqa: E402

from visual_med_alpaca.data.config import SynthesizeConfig  # noqa: E402
from visual_med_alpaca.data.synthesize import synthesize  # noqa: E402
from visual_med_alpaca.llm.default_model import default_gguf_path  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=Path, default=Path("runs/data/questions.jsonl"))
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--out", type=Path, default=None, help="keep the answers here (default: a temp dir)")
    args = parser.parse_args()

    port = free_port()
    log = open(Path(tempfile.gettempdir()) / "bench_synthesize_server.log", "ab")
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(default_gguf_path()), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--n_threads", str(args.threads), "--model_alias", "gemma"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base_url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.5)
        workdir = args.out or Path(tempfile.mkdtemp(prefix="bench_synth_"))
        config = SynthesizeConfig(base_url=base_url, model="gemma", max_tokens=args.max_tokens, temperature=0.7,
                                  concurrency=args.concurrency, sample=args.n, seed=0, regenerate=True)
        report = synthesize(args.questions, workdir / "synthesized.jsonl", config,
                            cache_path=workdir / "synth_cache.sqlite")
    finally:
        server.terminate()
        server.wait(10)
    r = report.to_dict()
    rows = [("items answered", r["generated"]), ("wall seconds", f"{r['seconds']:.1f}"),
            ("items/s", f"{r['items_per_s']:.3f}"), ("prompt tokens", r["prompt_tokens"]),
            ("completion tokens", r["completion_tokens"]), ("completion tokens/s", f"{r['tokens_per_s']:.1f}"),
            ("(prompt+completion) tokens/s", f"{(r['prompt_tokens'] + r['completion_tokens']) / r['seconds']:.1f}"),
            ("retries", r["retries"]), ("failed", r["failed"])]
    print(f"\nsynthesize: {args.n} sampled questions, max_tokens {args.max_tokens}, concurrency {args.concurrency}, "
          f"server threads {args.threads}")
    print("| metric | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(json.dumps(r))


if __name__ == "__main__":
    main()

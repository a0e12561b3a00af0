"""Load test for `vmed serve`: N concurrent streaming clients for a bounded time, then a table.

Starts `vmed serve` on 127.0.0.1 (the embedded default GGUF unless told otherwise; generation through
the llama-server engine when it is built, see --engine) or uses --url. Each client sends streamed chat
completions in a loop and backs off briefly on HTTP 429. `--images` sets the request mix: `mixed` (the
default: every second request carries `--image`, the bundled bar chart unless told otherwise), `all` (every
request carries it) or `none` (text only). The image's expert runs one image at a time in the server (the
chart expert takes seconds per image), so a mix with the bar chart measures that expert as much as
generation. Text questions meet the knowledge stage, which answers some of them from MedQuAD without the
language model: `--set assistant.knowledge.enabled=false` (passed on to `vmed serve`) makes every request
generate. Reports completed requests/s, generated tokens/s (the usage counts), how many answers came without
the language model, latency and time-to-first-token percentiles, 429s, other 4xx, 5xx and transport errors.
Goal: 0 errors, 0 5xx, every request answered or cleanly 429.
`--clients 1,8` runs the phases one after the other against the same server and prints one column each.

    python bench/bench_serve.py --clients 16 --duration 60 --max-tokens 16
    python bench/bench_serve.py --clients 1,8 --duration 30 --max-tokens 64 --engine llama-server --parallel 8
    python bench/bench_serve.py --clients 1,8 --images none --set assistant.knowledge.enabled=false
    python bench/bench_serve.py --clients 1,8 --images mixed --image examples/ct_slice.png
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _common import free_port, load_average, run, threads

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = ["What are the chemicals that treat hair loss?", "How effective is this treatment on papule?",
             "What is the normal range of systolic blood pressure?", "What does this chart show?"]


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    first_tokens: list[float] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    decode_rates: list[float] = field(default_factory=list)  # completion tokens/s after the first token
    completion_tokens: int = 0  # of answered requests, as the usage chunks count them
    without_llm: int = 0  # answered with an empty prompt: the knowledge stage's own answer, no generation

    def count(self, key: str) -> None:
        self.status[key] = self.status.get(key, 0) + 1


async def one_request(client: httpx.AsyncClient, url: str, body: dict, stats: Stats) -> bool | float:
    """Send one streamed request: True when answered (200 with [DONE]), a 429's Retry-After, or False."""
    start = time.perf_counter()
    first = None
    tokens = None
    generated = True
    try:
        async with client.stream("POST", url, json=body) as response:
            if response.status_code != 200:
                await response.aread()
                stats.count(str(response.status_code))
                if response.status_code != 429:
                    stats.failures.append(f"{response.status_code}: {response.text[:200]}")
                    return False
                return float(response.headers.get("retry-after", 0)) or False
            done = False
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    done = True
                    break
                chunk = json.loads(data)
                extension = chunk.get("x_visual_med_alpaca")
                if extension is not None:
                    generated = bool(extension.get("prompt"))
                if chunk.get("usage"):
                    tokens = chunk["usage"]["completion_tokens"]
                if "error" in chunk:
                    stats.count("stream-error")
                    stats.failures.append(f"stream error: {chunk['error']['message']}")
                    return False
                if first is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                    first = time.perf_counter() - start
    except httpx.HTTPError as exc:
        stats.count("transport-error")
        stats.failures.append(f"{type(exc).__name__}: {exc}")
        return False
    if not done:
        stats.count("incomplete")
        return False
    stats.count("200")
    stats.completion_tokens += tokens or 0
    stats.without_llm += not generated
    latency = time.perf_counter() - start
    stats.latencies.append(latency)
    if first is not None:
        stats.first_tokens.append(first)
        if tokens and tokens > 8 and latency > first:
            stats.decode_rates.append((tokens - 1) / (latency - first))
    return True


async def client_loop(index: int, url: str, stop_at: float, args, image_url: str, stats: Stats) -> None:
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    async with httpx.AsyncClient(timeout=args.timeout, headers=headers) as client:
        n = 0
        while time.monotonic() < stop_at or n == 0:
            question = QUESTIONS[(index + n) % len(QUESTIONS)]
            content: list[dict] = [{"type": "text", "text": question}]
            if args.images == "all" or args.images == "mixed" and (index + n) % 2 == 0:
                content.append({"type": "image_url", "image_url": {"url": image_url}})
            body = {"model": args.model_name, "stream": True, "max_tokens": args.max_tokens, "seed": n,
                    "stream_options": {"include_usage": True},
                    "messages": [{"role": "user", "content": content}]}
            outcome = await one_request(client, url, body, stats)
            n += 1
            if outcome is not True:
                await asyncio.sleep(max(args.backoff, outcome or 0.0))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def run_phase(args, base: str, clients: int, warmup: bool = False) -> tuple[Stats, float]:
    image = args.image.read_bytes()
    image_url = "data:image/png;base64," + base64.b64encode(image).decode()
    stats = Stats()
    start = time.monotonic()
    stop_at = start + (0.0 if warmup else args.duration)  # warm-up: each client sends one request
    await asyncio.gather(*(client_loop(i, base + "/v1/chat/completions", stop_at, args, image_url, stats)
                           for i in range(clients)))
    return stats, time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="16", help="concurrent clients; a list such as 1,8 runs phases in turn")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds during which clients send requests")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--max-queue", type=int, default=8, help="server queue slots (when this script starts it)")
    parser.add_argument("--threads", type=threads, default=None, help="llama.cpp threads of the server it starts")
    parser.add_argument("--model", default="default", help="model of the server it starts")
    parser.add_argument("--engine", default=None, help="auto | llama-server | none (the server it starts)")
    parser.add_argument("--parallel", type=int, default=None, help="engine slots of the server it starts")
    parser.add_argument("--images", choices=("mixed", "all", "none"), default="mixed",
                        help="which requests carry --image: every second one (mixed), all, or none (text only)")
    parser.add_argument("--image", type=Path, default=REPO / "examples" / "bar_chart.png")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="passed on to the `vmed serve` it starts, e.g. assistant.knowledge.enabled=false")
    parser.add_argument("--url", default=None, help="use a running server (e.g. http://127.0.0.1:8000) instead")
    parser.add_argument("--model-name", default="visual-med-alpaca")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--backoff", type=float, default=0.5, help="least seconds a client waits after a refusal (429s also send Retry-After)")
    parser.add_argument("--timeout", type=float, default=180.0, help="client-side timeout per request")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    if not args.image.is_file():  # before a server is started, not a traceback from the first phase
        from visual_med_alpaca.errors import UserInputError

        raise UserInputError(f"--image {args.image} not found")

    server = None
    base = args.url
    if base is None:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "visual_med_alpaca.cli", "serve", "--port", str(port), "--model", args.model,
                   "--max-queue", str(args.max_queue), "--max-tokens", str(max(args.max_tokens, 16)),
                   "--log-level", "warning"]
        if args.threads:
            command += ["--threads", str(args.threads)]
        if args.engine:
            command += ["--engine", args.engine]
        if args.parallel:
            command += ["--parallel", str(args.parallel)]
        for item in args.sets:
            command += ["--set", item]
        server = subprocess.Popen(command, cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(base + "/healthz", timeout=2).json()
                break
            except (httpx.HTTPError, ValueError):
                if server is not None and server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("the server did not start")
                time.sleep(0.3)
        asyncio.run(run_phase(args, base, 2, warmup=True))  # loads the router and experts: not counted
        phases = []
        for clients in [int(c) for c in str(args.clients).split(",")]:
            load_before = load_average(one_minute=True)
            stats, elapsed = asyncio.run(run_phase(args, base, clients))
            phases.append((clients, stats, elapsed, load_before, load_average(one_minute=True)))
    finally:
        if server is not None:
            server.terminate()
            server.wait(15)

    columns = [summarize(args, clients, stats, elapsed, before, after) for clients, stats, elapsed, before, after in phases]
    keys = list(columns[0])
    width = max(len(k) for k in keys)
    print(f"\nmodel: {health['llm']}; server queue slots {health['max_queue']}, concurrency {health.get('concurrency', 1)}; "
          f"images: {args.images}" + (f" ({args.image.name})" if args.images != "none" else "")
          + "".join(f"; --set {item}" for item in args.sets))
    print(f"{'metric':<{width}}  " + "  ".join(f"{c['clients / duration / max_tokens']:>24}" for c in columns))
    print(f"{'-' * width}  " + "  ".join("-" * 24 for _ in columns))
    for key in keys[1:]:
        print(f"{key:<{width}}  " + "  ".join(f"{c[key]:>24}" for c in columns))
    if len(phases) > 1:
        rates = [ok_rate(stats, elapsed) for _, stats, elapsed, _, _ in phases]
        print(f"answered req/s, last phase / first phase: {rates[-1] / rates[0]:.2f}x" if rates[0] else "")
    failed = False
    for _, stats, *_ in phases:
        for failure in stats.failures[:10]:
            print("failure:", failure)
        failed = failed or any(k[0] == "5" or not k[0].isdigit() or (k[0] == "4" and k != "429") for k in stats.status)
    if args.json_out:
        args.json_out.write_text(json.dumps({"llm": health["llm"], "images": args.images, "image": args.image.name,
                                             "sets": args.sets, "phases": columns}, indent=2))
    sys.exit(1 if failed else 0)


def ok_rate(stats: Stats, elapsed: float) -> float:
    return stats.status.get("200", 0) / elapsed


def summarize(args, clients: int, stats: Stats, elapsed: float, load_before: str, load_after: str) -> dict[str, str]:
    ok = stats.status.get("200", 0)
    fivexx = sum(v for k, v in stats.status.items() if k.startswith("5"))
    other4xx = sum(v for k, v in stats.status.items() if k.startswith("4") and k != "429")
    errors = sum(v for k, v in stats.status.items() if not k[0].isdigit())
    return {
        "clients / duration / max_tokens": f"{clients} / {args.duration:g} s / {args.max_tokens}",
        "wall time (until the last answer)": f"{elapsed:.1f} s",
        "answered (200, [DONE])": str(ok),
        "answered requests/s": f"{ok / elapsed:.2f}",
        "answered without the LLM (knowledge)": str(stats.without_llm),
        "completion tokens/s (usage, answered)": f"{stats.completion_tokens / elapsed:.1f}",
        "latency p50 / p95": f"{percentile(stats.latencies, 50):.2f} / {percentile(stats.latencies, 95):.2f} s",
        "first token p50 / p95": f"{percentile(stats.first_tokens, 50):.2f} / {percentile(stats.first_tokens, 95):.2f} s",
        "decode tok/s per request p50": f"{percentile(stats.decode_rates, 50):.1f}",
        "429 (queue full, retried)": str(stats.status.get("429", 0)),
        "other 4xx": str(other4xx),
        "5xx": str(fivexx),
        "errors (transport/stream/incomplete)": str(errors),
        "1-min load before / after": f"{load_before} / {load_after}",
    }


if __name__ == "__main__":
    run(main)

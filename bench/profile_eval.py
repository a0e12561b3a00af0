"""Where `vmed eval` spends its time: a sampling profile of every thread, and the CPU of each process.

Runs one evaluation (a fresh output folder) while a sampler thread records, every `--interval` seconds, the
innermost frame of every other thread that lies in this package (or the first frame outside it that the
package called, e.g. llama_cpp or onnxruntime), and how much CPU this process and llama-server used. Prints the
top stacks per thread group, so the slow stage is named even when N items run at a time (cProfile sees only
the main thread).

    python bench/profile_eval.py --benchmark vqa-rad --limit 40 --concurrency 1
    python bench/profile_eval.py --benchmark vqa-rad --limit 40 --concurrency 8
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import load_average, measured_at, run, threads  # noqa: E402

from visual_med_alpaca.eval.runner import EvalConfig, Evaluator  # noqa: E402

PACKAGE = str(REPO / "visual_med_alpaca")


def where(frame) -> str:
    """'package function <- callee outside the package' for the innermost package frame of a stack."""
    outside = None
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(PACKAGE):
            name = f"{Path(path).stem}.{frame.f_code.co_name}"
            return f"{name} -> {outside}" if outside else name
        outside = f"{Path(path).parent.name}/{Path(path).stem}.{frame.f_code.co_name}"
        frame = frame.f_back
    return f"(outside the package) {outside}"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def engine_pids() -> list[int]:
    """This process's llama-server children (a scan of /proc: about 5 ms of CPU, so the sampler does it rarely)."""
    mine = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if "(llama-server" in stat and int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                mine.append(int(entry.name))
    return mine


def thread_cpu() -> dict[int, float]:
    """CPU seconds of every thread of this process, by kernel thread id (Python and native threads alike)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def engine_metrics(root: str) -> dict[str, float]:
    """llama-server's counters (/metrics, Prometheus text): prompt tokens processed and taken from the cache."""
    import httpx

    values = {}
    for line in httpx.get(f"{root}/metrics", timeout=10.0).text.splitlines():
        if line.startswith("llamacpp:"):
            name, value = line.split()
            values[name.removeprefix("llamacpp:")] = float(value)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="vqa-rad")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--threads", type=threads, default=2, help="llama.cpp threads (in-process scorer and engine)")
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--no-describe-cache", action="store_true",
                        help="describe every item's image again (as before the run's cache); concurrency 1 only")
    parser.add_argument("--out", type=Path, default=None,
                        help="a new folder for the run's files (predictions.jsonl, metrics.json); default a temporary one")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. assistant.knowledge.enabled=false")
    args = parser.parse_args()

    samples: Counter = Counter()
    per_group: Counter = Counter()
    stop = threading.Event()
    engine_cpu: dict[int, float] = {}
    thread_seconds: dict[int, float] = {}  # CPU of every thread of this process, last seen
    thread_label: dict[int, str] = {}  # a Python thread's group, or where a native thread was born
    metrics: dict[str, float] = {}

    def sample() -> None:
        me = threading.get_ident()
        thread_label[threading.get_native_id()] = "(this profiler's sampler)"
        pids: list[int] = []
        next_scan = next_cpu = 0.0
        while not stop.wait(args.interval):
            groups = {t.ident: t.name.rsplit("_", 1)[0].rsplit("-", 1)[0] for t in threading.enumerate()}
            busy = set()
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                group = groups.get(ident, "?")
                stage = where(frame)
                if "threading.wait" in stage or stage.startswith("(outside the package)"):
                    continue  # idle threads (pools, watchers, tqdm)
                samples[(group, stage)] += 1
                per_group[group] += 1
                busy.add(stage.split(" -> ")[0])
            now = time.monotonic()
            if now >= next_cpu:  # per-thread CPU, twice a second (cheap: one small file per thread)
                next_cpu = now + 0.5
                native = {t.native_id: t.name.rsplit("_", 1)[0].rsplit("-", 1)[0] for t in threading.enumerate()}
                for tid, seconds in thread_cpu().items():
                    if tid not in thread_label:
                        thread_label[tid] = (native[tid] if tid in native else
                                             "native, born in " + (", ".join(sorted(busy)) or "(nothing sampled)"))
                    thread_seconds[tid] = seconds
                if now >= next_scan or not pids:  # scanning /proc costs ~5 ms: every 2 s, not every tick
                    next_scan = now + 2.0
                    pids = engine_pids()
                for pid in pids:
                    try:
                        engine_cpu[pid] = cpu_seconds(pid)
                    except OSError:
                        pass

    import visual_med_alpaca.llm.engine as engine_module

    close = engine_module.Engine.close

    def close_after_reading_metrics(self):
        if self.server is not None:
            try:
                metrics.update(engine_metrics(f"http://{self.server.host}:{self.server.port}"))
                for pid in engine_pids():
                    engine_cpu[pid] = cpu_seconds(pid)
            except Exception as exc:  # noqa: BLE001 - a profile without the counters is still a profile
                print(f"(could not read the engine's /metrics: {exc})")
        close(self)

    engine_module.Engine.close = close_after_reading_metrics

    if args.out is not None and args.out.exists():
        sys.exit(f"{args.out} exists: --out needs a new folder (a run there would resume, not measure)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = str(args.out or tmp)
        from visual_med_alpaca.config import set_dotted, parse_override

        tree = {"benchmark": args.benchmark, "limit": args.limit, "out": tmp, "concurrency": args.concurrency,
                "assistant": {"llm": {"model": "default", "threads": args.threads}}}
        for item in args.sets:
            set_dotted(tree, *parse_override(item))
        config = EvalConfig.model_validate(tree)
        import visual_med_alpaca.pipeline as pipeline

        prompt_tokens: list[int] = []
        fit = pipeline.fit_to_context

        def counting_fit(llm, prompt, settings):
            fitted, used = fit(llm, prompt, settings)
            prompt_tokens.append(used or 0)
            return fitted, used

        pipeline.fit_to_context = counting_fit
        sampler = threading.Thread(target=sample, daemon=True)
        load_before = load_average(one_minute=True)
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        sampler.start()
        if args.no_describe_cache:
            if args.concurrency != 1:
                sys.exit("--no-describe-cache works with --concurrency 1 only")
            from visual_med_alpaca.pipeline import Assistant

            result = Evaluator(config, Assistant(config.assistant), progress=False).run()
        else:
            result = Evaluator(config, progress=False).run()
        stop.set()
        sampler.join()
        wall = time.perf_counter() - wall_before
        cpu = time.process_time() - cpu_before
    total = sum(samples.values()) or 1
    print(f"\n{args.benchmark} limit {args.limit}, concurrency {args.concurrency}, threads {args.threads}"
          f"{', no describe cache' if args.no_describe_cache else ''}{''.join(' --set ' + x for x in args.sets)}: "
          f"{result['seconds_this_run']} s for {result['items_this_run']} items (model load excluded), "
          f"wall incl. load {wall:.1f} s; 1-min load average before {load_before}; after: {measured_at()}")
    print(f"CPU seconds: this process {cpu:.1f}, llama-server {sum(engine_cpu.values()):.1f}")
    if prompt_tokens:
        ordered = sorted(prompt_tokens)
        print(f"prompt tokens ({len(ordered)} prompts): mean {sum(ordered) / len(ordered):.0f}, median "
              f"{ordered[len(ordered) // 2]}, max {ordered[-1]}")
    if metrics:
        processed, cached = metrics.get("prompt_tokens_total", 0), metrics.get("prompt_tokens_cached_total", 0)
        print(f"engine prompt tokens: {processed:.0f} processed + {cached:.0f} from the slot cache "
              f"({100 * cached / max(processed + cached, 1):.0f}% reused), {metrics.get('prompt_seconds_total', 0):.1f} "
              f"s of prompt processing; {metrics.get('tokens_predicted_total', 0):.0f} tokens generated; "
              f"{metrics.get('n_decode_total', 0):.0f} llama_decode calls")
    by_label: Counter = Counter()
    for tid, seconds in thread_seconds.items():
        by_label[thread_label.get(tid, "?")] += seconds
    print(f"CPU seconds by thread ({len(thread_seconds)} threads seen, sampled twice a second):")
    for label, seconds in by_label.most_common():
        if seconds >= 0.05:
            print(f"  {seconds:6.1f}  {label}")
    print(f"experts used: {result['experts_used']}")
    print(f"busy samples per thread group: {dict(per_group)}")
    for (group, stage), n in samples.most_common(args.top):
        print(f"{100 * n / total:5.1f}%  {group:<14} {stage}")


if __name__ == "__main__":
    run(main)

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="vqa-rad")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (in-process scorer and engine)")
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--no-describe-cache", action="store_true",
                        help="describe every item's image again (as before the run's cache); concurrency 1 only")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. assistant.knowledge.enabled=false")
    args = parser.parse_args()

    samples: Counter = Counter()
    per_group: Counter = Counter()
    stop = threading.Event()
    engine_cpu: dict[int, float] = {}

    def sample() -> None:
        me = threading.get_ident()
        while not stop.wait(args.interval):
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                thread = next((t for t in threading.enumerate() if t.ident == ident), None)
                group = (thread.name.rsplit("_", 1)[0].rsplit("-", 1)[0] if thread else "?")
                stage = where(frame)
                if "threading.wait" in stage or stage.startswith("(outside the package)"):
                    continue  # idle threads (pools, watchers, tqdm)
                samples[(group, stage)] += 1
                per_group[group] += 1
            for pid in engine_pids():
                try:
                    engine_cpu[pid] = cpu_seconds(pid)
                except OSError:
                    pass

    with tempfile.TemporaryDirectory() as tmp:
        from visual_med_alpaca.config import _set_dotted, parse_override

        tree = {"benchmark": args.benchmark, "limit": args.limit, "out": tmp, "concurrency": args.concurrency,
                "assistant": {"llm": {"model": "default", "threads": args.threads}}}
        for item in args.sets:
            _set_dotted(tree, *parse_override(item))
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
        load_before = os.getloadavg()[0]
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
          f"wall incl. load {wall:.1f} s; load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"CPU seconds: this process {cpu:.1f}, llama-server {sum(engine_cpu.values()):.1f}")
    if prompt_tokens:
        ordered = sorted(prompt_tokens)
        print(f"prompt tokens ({len(ordered)} prompts): mean {sum(ordered) / len(ordered):.0f}, median "
              f"{ordered[len(ordered) // 2]}, max {ordered[-1]}")
    print(f"experts used: {result['experts_used']}")
    print(f"busy samples per thread group: {dict(per_group)}")
    for (group, stage), n in samples.most_common(args.top):
        print(f"{100 * n / total:5.1f}%  {group:<14} {stage}")


if __name__ == "__main__":
    main()

"""Where the wall time of a whole `vmed eval` run goes, phase by phase: before the first item is asked, while
items run, after the last one; the one-off loads (engine, image backbone, router, experts, yes/no scorer,
knowledge encoder) with their wall and CPU seconds; and how long the engine sat idle while items ran.

Timestamps only (no stack sampling: `bench/profile_eval.py` does that, at a cost in CPU). A sampler reads, four
times a second, the CPU seconds of this process, of its llama-server and the machine's idle time (/proc/stat),
so each phase gets its CPU split and the cores' unused share. Every prompt the engine is sent is hashed per
item, so two runs can be compared for "the same work was asked" (`--compare` with an earlier `phases.json`);
and predictions.jsonl is compared field by field, generated text apart (batched decoding is not
bit-reproducible, docs/benchmarks.md "Greedy answers, batched vs one at a time").

    python bench/eval_phases.py --benchmark vqa-rad --concurrency 8 --threads 2 --out DIR [--compare OLD/phases.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path

_UPTIME_AT_START = float(Path("/proc/uptime").read_text().split()[0])
_WALL_AT_START = time.time()

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import load_average, measured_at, run, threads  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def process_started() -> float:
    """This process's start as a time.time() value (from /proc: 10 ms resolution)."""
    start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    return _WALL_AT_START - (_UPTIME_AT_START - start_ticks / TICKS)


def cpu_of(pid: int | str) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_idle() -> float:
    """Idle + iowait seconds of all cores together since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return (int(fields[3]) + int(fields[4])) / TICKS


def engine_child() -> int | None:
    """This process's llama-server child, if one runs (the children files of its threads: cheap)."""
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                if Path(f"/proc/{pid}/comm").read_text().startswith("llama-server"):  # comm: 15 characters
                    return int(pid)
            except OSError:
                continue
    return None


class Recorder:
    """Events (name, start, end, thread CPU) and a CPU timeline; all times are time.time() values."""

    def __init__(self):
        self.events: list[dict] = []
        self.timeline: list[tuple[float, float, float, float]] = []  # (t, own CPU, engine CPU, machine idle)
        self.engine_pid: int | None = None
        self.streams: list[tuple[float, float]] = []  # engine requests: (start, end)
        self.items: list[tuple[str, float, float]] = []  # (id, start, end)
        self.prompts: dict[str, list[str]] = {}
        self.current = threading.local()
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True, name="phases-sampler")

    def point(self) -> tuple[float, float, float, float]:
        if self.engine_pid is None:
            self.engine_pid = engine_child()
        engine = 0.0
        if self.engine_pid is not None:
            try:
                engine = cpu_of(self.engine_pid)
            except OSError:
                engine = self.timeline[-1][2] if self.timeline else 0.0
        return time.time(), cpu_of("self"), engine, machine_idle()

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            self.timeline.append(self.point())

    def start(self) -> None:
        self.timeline.append(self.point())
        self._sampler.start()

    def stop(self) -> None:
        self._stop.set()
        self._sampler.join()
        self.timeline.append(self.point())

    def wrap(self, owner, attr: str, name: str) -> None:
        """Record every call of owner.attr as an event (wall and the calling thread's CPU)."""
        real = getattr(owner, attr)
        recorder = self

        def timed(*args, **kwargs):
            start, cpu = time.time(), time.thread_time()
            try:
                return real(*args, **kwargs)
            finally:
                with recorder.lock:
                    recorder.events.append({"name": name, "start": start, "end": time.time(),
                                            "thread_cpu": time.thread_time() - cpu,
                                            "thread": threading.current_thread().name})

        setattr(owner, attr, timed)

    def cpu_between(self, start: float, end: float) -> tuple[float, float, float]:
        """(own CPU, engine CPU, machine idle core-seconds) between two times, from the nearest samples."""
        def at(t):
            return min(self.timeline, key=lambda row: abs(row[0] - t))
        a, b = at(start), at(end)
        return b[1] - a[1], b[2] - a[2], b[3] - a[3]


def union_seconds(intervals: list[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of [start, end] covered by at least one interval."""
    covered, cursor = 0.0, start
    for a, b in sorted(intervals):
        a, b = max(a, cursor), min(b, end)
        if b > a:
            covered += b - a
            cursor = b
    return covered


def in_flight(intervals: list[tuple[float, float]], start: float, end: float) -> dict[int, float]:
    """Seconds of [start, end] with k intervals open, for each k."""
    edges = sorted([(max(a, start), 1) for a, _ in intervals] + [(min(b, end), -1) for _, b in intervals])
    seconds: dict[int, float] = {}
    open_now, last = 0, start
    for t, step in edges:
        seconds[open_now] = seconds.get(open_now, 0.0) + max(t - last, 0.0)
        open_now, last = open_now + step, max(t, last)
    seconds[open_now] = seconds.get(open_now, 0.0) + max(end - last, 0.0)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="vqa-rad")
    parser.add_argument("--concurrency", type=int, default=8, help="2 or more: a run through the batching engine")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, required=True, help="a new folder for the run's files and phases.json")
    parser.add_argument("--compare", type=Path, default=None, help="an earlier run's phases.json (same benchmark)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    from visual_med_alpaca.errors import UserInputError

    if args.out.exists():
        raise UserInputError(f"{args.out} exists: --out needs a new folder (a run there would resume, not measure)")
    if args.concurrency < 2:
        raise UserInputError(f"--concurrency {args.concurrency}: this script measures a run through the batching "
                             "engine, which only --concurrency 2 or more starts")
    old = earlier_run(args.compare) if args.compare else None  # checked now, not after the whole run

    started = process_started()
    rec = Recorder()
    rec.start()
    load_before = load_average(one_minute=True)
    before_imports = time.time()

    import visual_med_alpaca.eval.runner as runner
    import visual_med_alpaca.experts.radiology as radiology
    import visual_med_alpaca.features as features
    import visual_med_alpaca.llm.engine as engine_module
    import visual_med_alpaca.llm.gguf as gguf
    import visual_med_alpaca.knowledge.stage as stage
    import visual_med_alpaca.pipeline as pipeline
    import visual_med_alpaca.router.trained as trained
    from visual_med_alpaca.config import parse_override, set_dotted, validate
    from visual_med_alpaca.eval.runner import PREDICTIONS, EvalConfig, Evaluator, read_predictions

    imports_done = time.time()
    torch_early = "torch" in sys.modules
    rec.wrap(Evaluator, "__init__", "Evaluator(): config, benchmark items")
    rec.wrap(features.EfficientNetFeatures, "__init__", "load: EfficientNet backbone (torch)")
    rec.wrap(trained.TrainedRouter, "__init__", "load: router head")
    rec.wrap(radiology.RadiologyExpert, "__init__", "load: radiology expert heads")
    rec.wrap(gguf.GGUFModel, "from_config", "load: in-process yes/no scorer GGUF")
    rec.wrap(stage.KnowledgeStage, "__init__", "knowledge stage created")
    rec.wrap(runner.Evaluator, "write_metrics", "metrics written")
    rec.wrap(engine_module.Engine, "close", "engine closed")
    rec.wrap(pipeline.Assistant, "_describe", "describe an image (router + expert)")
    rec.wrap(engine_module.ScoringEngineModel, "score_continuations", "yes/no option scoring")
    rec.wrap(engine_module.EngineModel, "count_tokens", "count tokens (the engine's /tokenize)")
    real_open = engine_module.open_engine

    def open_engine(*a, **k):
        start, cpu = time.time(), time.thread_time()
        engine = real_open(*a, **k)
        if engine is not None and engine.server is not None and rec.engine_pid != engine.server.process.pid:
            print(f"(the engine's CPU before {time.time() - start:.2f} s is not counted: its pid was found late)")
            rec.engine_pid = engine.server.process.pid
        rec.events.append({"name": "engine started (llama-server up, model loaded, /health ok)", "start": start,
                           "end": time.time(), "thread_cpu": time.thread_time() - cpu,
                           "thread": threading.current_thread().name})
        return engine

    engine_module.open_engine = open_engine

    real_predict = runner.Evaluator.predict

    def predict(self, item, mode):
        rec.current.item = item.id
        start = time.time()
        try:
            return real_predict(self, item, mode)
        finally:
            with rec.lock:
                rec.items.append((item.id, start, time.time()))

    runner.Evaluator.predict = predict

    real_stream = engine_module.EngineModel.stream

    def stream(self, prompt, settings):
        item = getattr(rec.current, "item", "?")
        digest = hashlib.sha256(json.dumps([prompt, settings.model_dump(mode="json")]).encode()).hexdigest()[:16]
        with rec.lock:
            rec.prompts.setdefault(item, []).append(digest)
        start, cpu = time.time(), time.thread_time()
        try:
            yield from real_stream(self, prompt, settings)
        finally:
            with rec.lock:
                rec.streams.append((start, time.time()))
                rec.events.append({"name": "stream an answer (client side, with the pipeline's filter)",
                                   "start": start, "end": time.time(), "thread_cpu": time.thread_time() - cpu,
                                   "thread": threading.current_thread().name})

    engine_module.EngineModel.stream = stream

    tree = {"benchmark": args.benchmark, "limit": args.limit, "out": str(args.out), "concurrency": args.concurrency,
            "data_dir": args.data_dir, "assistant": {"llm": {"model": "default", "threads": args.threads}}}
    for item in args.sets:
        set_dotted(tree, *parse_override(item))
    config = validate(EvalConfig, tree)
    evaluator = Evaluator(config, progress=False)
    if evaluator.resolved_mode() != "generate":
        raise UserInputError(f"{args.benchmark} is answered by log-likelihood here, which does not go through the "
                             "batching engine: add --set mode=generate")
    print(f"start: {measured_at()}", flush=True)
    result = evaluator.run()
    finished = time.time()
    rec.stop()
    load_after = load_average(one_minute=True)

    first_item = min(s for _, s, _ in rec.items)
    last_item = max(e for _, _, e in rec.items)
    engine_up = next(e for e in rec.events if e["name"].startswith("engine started"))
    cores = os.cpu_count() or 1

    def phase(name, a, b):
        own, engine, idle = rec.cpu_between(a, b)
        return {"phase": name, "wall": b - a, "own_cpu": own, "engine_cpu": engine, "machine_idle": idle,
                "cores": cores}

    phases = [
        phase("process start -> package imported", started, imports_done),
        phase("  of which: interpreter start, bench script imports", started, before_imports),
        phase("package imported -> engine starting", imports_done, engine_up["start"]),
        phase("engine start (llama-server, model load, /health)", engine_up["start"], engine_up["end"]),
        phase("engine up -> first item asked", engine_up["end"], first_item),
        phase("items (first asked -> last answered)", first_item, last_item),
        phase("last answered -> run() returned (metrics, engine stop)", last_item, finished),
    ]
    engine_busy = union_seconds(rec.streams, first_item, last_item)
    first_stream = min((s for s, _ in rec.streams), default=None)
    loads = [e for e in rec.events if e["name"].startswith(("load", "engine", "Evaluator", "knowledge", "metrics"))]
    describes = [e for e in rec.events if e["name"].startswith("describe")]
    scorings = [e for e in rec.events if e["name"].startswith("yes/no")]
    counts = [e for e in rec.events if e["name"].startswith("count tokens")]
    streamed = [e for e in rec.events if e["name"].startswith("stream")]

    print(f"\n{args.benchmark}, {result['n_scored']} items, concurrency {args.concurrency}, threads {args.threads}"
          f"{''.join(' --set ' + s for s in args.sets)}: seconds_this_run {result['seconds_this_run']} s; "
          f"process start -> run() returned {finished - started:.1f} s; load {load_before} -> {load_after}; "
          f"torch imported with the package: {torch_early}; torch threads "
          f"{sys.modules['torch'].get_num_threads() if 'torch' in sys.modules else '-'}")
    print(f"{'phase':<58} {'wall s':>7} {'own CPU':>8} {'engine CPU':>10} {'idle core-s':>11}")
    for p in phases:
        print(f"{p['phase']:<58} {p['wall']:>7.2f} {p['own_cpu']:>8.2f} {p['engine_cpu']:>10.2f} {p['machine_idle']:>11.2f}")
    if first_stream:
        print(f"process start -> first engine request: {first_stream - started:.2f} s")
    print(f"\nwhile items ran ({last_item - first_item:.1f} s): the engine had at least one request for "
          f"{engine_busy:.1f} s, none for {last_item - first_item - engine_busy:.1f} s; first engine request "
          f"{(first_stream - first_item) if first_stream else float('nan'):.2f} s after the first item was asked; "
          f"{len(rec.streams)} engine requests")
    print("engine requests in flight (client side), seconds: " + "  ".join(
        f"{k}: {v:.1f}" for k, v in sorted(in_flight(rec.streams, first_item, last_item).items())))
    print(f"{'one-off event':<58} {'from first item':>15} {'wall s':>7} {'thread CPU':>10}  thread")
    for e in sorted(loads, key=lambda e: e["start"]):
        print(f"{e['name']:<58} {e['start'] - first_item:>15.2f} {e['end'] - e['start']:>7.2f} "
              f"{e['thread_cpu']:>10.2f}  {e['thread']}")
    for label, group in (("image descriptions (router + expert)", describes), ("yes/no option scorings", scorings),
                         ("token counts through the engine", counts), ("answers streamed", streamed)):
        if group:
            print(f"{label}: {len(group)}, wall {sum(e['end'] - e['start'] for e in group):.1f} s, thread CPU "
                  f"{sum(e['thread_cpu'] for e in group):.1f} s, the first {group[0]['end'] - group[0]['start']:.2f} s "
                  f"(from {min(e['start'] for e in group) - first_item:.2f} s)")

    summary = {"benchmark": args.benchmark, "concurrency": args.concurrency, "sets": args.sets,
               "seconds_this_run": result["seconds_this_run"], "process_to_end": finished - started,
               "load": [load_before, load_after], "phases": phases, "engine_busy": engine_busy,
               "items_window": last_item - first_item, "events": loads,
               "streams": rec.streams,
               "to_first_engine_request": (first_stream - started) if first_stream else None,
               "describes": len(describes), "prompts": rec.prompts,
               "groups": {label: {"n": len(g), "wall": sum(e["end"] - e["start"] for e in g),
                                  "thread_cpu": sum(e["thread_cpu"] for e in g)}
                          for label, g in (("describe", describes), ("score", scorings), ("count", counts),
                                           ("stream", streamed))},
               "metrics": {k: v for k, v in result["metrics"].items() if isinstance(v, (int, float))}}
    (args.out / "phases.json").write_text(json.dumps(summary, indent=1))
    if old is not None:
        compare(old, rec.prompts, args.compare.parent / PREDICTIONS, read_predictions(args.out / PREDICTIONS))
    print(f"end: {measured_at()}")


def earlier_run(path: Path) -> dict:
    """An earlier run's phases.json (with its predictions.jsonl beside it) for --compare; one error line otherwise."""
    from visual_med_alpaca.errors import UserInputError

    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserInputError(f"--compare {path}: not an earlier run's phases.json ({exc})") from None
    if not isinstance(old, dict) or not isinstance(old.get("prompts"), dict):
        raise UserInputError(f"--compare {path}: not an earlier run's phases.json (no prompts)")
    if not (path.parent / "predictions.jsonl").is_file():
        raise UserInputError(f"--compare {path}: no predictions.jsonl beside it")
    return old


def compare(old: dict, prompts: dict[str, list[str]], old_predictions: Path, records: list[dict]) -> None:
    """The same work asked of the engine (prompt hashes per item), and every field of predictions.jsonl equal
    except the time and, for items the engine generated, the generated text."""
    from visual_med_alpaca.eval.runner import read_predictions

    same_prompts = sum(old["prompts"].get(k) == v for k, v in prompts.items())
    print(f"\ncompared with {old_predictions.parent}: engine prompts equal for {same_prompts} of {len(prompts)} "
          f"items ({len(old['prompts'])} before)")
    before = {r["id"]: r for r in read_predictions(old_predictions)}
    fields_equal = generated_equal = generated = 0
    for r in records:
        b = before.get(r["id"], {})
        keep = {k for k in set(r) | set(b) if k != "seconds"}
        engine_made = r["id"] in prompts
        if engine_made:
            generated += 1
            generated_equal += r.get("prediction") == b.get("prediction")
            keep -= {"prediction", "choice"}
        fields_equal += all(r.get(k) == b.get(k) for k in keep)
    print(f"predictions.jsonl: {fields_equal} of {len(records)} records equal in every field outside the engine's "
          f"text; of the {generated} the engine generated, {generated_equal} have the same text")


if __name__ == "__main__":
    run(main)

"""Score a chart expert on any folder with a DePlot-format gold.jsonl: RMS-F1, RNSS, unread, speed, per kind.

A set is `DIR/gold.jsonl` with one `{"image": <path under DIR>, "table": <DePlot linearized table>}` per line,
plus optional `id`, `style` (synthetic sets) or `kind` (chartqa_dev: simple/complex). Scores are reported overall,
per gold kind/style, per source (the file-name family: Statista two_col/multi_col, Pew, OWID, OECD) and per chart
type as the expert itself detected it (bar, hbar, line, pie, ...: a detected type, not a gold label).

`split` keeps a development part apart from a report part without looking at items: a chart belongs to `dev`
when the sha1 of its file stem is even, else to `report` (fixed before any chart was inspected).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import json
import os
import re
import time
from collections import defaultdict
from pathlib import Path

from ..data.charts import read_gold
from ..paths import output_file
from ..errors import UserInputError
from .metrics.chart import parse_table, rms, rnss
from .resume import resumable

FAILURE_PREFIX = "The chart could not be read"
SPLITS = ("all", "dev", "report")


def split_of(item: dict) -> str:
    """'dev' or 'report', by the parity of sha1(file stem): decided by the name, never by the content.

    Not data/split.in_held_out: this rule was fixed (and the dev part inspected) before that module landed;
    moving to it would put inspected charts into the report part."""
    stem = Path(item["image"]).stem
    return "dev" if int(hashlib.sha1(stem.encode()).hexdigest(), 16) % 2 == 0 else "report"


def source_of(item: dict) -> str:
    """The chart family by file name (ChartQA names carry it); 'synthetic' for sets with a style."""
    stem = Path(item["image"]).stem
    if item.get("style") is not None:
        return "synthetic"
    if stem.startswith(("two_col", "multi_col")):
        return "statista"
    if stem.startswith("OECD"):
        return "oecd"
    if re.fullmatch(r"\d{14}", stem):
        return "owid"
    if stem.isdigit():
        return "pew"
    return "other"


def _out_path(set_dir: Path, expert_name: str, split: str, out: Path | None) -> Path:
    if out:
        return Path(out)
    name = f"metrics_{expert_name}.json" if split == "all" else f"metrics_{expert_name}_{split}.json"
    if os.access(set_dir, os.W_OK):
        return set_dir / name
    return Path("runs") / "eval_charts" / set_dir.name / name  # read-only sets (../shared) are not written to


def summary(group: list[dict]) -> dict:
    n = len(group)
    return {"n": n, "rms_f1": sum(r["rms_f1"] for r in group) / n, "rnss": sum(r["rnss"] for r in group) / n,
            "failure_rate": sum(r["failed"] for r in group) / n, "unread": sum(r["failed"] for r in group),
            "seconds_per_chart": sum(r["seconds"] for r in group) / n}


def expert_code(expert_class: type) -> str:
    """sha1 of the expert's class name, the source files in the folders of its classes (experts/chart/*.py for the
    chart expert) and every package module those import, directly or through each other, inside functions too
    (for the chart expert: chart_table.py, errors.py, images.py, medical_images.py): a resumed run after the code
    the expert runs changed is refused, not mixed with the old code's predictions. Model and data files are not
    code and are not hashed."""
    digest = hashlib.sha1(f"{expert_class.__module__}.{expert_class.__qualname__}".encode())
    package = __name__.split(".")[0]
    classes = [cls for cls in expert_class.__mro__
               if cls is expert_class and cls.__module__ != "builtins" or cls.__module__.split(".")[0] == package]
    folders = {Path(inspect.getfile(cls)).parent for cls in classes}
    files = {p.resolve() for folder in folders for p in folder.glob("*.py")}
    todo = list(files)
    while todo:
        for found in _package_imports(todo.pop()):
            if found not in files:
                files.add(found)
                todo.append(found)
    root = _PACKAGE_DIR.parent
    for path in sorted(files):
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _module_file(name: str) -> Path | None:
    """The source file of package module `name` (a.b.c -> a/b/c.py or a/b/c/__init__.py), None if none."""
    if name.split(".")[0] != _PACKAGE_DIR.name:
        return None
    base = _PACKAGE_DIR.parent.joinpath(*name.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def _package_imports(path: Path) -> frozenset[Path]:
    stat = path.stat()
    return _imports_of(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=None)
def _imports_of(path: Path, mtime_ns: int, size: int) -> frozenset[Path]:
    """The package modules `path` imports (anywhere in it): `from x import y` counts module x.y when y is a module,
    else x itself (a package's __init__ only when a name comes from it). Cached per file version (mtime, size).
    Written here because stdlib modulefinder follows every import, numpy's and OpenCV's too; only the package's count."""
    inside = path.is_relative_to(_PACKAGE_DIR)
    if inside:
        parts = path.relative_to(_PACKAGE_DIR.parent).with_suffix("").parts
        here = list(parts[:-1])  # the package a relative import starts from (an __init__'s own package, too)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level and not inside:
                continue
            base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module or ""
            modules = {f"{base}.{alias.name}" for alias in node.names if _module_file(f"{base}.{alias.name}")}
            names |= modules | ({base} if len(modules) < len(node.names) else set())
    return frozenset(found.resolve() for found in map(_module_file, names) if found is not None)


def is_unread(text: str) -> bool:
    """The expert said it could not read the chart, or gave no table rows."""
    return text.startswith(FAILURE_PREFIX) or not parse_table(text).rows


def score_chart(item: dict, text: str, detected: str | None, seconds: float) -> dict:
    """One chart's predictions row: the expert's text scored against the gold table."""
    failed = is_unread(text)
    scores = rms(item["table"], "" if failed else text)
    return {"id": item["id"], "image": item["image"], "kind": item.get("style") or item.get("kind"),
            "split": split_of(item), "detected": "unread" if failed else detected, "failed": failed,
            "seconds": round(seconds, 3), "rms_f1": scores["f1"], "rms_precision": scores["precision"],
            "rms_recall": scores["recall"], "rnss": 0.0 if failed else rnss(item["table"], text), "prediction": text}


def evaluate_chart_set(set_dir: Path, expert_name: str = "chart", limit: int | None = None,
                       out: Path | None = None, progress: bool = True, split: str = "all",
                       only: list[str] | None = None, expert=None, resume: bool = False) -> dict:
    """Run the expert on every chart (after one warm-up) and write metrics JSON + predictions JSONL.

    `expert`: an expert object to use instead of loading `expert_name` (e.g. a benchmark's OCR-memoising one).
    `resume` (`vmed eval charts`; resume.py, as `vmed eval <benchmark>`): each chart's row is appended to the
    predictions file as it is read; a rerun skips the charts already there (scored again from their saved text,
    with their saved seconds) and refuses a folder that another set, expert or expert code wrote
    (`OUT.run.json`). Without it (the bench scripts), earlier predictions are deleted first."""
    from tqdm import tqdm

    from ..experts import load_expert
    from ..experts.base import EXPERTS
    from ..images import load_image
    from ..registry import load_class

    if split not in SPLITS:
        raise UserInputError(f"--split must be one of {', '.join(SPLITS)}")
    set_dir = Path(set_dir)
    items = [item for item in read_gold(set_dir) if split == "all" or split_of(item) == split]
    if only:
        unknown = sorted(set(only) - {item["id"] for item in items} - {Path(item["image"]).name for item in items})
        if unknown:
            raise UserInputError(f"--only: {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''} not in "
                                 f"{set_dir}/gold.jsonl (split {split}): give chart ids or image file names")
        items = [item for item in items if item["id"] in only or Path(item["image"]).name in only]
    items = items[:limit]
    if not items:
        raise UserInputError(f"{set_dir}/gold.jsonl lists no charts (split {split})")
    # checked before the charts are read, not after (minutes on a large set)
    out = output_file(_out_path(set_dir, expert_name, split, out), "metrics .json file")
    predictions = out.with_suffix(".predictions.jsonl")
    identity = {"set": str(set_dir.resolve()), "expert": expert_name,
                "expert_code": expert_code(type(expert) if expert is not None else load_class(EXPERTS, expert_name, "expert"))}
    with resumable(out, predictions, out.with_suffix(".run.json"), identity, tuple(identity), {},
                   f"another evaluation is writing to {out}; wait for it or use another --out",
                   restart=not resume) as (finished, append):
        saved = {row["id"]: row for row in finished}
        rows = {item["id"]: score_chart(item, saved[item["id"]]["prediction"], saved[item["id"]]["detected"],
                                        saved[item["id"]]["seconds"]) for item in items if item["id"] in saved}
        todo = [item for item in items if item["id"] not in rows]
        if todo:
            expert = expert or load_expert(expert_name)
            read = getattr(expert, "read", None)  # experts that also say which chart type they saw
            expert.describe(load_image(set_dir / todo[0]["image"]))  # warm-up: model load and first-call costs
        for item in tqdm(todo, desc=f"eval {expert_name}", disable=not progress, initial=len(rows), total=len(items)):
            image = load_image(set_dir / item["image"])
            start = time.perf_counter()
            if read is not None:
                reading = read(image)
                text, detected = reading.text, reading.kind
            else:
                text, detected = expert.describe(image), None
            rows[item["id"]] = row = score_chart(item, text, detected, time.perf_counter() - start)
            append(row)
        rows_in_order = [rows[item["id"]] for item in items]
        groups: dict[str, dict[str, list]] = {"split": defaultdict(list), "kind": defaultdict(list),
                                              "source": defaultdict(list), "detected": defaultdict(list)}
        for item, row in zip(items, rows_in_order):
            groups["split"][row["split"]].append(row)
            groups["kind"][row["kind"]].append(row)
            groups["source"][source_of(item)].append(row)
            if row["detected"] is not None:
                groups["detected"][row["detected"]].append(row)
        metrics = {"set": str(set_dir), "expert": expert_name, "split": split, **summary(rows_in_order),
                   "by_split": {k: summary(g) for k, g in sorted(groups["split"].items())},
                   "by_style": {str(k): summary(g) for k, g in sorted(groups["kind"].items(), key=lambda kv: str(kv[0]))},
                   "by_source": {k: summary(g) for k, g in sorted(groups["source"].items())},
                   "by_detected": {k: summary(g) for k, g in sorted(groups["detected"].items())},
                   "charts_this_run": len(todo),  # the others were read (and timed) by earlier runs: resumed
                   "seconds_per_chart_this_run": (sum(rows[item["id"]]["seconds"] for item in todo) / len(todo)
                                                  if todo else None)}
        out.write_text(json.dumps(metrics, indent=2))
    metrics["metrics_file"] = str(out)
    return metrics


def format_metrics(m: dict) -> list[str]:
    """The printed table: overall, then per kind, per source and per detected chart type; after a resumed run, a
    note that s/chart mixes runs (with this run's own count and s/chart)."""
    lines = [f"{m['expert']} on {m['n']} charts ({m['set']}, split {m['split']}): RMS-F1 {m['rms_f1']:.3f}  "
             f"RNSS {m['rnss']:.3f}  unread {m['unread']}/{m['n']} ({m['failure_rate']:.1%})  "
             f"{m['seconds_per_chart']:.2f} s/chart",
             f"  {'group':<22} {'n':>4} {'RMS-F1':>7} {'RNSS':>6} {'unread':>7} {'s/chart':>8}"]
    earlier = m["n"] - m.get("charts_this_run", m["n"])
    if earlier:  # a resumed run: its s/chart mixes the timings of the runs that read the charts
        this_run = (f"{m['charts_this_run']} read by this one, {m['seconds_per_chart_this_run']:.2f} s/chart"
                    if m.get("seconds_per_chart_this_run") is not None else "none read by this one")
        lines.insert(1, f"  note: {earlier} of {m['n']} charts were read by earlier runs (resumed), so s/chart "
                        f"averages the seconds each chart took in the run that read it ({this_run})")
    for title, key in (("split", "by_split"), ("kind", "by_style"), ("source", "by_source"), ("detected type", "by_detected")):
        for name, s in m.get(key, {}).items():
            label = f"{title}={name}"
            lines.append(f"  {label:<22} {s['n']:>4} {s['rms_f1']:>7.3f} {s['rnss']:>6.3f} {s['unread']:>7} "
                         f"{s['seconds_per_chart']:>8.2f}")
    return lines


# -- real charts with printed text only (OpenCQA's Pew charts; data/sources/opencqa.py) -----------------------------
THUMB_SIDE = 32
NEAR_DUPLICATE = 3.0  # mean |grey difference| (0-255) of 32x32 thumbnails; fixed from the distances' histogram alone


def _thumbnail(path: Path):
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L").resize((THUMB_SIDE, THUMB_SIDE), Image.BILINEAR), dtype=float)


def near_duplicates(images: list[Path], others: list[Path], limit: float = NEAR_DUPLICATE) -> set[Path]:
    """The `images` whose grey 32x32 thumbnail is within `limit` (mean absolute difference) of any of `others`'s: the
    leakage guard between OpenCQA's Pew charts and chartqa_dev's (both halves), which come from the same Pew pages."""
    import numpy as np

    if not others:
        return set()
    stack = np.stack([_thumbnail(p) for p in others])
    return {p for p in images if np.abs(stack - _thumbnail(p)).mean(axis=(1, 2)).min() < limit}


def printed_set(split: str, data: str | Path | None = None) -> tuple[list, int]:
    """(charts of `split`, how many charts the leakage guard dropped before splitting): OpenCQA's charts less every
    near-duplicate of a chartqa_dev picture, then split by `split_of` (sha1 parity of the file stem)."""
    from ..data.sources.opencqa import read_opencqa
    from ..paths import data_dir

    if split not in ("dev", "report"):
        raise UserInputError("--split must be dev or report for OpenCQA's charts")
    charts = read_opencqa(data)
    chartqa = data_dir(data, "chartqa_dev") / "chartqa_dev"
    dropped = near_duplicates([c.image for c in charts], sorted(chartqa.rglob("*.png")))
    kept = [c for c in charts if c.image not in dropped]
    return [c for c in kept if split_of({"image": c.image.name}) == split], len(dropped)


def _printed_summary(group: list[dict]) -> dict:
    def mean_of(key):
        values = [r[key] for r in group if r[key] is not None]
        return sum(values) / len(values) if values else None

    return {"n": len(group), "value_f1": mean_of("value_f1"), "value_recall": mean_of("value_recall"),
            "value_precision": mean_of("value_precision"), "label_recall": mean_of("label_recall"),
            "with_numbers": sum(r["value_f1"] is not None for r in group),
            "with_labels": sum(r["label_recall"] is not None for r in group),
            "unread": sum(r["failed"] for r in group), "seconds_per_chart": sum(r["seconds"] for r in group) / len(group)}


def evaluate_printed_set(split: str, out: Path, expert=None, data: str | Path | None = None,
                         progress: bool = True) -> dict:
    """Score the chart expert on OpenCQA's charts of `split` (after one warm-up) against their printed text
    (metrics/chart.py `printed_scores`: a proxy, printed values and labels only); write metrics JSON + predictions
    JSONL at `out`."""
    from tqdm import tqdm

    from ..data.store import write_jsonl_atomic
    from ..experts import load_expert
    from ..images import load_image
    from .metrics.chart import printed_scores

    charts, dropped = printed_set(split, data)
    out = output_file(out, "metrics .json file")
    expert = expert or load_expert("chart")
    if charts:
        expert.read(load_image(charts[0].image))  # warm-up, as evaluate_chart_set: s/chart leaves out model load
    rows = []
    for chart in tqdm(charts, desc="eval opencqa", disable=not progress):
        image = load_image(chart.image)
        start = time.perf_counter()
        reading = expert.read(image)
        seconds = time.perf_counter() - start
        failed = is_unread(reading.text)
        scores = printed_scores(chart.boxes, chart.title, None if failed else reading.text)
        rows.append({"id": chart.id, "image": chart.image.name, "split": split,
                     "detected": "unread" if failed else reading.kind, "failed": failed,
                     "seconds": round(seconds, 3), **scores, "prediction": reading.text})
    metrics = _printed_metrics(rows, split, dropped)
    write_jsonl_atomic(out.with_suffix(".predictions.jsonl"), rows)
    out.write_text(json.dumps(metrics, indent=2))
    metrics["metrics_file"] = str(out)
    return metrics


def _printed_metrics(rows: list[dict], split: str, dropped: int) -> dict:
    from .metrics.chart import PRINTED_VERSION

    detected = defaultdict(list)
    for row in rows:
        detected[row["detected"]].append(row)
    return {"set": "opencqa", "split": split, "printed_metric_version": PRINTED_VERSION,
            "near_duplicates_dropped": dropped, **_printed_summary(rows),
            "by_detected": {k: _printed_summary(g) for k, g in sorted(detected.items())}}


def rescore_printed(rows: list[dict], data: str | Path | None = None) -> dict:
    """Saved OpenCQA predictions (`evaluate_printed_set`'s rows) scored again with this version of `printed_scores`
    (the tables as they were read; no expert run): the metrics, aggregates only."""
    from ..data.sources.opencqa import read_opencqa
    from .metrics.chart import printed_scores

    charts = {c.image.name: c for c in read_opencqa(data)}
    again = []
    for row in rows:
        chart = charts.get(row.get("image"))
        if chart is None:
            raise UserInputError(f"chart {row.get('image')!r} is not one of OpenCQA's (predictions of another set?)")
        scores = printed_scores(chart.boxes, chart.title, None if row["failed"] else row["prediction"])
        again.append({**row, **scores})
    splits = {row.get("split") for row in again}
    return {**_printed_metrics(again, splits.pop() if len(splits) == 1 else "mixed", 0), "rescored": True}


def format_printed_metrics(m: dict) -> list[str]:
    def num(v):
        return "   -" if v is None else f"{v:.3f}"

    rescored = m.get("rescored", False)  # saved rows scored again (rescore_printed): no guard count, no timing
    lines = [("scored again: " if rescored else "chart on ")
             + f"{m['n']} OpenCQA charts (split {m['split']}; printed-text metric v{m.get('printed_metric_version', 1)}"
             + ("" if rescored else f"; {m['near_duplicates_dropped']} near-duplicates of chartqa_dev dropped first")
             + f"): value F1 {num(m['value_f1'])}  value recall {num(m['value_recall'])}  "
             f"label recall {num(m['label_recall'])}  unread {m['unread']}/{m['n']}"
             + ("" if rescored else f"  {m['seconds_per_chart']:.2f} s/chart"),
             f"  {'detected type':<22} {'n':>4} {'valF1':>6} {'valRec':>6} {'lblRec':>6} {'unread':>7}"]
    for name, s in m["by_detected"].items():
        lines.append(f"  {name:<22} {s['n']:>4} {num(s['value_f1']):>6} {num(s['value_recall']):>6} "
                     f"{num(s['label_recall']):>6} {s['unread']:>7}")
    return lines

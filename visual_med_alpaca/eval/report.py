"""`vmed eval report`: many metrics.json files -> one markdown table and one bar chart, beside
LLaVA-Med's published numbers (assets/eval/llava_med_published.yaml, with their source)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ..errors import UserInputError
from ..paths import ASSETS
from .benchmarks.vqa import VQA_RAD_SUBSETS

PUBLISHED = ASSETS / "eval" / "llava_med_published.yaml"
# The numbers each kind of benchmark is judged by, in table order.
HEADLINE = {
    "vqa": ("closed_accuracy", "open_recall", "exact_match", "token_f1"),
    "choice": ("accuracy", "macro_f1", "majority_baseline"),
    "rank": ("accuracy", "precision", "mrr", "spearman"),
}


# What `vmed eval` writes into every metrics.json (the runner's record); other tools write metrics.json files too
# (a training run's, under docs/results/vlm-*), which a folder search passes over.
EVAL_KEYS = ("benchmark", "metrics", "n_scored", "model", "mode")


def read_eval_metrics(file: Path) -> dict | None:
    """The record in a metrics.json written by `vmed eval`, or None for any other file."""
    try:
        result = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not (isinstance(result, dict) and all(key in result for key in EVAL_KEYS) and isinstance(result["metrics"], dict)):
        return None
    headline = [result["metrics"].get(metric) for metric in HEADLINE[_task(result["metrics"])]]
    numbers = all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in headline)
    return result if numbers else None  # a hand-edited file with a word for a number is not one `vmed eval` wrote


def find_metrics(paths: list[Path]) -> list[tuple[Path, dict]]:
    """(file, record) of the files named as given (each must be one `vmed eval` wrote) and, in folders, of every
    metrics.json written by `vmed eval` (others are passed over); each file once, however often it is reached."""
    found: list[tuple[Path, dict]] = []
    for path in paths:
        if path.is_dir():
            found += [(file, record) for file in sorted(path.rglob("metrics.json"))
                      if (record := read_eval_metrics(file)) is not None]
        elif path.is_file():
            record = read_eval_metrics(path)
            if record is None:
                raise UserInputError(f"{path} is not a metrics.json written by `vmed eval`")
            found.append((path, record))
        else:
            raise UserInputError(f"not found: {path}")
    if not found:
        raise UserInputError("no metrics.json written by `vmed eval` found in the given paths")
    unique: dict[Path, tuple[Path, dict]] = {}  # a file reached twice (a folder and a file in it) is one run
    for file, record in found:
        unique.setdefault(file.resolve(), (file, record))
    return list(unique.values())


def _task(metrics: dict) -> str:
    return "vqa" if "closed_accuracy" in metrics else "rank" if "mrr" in metrics else "choice"


def published_split(result: dict) -> bool:
    """Whether a run scored the split LLaVA-Med published (VQA-RAD test; PathVQA test or its seeded 1,000): a
    VQA-RAD subset is a part of VQA-RAD *train*, a development set, and its number is not comparable."""
    return not (result["benchmark"] == "vqa-rad" and result.get("subset") in VQA_RAD_SUBSETS)


def collect_rows(found: list[tuple[Path, dict]]) -> list[dict]:
    published = yaml.safe_load(PUBLISHED.read_text())
    rows = []
    for file, result in found:
        metrics = result["metrics"]
        comparable = published_split(result)
        subset = result.get("subset")
        name = result["benchmark"] + (f" ({subset}{'' if comparable else ', dev'})" if subset else "")
        experts = ", ".join(f"{k} x{v}" for k, v in (result.get("experts_used") or {}).items()) or "-"
        theirs = published["results"].get(result["benchmark"], {}) if comparable else {}
        for metric in HEADLINE[_task(metrics)]:
            if metrics.get(metric) is None:
                continue
            rows.append({"run": file.parent.name, "benchmark": name, "n": result["n_scored"], "model": result["model"], "mode": result["mode"],
                         "experts": experts, "metric": metric, "ours": metrics[metric],
                         "llava_med": theirs.get(metric), "source": str(file)})
    return rows


def markdown(rows: list[dict]) -> str:
    published = yaml.safe_load(PUBLISHED.read_text())
    lines = [
        f"| run | benchmark | n | model | mode | expert(s) | metric | ours | {published['variant']} |",
        "|---|---|---:|---|---|---|---|---:|---:|",
    ]
    for r in rows:
        theirs = "-" if r["llava_med"] is None else f"{r['llava_med']:.2f}"
        lines.append(f"| {r['run']} | {r['benchmark']} | {r['n']} | {r['model']} | {r['mode']} | {r['experts']} | {r['metric']} | "
                     f"{r['ours']:.2f} | {theirs} |")
    lines += ["", f"LLaVA-Med numbers: {published['source'].strip()} They were fine-tuned on each dataset. Ours: the "
              "text models are zero-shot; the vision-language model (`vlm:*`) was trained on VQA-RAD train.",
              "Rows marked `dev` score a part of VQA-RAD train used for choices, not the published test split: "
              "no LLaVA-Med number stands beside them.",
              "Percentages except spearman (a correlation in [-1, 1])."]
    return "\n".join(lines) + "\n"


def bar_chart(rows: list[dict], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # The chart is the comparison: only rows with a published number beside them (dev rows are in the table).
    rows = [r for r in rows if r["llava_med"] is not None] or [r for r in rows if r["metric"] != "spearman"]
    labels = [f"{r['run']}\n{r['metric']}" for r in rows]
    ours = [r["ours"] for r in rows]
    theirs = [r["llava_med"] or 0.0 for r in rows]  # 0 where none was published (only when no row has one)
    width = 0.4
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(rows)), 4.5))
    xs = range(len(rows))
    ax.bar([x - width / 2 for x in xs], ours, width, label="ours (run named below)")
    ax.bar([x + width / 2 for x in xs], theirs, width, label="LLaVA-Med published (0 = not reported)")
    ax.set_xticks(list(xs), labels, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.set_title("visual-med-alpaca evaluation (research use only)")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)


def write_report(paths: list[Path], out: Path, png: Path) -> tuple[str, Path]:
    # matplotlib took `--chart c.txt` for a format (a traceback) and wrote `--chart name` as name.png
    if png.suffix.lower() != ".png":
        raise UserInputError(f"--chart {png}: the bar chart is a PNG file; give a file name ending in .png")
    if png.resolve() == out.resolve():
        raise UserInputError(f"--out and --chart both name {out}: give the table and the chart different files")
    rows = collect_rows(find_metrics(paths))
    table = markdown(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table + f"\n![bar chart]({png.name})\n" if png.parent == out.parent else table)
    bar_chart(rows, png)
    return table, png

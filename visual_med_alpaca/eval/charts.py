"""Score a chart expert on a chart set with gold tables (from `vmed data make-charts`): RMS, RNSS, speed."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

from ..errors import UserInputError
from .metrics.chart import parse_table, rms, rnss

FAILURE_PREFIX = "The chart could not be read"


def read_gold(set_dir: Path) -> list[dict]:
    gold = Path(set_dir) / "gold.jsonl"
    if not gold.is_file():
        raise UserInputError(f"{set_dir} has no gold.jsonl; make one with: vmed data make-charts --out {set_dir}")
    return [json.loads(line) for line in gold.read_text().splitlines() if line.strip()]


def evaluate_chart_set(set_dir: Path, expert_name: str = "chart", limit: int | None = None,
                       out: Path | None = None, progress: bool = True) -> dict:
    """Run the expert on every chart (after one warm-up) and write metrics JSON + predictions JSONL."""
    from tqdm import tqdm

    from ..experts import load_expert
    from ..images import load_image

    set_dir = Path(set_dir)
    items = read_gold(set_dir)[:limit]
    if not items:
        raise UserInputError(f"{set_dir}/gold.jsonl lists no charts")
    expert = load_expert(expert_name)
    expert.describe(load_image(set_dir / items[0]["image"]))  # warm-up: model load and first-call costs
    rows, by_style = [], defaultdict(list)
    for item in tqdm(items, desc=f"eval {expert_name}", disable=not progress):
        image = load_image(set_dir / item["image"])
        start = time.perf_counter()
        text = expert.describe(image)
        seconds = time.perf_counter() - start
        failed = text.startswith(FAILURE_PREFIX) or not parse_table(text).rows
        scores = rms(item["table"], "" if failed else text)
        row = {"id": item["id"], "style": item.get("style"), "failed": failed, "seconds": round(seconds, 3),
               "rms_f1": scores["f1"], "rms_precision": scores["precision"], "rms_recall": scores["recall"],
               "rnss": 0.0 if failed else rnss(item["table"], text), "prediction": text}
        rows.append(row)
        by_style[row["style"]].append(row)

    def summary(group: list[dict]) -> dict:
        n = len(group)
        return {"n": n, "rms_f1": sum(r["rms_f1"] for r in group) / n, "rnss": sum(r["rnss"] for r in group) / n,
                "failure_rate": sum(r["failed"] for r in group) / n,
                "seconds_per_chart": sum(r["seconds"] for r in group) / n}

    metrics = {"set": str(set_dir), "expert": expert_name, **summary(rows),
               "by_style": {style: summary(group) for style, group in sorted(by_style.items())}}
    out = Path(out) if out else set_dir / f"metrics_{expert_name}.json"
    out.write_text(json.dumps(metrics, indent=2))
    out.with_suffix(".predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    metrics["metrics_file"] = str(out)
    return metrics

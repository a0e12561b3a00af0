"""Stage 5: apply review decisions, cap per source and topic after a seeded shuffle, export Alpaca JSON and a
stats report (counts per source and stage, length histograms)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from pathlib import Path

from ..errors import UserInputError
from .config import BalanceConfig
from .store import read_jsonl, write_json_atomic, write_jsonl_atomic

STAGE_FILES = {  # stage -> file name in the work directory
    "collected": "questions.jsonl",
    "synthesized": "synthesized.jsonl",
    "kept by filter": "kept.jsonl",
    "dropped by filter": "dropped.jsonl",
    "reviewed": "reviews.jsonl",
    "balanced (exported)": "balanced.jsonl",
}


def apply_reviews(records: list[dict], reviews: Path | None) -> tuple[list[dict], Counter]:
    """Drop rejected records and use edited answers; unreviewed records pass unchanged."""
    decisions = {r["id"]: r for r in read_jsonl(reviews)} if reviews and reviews.exists() else {}
    counts: Counter = Counter()
    result = []
    for record in records:
        decision = decisions.get(record["id"])
        if decision is None:
            result.append(record)
            continue
        counts[decision["decision"]] += 1
        if decision["decision"] == "reject":
            continue
        if decision["decision"] == "edit":
            record = {**record, "output": decision["output"], "edited": True}
        result.append(record)
    return result, counts


def balance(kept: Path, out: Path, config: BalanceConfig, reviews: Path | None = None) -> dict:
    """Seeded shuffle, then keep a record while its source and (source, topic) are under their caps. Choosing none
    is one error saying why (no empty `out`, which `export` would refuse)."""
    kept_records = list(read_jsonl(kept))
    records, review_counts = apply_reviews(kept_records, reviews)
    random.Random(config.seed).shuffle(records)
    per_source: Counter = Counter()
    per_topic: Counter = Counter()
    chosen = []
    for record in records:
        source, topic = record["source"], (record["source"], record.get("topic", ""))
        cap = config.cap_per_source.get(source, config.default_cap_per_source)
        if cap is not None and per_source[source] >= cap:
            continue
        if config.cap_per_topic is not None and per_topic[topic] >= config.cap_per_topic:
            continue
        per_source[source] += 1
        per_topic[topic] += 1
        chosen.append(record)
    if not chosen:
        earlier = f" (the {out.name} there is an earlier run's, left as it was)" if out.exists() else ""
        raise UserInputError(f"nothing to balance: {_none_left(kept, len(kept_records), review_counts['reject'])}; "
                             f"{out} not written{earlier}")
    write_jsonl_atomic(out, chosen)
    return {"input": len(records), "balanced": len(chosen), "per_source": dict(per_source),
            "reviews": dict(review_counts)}


def export(balanced: Path, out: Path, workdir: Path) -> dict:
    """Alpaca JSON (`instruction`, `input`, `output`) plus stats.json / stats.md / lengths.png beside it."""
    records = list(read_jsonl(balanced))
    if not records:
        _refuse_empty_export(balanced, out, workdir)
    write_json_atomic(out, [{"instruction": r["instruction"], "input": r.get("input", ""), "output": r["output"]}
                            for r in records], indent=1)
    stats = stage_stats(workdir)
    stats["exported"] = {"file": str(out), "records": len(records)}
    write_json_atomic(out.with_name("stats.json"), stats, indent=2)
    out.with_name("stats.md").write_text(stats_markdown(stats))
    length_histograms(records, out.with_name("lengths.png"))
    return stats


def _refuse_empty_export(balanced: Path, out: Path, workdir: Path) -> None:
    """An empty balanced file is one error saying why nothing is left, not an empty training file (session 34)."""
    kept_path = workdir / STAGE_FILES["kept by filter"]
    kept = list(read_jsonl(kept_path)) if kept_path.exists() else []
    _, review_counts = apply_reviews(kept, workdir / STAGE_FILES["reviewed"])  # counted as `balance` counts them
    why = _none_left(kept_path, len(kept), review_counts["reject"])
    raise UserInputError(f"nothing to export: {balanced} holds no records ({why}); {out} not written")


def _none_left(kept: Path, n_kept: int, rejected: int) -> str:
    """Why balancing `kept` (n_kept records, `rejected` of them in review) leaves no record: `balance` and
    `export` say it alike."""
    of_kept = f"{n_kept} record{'s' * (n_kept != 1)} of {kept}"
    if not n_kept:
        return f"{kept} holds no records"
    if rejected == n_kept:
        return f"review rejected all {of_kept}"
    return f"the caps chose none of the {of_kept}: {rejected} rejected in review, the rest over the caps"


def stage_stats(workdir: Path) -> dict:
    """Counts per source for every stage file present, drop reasons, and answer length summaries."""
    per_stage: dict[str, dict[str, int]] = {}
    drop_reasons: dict[str, Counter] = defaultdict(Counter)
    lengths: dict[str, list[int]] = defaultdict(list)
    for stage, name in STAGE_FILES.items():
        path = workdir / name
        if not path.exists():
            continue
        counts: Counter = Counter()
        for record in read_jsonl(path):
            source = record.get("source") or record["id"].split(":")[0]
            counts[source] += 1
            if stage == "dropped by filter":
                drop_reasons[source][record["drop_reason"]] += 1
            if stage == "balanced (exported)":
                lengths[source].append(len(record["output"].split()))
        per_stage[stage] = dict(sorted(counts.items()))
    answer_words = {
        source: {"median": sorted(v)[len(v) // 2], "max": max(v), "mean": round(sum(v) / len(v), 1)}
        for source, v in lengths.items() if v
    }
    return {"per_stage": per_stage, "drop_reasons": {k: dict(v) for k, v in sorted(drop_reasons.items())},
            "answer_words": answer_words}


def stats_markdown(stats: dict) -> str:
    stages = list(stats["per_stage"])
    sources = sorted({s for counts in stats["per_stage"].values() for s in counts})
    lines = ["| source | " + " | ".join(stages) + " |", "|---" * (len(stages) + 1) + "|"]
    for source in sources + ["total"]:
        cells = [str(sum(c.values())) if source == "total" else str(c.get(source, 0))
                 for c in stats["per_stage"].values()]
        lines.append(f"| {source} | " + " | ".join(cells) + " |")
    reasons = sorted({r for v in stats["drop_reasons"].values() for r in v})
    if reasons:
        lines += ["", "| source | " + " | ".join(reasons) + " |", "|---" * (len(reasons) + 1) + "|"]
        for source, counts in stats["drop_reasons"].items():
            lines.append(f"| {source} | " + " | ".join(str(counts.get(r, 0)) for r in reasons) + " |")
    if stats["answer_words"]:
        lines += ["", "| source | answer words: median | mean | max |", "|---|---|---|---|"]
        for source, s in sorted(stats["answer_words"].items()):
            lines.append(f"| {source} | {s['median']} | {s['mean']} | {s['max']} |")
    return "\n".join(lines) + "\n"


def length_histograms(records: list[dict], path: Path) -> None:
    """Two panels: question words (instruction + input) and answer words, one line per source."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    by_source: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_source[record["source"]].append(record)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    bins = np.logspace(0, 4, 41)
    for source, items in sorted(by_source.items()):
        q = [max(1, len(f"{r['instruction']} {r.get('input', '')}".split())) for r in items]
        a = [max(1, len(r["output"].split())) for r in items]
        axes[0].hist(q, bins=bins, histtype="step", label=f"{source} ({len(items)})")
        axes[1].hist(a, bins=bins, histtype="step", label=source)
    for ax, title in zip(axes, ("question words (instruction + input)", "answer words")):
        ax.set_xscale("log")
        ax.set_title(title)
        ax.set_ylabel("records")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)

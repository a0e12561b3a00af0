"""balance + export: review decisions, caps, seeded order, Alpaca JSON and the stats report."""

from __future__ import annotations

import json

from visual_med_alpaca.data.balance import balance, export
from visual_med_alpaca.data.config import BalanceConfig
from visual_med_alpaca.data.store import read_jsonl


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _records():
    out = []
    for source, n in (("a", 30), ("b", 6)):
        for i in range(n):
            out.append({"id": f"{source}:{i}", "source": source, "instruction": f"Q {i}?", "input": "",
                        "output": f"answer {i} " * (i + 1), "topic": "x" if i % 2 else "y"})
    return out


def test_caps_reviews_and_seeded_shuffle(tmp_path):
    _write(tmp_path / "kept.jsonl", _records())
    _write(tmp_path / "reviews.jsonl", [{"id": "b:0", "decision": "reject"},
                                        {"id": "b:1", "decision": "edit", "output": "edited"},
                                        {"id": "b:2", "decision": "accept"}])
    config = BalanceConfig(seed=3, cap_per_source={"a": 10}, cap_per_topic=4)
    result = balance(tmp_path / "kept.jsonl", tmp_path / "balanced.jsonl", config, tmp_path / "reviews.jsonl")
    chosen = list(read_jsonl(tmp_path / "balanced.jsonl"))
    assert result["per_source"] == {"a": 8, "b": 5}  # at most 4 per (source, topic)
    assert "b:0" not in {r["id"] for r in chosen}
    assert next(r for r in chosen if r["id"] == "b:1")["output"] == "edited"
    balance(tmp_path / "kept.jsonl", tmp_path / "again.jsonl", config, tmp_path / "reviews.jsonl")
    assert (tmp_path / "again.jsonl").read_text() == (tmp_path / "balanced.jsonl").read_text()
    other = BalanceConfig(seed=4, cap_per_source={"a": 10}, cap_per_topic=4)
    balance(tmp_path / "kept.jsonl", tmp_path / "other.jsonl", other, tmp_path / "reviews.jsonl")
    assert (tmp_path / "other.jsonl").read_text() != (tmp_path / "balanced.jsonl").read_text()


def test_export_writes_alpaca_json_and_stats(tmp_path):
    records = _records()
    _write(tmp_path / "questions.jsonl", records)
    _write(tmp_path / "kept.jsonl", records[:-2])
    _write(tmp_path / "dropped.jsonl", [{**r, "drop_reason": "too_short"} for r in records[-2:]])
    balance(tmp_path / "kept.jsonl", tmp_path / "balanced.jsonl", BalanceConfig(default_cap_per_source=20))
    stats = export(tmp_path / "balanced.jsonl", tmp_path / "med_instruct.json", tmp_path)
    data = json.loads((tmp_path / "med_instruct.json").read_text())
    assert len(data) == 24 and all(set(item) == {"instruction", "input", "output"} for item in data)
    assert stats["per_stage"]["collected"] == {"a": 30, "b": 6}
    assert stats["per_stage"]["kept by filter"] == {"a": 30, "b": 4}
    assert stats["per_stage"]["balanced (exported)"] == {"a": 20, "b": 4}
    assert stats["drop_reasons"] == {"b": {"too_short": 2}}
    assert (tmp_path / "lengths.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| total | 36 | 34 | 2 | 24 |" in (tmp_path / "stats.md").read_text()

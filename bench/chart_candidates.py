"""The chart expert's development method (issue 15, fifth round): score a candidate change on four sets, decide.

Over rounds 2-4 the inspected (dev) half of chartqa_dev rose 0.743 -> 0.791 while the never-inspected report half
stayed at 0.670 -> 0.674: fixes fitted single dev charts. So a candidate is scored on four sets and adopted only by
the rule below (written before the fifth round's first candidate was scored; docs/benchmarks.md):
  fold A, fold B  the dev half split in two by sha1("fold:" + file stem) parity (never the report half);
  plain, studio   synthetic charts of seeds already used (development seeds), one pool per generator;
  survey          (round 14) Pew-style survey charts of the third generator, seed 155473 drawn for this pool;
  ends            (round 17) OWID/OECD line charts named at their line ends (fourth generator), seed 203099;
  plain2          (round 23) 120 plain charts of four seeds drawn for it, counted like `plain` in every rule;
  survey2         (round 27) 40 survey charts of seed 158364, drawn for it before any round-27 candidate was scored
                  (a less-tuned witness for Pew-style candidates), counted like `survey` in every rule.
  survey3         (round 28) 40 survey charts of seed 868555, drawn for a confirmatory test of round 27's P2 before
                  it was re-scored and never looked at per chart; counted like `survey` in every rule.
  trend           (round 40) 40 Pew trend charts of the fifth generator, seed 773625 drawn for this pool; counted like
                  `ends` in every rule (R2: a synthetic pool; R4e: when it or `ends` is the only pool that improves, no
                  set may go down).
  thinned         (round 41) 40 charts of the sixth generator (labels under every other point), seed 599885;
                  a synthetic pool for R2, and by R4t, when it is the only synthetic pool that improves, no other
                  set may go down (drawn for round 41's candidate: a weak witness, like `ends`).
  pew             (round 53) 40 charts of the seventh generator (Pew's stacked / diverging bars), seed 410399; a
                  synthetic pool for R2, and by R4w, when it is the only synthetic pool that improves, no other set
                  may go down (drawn after looking at the dev half's Pew charts: a weak witness).
  portal          (round 50) 40 Statista portal charts of the eighth generator, seed 946632; a synthetic pool for R2,
                  and by R4p, when it is the only synthetic pool that improves, no other set may go down.
  kinds           (round 61) 40 charts of the ninth generator (chart kinds no other generator draws), seed 539587;
                  a synthetic pool for R2, and by R4k, when it is the only synthetic pool that improves, no other set
                  may go down.
  pewfig          (round 62) 40 charts of the tenth generator (Pew's grouped bars, dot plots, grouped columns, each
                  value printed beside its mark), seed 803068; a synthetic pool for R2, and by R4f, when it is the
                  only synthetic pool that improves, no other set may go down (drawn after looking at dev Pew charts).
  survey4, portal2 (round 67) 40 survey charts of seed 452459 and 40 portal charts of seed 718777 (existing
                  generators, seeds drawn for them); looked at per chart, so counted like `portal` (R2 a synthetic pool;
                  R4p: when they or portal are the only synthetic pools that improve, no other set may go down).
  survey5         (round 72) 160 survey charts of seed 854595 (the existing generator, a seed drawn for it): a big
                  development pool looked at per chart (a witness for S1's rare survey loss), counted like `portal`.
  opencqa         (session 39) the dev half of OpenCQA's 300 real Pew charts (eval/charts.py `printed_set`: those
                  near-duplicating a chartqa_dev picture dropped first, then `split_of`'s dev half), scored against
                  their printed text only (metrics/chart.py `printed_scores`: value F1, label recall, unread). Stored
                  in TAG.json under `opencqa` ({image: {value_f1, value_recall, label_recall, unread, version}}),
                  printed by `score` and `decide`, counted by R1o, R2o, R3, R4o, R6o (`decide`'s docstring); two tags
                  scored with different metric versions are not compared.
Rule: R1 no set loses more than one chart's worth (mean RMS-F1 down by more than 1/n); R2 a synthetic pool
improves, or both folds improve; R3 the summed change over the sets is positive; R4 (round 14) when the survey
pool is the only synthetic pool that improves, neither fold may go down (that pool was drawn after looking at the
dev half's Pew charts, so it is a weaker witness than the other two; from round 27 `survey` or `survey2`, or both,
with none of plain / studio / plain2 up; from round 28 `survey3` too); R5 (round 16) the dev half's unread count
does not rise; R4e (round 17) when the `ends` pool is the only one of plain / studio / ends that improves (it was
drawn after looking at the dev half's OWID/OECD line charts: a weak witness too), neither fold and no other pool may
go down.

    python bench/chart_candidates.py score before        # the code as it is: runs/chart_candidates/before.json
    ... change the expert ...
    python bench/chart_candidates.py score after
    python bench/chart_candidates.py decide after before # ADOPT or REJECT, with the four deltas

OCR is about 90% of a chart's time and a geometry change does not touch it, so OCR results are memoised on disk
(`--ocr-cache`, keyed by the picture's bytes, the call's flags and the rapidocr version): a second score of the
four sets (~430 charts) takes a few CPU-minutes instead of ~7. Delete the cache when the OCR settings change.
Run `score` under the CPU lock; scores are RMS-F1 per chart, 0 for an unread one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import sys
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from visual_med_alpaca.data.charts import make_chart_set  # noqa: E402
from visual_med_alpaca.data.store import read_jsonl  # noqa: E402
from visual_med_alpaca.eval.charts import evaluate_chart_set, evaluate_printed_set  # noqa: E402
from visual_med_alpaca.experts.chart import ChartExpert  # noqa: E402
from visual_med_alpaca.paths import data_dir  # noqa: E402

OUT = Path("runs/chart_candidates")
# (generator, seed, n, styles): the development pools of the fifth round (seeds used before; never a fresh seed), and
# from round 12 the held-out seeds of rounds 9 and 10 (954435, 857404), from round 13 round 12's (696035): spent, now
# development seeds
POOLS = {
    "plain": [("plain", 3, 20, ()), ("plain", 90210, 30, ()), ("plain", 371225, 30, ()), ("plain", 364288, 30, ()),
              ("plain", 11, 24, ("line", "line_markers")), ("plain", 12, 16, ("pie",)),
              ("plain", 954435, 30, ()), ("plain", 857404, 30, ()), ("plain", 696035, 30, ())],
    "studio": [("studio", 3, 20, ()), ("studio", 90210, 30, ()), ("studio", 371225, 30, ()), ("studio", 364288, 30, ()),
               ("studio", 11, 24, ("line", "line_markers")), ("studio", 954435, 30, ()), ("studio", 857404, 30, ()),
               ("studio", 696035, 30, ())],
    # round 14: the third generator (Pew's layouts), a seed drawn with secrets for this pool (now a used seed)
    "survey": [("survey", 155473, 40, ())],
    # round 17: the fourth generator (OWID/OECD lines named at their ends), a seed drawn with secrets for this pool
    "ends": [("ends", 203099, 40, ())],
    # round 23: a second plain pool of fresh seeds drawn with secrets for it (the first is tuned out: fresh plain seeds
    # score 0.70-0.87 where it scores 0.90); a development pool looked at per chart, counted like `plain`
    "plain2": [("plain", 381892, 30, ()), ("plain", 544819, 30, ()), ("plain", 260216, 30, ()), ("plain", 68853, 30, ())],
    # round 27: a second survey pool of a seed drawn with secrets for it before any round-27 candidate was scored (the
    # first was drawn after looking at the dev half's Pew charts and tuned on over rounds 14-21); counted like `survey`
    "survey2": [("survey", 158364, 40, ())],
    # round 28: a third survey pool, seed drawn with secrets for a confirmatory test of round 27's P2 (built and scored
    # before this pool existed); never looked at per chart; counted like `survey`
    "survey3": [("survey", 868555, 40, ())],
    # round 40: the fifth generator (Pew's trend charts: thick lines with round markers, every point's value printed),
    # a seed drawn with secrets for this pool; drawn after looking at dev 4931 / 7018, so counted like `ends` (R4e)
    "trend": [("trend", 773625, 40, ())],
    # round 41: the sixth generator (category labels under every other point), a seed drawn with secrets for this pool
    # before any round-41 candidate was scored; drawn after looking at one dev chart (two_col_23667): a weak witness
    "thinned": [("thinned", 599885, 40, ())],
    # round 53: the seventh generator (Pew's stacked / diverging bars, close pale answer shades), a seed drawn with
    # secrets for this pool before any round-53 candidate was scored; drawn after looking at the dev half's Pew charts
    # (4393, 4027, 1319, 7780, 5858, 9814, 4300, 2070): a weak witness, R4w
    "pew": [("pew", 410399, 40, ())],
    # round 50: the eighth generator (Statista's portal charts; RNG stream 8), a seed drawn with secrets for this pool before any
    # round-50 candidate was scored; drawn after looking at the dev half's Statista charts: a weak witness
    "portal": [("portal", 946632, 40, ())],
    # round 61: the ninth generator (chart kinds no other generator draws: donuts, areas, dot plots, many lines, bars
    # with no or a broken axis, whiskers, a map beside bars; RNG stream 9), a seed drawn with secrets for this pool
    # before any round-61 candidate was scored: a weak witness (its candidate is built on it), R4k
    "kinds": [("kinds", 539587, 40, ())],
    # round 62: the tenth generator (Pew's grouped bars, dot plots, grouped columns; RNG stream 10), a seed drawn with
    # secrets for this pool before any round-62 candidate was scored; drawn after looking at dev Pew charts: R4f
    "pewfig": [("pewfig", 803068, 40, ())],
    # round 67: a fourth survey pool and a second portal pool of the existing generators, seeds drawn with secrets for
    # them before any round-67 candidate was scored; development pools looked at per chart (to build a guard for S1 without
    # looking at survey3): weak witnesses, counted like `portal` (R4p)
    "survey4": [("survey", 452459, 40, ())],
    "portal2": [("portal", 718777, 40, ())],
    # round 72: a fifth survey pool, 160 charts of the existing generator, seed drawn with secrets for it before any
    # round-72 score run; a development pool looked at per chart (S1's survey loss is rarer than 1 in 40), like `portal`
    "survey5": [("survey", 854595, 160, ())],
}
SETS = ("foldA", "foldB", "plain", "studio", "survey", "ends", "plain2", "survey2", "survey3", "trend", "thinned", "pew",
        "portal", "kinds", "pewfig", "survey4", "portal2",
        "survey5")
PRINTED = "opencqa"  # the 19th set: real charts with printed text only, counted on its own line (R1o, R2o, R4o, R6o)


def fold(image: str) -> str:
    return "foldA" if int(hashlib.sha1(("fold:" + Path(image).stem).encode()).hexdigest(), 16) % 2 == 0 else "foldB"


class MemoOcrChartExpert(ChartExpert):
    """The chart expert with its OCR calls memoised on disk (a development tool: geometry changes only)."""

    def __init__(self, cache: Path):
        super().__init__()
        from importlib.metadata import version

        self.cache_path, self.version = cache, version("rapidocr")
        self.memo = pickle.loads(cache.read_bytes()) if cache.is_file() else {}
        self.added = 0

    def _run_ocr(self, rgb, detect, native=False):
        import numpy as np

        key = (hashlib.sha1(np.ascontiguousarray(rgb).tobytes()).hexdigest(), rgb.shape, detect, native, self.version)
        if key not in self.memo:
            result = super()._run_ocr(rgb, detect, native)
            boxes = None if result.boxes is None else [np.asarray(b) for b in result.boxes]
            self.memo[key] = (boxes, tuple(result.txts or ()), tuple(result.scores or ()))
            self.added += 1
        boxes, txts, scores = self.memo[key]
        return types.SimpleNamespace(boxes=boxes, txts=txts, scores=scores)

    def save(self) -> None:
        if self.added:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_path.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(self.memo))
            os.replace(tmp, self.cache_path)
            self.added = 0


def per_chart(set_dir: Path, expert, split: str, out: Path) -> dict[str, float]:
    metrics = evaluate_chart_set(set_dir, "chart", progress=False, split=split, out=out, expert=expert)
    rows = read_jsonl(Path(metrics["metrics_file"]).with_suffix(".predictions.jsonl"))
    return {r["image"]: 0.0 if r["failed"] else r["rms_f1"] for r in rows}


def score(tag: str, cache: Path, data: Path | None) -> dict[str, dict[str, float]]:
    expert = MemoOcrChartExpert(cache)
    work = OUT / tag
    sets: dict[str, dict[str, float]] = {name: {} for name in SETS}
    try:
        dev = per_chart(data_dir(data, "chartqa_dev") / "chartqa_dev", expert, "dev", work / "chartqa_dev.json")
        for image, f1 in dev.items():
            sets[fold(image)][image] = f1
        expert.save()
        for pool, draws in POOLS.items():
            for generator, seed, n, styles in draws:
                name = pool_name(generator, seed, n, styles)
                set_dir = Path("runs/chart_pools") / name
                make_chart_set(set_dir, n, seed, progress=False, generator=generator, styles=styles)
                for image, f1 in per_chart(set_dir, expert, "all", work / f"{name}.json").items():
                    sets[pool][f"{name}/{image}"] = f1
                expert.save()
        sets[PRINTED] = printed(expert, work, data)
    finally:
        expert.save()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{tag}.json").write_text(json.dumps(sets, indent=1))
    return sets


def printed(expert, work: Path, data: Path | None) -> dict[str, dict]:
    """OpenCQA's dev half, per chart: value F1 / recall and label recall (None where nothing printed counts), unread."""
    metrics = evaluate_printed_set("dev", work / f"{PRINTED}.json", expert=expert, data=data, progress=False)
    rows = read_jsonl(Path(metrics["metrics_file"]).with_suffix(".predictions.jsonl"))
    return {r["image"]: {"value_f1": r["value_f1"], "value_recall": r["value_recall"], "label_recall": r["label_recall"],
                         "unread": r["failed"], "version": metrics["printed_metric_version"]} for r in rows}


def printed_mean(charts: dict[str, dict], key: str) -> tuple[float, int]:
    """(mean of `key` over the `opencqa` charts where it is defined, how many those are); (nan, 0) for none."""
    values = [c[key] for c in charts.values() if c[key] is not None]
    return (sum(values) / len(values), len(values)) if values else (float("nan"), 0)


def printed_line(charts: dict[str, dict]) -> str:
    """The `opencqa` counting line: mean value F1 and label recall (over the charts where they are defined), unread."""
    value, recall, label = (printed_mean(charts, key)[0] for key in ("value_f1", "value_recall", "label_recall"))
    return (f"value F1 {value:.4f} (value recall {recall:.4f}), label recall {label:.4f}, "
            f"unread {sum(c['unread'] for c in charts.values())}")


def mean(values: dict[str, float]) -> float:
    return sum(values.values()) / len(values)


def unread(tag: str) -> int | None:
    """Unread charts of the dev half in a scored tag (rows marked `failed`); None where its predictions are gone."""
    counts = unread_by_set(tag)
    return counts["foldA"] + counts["foldB"] if "foldA" in counts else None


def pool_name(generator: str, seed: int, n: int, styles: tuple) -> str:
    return f"{generator}_seed{seed}_n{n}" + ("_" + "-".join(styles) if styles else "")


def unread_by_set(tag: str) -> dict[str, int]:
    """(round 28) Unread charts (rows marked `failed`) per set of a scored tag, for the sets whose predictions are kept."""
    work, counts = OUT / tag, {}
    dev = work / "chartqa_dev.predictions.jsonl"
    if dev.is_file():
        rows = list(read_jsonl(dev))
        for name in ("foldA", "foldB"):
            counts[name] = sum(bool(r["failed"]) for r in rows if fold(r["image"]) == name)
    for pool, draws in POOLS.items():
        files = [work / f"{pool_name(*draw)}.predictions.jsonl" for draw in draws]
        if all(f.is_file() for f in files):
            counts[pool] = sum(bool(r["failed"]) for f in files for r in read_jsonl(f))
    return counts


def printed_change(new: dict[str, dict] | None, base: dict[str, dict] | None) -> dict | None:
    """(session 39) The `opencqa` set's change: mean value F1 and label recall (new - base), each against one chart's
    worth (1 / the charts where it is defined), and the unread counts; None where either tag lacks the set."""
    if not new or not base:
        return None
    versions = {tag: {c.get("version", 1) for c in charts.values()} for tag, charts in (("new", new), ("base", base))}
    if versions["new"] != versions["base"]:  # (session 39) v1 tags lack the field
        raise ValueError(f"opencqa was scored with printed-text metric v{sorted(versions['base'])} in the base and "
                         f"v{sorted(versions['new'])} in the candidate: score both with one version")

    def mean_of(charts, key):  # a set where nothing is defined counts as 0 over one chart
        mean, n = printed_mean(charts, key)
        return (mean, n) if n else (0.0, 1)

    (v_new, n_value), (v_base, _) = mean_of(new, "value_f1"), mean_of(base, "value_f1")
    (l_new, n_label), (l_base, _) = mean_of(new, "label_recall"), mean_of(base, "label_recall")
    return {"value": v_new - v_base, "label": l_new - l_base, "value_chart": 1 / n_value, "label_chart": 1 / n_label,
            "unread": (sum(bool(c["unread"]) for c in new.values()), sum(bool(c["unread"]) for c in base.values()))}


def decide(new: dict, base: dict, unread_new: int | None = None, unread_base: int | None = None) -> tuple[bool, dict[str, float], list[str]]:
    """ADOPT (True) or not by R1-R5 and the `opencqa` lines; the per-set change in mean RMS-F1; the rules that failed.

    A set the base was not scored on (a pool added later) counts as unchanged. R5 (round 16): the dev half's unread
    count must not rise (checked where both counts are known). `opencqa` (session 39; printed-text proxy, no RMS-F1):
    R1o its value F1 or label recall falls by one chart's worth (1 / the charts it is defined on) or more; R2o either
    rises, or its unread count falls (a witness, as a pool that improves is); R3 counts its two changes in the sum; R4o where it is the only
    witness, no other set may go down; R6o its unread count may not rise."""
    sets = [name for name in SETS if name in new and name in base]
    delta = {name: mean(new[name]) - mean(base[name]) if name in sets else 0.0 for name in SETS}
    failed = []
    if any(delta[name] < -1 / len(new[name]) - 1e-12 for name in sets):
        failed.append("R1")
    printed = printed_change(new.get(PRINTED), base.get(PRINTED))
    if printed and (printed["value"] <= -printed["value_chart"] + 1e-12 or printed["label"] <= -printed["label_chart"] + 1e-12):
        failed.append("R1o")
    witness_o = bool(printed) and (printed["value"] > 1e-9 or printed["label"] > 1e-9
                                   or printed["unread"][0] < printed["unread"][1])
    up = {name: delta[name] > 1e-9 for name in SETS}
    main_pool = up["plain"] or up["studio"] or up["plain2"]
    survey = up["survey"] or up["survey2"] or up["survey3"]
    weak = up["ends"] or up["trend"]  # pools drawn after looking at the dev half's charts of their kind
    if not (main_pool or survey or weak or up["thinned"] or up["pew"] or up["portal"] or up["kinds"] or up["pewfig"]
            or up["survey4"] or up["portal2"] or up["survey5"] or (up["foldA"] and up["foldB"]) or witness_o):
        failed.append("R2")
    if not sum(delta.values()) + (printed["value"] + printed["label"] if printed else 0.0) > 1e-9:
        failed.append("R3")
    if survey and not main_pool and min(delta["foldA"], delta["foldB"]) < -1e-9:
        failed.append("R4")
    if weak and not main_pool and min(delta.values()) < -1e-9:
        failed.append("R4e")
    if up["thinned"] and not (main_pool or survey or weak) and min(delta.values()) < -1e-9:
        failed.append("R4t")
    if up["pew"] and not (main_pool or survey or weak or up["thinned"]) and min(delta.values()) < -1e-9:
        failed.append("R4w")
    # rounds 67 and 72: their new pools count like `portal`
    portal = up["portal"] or up["portal2"] or up["survey4"] or up["survey5"]
    if portal and not (main_pool or survey or weak or up["thinned"] or up["pew"]) and min(delta.values()) < -1e-9:
        failed.append("R4p")
    if up["kinds"] and not (main_pool or survey or weak or up["thinned"] or up["pew"] or portal) \
            and min(delta.values()) < -1e-9:
        failed.append("R4k")
    if up["pewfig"] and not (main_pool or survey or weak or up["thinned"] or up["pew"] or portal or up["kinds"]) \
            and min(delta.values()) < -1e-9:
        failed.append("R4f")
    other_witness = (main_pool or survey or weak or up["thinned"] or up["pew"] or portal or up["kinds"] or up["pewfig"]
                     or (up["foldA"] and up["foldB"]))
    if witness_o and not other_witness and min(delta.values()) < -1e-9:
        failed.append("R4o")
    if unread_new is not None and unread_base is not None and unread_new > unread_base:
        failed.append("R5")
    if printed and printed["unread"][0] > printed["unread"][1]:
        failed.append("R6o")
    return not failed, delta, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="score the code as it is now on the four sets")
    s.add_argument("tag")
    s.add_argument("--ocr-cache", type=Path, default=Path("runs/chart_candidates/ocr_memo.pkl"))
    s.add_argument("--data-dir", type=Path, default=None)
    d = sub.add_parser("decide", help="ADOPT or REJECT a scored candidate against a scored base")
    d.add_argument("new")
    d.add_argument("base")
    args = parser.parse_args()
    if args.command == "score":
        sets = score(args.tag, args.ocr_cache, args.data_dir)
        for name in SETS:
            print(f"{name:7s} n={len(sets[name]):3d} RMS-F1 {mean(sets[name]):.4f}")
        print(f"{PRINTED:7s} n={len(sets[PRINTED]):3d} {printed_line(sets[PRINTED])}")
        print(f"load average {os.getloadavg()[0]:.2f}; wrote {OUT / (args.tag + '.json')}")
        return 0
    missing = [t for t in (args.new, args.base) if not (OUT / f"{t}.json").is_file()]
    if missing:  # was a FileNotFoundError traceback
        parser.exit(2, f"error: no scores for {missing[0]} in {OUT}: run `score {missing[0]}` first\n")
    new, base = (json.loads((OUT / f"{t}.json").read_text()) for t in (args.new, args.base))
    counts = unread(args.new), unread(args.base)
    try:
        adopt, delta, failed = decide(new, base, *counts)
    except ValueError as exc:  # opencqa scored with two metric versions
        parser.exit(2, f"error: {exc}\n")
    for name in (n for n in SETS if n in new and n in base):
        moved = [k for k in new[name] if abs(new[name][k] - base[name].get(k, 0.0)) > 1e-9]
        up = sum(new[name][k] > base[name].get(k, 0.0) for k in moved)
        print(f"{name:7s} n={len(new[name]):3d} {mean(base[name]):.4f} -> {mean(new[name]):.4f} ({delta[name]:+.4f}; "
              f"{up} charts up, {len(moved) - up} down)")
    if PRINTED in new and PRINTED in base:
        print(f"{PRINTED:7s} n={len(new[PRINTED]):3d} {printed_line(base[PRINTED])} -> {printed_line(new[PRINTED])}")
    print(f"dev half unread: {counts[1]} -> {counts[0]}")
    by_new, by_base = unread_by_set(args.new), unread_by_set(args.base)
    print("unread by set: " + ", ".join(f"{name} {by_base[name]} -> {by_new[name]}" for name in SETS
                                        if name in by_new and name in by_base))
    print("ADOPT" if adopt else f"REJECT ({', '.join(failed)} not met)")
    return 0


if __name__ == "__main__":
    from _common import run  # bad input (no data folder) as one 'error:' line, exit 2, as every bench script

    sys.exit(run(main))

"""Which development set predicts LiveQA? Reruns every configuration of bench/results/liveqa_runs.jsonl on the
development sets (retrieval only) and compares their order with the LiveQA order (aggregate numbers only).

  python bench/bench_dev_agreement.py            # rule: bench/results/dev2_rule.txt, part A
  python bench/bench_dev_agreement.py --candidates   # part B: the pre-registered new candidates on dev + dev2

Sets: dev = the 34 MEDIQA RQE consumer questions (hit@1, MRR@10; evaluate.dev_set); dev2 = the graded MEDIQA Task 3
Alexa + validation questions (avgScore, MAP@10, MRR@10 as on LiveQA; evaluate.dev2_set). The LiveQA side is the
aggregate avgScore each run appended to the runs file; no per-question LiveQA result exists or is read here.
Kendall tau-b and Spearman rho over the distinct configurations, and the sign agreement on the decisions that
earlier rounds actually made (run numbers = line numbers of the runs file, 1-based).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import measured_at, run, threads  # noqa: E402
from bench_knowledge_grid import PREVIOUS_CUES  # noqa: E402
from bench_liveqa import HERE, development_sets, run_dev, run_liveqa  # noqa: E402
from scipy import stats  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.knowledge import retrieve  # noqa: E402
from visual_med_alpaca.knowledge.retrieve import QueryViews, Reranker, Retriever  # noqa: E402

CURRENT_CUES = dict(retrieve.QTYPE_CUES)
# re-ranker settings that later runs record (run 21: clean_synonyms) and their values before they existed; a run
# whose value is the old one keeps the configuration key it had, so runs 1-20 group as in rounds 5-10
LATER_FIELDS = {"clean_synonyms": False, "types_from": "whole", "topic_first": False, "list_penalty": 0.0}
# (chosen run, alternative run, what was decided): the choices earlier rounds made on dev (docs/benchmarks.md)
DECISIONS = [(14, 16, "D1 dense-question+rules over hybrid+rules"),
             (14, 11, "D2 dense-question: rules re-ranker over none"),
             (17, 14, "D3 current over previous cue words"),
             (18, 17, "D4 rules+RQE W=1 over rules"),
             (19, 18, "D5 RQE with MedQuAD hard pairs (b10) W=4 over RQE (a) W=1"),
             (20, 18, "D6 MedQuAD's focus synonyms (focus+rqe) over none")]
SHIPPED = {"method": "dense-question", "views": (1.0, 0.0, 0.0), "cues": "current", "focus_bonus": 0.5,
           "type_bonus": 0.25, "info_bonus": 0.0, "on_focus": False, "rqe_weight": 1.0, "rqe_commit": None}
CANDIDATES = [("S shipped", {}), ("C1 W=0.5", {"rqe_weight": 0.5}), ("C2 W=2", {"rqe_weight": 2.0}),
              ("C3 T=0.1", {"type_bonus": 0.1}), ("C4 T=0.5", {"type_bonus": 0.5}), ("C5 F=0.25", {"focus_bonus": 0.25}),
              ("C6 F=1.0", {"focus_bonus": 1.0}), ("C7 views 1,1,0", {"views": (1.0, 1.0, 0.0)}),
              ("C8 rerank on focus", {"on_focus": True})]


def configurations(log: Path, runs: int | None = None) -> list[tuple[list[int], dict, float]]:
    """([run numbers], configuration, LiveQA avgScore of the last of them) per distinct configuration, of the first
    `runs` runs (default: all)."""
    seen: dict[str, tuple[list[int], dict, float]] = {}
    for number, line in enumerate(log.read_text().splitlines()[:runs], 1):
        run = json.loads(line)
        r, v = run["reranker"], run.get("views") or {}
        config = {"method": run["method"], "views": (v.get("full", 1.0), v.get("focus", 0.0), v.get("sentences", 0.0)),
                  "cues": run.get("cues") or "previous",  # runs before the cue change (00:18 UTC) carry no field
                  "focus_bonus": r.get("focus_bonus", 0.0), "type_bonus": r.get("type_bonus", 0.0),
                  "info_bonus": r.get("info_bonus", 0.0), "on_focus": r.get("on_focus", False),
                  "rqe_weight": r.get("rqe_weight", 0.0), "rqe_commit": (run.get("rqe_model_meta") or {}).get("commit"),
                  "synonyms": r.get("synonyms", "none"),  # run 20 (round 7) is the first with synonyms
                  **{k: r[k] for k in LATER_FIELDS if k in r and r[k] != LATER_FIELDS[k]}}  # run 21 on: clean synonyms
        key = json.dumps(config, sort_keys=True)
        numbers = seen[key][0] + [number] if key in seen else [number]
        seen[key] = (numbers, config, run["avgScore"])
    return list(seen.values())


def model_at(commit: str | None, folder: Path) -> str | None:
    """The RQE model file as committed at `commit` (run 19's b10 model), else None = the shipped one."""
    if not commit:
        return None
    out = folder / f"rqe_lr-{commit}.json"
    if not out.exists():
        text = subprocess.run(["git", "show", f"{commit}:visual_med_alpaca/assets/knowledge/rqe_lr.json"],
                              cwd=HERE.parent, check=True, capture_output=True, text=True).stdout
        out.write_text(text)
    return str(out)


def score(index, config: dict, dev, dev2, qrels2, passages, threads: int, models: Path, dev3=None, qrels3=None,
          dev_sets: bool = True) -> dict:
    """One configuration on dev, dev2 and (if given) dev3 (LiveQA's scores, as dev2); dev3 alone if not `dev_sets`."""
    retrieve.QTYPE_CUES = PREVIOUS_CUES if config["cues"] == "previous" else CURRENT_CUES
    reranker = Reranker(config["focus_bonus"], config["type_bonus"], config["info_bonus"], config["on_focus"],
                        config["rqe_weight"], rqe_model=model_at(config["rqe_commit"], models),
                        synonyms=config.get("synonyms", "none"),
                        **{k: config.get(k, default) for k, default in LATER_FIELDS.items()})
    retriever = Retriever(index, config["method"], reranker, encoder_threads=threads, views=QueryViews(*config["views"]))
    retriever.search("warm up the encoder and caches", 1)
    d3 = run_liveqa(retriever, dev3, qrels3, passages) if dev3 else {}
    if not dev_sets:
        retrieve.QTYPE_CUES = CURRENT_CUES
        return {"dev3_avg": d3["avgScore"], "dev3_mrr": d3["MRR@10"], "dev3_p1": d3["P@1"]}
    d1 = run_dev(retriever, dev, [])  # no no-source check: only hit@1 and MRR@10 are compared
    d2 = run_liveqa(retriever, dev2, qrels2, passages)
    retrieve.QTYPE_CUES = CURRENT_CUES
    return {"dev_hit1": d1["hit@1"], "dev_mrr": d1["MRR@10"], "dev2_avg": d2["avgScore"], "dev2_map": d2["MAP@10"],
            "dev2_mrr": d2["MRR@10"], "dev2_p1": d2["P@1"],
            **({"dev3_avg": d3["avgScore"], "dev3_mrr": d3["MRR@10"], "dev3_p1": d3["P@1"]} if d3 else {})}


def label(config: dict) -> str:
    rr = f"{config['focus_bonus']:g}/{config['type_bonus']:g}/{config['info_bonus']:g}"
    rqe = f" + RQE{' b10' if config['rqe_commit'] else ''} x{config['rqe_weight']:g}" if config["rqe_weight"] else ""
    names = f" + synonyms {config['synonyms']}" if config.get("synonyms", "none") != "none" else ""
    later = "".join(f" + {k}={config[k]}" for k in LATER_FIELDS if k in config)
    return f"{config['method']} {rr}{rqe}{names}{later} ({config['cues']} cues)"


def sign(x: float) -> int:
    return (x > 1e-12) - (x < -1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", default="medquad")
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--candidates", action="store_true", help="score the pre-registered candidates (rule part B)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    root = paths.data_dir(args.data_dir, "medquad", "mediqa2019")
    index, passages, dev, dev2, qrels2 = development_sets(args.index, root)
    models = Path(tempfile.mkdtemp(prefix="vmed-rqe-"))
    print(f"{measured_at()}; dev {len(dev)} questions, dev2 {len(dev2)} questions\n")
    if args.candidates:
        print("| candidate | dev hit@1 | dev MRR@10 | dev2 avgScore | dev2 MAP@10 | dev2 MRR@10 | dev2 P@1 |")
        print("|---|---|---|---|---|---|---|")
        for name, change in CANDIDATES:
            s = score(index, {**SHIPPED, **change}, dev, dev2, qrels2, passages, args.threads, models)
            print(f"| {name} | {s['dev_hit1']:.3f} | {s['dev_mrr']:.3f} | {s['dev2_avg']:.3f} | {s['dev2_map']:.3f} | "
                  f"{s['dev2_mrr']:.3f} | {s['dev2_p1']:.3f} |", flush=True)
        print(f"\n{measured_at()}")
        return
    rows = []
    print("| runs | configuration | LiveQA avgScore (runs file) | dev hit@1 | dev MRR@10 | dev2 avgScore | dev2 MAP@10 | dev2 MRR@10 |")
    print("|---|---|---|---|---|---|---|---|")
    for numbers, config, live in configurations(HERE / "results" / "liveqa_runs.jsonl"):
        s = score(index, config, dev, dev2, qrels2, passages, args.threads, models)
        rows.append((numbers, live, s))
        print(f"| {','.join(map(str, numbers))} | {label(config)} | {live:.3f} | {s['dev_hit1']:.3f} | {s['dev_mrr']:.3f} | "
              f"{s['dev2_avg']:.3f} | {s['dev2_map']:.3f} | {s['dev2_mrr']:.3f} |", flush=True)
    live = [r[1] for r in rows]
    print("\n| development signal | Kendall tau-b vs LiveQA avgScore | Spearman rho |")
    print("|---|---|---|")
    for key, name in [("dev_hit1", "dev hit@1"), ("dev_mrr", "dev MRR@10"), ("dev2_avg", "dev2 avgScore"),
                      ("dev2_mrr", "dev2 MRR@10"), ("dev2_map", "dev2 MAP@10")]:
        values = [r[2][key] for r in rows]
        print(f"| {name} | {stats.kendalltau(values, live).statistic:.3f} | {stats.spearmanr(values, live).statistic:.3f} |")
    by_run = {n: r for r in rows for n in r[0]}
    print("\n| decision (chosen over alternative) | LiveQA | dev hit@1 | dev MRR@10 | dev2 avgScore |")
    print("|---|---|---|---|---|")
    agree = {"dev_hit1": 0, "dev_mrr": 0, "dev2_avg": 0}
    for chosen, other, what in DECISIONS:
        a, b = by_run[chosen], by_run[other]
        live_sign = sign(a[1] - b[1])
        cells = []
        for key in agree:
            d = a[2][key] - b[2][key]
            agree[key] += sign(d) == live_sign != 0
            cells.append(f"{d:+.3f} ({'agrees' if sign(d) == live_sign != 0 else 'no'})")
        print(f"| {what} (runs {chosen} vs {other}) | {a[1] - b[1]:+.3f} | " + " | ".join(cells) + " |")
    print(f"\nagreements out of {len(DECISIONS)}: " + ", ".join(f"{k} {v}" for k, v in agree.items()))
    print(f"{measured_at()}")
    index.close()


if __name__ == "__main__":
    run(main)

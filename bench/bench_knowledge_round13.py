"""Knowledge, thirteenth round: a larger development set (dev4 = dev3 + the LiveQA'17 Train-1 questions, graded by the
same annotation rule) checked against LiveQA's order over runs 1-21 (part A), then passages that point elsewhere
(addresses, lists of resources) ranked down by the re-ranker (part B: knowledge.list_penalty); never LiveQA's test
questions. Applies bench/results/knowledge_round13_rule.txt.

  python bench/bench_knowledge_round13.py --threads 2 --decision-out bench/results/knowledge_round13.json

Part A: every distinct configuration of the first 21 runs of bench/results/liveqa_runs.jsonl rescored on dev, dev2,
dev3 and Train-1 (bench_dev_agreement.score; dev4's numbers are the question-weighted means of dev3's and Train-1's,
the two sets being disjoint); Kendall tau-b of dev3 avgScore and of dev4 avgScore against the runs' LiveQA avgScore
(aggregates only) and their sign agreement on the decisions D1-D7. Part B: S = the shipped default and L1 / L2 = S +
knowledge.list_penalty 0.05 / 0.25 on dev (hit@1, MRR@10, latency, the no-source threshold), dev2, dev3, Train-1 and
dev4 (avgScore, MAP@10, MRR@10, P@1). dev3 and Train-1 are graded by version 2 of the rule (names shared across a
focus's sources, the default of bench_liveqa.py --split dev3 since round 10).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measured_at, run, utc_now  # noqa: E402
from bench_dev_agreement import DECISIONS, configurations, label, score  # noqa: E402
from bench_knowledge_round7 import RULES  # noqa: E402
from bench_knowledge_round8 import THRESHOLD, threshold_counts  # noqa: E402
from bench_knowledge_round10 import EPS, passes, pooled, signals  # noqa: E402
from bench_liveqa import (HERE, dev3_set, development_arguments, development_row, open_development, run_liveqa,  # noqa: E402
                          train1_set)
from scipy import stats  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever  # noqa: E402

RUNS = 21  # the LiveQA runs made before this round (run 22, if any, comes from this round's rule)
DECISIONS_21 = DECISIONS + [(21, 20, "D7 the written names + clean synonyms (focus+rqe+written) over focus+rqe")]
SHIPPED = {"synonyms": "focus+rqe+written", "clean_synonyms": True}  # the default since round 11 (with RULES, RQE x 1)
CONFIGS = (("S", {}), ("L1", {"list_penalty": 0.05}), ("L2", {"list_penalty": 0.25}))
ADOPTABLE = ("L1", "L2")  # on a full tie, the smaller change first
# S as measured before: dev hit@1 25/34, MRR@10 0.793, dev2 2.031 (round 11's sanity), dev3 version 2 1.776 (round 10)
SANE = {"hit@1": 25 / 34, "MRR@10": 0.793, "dev2": 2.031, "dev3": 1.776}
ROUND10_TAU_DEV3 = 0.736  # dev3 (version 2) tau-b over runs 1-20 in round 10: part A's own sanity check


def merged(a: dict, b: dict) -> dict:
    """The scores of two disjoint question sets as one: each mean weighted by its set's size."""
    n = a["questions"] + b["questions"]
    return {"questions": n, **{k: (a[k] * a["questions"] + b[k] * b["questions"]) / n
                              for k in ("avgScore", "MAP@10", "MRR@10", "P@1")}}


def dev4_of(s: dict, sizes: tuple[int, int]) -> dict:
    """dev4's avgScore / MRR@10 / P@1 from a part-A row's dev3 and Train-1 numbers (bench_dev_agreement.score keys)."""
    n3, n1 = sizes
    return {f"dev4_{k}": (s[f"dev3_{k}"] * n3 + s[f"train1_{k}"] * n1) / (n3 + n1) for k in ("avg", "mrr", "p1")}


def agreement(rows: list[tuple[list[int], float, dict]], decisions=DECISIONS_21) -> dict:
    """Part A: tau-b against LiveQA and sign agreement on `decisions`, for dev hit@1, dev3, Train-1 and dev4
    avgScore; dev4 is usable iff its tau-b is at least dev3's and it agrees in sign on at least as many decisions."""
    found = signals(rows, ("dev_hit1", "dev3_avg", "train1_avg", "dev4_avg"), decisions)
    found["dev4_usable"] = (found["dev4_avg"]["tau_b"] >= found["dev3_avg"]["tau_b"] - EPS
                            and found["dev4_avg"]["agreements"] >= found["dev3_avg"]["agreements"])
    return found


def sane(row: dict) -> bool:
    return (abs(row["dev"]["hit@1"] - SANE["hit@1"]) < 1e-6 and abs(row["dev"]["MRR@10"] - SANE["MRR@10"]) < 5e-4
            and abs(row["dev2"]["avgScore"] - SANE["dev2"]) < 5e-4 and abs(row["dev3"]["avgScore"] - SANE["dev3"]) < 5e-4)


def decide(usable: bool, part_a_sane: bool, rows: dict) -> dict:
    """knowledge_round13_rule.txt, part B: nothing unless S repeats its numbers (and part A its round-10 tau-b); a
    candidate passes iff round 10's conditions (1)-(5) hold against S, read on dev4 if dev4 is usable, else on dev3;
    of several, the most correct top answers over dev + that set, then its avgScore, then ADOPTABLE's order."""
    s, key = rows["S"], "dev4" if usable else "dev3"
    if not (sane(s) and part_a_sane):
        return {"adopt": None, "sanity": False, "checks": {}}
    found = {name: passes(s, rows[name], key) for name in ADOPTABLE}
    passing = sorted((n for n in ADOPTABLE if all(found[n].values())),
                     key=lambda n: (-pooled(rows[n], key), -rows[n][key]["avgScore"], ADOPTABLE.index(n)))
    adopted = passing[0] if passing else None
    return {"adopt": adopted, "settings": dict(CONFIGS)[adopted] if adopted else {}, "sanity": True, "read_on": key,
            "checks": found, "pooled": {name: pooled(row, key) for name, row in rows.items()}}


def score_rows(index, threads, dev, negatives, dev2, qrels2, sets: dict, passages) -> dict[str, dict]:
    """S, L1 and L2 on dev, dev2 and the LiveQA'17 training sets (`sets`: name -> (questions, grades)), one row each."""
    print("| config | dev hit@1 | dev MRR@10 | dev2 avgScore | dev3 avgScore | Train-1 avgScore | dev4 avgScore | "
          "dev4 MAP@10 | dev4 MRR@10 | dev4 P@1 | dev ms (median, p95) | no-source answered / dev refused |")
    print("|---" * 12 + "|")
    rows = {}
    for name, options in CONFIGS:
        reranker = Reranker(*RULES, rqe_weight=1.0, **SHIPPED, **options)
        retriever = Retriever(index, "dense-question", reranker, encoder_threads=threads)
        row = rows[name] = {**options, **development_row(retriever, dev, negatives, dev2, qrels2, passages,
                                                         keep_relevance=True)}
        for key, (questions, qrels) in sets.items():
            row[key] = run_liveqa(retriever, questions, qrels, passages)
        row["dev4"] = merged(row["dev3"], row["train1"])
        d, d4, t = row["dev"], row["dev4"], threshold_counts(row)
        print(f"| {name} | {d['hit@1']:.3f} | {d['MRR@10']:.3f} | {row['dev2']['avgScore']:.3f} | "
              f"{row['dev3']['avgScore']:.3f} | {row['train1']['avgScore']:.3f} | {d4['avgScore']:.3f} | "
              f"{d4['MAP@10']:.3f} | {d4['MRR@10']:.3f} | {d4['P@1']:.3f} | {d['ms_median']:.1f}, {d['ms_p95']:.1f} | "
              f"{t['no_source_answered']} / {t['dev_refused']} |", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    development_arguments(parser)
    parser.add_argument("--part", choices=["a", "b", "both"], default="both", help="part A, part B or both")
    args = parser.parse_args()
    index, passages, dev, dev2, qrels2, negatives = open_development(args)
    root = paths.data_dir(args.data_dir, "medquad", "mediqa2019")
    dev3, qrels3 = dev3_set(root, passages, dev, 2)
    train1, qrels1 = train1_set(root, passages, dev, dev2, 2)
    sizes = (len(dev3), len(train1))
    print(f"index {index.folder}; dev {len(dev)}, dev2 {len(dev2)}, dev3 {len(dev3)}, Train-1 {len(train1)}, dev4 "
          f"{sum(sizes)} questions; {measured_at()}\n")
    out: dict = {}
    found = {"dev4_usable": None}
    part_a_sane = True
    if args.part in ("a", "both"):
        print("Part A: dev3 and dev4 against LiveQA's order (runs 1-21, aggregates only)\n")
        print("| runs | configuration | LiveQA avgScore | dev hit@1 | dev3 avgScore | Train-1 avgScore | dev4 avgScore | "
              "dev4 MRR@10 | dev4 P@1 |")
        print("|---|---|---|---|---|---|---|---|---|")
        models = Path(tempfile.mkdtemp(prefix="vmed-rqe-"))
        scored = []
        for numbers, config, live in configurations(HERE / "results" / "liveqa_runs.jsonl", RUNS):
            s = score(index, config, dev, dev2, qrels2, passages, args.threads, models, dev3, qrels3)
            one = score(index, config, [], [], qrels2, passages, args.threads, models, train1, qrels1, dev_sets=False)
            s.update({k.replace("dev3_", "train1_"): v for k, v in one.items() if k.startswith("dev3_")})
            s.update(dev4_of(s, sizes))
            scored.append((numbers, live, s))
            print(f"| {','.join(map(str, numbers))} | {label(config)} | {live:.3f} | {s['dev_hit1']:.3f} | "
                  f"{s['dev3_avg']:.3f} | {s['train1_avg']:.3f} | {s['dev4_avg']:.3f} | {s['dev4_mrr']:.3f} | "
                  f"{s['dev4_p1']:.3f} |", flush=True)
        found = agreement(scored)
        first20 = [r for r in scored if max(r[0]) <= 20]
        found["dev3_tau_b_runs_1_20"] = float(stats.kendalltau([r[2]["dev3_avg"] for r in first20],
                                                               [r[1] for r in first20]).statistic)
        part_a_sane = abs(found["dev3_tau_b_runs_1_20"] - ROUND10_TAU_DEV3) < 1e-3
        found["sane"] = part_a_sane
        by_run = {n: r for r in scored for n in r[0]}
        print("\n| decision (chosen over alternative) | LiveQA | dev hit@1 | dev3 avgScore | Train-1 avgScore | dev4 avgScore |")
        print("|---|---|---|---|---|---|")
        for a, b, what in DECISIONS_21:
            cells = " | ".join(f"{by_run[a][2][k] - by_run[b][2][k]:+.3f}" for k in ("dev_hit1", "dev3_avg", "train1_avg",
                                                                                   "dev4_avg"))
            print(f"| {what} (runs {a} vs {b}) | {by_run[a][1] - by_run[b][1]:+.3f} | {cells} |")
        print(f"\npart A: {json.dumps(found)}\n")
        out["part_a"] = {"rows": [[n, live, s] for n, live, s in scored], **found}
    if args.part in ("b", "both"):
        print(f"Part B: S, L1, L2 ({measured_at()})\n")
        rows = score_rows(index, args.threads, dev, negatives, dev2, qrels2,
                          {"dev3": (dev3, qrels3), "train1": (train1, qrels1)}, passages)
        decision = decide(bool(found["dev4_usable"]), part_a_sane, rows) if args.part == "both" else \
            {"record_only": "part B alone: no decision"}
        print(f"\nrule (bench/results/knowledge_round13_rule.txt): {json.dumps(decision)}")
        out.update({"rows": rows, **decision})
    print(f"threshold {THRESHOLD}; finished {utc_now('%Y-%m-%dT%H:%M:%SZ')}, load average {os.getloadavg()}")
    if args.decision_out:
        Path(args.decision_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.decision_out).write_text(json.dumps(out, indent=1) + "\n")
    index.close()


if __name__ == "__main__":
    run(main)

"""Knowledge, tenth round: a third development set (the TREC LiveQA'17 medical TRAINING questions, graded on MedQuAD by
their annotated focus and type: evaluate.dev3_set) checked against LiveQA's own order first, then the top answer's topic
chosen before its type (knowledge.topic_first) against the shipped configuration; never LiveQA's test questions.
Applies bench/results/knowledge_round10_rule.txt.

  python bench/bench_knowledge_round10.py --decision-out bench/results/knowledge_round10.json

Part A: every distinct configuration of the first 20 runs of bench/results/liveqa_runs.jsonl rescored on dev, dev2 and
dev3 (bench_dev_agreement.score); Kendall tau-b of dev hit@1 and of dev3 avgScore against the runs' LiveQA avgScore
(aggregates only), and their sign agreement on the decisions earlier rounds made. Part B: S = the shipped default
(dense-question, rules F 0.5 / T 0.25 / I 0 + the shipped RQE model x 1, synonyms focus+rqe) and C9 = S +
topic_first, on dev (hit@1, MRR@10, latency, the no-source threshold), dev2 and dev3 (avgScore, MAP@10, MRR@10, P@1).
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
from bench_dev_agreement import DECISIONS, configurations, label, score, sign  # noqa: E402
from bench_knowledge_round7 import RULES  # noqa: E402
from bench_knowledge_round8 import THRESHOLD, checks, threshold_counts  # noqa: E402
from bench_liveqa import HERE, dev3_set, development_arguments, development_row, open_development, run_liveqa  # noqa: E402
from scipy import stats  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever  # noqa: E402

RUNS = 20  # the LiveQA runs made before this round (run 21, if any, comes from this round's rule)
CONFIGS = (("S", {}), ("C9", {"topic_first": True}))
SHIPPED = {"hit@1": 25 / 34, "MRR@10": 0.763, "avgScore": 2.031}  # S as measured in rounds 7-9 (the sanity check)
POOLED_GAIN = 2  # dev3 usable: C9 needs >= 2 more questions with a correct top answer over dev + dev3
MAX_MS = 100.0
EPS = 1e-9


def signals(rows: list[tuple[list[int], float, dict]], keys, decisions) -> dict:
    """Per development signal (`keys` of the rows' scores): Kendall tau-b against the rows' LiveQA avgScore and on how
    many of `decisions` (chosen run, other run, what) it agrees in sign with LiveQA."""
    live = [r[1] for r in rows]
    by_run = {n: r for r in rows for n in r[0]}
    found = {}
    for key in keys:
        agree = sum(sign(by_run[a][2][key] - by_run[b][2][key]) == sign(by_run[a][1] - by_run[b][1]) != 0
                    for a, b, _ in decisions)
        found[key] = {"tau_b": float(stats.kendalltau([r[2][key] for r in rows], live).statistic), "agreements": agree}
    return found


def agreement(rows: list[tuple[list[int], float, dict]]) -> dict:
    """Part A: tau-b against LiveQA and sign agreement on DECISIONS, for dev hit@1 and dev3 avgScore; dev3 is usable
    iff its tau-b is at least dev hit@1's and it agrees in sign on at least as many decisions."""
    found = signals(rows, ("dev_hit1", "dev3_avg"), DECISIONS)
    found["dev3_usable"] = (found["dev3_avg"]["tau_b"] >= found["dev_hit1"]["tau_b"] - EPS
                            and found["dev3_avg"]["agreements"] >= found["dev_hit1"]["agreements"])
    return found


def sane(row: dict) -> bool:
    return (abs(row["dev"]["hit@1"] - SHIPPED["hit@1"]) < 1e-6 and abs(row["dev"]["MRR@10"] - SHIPPED["MRR@10"]) < 5e-4
            and abs(row["dev2"]["avgScore"] - SHIPPED["avgScore"]) < 5e-4)


def pooled(row: dict, key: str = "dev3") -> int:
    """Questions whose top answer is correct: dev hit@1 and `key`'s P@1 (dev3, or dev4 in round 13), over both sets."""
    return round(row["dev"]["hit@1"] * row["dev"]["questions"] + row[key]["P@1"] * row[key]["questions"])


def decide(usable: bool, rows: dict) -> dict:
    """bench/results/knowledge_round10_rule.txt, part B: nothing is decided unless S repeats its numbers; with dev3
    usable, C9 needs (1) >= POOLED_GAIN more correct top answers over dev + dev3, (2) dev3 avgScore and (3) dev2
    avgScore not lower, (4) dev median <= 100 ms, (5) the no-source threshold separating as well; without it, round 8's
    conditions (a)-(e) against S."""
    s, c = rows["S"], rows["C9"]
    if not sane(s):
        return {"adopt": None, "sanity": False, "checks": {}}
    found = passes(s, c) if usable else checks(s, c)
    return {"adopt": "C9" if all(found.values()) else None, "sanity": True, "dev3_usable": usable, "checks": found,
            "pooled": {name: pooled(row) for name, row in rows.items()}}


def passes(s: dict, c: dict, key: str = "dev3") -> dict[str, bool]:
    """Part B's conditions (1)-(5) for a candidate `c` against S with dev3 usable (also knowledge_round10b_rule.txt;
    round 13 reads them on dev4 when dev4 is usable: `key`)."""
    return {"1 pooled correct top answers up by >= 2": pooled(c, key) >= pooled(s, key) + POOLED_GAIN,
            f"2 {key} avgScore does not fall": c[key]["avgScore"] >= s[key]["avgScore"] - EPS,
            "3 dev2 avgScore does not fall": c["dev2"]["avgScore"] >= s["dev2"]["avgScore"] - EPS,
            "4 dev retrieval median <= 100 ms": c["dev"]["ms_median"] <= MAX_MS,
            "5 the no-source threshold separates as well": checks(s, c)["e the no-source threshold separates as well"]}


def score_rows(index, configs, threads, dev, negatives, dev2, qrels2, dev3, qrels3, passages) -> dict[str, dict]:
    """Each (name, Reranker settings over S's) configuration on dev, dev2 and dev3, one table row each."""
    print("| config | dev hit@1 | dev MRR@10 | dev2 avgScore | dev3 avgScore | dev3 MAP@10 | dev3 MRR@10 | dev3 P@1 | "
          "dev ms (median, p95) | no-source answered / dev refused |")
    print("|---" * 10 + "|")
    rows = {}
    for name, options in configs:
        settings = {"synonyms": "focus+rqe", **options}
        retriever = Retriever(index, "dense-question", Reranker(*RULES, rqe_weight=1.0, **settings), encoder_threads=threads)
        row = rows[name] = {**options, **development_row(retriever, dev, negatives, dev2, qrels2, passages,
                                                         keep_relevance=True)}
        row["dev3"] = run_liveqa(retriever, dev3, qrels3, passages)
        d, d3, t = row["dev"], row["dev3"], threshold_counts(row)
        print(f"| {name} | {d['hit@1']:.3f} | {d['MRR@10']:.3f} | {row['dev2']['avgScore']:.3f} | {d3['avgScore']:.3f} | "
              f"{d3['MAP@10']:.3f} | {d3['MRR@10']:.3f} | {d3['P@1']:.3f} | {d['ms_median']:.1f}, {d['ms_p95']:.1f} | "
              f"{t['no_source_answered']} / {t['dev_refused']} |", flush=True)
    return rows


def open_round10(description: str):
    """The round-10 scripts' flags parsed and sets opened: (args, index, passages, dev, dev2, dev2 grades, no-source
    questions, dev3, dev3 grades)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    development_arguments(parser)
    parser.add_argument("--dev3-version", type=int, choices=[1, 2], default=1,
                        help="1: dev3 as the round's rule defined it (default); 2: names shared across a focus's sources")
    args = parser.parse_args()
    index, passages, dev, dev2, qrels2, negatives = open_development(args)
    dev3, qrels3 = dev3_set(paths.data_dir(args.data_dir, "medquad", "mediqa2019"), passages, dev, args.dev3_version)
    return args, index, passages, dev, dev2, qrels2, negatives, dev3, qrels3


def main() -> None:
    args, index, passages, dev, dev2, qrels2, negatives, dev3, qrels3 = open_round10(__doc__)
    print(f"index {index.folder}; dev {len(dev)}, dev2 {len(dev2)}, dev3 {len(dev3)} questions; {measured_at()}\n")
    print("Part A: dev3 against LiveQA's order (runs 1-20, aggregates only)\n")
    print("| runs | configuration | LiveQA avgScore | dev hit@1 | dev3 avgScore | dev3 MRR@10 | dev3 P@1 |")
    print("|---|---|---|---|---|---|---|")
    models = Path(tempfile.mkdtemp(prefix="vmed-rqe-"))
    scored = []
    for numbers, config, live in configurations(HERE / "results" / "liveqa_runs.jsonl", RUNS):
        s = score(index, config, dev, dev2, qrels2, passages, args.threads, models, dev3, qrels3)
        scored.append((numbers, live, s))
        print(f"| {','.join(map(str, numbers))} | {label(config)} | {live:.3f} | {s['dev_hit1']:.3f} | {s['dev3_avg']:.3f} | "
              f"{s['dev3_mrr']:.3f} | {s['dev3_p1']:.3f} |", flush=True)
    found = agreement(scored)
    print(f"\npart A: {json.dumps(found)}\n\nPart B: S and C9 ({measured_at()})\n")
    rows = score_rows(index, CONFIGS, args.threads, dev, negatives, dev2, qrels2, dev3, qrels3, passages)
    decision = {"record_only": "dev3 version 2: no decision"} if args.dev3_version == 2 else decide(found["dev3_usable"], rows)
    print(f"\nrule (bench/results/knowledge_round10_rule.txt): {json.dumps(decision)}")
    print(f"threshold {THRESHOLD}; finished {utc_now('%Y-%m-%dT%H:%M:%SZ')}, load average {os.getloadavg()}")
    if args.decision_out:
        Path(args.decision_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.decision_out).write_text(json.dumps({"part_a": {"rows": [[n, live, s] for n, live, s in scored], **found},
                                                       "rows": rows, **decision}, indent=1) + "\n")
    index.close()


if __name__ == "__main__":
    run(main)

"""Knowledge, sixth round: the RQE model with hard negatives mined from the MEDIQA training pairs, against the
shipped one, on both development sets (never LiveQA); applies bench/results/knowledge_round6_rule.txt.

  vmed knowledge train-rqe --mediqa-hard-negatives 1 --threads 2 --out runs/r6/rqe_lr.json
  python bench/bench_knowledge_round6.py --candidate runs/r6/rqe_lr.json --decision-out bench/results/knowledge_round6.json

Both configurations: dense-question, views 1,0,0, current cue words, rules F 0.5 / T 0.25 / I 0 + RQE x W=1 (S: the
shipped model, C: the candidate). dev = 34 MEDIQA RQE consumer questions (hit@1, MRR@10); dev2 = the graded MEDIQA
Task 3 Alexa + validation questions (avgScore, MAP@10, MRR@10, as on LiveQA; evaluate.dev2_set). Rows with the RQE
probability alone (W=1000) are printed for the record; they do not enter the decision.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measured_at, run, utc_now  # noqa: E402
from bench_liveqa import development_arguments, development_row, open_development  # noqa: E402

from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever  # noqa: E402
from visual_med_alpaca.knowledge.rqe import load_model  # noqa: E402

RULES = (0.5, 0.25, 0.0)  # the shipped focus / type / info bonuses
SHIPPED_AUC = 0.854  # the shipped model's validation AUC (rule, part 1)
MIN_GAIN = 0.010  # mean(dev MRR@10, dev2 MRR@10) must rise by this much (part 2)
MAX_FALL = 0.005  # neither development MRR@10 may fall by more (part 3)
MAX_MS = 100.0  # retrieval median on dev (part 4)


def decide(shipped: dict, candidate: dict, candidate_auc: float) -> dict:
    """The committed rule (bench/results/knowledge_round6_rule.txt) on the S and C rows at W=1."""
    mean_s = (shipped["dev"]["MRR@10"] + shipped["dev2"]["MRR@10"]) / 2
    mean_c = (candidate["dev"]["MRR@10"] + candidate["dev2"]["MRR@10"]) / 2
    checks = {
        "1 validation AUC >= 0.854": candidate_auc >= SHIPPED_AUC,
        "2 mean MRR@10 gain >= 0.010": mean_c - mean_s >= MIN_GAIN - 1e-12,
        "3 neither MRR@10 falls > 0.005": all(candidate[s]["MRR@10"] >= shipped[s]["MRR@10"] - MAX_FALL - 1e-12
                                              for s in ("dev", "dev2")),
        "4 dev retrieval median <= 100 ms": candidate["dev"]["ms_median"] <= MAX_MS,
    }
    return {"adopt": all(checks.values()), "checks": checks, "mean_mrr": {"S": round(mean_s, 4), "C": round(mean_c, 4)},
            "validation_auc": candidate_auc}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidate", required=True, help="the candidate RQE model JSON")
    development_arguments(parser)
    args = parser.parse_args()
    index, passages, dev, dev2, qrels2, negatives = open_development(args)
    candidate_meta = load_model(args.candidate).meta
    print(f"index {index.folder} ({len(passages):,} passages); dev {len(dev)} questions, dev2 {len(dev2)}; "
          f"{measured_at()}\ncandidate {args.candidate}: {json.dumps(candidate_meta)}\n")
    print("| config | RQE model | W | dev hit@1 | dev MRR@10 | dev2 avgScore | dev2 MAP@10 | dev2 MRR@10 | "
          "dev ms (median, p95) | dev top relevance min / no-source max |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = {}
    for name, model, weight in (("S", None, 1.0), ("C", args.candidate, 1.0),
                                ("S alone", None, 1000.0), ("C alone", args.candidate, 1000.0)):
        retriever = Retriever(index, "dense-question", Reranker(*RULES, rqe_weight=weight, rqe_model=model),
                              encoder_threads=args.threads)
        row = rows[name] = development_row(retriever, dev, negatives, dev2, qrels2, passages)
        d, d2 = row["dev"], row["dev2"]
        print(f"| {name} | {'shipped' if model is None else 'candidate'} | {weight:g} | {d['hit@1']:.3f} | "
              f"{d['MRR@10']:.3f} | {d2['avgScore']:.3f} | {d2['MAP@10']:.3f} | {d2['MRR@10']:.3f} | "
              f"{d['ms_median']:.1f}, {d['ms_p95']:.1f} | {row['dev_top_relevance_min']:.3f} / "
              f"{row['no_source_max']:.3f} |", flush=True)
    decision = decide(rows["S"], rows["C"], float(candidate_meta.get("validation_auc", 0.0)))
    print(f"\nrule (bench/results/knowledge_round6_rule.txt): {json.dumps(decision)}")
    print(f"finished {utc_now('%Y-%m-%dT%H:%M:%SZ')}, load average {os.getloadavg()}")
    if args.decision_out:
        Path(args.decision_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.decision_out).write_text(json.dumps({"candidate": args.candidate, "candidate_meta": candidate_meta,
                                                       "rows": rows, **decision}, indent=1) + "\n")
    index.close()


if __name__ == "__main__":
    run(main)

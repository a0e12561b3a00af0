"""Knowledge, fourteenth round: a learned re-ranker (knowledge.reranker=learned, knowledge/ranker.py) fitted on the
TREC LiveQA'17 Train-1 questions graded by dev3's rule, then decided on dev + dev3 (and dev2) against the shipped
hand-set re-ranker; never LiveQA's test questions. Applies bench/results/knowledge_round14_rule.txt.

  python bench/bench_knowledge_round14.py --threads 2 --decision-out bench/results/knowledge_round14.json

1. Training data: for each graded Train-1 question (bench_liveqa.train1_set), the shipped default's top --k
   candidates (all it re-ranks: the retriever's depth) with the features its re-ranker read (Retrieved.features) and
   their grades by dev3's rule (1 = ungraded).
2. The objective (pointwise or pairwise logistic regression) and C chosen by grouped cross-validation over the Train-1
   questions (ranker.cross_validate / choose); the chosen setting refitted on all of them -> --model-out.
3. S (the shipped default) and M (the learned ranker) on dev (hit@1, MRR@10, latency, the no-source threshold),
   dev2, dev3 (avgScore, MAP@10, MRR@10, P@1) and Train-1 (M's own training questions: for the record only); the
   rule's decision (round 13's part-B conditions on dev + dev3).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measured_at, run, utc_now  # noqa: E402
from bench_knowledge_round7 import RULES  # noqa: E402
from bench_knowledge_round8 import THRESHOLD, threshold_counts  # noqa: E402
from bench_knowledge_round10 import passes, pooled  # noqa: E402
from bench_knowledge_round13 import SHIPPED, sane  # noqa: E402
from bench_liveqa import dev3_set, development_arguments, development_row, open_development, run_liveqa, train1_set  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.knowledge import ranker  # noqa: E402
from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever  # noqa: E402
from visual_med_alpaca.knowledge.rqe import C_GRID  # noqa: E402

GRID = tuple((objective, c) for objective in ranker.OBJECTIVES for c in C_GRID)
# the shipped re-ranker's weights per unit of each feature (the fused score counts 1): the hand-set sum
HAND_SET = {"fused": 1.0, "focus_share": RULES[0], "synonym_share": 0.0, "type_match": RULES[1], "info_match": RULES[2],
            "rqe": 1.0}


def shipped(**options) -> Reranker:
    """The default's re-ranker (round 11: rules 0.5 / 0.25 / 0, RQE x 1, the written names, clean synonyms)."""
    return Reranker(*RULES, rqe_weight=1.0, **SHIPPED, **options)


def learned(model: Path) -> Reranker:
    return Reranker(learned=True, ranker_model=str(model), **SHIPPED)


def training_rows(retriever, questions, qrels, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each question's top `k` candidates: feature rows (ranker.FEATURES order), grades (1-4), question ids."""
    rows, grades, groups = [], [], []
    for qid, text in questions:
        for item in retriever.search(text, k):
            rows.append(ranker.feature_row(item.features))
            grades.append(qrels.grade(qid, item.passage))
            groups.append(qid)
    return np.asarray(rows), np.asarray(grades), np.asarray(groups)


def decide(rows: dict) -> dict:
    """knowledge_round14_rule.txt: nothing unless S repeats its numbers (round 13's sanity); M is adopted iff round
    10's conditions (1)-(5) hold against S on dev + dev3 (bench_knowledge_round10.passes)."""
    if not sane(rows["S"]):
        return {"adopt": None, "sanity": False, "checks": {}}
    found = passes(rows["S"], rows["M"], "dev3")
    return {"adopt": "M" if all(found.values()) else None, "sanity": True, "read_on": "dev3", "checks": found,
            "pooled": {name: pooled(row, "dev3") for name, row in rows.items()}}


def relative_weights(model: ranker.RankerModel) -> dict[str, float]:
    """The fitted weights per unit of each feature, divided by the fused score's (the hand-set sum's scale)."""
    weights = model.weights()
    return {name: w / weights["fused"] for name, w in weights.items()} if weights.get("fused") else weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    development_arguments(parser)
    parser.add_argument("--k", type=int, default=50, help="candidates per training question (the retriever's depth)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model-out", default=str(ranker.MODEL_PATH), help="where the fitted model is written")
    args = parser.parse_args()
    index, passages, dev, dev2, qrels2, negatives = open_development(args)
    root = paths.data_dir(args.data_dir, "medquad", "mediqa2019")
    dev3, qrels3 = dev3_set(root, passages, dev, 2)
    train1, qrels1 = train1_set(root, passages, dev, dev2, 2)
    print(f"index {index.folder}; dev {len(dev)}, dev2 {len(dev2)}, dev3 {len(dev3)}, Train-1 {len(train1)} questions; "
          f"{measured_at()}\n")
    default = Retriever(index, "dense-question", shipped(), encoder_threads=args.threads)
    x, grades, groups = training_rows(default, train1, qrels1, args.k)
    s_tops = ranker.top_grades(-np.arange(len(groups), dtype=float), grades, groups)  # S's own order: first = top
    print(f"training data: {len(set(groups.tolist()))} Train-1 questions, {len(x)} candidates (k={args.k}), grades "
          f"{ {g: int((grades == g).sum()) for g in (1, 2, 3, 4)} }; S's top answers on them: avgScore "
          f"{np.mean([g - 1 for g in s_tops.values()]):.3f}, P@1 {np.mean([g >= 3 for g in s_tops.values()]):.3f}\n")
    print(f"Grouped cross-validation over the Train-1 questions ({args.folds} folds x {args.repeats} repeats)\n")
    print("| objective | C | CV avgScore | CV P@1 |\n|---|---|---|---|")
    results = ranker.cross_validate(x, grades, groups, GRID, args.folds, args.repeats)
    for r in results:
        print(f"| {r['objective']} | {r['C']} | {r['avgScore']:.3f} | {r['P@1']:.3f} |")
    chosen = ranker.choose(results)
    model = ranker.fit(x, grades, groups, chosen["C"], chosen["objective"],
                       {"trained_on": f"LiveQA'17 Train-1, {len(set(groups.tolist()))} questions graded by dev3's rule "
                                      f"(version 2), the shipped default's top {args.k} candidates each",
                        "cv": {"folds": args.folds, "repeats": args.repeats, "avgScore": chosen["avgScore"],
                               "P@1": chosen["P@1"]}, "script": "bench/bench_knowledge_round14.py"})
    model.save(Path(args.model_out))
    ranker.load_model.cache_clear()
    print(f"\nchosen: {chosen}; written to {args.model_out}\n")
    print("| feature | fitted weight (per unit, fused = 1) | standardised coefficient | hand-set weight (S) |\n|---|---|---|---|")
    relative = relative_weights(model)
    for name, coef in zip(model.features, model.coef):
        print(f"| {name} | {relative[name]:+.3f} | {coef:+.3f} | {HAND_SET.get(name, 0.0):g} |")
    print(f"\nS and M on the development sets ({measured_at()})\n")
    print("| config | dev hit@1 | dev MRR@10 | dev2 avgScore | dev3 avgScore | dev3 MAP@10 | dev3 MRR@10 | dev3 P@1 | "
          "Train-1 avgScore (M: its training set) | dev ms (median, p95) | no-source answered / dev refused | "
          "correct top answers, dev + dev3 |")
    print("|---" * 12 + "|")
    rows = {}
    for name, reranker in (("S", shipped()), ("M", learned(Path(args.model_out)))):
        retriever = Retriever(index, "dense-question", reranker, encoder_threads=args.threads)
        row = rows[name] = development_row(retriever, dev, negatives, dev2, qrels2, passages, keep_relevance=True)
        row["dev3"] = run_liveqa(retriever, dev3, qrels3, passages)
        row["train1"] = run_liveqa(retriever, train1, qrels1, passages)
        d, d3, t = row["dev"], row["dev3"], threshold_counts(row)
        print(f"| {name} | {d['hit@1']:.3f} | {d['MRR@10']:.3f} | {row['dev2']['avgScore']:.3f} | {d3['avgScore']:.3f} | "
              f"{d3['MAP@10']:.3f} | {d3['MRR@10']:.3f} | {d3['P@1']:.3f} | {row['train1']['avgScore']:.3f} | "
              f"{d['ms_median']:.1f}, {d['ms_p95']:.1f} | {t['no_source_answered']} / {t['dev_refused']} | "
              f"{pooled(row, 'dev3')} |", flush=True)
    decision = decide(rows)
    print(f"\nrule (bench/results/knowledge_round14_rule.txt): {json.dumps(decision)}")
    print(f"threshold {THRESHOLD}; finished {utc_now('%Y-%m-%dT%H:%M:%SZ')}, load average {os.getloadavg()}")
    if args.decision_out:
        out = {"cv": results, "chosen": chosen, "weights": relative, "model": str(args.model_out), "rows": rows,
               "training": {"questions": len(set(groups.tolist())), "candidates": len(x),
                            "s_top_avgScore": float(np.mean([g - 1 for g in s_tops.values()]))}, **decision}
        Path(args.decision_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.decision_out).write_text(json.dumps(out, indent=1) + "\n")
    index.close()


if __name__ == "__main__":
    run(main)

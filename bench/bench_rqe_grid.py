"""Development set: the trained RQE re-ranker vs the hand-set one (never the LiveQA benchmark).

  python bench/bench_rqe_grid.py --methods dense-question --choice-out runs/rqe_choice.json
  python bench/bench_rqe_grid.py --rqe-model shipped,runs/rqe/b.json,runs/rqe/d.json   # compare trained models

Ranks the development questions (knowledge/evaluate.py dev_set: 34 MEDIQA RQE consumer questions) once per
method (50 candidates), then re-ranks the same candidates with: nothing; the shipped hand-set rules
(KnowledgeConfig focus/type/info bonuses); the RQE model's probability x W added to the fused score (`rqe`);
and both (`rules+rqe`), for each RQE model given. Scores hit@1 and MRR@10 (the development set has no graded answers, so no avgScore).
The rule, fixed before the run: the best (hit@1, then MRR@10) wins; on a tie the shipped configuration stays.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_knowledge_grid import SHIPPED_CFG, cached, score  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.knowledge import evaluate  # noqa: E402
from visual_med_alpaca.knowledge.index import open_index  # noqa: E402
from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever, question_focus  # noqa: E402
from visual_med_alpaca.knowledge.rqe import load_model  # noqa: E402

WEIGHTS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 1000.0)  # 1000: the RQE probability alone orders the candidates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default="dense-question")
    parser.add_argument("--index", default="medquad")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rqe-model", default="shipped", help="comma-separated RQE model files ('shipped': the packaged one)")
    parser.add_argument("--choice-out")
    args = parser.parse_args()
    root = paths.data_dir(None, "medquad", "mediqa2019")
    index = open_index(args.index, need_dense=True)
    passages = list(index.docs.passages(list(range(index.docs.count()))).values())
    dev = evaluate.dev_set(root, passages)
    load = os.getloadavg()
    print(f"{len(dev)} development questions; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    models = [None if m == "shipped" else m for m in args.rqe_model.split(",")]
    for model in models:
        meta = load_model(model).meta
        print(f"RQE model {model or 'shipped'}: validation AUC {meta.get('validation_auc')}, MedQuAD pairs "
              f"{meta.get('medquad_pairs', {})}, features {len(load_model(model).features)}")
    print("\n| method | RQE model | re-ranker | hit@1 | MRR@10 |\n|---|---|---|---|---|")
    shipped_rules = (SHIPPED_CFG.focus_bonus, SHIPPED_CFG.type_bonus, SHIPPED_CFG.info_bonus, SHIPPED_CFG.rerank_on_focus)
    started, encoder, results = time.perf_counter(), None, []
    for method in args.methods.split(","):
        retriever = Retriever(index, method, Reranker(), encoder_threads=args.threads)
        retriever.search("warm up", 1)
        encoder = cached(encoder or retriever._encoder)
        retriever._encoder = encoder
        ranked, vectors = [], []
        for q, _ in dev:
            ranked.append(retriever.search(q, 50))
            vectors.append(retriever.last_vector)
        focus = [question_focus(q, retriever.topics()) for q, _ in dev]
        grid = [(None, "none", 0.0, Reranker()), (None, "rules", 0.0, Reranker(*shipped_rules))]
        for model in models:
            grid += [(model, "rqe", w, Reranker(rqe_weight=w, rqe_model=model)) for w in WEIGHTS]
            grid += [(model, "rules+rqe", w, Reranker(*shipped_rules, rqe_weight=w, rqe_model=model)) for w in WEIGHTS]
        for model, kind, weight, reranker in grid:
            hit, mrr = score(ranked, dev, reranker, focus, vectors)
            label = kind + (f" W={weight:g}" if weight else "")
            name = (model or "shipped") if weight else ""
            print(f"| {method} | {name} | {label} | {hit:.3f} | {mrr:.3f} |", flush=True)
            results.append({"method": method, "rqe_model": model, "reranker": kind, "rqe_weight": weight, "hit@1": hit,
                            "MRR@10": mrr})
    if args.choice_out:
        shipped = next(r for r in results if r["method"] == SHIPPED_CFG.method and r["reranker"] == SHIPPED_CFG.reranker
                       and r["rqe_model"] is None
                       and (r["rqe_weight"] == SHIPPED_CFG.rqe_weight or SHIPPED_CFG.reranker == "rules"))
        best = max(results, key=lambda r: (r["hit@1"], r["MRR@10"], r is shipped, -r["rqe_weight"]))
        Path(args.choice_out).write_text(json.dumps({"chosen": best, "shipped": shipped}))
        print(f"\nchosen on the development set: {best}\n(shipped: {shipped})")
    load = os.getloadavg()
    print(f"\n{time.perf_counter() - started:.0f} s; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    index.close()


if __name__ == "__main__":
    main()

"""Development set: the trained RQE re-ranker vs the hand-set one (never the LiveQA benchmark).

  python bench/bench_rqe_grid.py --methods dense-question --choice-out runs/rqe_choice.json
  python bench/bench_rqe_grid.py --rqe-model shipped,runs/rqe/b.json,runs/rqe/d.json   # compare trained models
  python bench/bench_rqe_grid.py --cross-encoder default --ce-k 3,5,10,20 --ce-choice-out runs/ce_choice.json

Ranks the development questions (knowledge/evaluate.py dev_set: 34 MEDIQA RQE consumer questions) once per
method (50 candidates), then re-ranks the same candidates with: nothing; the shipped hand-set rules
(KnowledgeConfig focus/type/info bonuses); the RQE model's probability x W added to the fused score (`rqe`);
and both (`rules+rqe`), for each RQE model given. Scores hit@1 and MRR@10 (the development set has no graded answers, so no avgScore).
The rule, fixed before the run: the best (hit@1, then MRR@10) wins; on a tie the shipped configuration stays.
With --cross-encoder: the fine-tuned cross-encoder (knowledge/cross_encoder.py) in place of the LR model in
rules+rqe, on the top K candidates, per K and W, with each K's retrieval time measured end to end (Retriever.search,
34 questions); --ce-choice-out applies bench/results/rqe_cross_encoder_rule.txt (written before training).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measured_at, run, threads  # noqa: E402

from bench_knowledge_grid import SHIPPED_CFG, cached, score  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.knowledge import evaluate  # noqa: E402
from visual_med_alpaca.knowledge.index import open_index  # noqa: E402
from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever, question_focus  # noqa: E402
from visual_med_alpaca.knowledge.rqe import load_model  # noqa: E402

WEIGHTS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 1000.0)  # 1000: the RQE probability alone orders the candidates


def cross_encoder_grid(args, index, method, ranked, dev, focus, shipped_rules) -> list[dict]:
    """rules + the cross-encoder on the top K x W, on the same candidates; each K's retrieval time end to end."""
    import statistics

    import numpy as np

    from visual_med_alpaca.knowledge import cross_encoder

    folder = None if args.cross_encoder == "default" else args.cross_encoder
    model = cross_encoder.load(folder, args.threads)
    auc = model.meta["validation_auc"]
    print(f"\ncross-encoder {folder or cross_encoder.default_folder()}: validation AUC {auc} (ONNX), best step "
          f"{model.meta['best_step']} of {model.meta['steps']}, {model.meta['trained_min']} min trained")
    results = []
    timings = {}
    timed = Retriever(index, method, Reranker(), encoder_threads=args.threads)  # its own encoder: no cached vectors
    ks = [int(x) for x in args.ce_k.split(",")]
    for k in [0, *ks]:  # end to end, before the memo below; K = 0: the shipped rules + LR model, for comparison
        timed.reranker = Reranker(*shipped_rules, rqe_weight=1.0, rqe_kind="cross-encoder" if k else "lr",
                                  rqe_top_k=k or 10, cross_encoder=folder)
        timed.search("warm up", 1)
        times = []
        for q, _ in dev:
            started = time.perf_counter()
            timed.search(q, 10)
            times.append(1000 * (time.perf_counter() - started))
        timings[k] = statistics.median(times), sorted(times)[int(0.95 * (len(times) - 1))]
    print(f"shipped rules + LR model W=1, timed the same way: retrieval ms median {timings[0][0]:.1f}, p95 "
          f"{timings.pop(0)[1]:.1f}")
    print("\n| method | re-ranker | K | W | hit@1 | MRR@10 | retrieval ms (median, p95) |\n|---|---|---|---|---|---|---|")
    scorer = cross_encoder.load(folder)  # the instance the re-ranker uses: memoise pairs for the grid
    memo, original = {}, scorer.pair_probabilities

    def pair_probabilities(pairs, batch_size=32):
        missing = [pair for pair in dict.fromkeys(pairs) if pair not in memo]
        if missing:
            memo.update(zip(missing, original(missing, batch_size)))
        return np.array([memo[pair] for pair in pairs])

    scorer.pair_probabilities = pair_probabilities
    for k, (median, p95) in timings.items():
        for w in (float(x) for x in args.ce_weights.split(",")):
            reranker = Reranker(*shipped_rules, rqe_weight=w, rqe_kind="cross-encoder", rqe_top_k=k, cross_encoder=folder)
            hit, mrr = score(ranked, dev, reranker, focus)
            print(f"| {method} | rules+cross-encoder | {k} | {w:g} | {hit:.3f} | {mrr:.3f} | {median:.1f}, {p95:.1f} |",
                  flush=True)
            results.append({"method": method, "rqe_model": "cross-encoder", "reranker": "rules+rqe", "rqe_kind":
                            "cross-encoder", "rqe_top_k": k, "rqe_weight": w, "hit@1": hit, "MRR@10": mrr,
                            "ms_median": median, "ms_p95": p95, "validation_auc": auc})
    scorer.pair_probabilities = original
    if args.ce_choice_out:  # bench/results/rqe_cross_encoder_rule.txt, written before training
        ok = [r for r in results if r["ms_median"] <= 100 and r["hit@1"] >= 0.706 and r["MRR@10"] > 0.735]
        best = max(ok, key=lambda r: (r["hit@1"], r["MRR@10"], -r["rqe_top_k"], -r["rqe_weight"])) if ok else None
        adopt = auc > 0.854 and best is not None
        Path(args.ce_choice_out).write_text(json.dumps({"adopt": adopt, "validation_auc": auc, "best": best}))
        print(f"\nrule (validation AUC > 0.854 and, at median <= 100 ms, hit@1 >= 0.706 and MRR@10 > 0.735): "
              f"{'ADOPT ' + json.dumps(best) if adopt else 'keep the LR model'} (AUC {auc}; best qualifying: {best})")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default="dense-question")
    parser.add_argument("--index", default="medquad")
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--rqe-model", default="shipped", help="comma-separated RQE model files ('shipped': the packaged one)")
    parser.add_argument("--choice-out")
    parser.add_argument("--cross-encoder", help="a cross-encoder folder ('default': <knowledge dir>/rqe-cross-encoder)")
    parser.add_argument("--ce-k", default="3,5,10,20", help="cross-encoder: candidates re-ranked (comma-separated)")
    parser.add_argument("--ce-weights", default="0.5,1,2,4,1000")
    parser.add_argument("--ce-choice-out", help="write the choice by bench/results/rqe_cross_encoder_rule.txt (JSON)")
    args = parser.parse_args()
    root = paths.data_dir(None, "medquad", "mediqa2019")
    index = open_index(args.index, need_dense=True)
    passages = list(index.docs.passages(list(range(index.docs.count()))).values())
    dev = evaluate.dev_set(root, passages)
    print(f"{len(dev)} development questions; {measured_at()}\n")
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
        ranked = [retriever.search(q, 50) for q, _ in dev]
        vectors = [retriever.query_vector(q) for q, _ in dev]  # cached: the vector the search computed
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
        if args.cross_encoder:
            results += cross_encoder_grid(args, index, method, ranked, dev, focus, shipped_rules)
    if args.choice_out:
        shipped = next(r for r in results if r["method"] == SHIPPED_CFG.method and r["reranker"] == SHIPPED_CFG.reranker
                       and r["rqe_model"] is None
                       and (r["rqe_weight"] == SHIPPED_CFG.rqe_weight or SHIPPED_CFG.reranker == "rules"))
        best = max(results, key=lambda r: (r["hit@1"], r["MRR@10"], r is shipped, -r["rqe_weight"]))
        Path(args.choice_out).write_text(json.dumps({"chosen": best, "shipped": shipped}))
        print(f"\nchosen on the development set: {best}\n(shipped: {shipped})")
    print(f"\n{time.perf_counter() - started:.0f} s; {measured_at()}")
    index.close()


if __name__ == "__main__":
    run(main)

"""Development-set grid for the knowledge stage's choices (never the LiveQA benchmark).

  python bench/bench_knowledge_grid.py --methods dense-question,dense-fused --views "1,0,0;1,1,0;0,0,1"

For each retrieval method and dense query view (QueryViews weights: whole question, focus sentences, mean of
sentences), ranks the development questions (knowledge/evaluate.py dev_set) once, then scores every re-ranker
weight triple of the grid (focus / type / info bonus) on the same candidates: hit@1 and MRR@10 against the
MedQuAD answers of each question's entailed FAQ. Prints one line per (method, views) with the plain result and
the best re-ranker weights (ties: the smaller weights), and the top passage's relevance on the development
questions vs the no-source questions (bench/data/no_source_questions.txt) for the threshold.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import measured_at, run, threads  # noqa: E402
from bench_liveqa import no_source_questions  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.config import KnowledgeConfig  # noqa: E402
from visual_med_alpaca.knowledge import evaluate, retrieve  # noqa: E402
from visual_med_alpaca.knowledge.index import open_index  # noqa: E402
from visual_med_alpaca.knowledge.retrieve import QueryViews, Reranker, Retriever, needs_dense, question_focus  # noqa: E402

FOCUS, TYPE, INFO = (0.0, 0.25, 0.5, 1.0), (0.0, 0.1, 0.25, 0.5), (0.0, 0.1, 0.25)
SHIPPED_CFG = KnowledgeConfig()  # the shipped defaults: the baseline of the choice rule
SHIPPED = (SHIPPED_CFG.focus_bonus, SHIPPED_CFG.type_bonus, SHIPPED_CFG.info_bonus, SHIPPED_CFG.rerank_on_focus)
# the question-type cue words before 2026-12-02 (retrieve.QTYPE_CUES now): no "information" type, "help" = treatment
PREVIOUS_CUES = {**{k: v for k, v in retrieve.QTYPE_CUES.items() if k != "information"},
                 "treatment": ("treat", "cure", "therap", "medication", "medicine", "drug", "remed", "manage", "surgery",
                               "help"),
                 "outlook": ("prognosis", "outlook", "life expectancy", "surviv", "recover", "die")}


def cached(encoder):
    """The encoder with a per-text cache: every view of a question is embedded once for the whole grid."""
    memo: dict[tuple[str, int], object] = {}
    original = encoder.encode

    def encode(texts, max_tokens=128, batch_size=64):
        missing = [t for t in dict.fromkeys(texts) if (t, max_tokens) not in memo]
        if missing:
            for text, vector in zip(missing, original(missing, max_tokens, batch_size)):
                memo[(text, max_tokens)] = vector
        import numpy as np

        return np.stack([memo[(t, max_tokens)] for t in texts])

    encoder.encode = encode
    return encoder


def score(ranked: list[list], dev, reranker: Reranker, focus: list[str], vectors: list | None = None) -> tuple[float, float]:
    """hit@1 and MRR@10 of the re-ranked candidates; `vectors`: each question's MiniLM vector (Retriever.last_vector)
    for the RQE model's question-type classifier."""
    hits, rrs = [], []
    for (question, gold), items, question_focus, vector in zip(dev, ranked, focus, vectors or [None] * len(dev)):
        text = question_focus if reranker.on_focus else question
        found = reranker(text, [dataclasses.replace(r, runs=dict(r.runs)) for r in items], vector)[:10] \
            if reranker.active else items[:10]
        relevant = [r.passage.id in gold for r in found]
        hits.append(bool(relevant and relevant[0]))
        rrs.append(evaluate.reciprocal_rank(relevant))
    return statistics.mean(hits), statistics.mean(rrs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default="dense-question")
    parser.add_argument("--views", default="1,0,0", help="';'-separated view weight triples (full,focus,sentences)")
    parser.add_argument("--index", default="medquad")
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--choice-out", help="write the configuration chosen by the rule below (JSON)")
    parser.add_argument("--cues", default="current", help="'current' and/or 'previous' question-type cue words")
    args = parser.parse_args()
    cue_sets = {"current": dict(retrieve.QTYPE_CUES), "previous": PREVIOUS_CUES}
    root = paths.data_dir(None, "medquad", "mediqa2019")
    methods = args.methods.split(",")
    index = open_index(args.index, need_dense=any(needs_dense(m) for m in methods))
    passages = list(index.docs.passages(list(range(index.docs.count()))).values())
    dev = evaluate.dev_set(root, passages)
    negatives = no_source_questions()
    print(f"{len(dev)} development questions, {len(negatives)} no-source questions; {measured_at()}\n")
    print("| method | views (full, focus, sentences) | cue words | plain hit@1 / MRR@10 | best re-ranker F/T/I | "
          f"re-ranked hit@1 / MRR@10 | with the shipped {'/'.join(f'{w:g}' for w in SHIPPED[:3])} | dev top relevance min | "
          "no-source max |")
    print("|---|---|---|---|---|---|---|---|---|")
    encoder = None
    results, baseline = [], None
    started = time.perf_counter()
    for method in methods:
        for triple in args.views.split(";"):
            views = QueryViews(*(float(w) for w in triple.split(",")))
            retriever = Retriever(index, method, Reranker(), encoder_threads=args.threads, views=views)
            if needs_dense(method):
                retriever.search("warm up", 1)
                encoder = cached(encoder or retriever._encoder)
                retriever._encoder = encoder
            ranked = [retriever.search(q, 50) for q, _ in dev]
            focus = [question_focus(q, retriever.topics()) for q, _ in dev]
            plain = score(ranked, dev, Reranker(), focus)
            neg = [(retriever.search(q, 1) or [None])[0] for q in negatives]
            dev_rel = min(items[0].relevance for items in ranked if items) if any(ranked) else 0.0
            neg_rel = max((n.relevance for n in neg if n is not None), default=0.0)
            for cues in args.cues.split(","):
                retrieve.QTYPE_CUES = cue_sets[cues]
                grid = [(score(ranked, dev, Reranker(f, t, i, on), focus), (f, t, i, on))
                        for f, t, i, on in itertools.product(FOCUS, TYPE, INFO, (False, True))]
                retrieve.QTYPE_CUES = cue_sets["current"]
                (hit, mrr), weights = max(grid, key=lambda g: (g[0][0], g[0][1], -sum(g[1][:3]), -g[1][3]))
                shipped = next(s for s, w in grid if w == SHIPPED)
                best = f"{'/'.join(f'{w:g}' for w in weights[:3])}{' on focus' if weights[3] else ''}"
                print(f"| {method} | {triple} | {cues} | {plain[0]:.3f} / {plain[1]:.3f} | {best} | {hit:.3f} / {mrr:.3f} | "
                      f"{shipped[0]:.3f} / {shipped[1]:.3f} | {dev_rel:.3f} | {neg_rel:.3f} |", flush=True)
                results.append({"method": method, "views": triple, "cues": cues, "hit@1": hit, "MRR@10": mrr,
                                "reranker": weights, "dev_top_relevance_min": dev_rel, "no_source_max": neg_rel})
                if (method, triple, cues) == (SHIPPED_CFG.method, "1,0,0", "current"):
                    baseline = {**results[-1], "hit@1": shipped[0], "MRR@10": shipped[1], "reranker": SHIPPED}
    if args.choice_out:
        # The rule, fixed before looking: leave the shipped configuration only for one more development question
        # answered right at rank 1; among those, the best MRR@10, then the fewest changes (list order).
        better = [r for r in results if baseline and r["hit@1"] >= baseline["hit@1"] + 1 / len(dev) - 1e-9]
        choice = max(better, key=lambda r: (r["hit@1"], r["MRR@10"])) if better else {**baseline, "is_shipped": True}
        f, t, i, on = choice["reranker"]
        choice["bench_liveqa_args"] = "shipped" if choice.get("is_shipped") else (
            f"--methods {choice['method']} --views {choice['views']} --focus-bonus {f} --type-bonus {t} --info-bonus {i}"
            + (" --rerank-on-focus" if on else "") + (" --previous-cues" if choice["cues"] == "previous" else ""))
        Path(args.choice_out).write_text(json.dumps(choice))
        print(f"\nchosen on the development set: {choice}")
    print(f"\n{time.perf_counter() - started:.0f} s; {measured_at()}")
    index.close()


if __name__ == "__main__":
    run(main)

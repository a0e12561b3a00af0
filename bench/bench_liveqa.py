"""Knowledge retrieval benchmark: TREC LiveQA 2017 medical (report) or the development set (choices).

  python bench/bench_liveqa.py --split dev    --methods bm25-answer,bm25-question,...   # choose here
  python bench/bench_liveqa.py --split dev2   --methods dense-question ...              # graded dev set, LiveQA's scores
  python bench/bench_liveqa.py --split dev3   --methods dense-question ...              # LiveQA'17 training questions
  python bench/bench_liveqa.py --split dev4   --methods dense-question ...              # dev3 + LiveQA'17 Train-1
  python bench/bench_liveqa.py --split liveqa --methods hybrid --focus-bonus 0.3 ...   # report only
  (--rqe-weight W adds W x the trained question-entailment probability: knowledge/rqe.py; with --rqe-kind
   cross-encoder --rqe-top-k K, the fine-tuned cross-encoder's on the top K instead: knowledge/cross_encoder.py)

LiveQA: the 104 test questions (subject + message, as users wrote them) against the MedQuAD index, scored on
the top answer: avgScore = mean(grade - 1) over all 104 (0-3; grades 1-4 from the 2,479 judged answers; an
unjudged answer counts as incorrect), MAP@10 and MRR@10 with correct = grade >= 3 (MAP's recall base: the
correct answers the index holds, at most 10). Every LiveQA run is appended to bench/results/liveqa_runs.jsonl,
so no run goes unreported. Dev: MEDIQA RQE validation+test consumer questions whose entailed FAQ is a MedQuAD
question (LiveQA questions removed); hit@1, MRR@10, and the no-source threshold check on
bench/data/no_source_questions.txt. Dev2: MEDIQA 2019 Task 3 Alexa + validation questions whose expert-graded answers
are MedQuAD pairs (evaluate.dev2_set), scored like LiveQA (not logged). Dev3: the TREC LiveQA'17 medical TRAINING
questions (bench/data/liveqa17_train2_questions.jsonl) graded by their annotated focus and type (evaluate.dev3_set),
without near copies of the test questions or of dev's, scored like LiveQA (not logged). Dev4: dev3 plus the questions of
the other training file (bench/data/liveqa17_train1_questions.jsonl, round 13) graded by the same rule, without near copies
of the test questions, of dev's, of dev2's or of the first file's (not logged). Latency: retrieval only, index open and encoder loaded, per question.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import measured_at, run, threads, utc_now  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.knowledge import evaluate, retrieve  # noqa: E402
from visual_med_alpaca.knowledge.index import open_index  # noqa: E402
from visual_med_alpaca.knowledge.retrieve import QueryViews, Reranker, Retriever, needs_dense  # noqa: E402

HERE = Path(__file__).resolve().parent
DEV3_FILE = HERE / "data" / "liveqa17_train2_questions.jsonl"  # transcribed from abachaa/LiveQA_MedicalTask_TREC2017
TRAIN1_FILE = HERE / "data" / "liveqa17_train1_questions.jsonl"  # the same repository's other training file (round 13)


def dev3_set(root: Path, passages, dev, version: int = 2) -> tuple[list[tuple[str, str]], evaluate.Qrels]:
    """The LiveQA'17 training questions graded on MedQuAD (evaluate.dev3_set), without the dev questions' near copies;
    version 1: names as each passage lists them (round 10's decisions), 2: names shared across a focus's sources."""
    return evaluate.dev3_set(DEV3_FILE, root, passages, [question for question, _ in dev], share_names=version == 2)


def train1_set(root: Path, passages, dev, dev2, version: int = 2) -> tuple[list[tuple[str, str]], evaluate.Qrels]:
    """The LiveQA'17 Train-1 questions graded by dev3's rule (evaluate.dev3_set), without near copies of dev's, dev2's
    or any Train-2 question (so no question counts twice in dev4)."""
    train2 = [text for _, text in evaluate.training_questions(DEV3_FILE)]
    exclude = [question for question, _ in dev] + [text for _, text in dev2] + train2
    return evaluate.dev3_set(TRAIN1_FILE, root, passages, exclude, share_names=version == 2, tag="train1")


def dev4_set(root: Path, passages, dev, dev2, version: int = 2) -> tuple[list[tuple[str, str]], evaluate.Qrels]:
    """dev3 (Train-2) + Train-1, both graded by the same rule: the larger development set of round 13."""
    q3, r3 = dev3_set(root, passages, dev, version)
    q1, r1 = train1_set(root, passages, dev, dev2, version)
    qrels = evaluate.Qrels()
    qrels.by_id.update(r3.by_id)
    qrels.by_id.update(r1.by_id)
    return q3 + q1, qrels


def all_passages(index):
    rows = list(range(index.docs.count()))
    return list(index.docs.passages(rows).values())


def development_sets(name: str, root: Path):
    """The dense index `name` opened, its passages, dev (34 RQE questions with gold ids) and dev2 (questions, grades)."""
    index = open_index(name, need_dense=True)
    passages = all_passages(index)
    dev2, qrels2 = evaluate.dev2_set(root, passages)
    return index, passages, evaluate.dev_set(root, passages), dev2, qrels2


def development_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every round script that scores configurations on dev and dev2 takes."""
    parser.add_argument("--index", default="medquad")
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--decision-out", default=None, help="write the rows and the rule's decision here (JSON)")


def open_development(args: argparse.Namespace):
    """(index, passages, dev, dev2, dev2 grades, no-source questions) for a round script's parsed flags."""
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    return (*development_sets(args.index, paths.data_dir(args.data_dir, "medquad", "mediqa2019")), no_source_questions())


def development_row(retriever, dev, negatives, dev2, qrels2, passages, keep_relevance: bool = False) -> dict:
    """One configuration on both development sets: dev (hit@1, MRR@10, latency) and dev2 (LiveQA's scores); with
    `keep_relevance`, also every dev and no-source question's top relevance (the no-source threshold check)."""
    retriever.search("warm up the encoder and caches", 1)
    d = run_dev(retriever, dev, negatives)
    kept = {k: d[k] for k in ("dev_top_relevance", "no_source_relevance")} if keep_relevance else {}
    return {"dev": {k: v for k, v in d.items() if not isinstance(v, list)},
            "dev2": run_liveqa(retriever, dev2, qrels2, passages),
            "dev_top_relevance_min": min(d["dev_top_relevance"]), "no_source_max": max(d["no_source_relevance"]), **kept}


def no_source_questions() -> list[str]:
    """bench/data/no_source_questions.txt: questions no MedQuAD passage answers (the no-source threshold check)."""
    return [line for line in (HERE / "data" / "no_source_questions.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def run_liveqa(retriever, questions, qrels, index_passages) -> dict:
    grades, aps, rrs, times, cpu = [], [], [], [], []
    correct = qrels.correct_in(index_passages)
    for qid, text in questions:
        start, start_cpu = time.perf_counter(), time.process_time()
        found = retriever.search(text, 10)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        g = [qrels.grade(qid, r.passage) for r in found]
        grades.append((g[0] - 1) if g else 0)
        relevant = [x >= evaluate.CORRECT for x in g]
        aps.append(evaluate.average_precision(relevant, correct.get(qid, 0)))
        rrs.append(evaluate.reciprocal_rank(relevant))
    return {"questions": len(questions), "avgScore": statistics.mean(grades), "MAP@10": statistics.mean(aps),
            "MRR@10": statistics.mean(rrs), "P@1": statistics.mean(g >= 2 for g in grades),
            "ms_median": 1000 * statistics.median(times), "ms_p95": 1000 * sorted(times)[int(0.95 * (len(times) - 1))],
            "cpu_ms_median": 1000 * statistics.median(cpu)}


def run_dev(retriever, dev, negatives) -> dict:
    hits, rrs, times, top_rel, cpu = [], [], [], [], []
    for question, gold in dev:
        start, start_cpu = time.perf_counter(), time.process_time()
        found = retriever.search(question, 10)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        relevant = [r.passage.id in gold for r in found]
        hits.append(bool(relevant[:1] and relevant[0]))
        rrs.append(evaluate.reciprocal_rank(relevant))
        top_rel.append(found[0].relevance if found else 0.0)
    neg_rel = []
    for question in negatives:
        found = retriever.search(question, 1)
        neg_rel.append(found[0].relevance if found else 0.0)
    return {"questions": len(dev), "hit@1": statistics.mean(hits), "MRR@10": statistics.mean(rrs),
            "ms_median": 1000 * statistics.median(times), "ms_p95": 1000 * sorted(times)[int(0.95 * (len(times) - 1))],
            "cpu_ms_median": 1000 * statistics.median(cpu), "dev_top_relevance": sorted(top_rel), "no_source_relevance": sorted(neg_rel)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "dev2", "dev3", "dev4", "liveqa"], default="dev",
                        help="dev: 34 RQE questions (hit@1); dev2: graded MEDIQA Task 3 questions (avgScore); dev3: LiveQA'17 "
                             "Train-2 questions; dev4: dev3 + Train-1; liveqa: report")
    parser.add_argument("--methods", default="bm25-answer,bm25-question,bm25-fused")
    parser.add_argument("--index", default="medquad")
    parser.add_argument("--focus-bonus", type=float, default=0.0)
    parser.add_argument("--type-bonus", type=float, default=0.0)
    parser.add_argument("--info-bonus", type=float, default=0.0)
    parser.add_argument("--rqe-weight", type=float, default=0.0, help="+ this x the trained RQE model's probability")
    parser.add_argument("--rqe-model", default=None, help="logistic-regression RQE model JSON (default: the shipped one)")
    parser.add_argument("--rqe-kind", choices=["lr", "cross-encoder"], default="lr")
    parser.add_argument("--rqe-top-k", type=int, default=10, help="cross-encoder: candidates it reads")
    parser.add_argument("--cross-encoder", default=None, help="cross-encoder folder (default: <knowledge dir>/rqe-cross-encoder)")
    parser.add_argument("--synonyms", choices=list(retrieve.SYNONYMS), default="none",
                        help="the re-ranker reads MedQuAD's focus synonyms (knowledge.synonyms)")
    parser.add_argument("--rerank-on-focus", action="store_true", help="re-ranker reads the question's focus sentences")
    parser.add_argument("--clean-synonyms", action="store_true",
                        help="leave out the synonyms that name a broader topic (knowledge.clean_synonyms)")
    parser.add_argument("--types-from", choices=list(retrieve.TYPES_FROM), default="whole",
                        help="where the re-ranker reads the question's types (knowledge.types_from)")
    parser.add_argument("--topic-first", action="store_true",
                        help="the top answer's topic is chosen without the type bonus (knowledge.topic_first)")
    parser.add_argument("--list-penalty", type=float, default=0.0,
                        help="- this x the share of a passage that points elsewhere (knowledge.list_penalty)")
    parser.add_argument("--learned", action="store_true",
                        help="re-rank by the learned ranker (knowledge.reranker=learned; the bonuses and --rqe-weight are "
                             "then not used)")
    parser.add_argument("--ranker-model", default=None, help="learned ranker model JSON (default: the shipped one)")
    parser.add_argument("--previous-cues", action="store_true", help="the question-type cue words before 2026-12-02")
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--views", default="1,0,0", help="dense query view weights: whole question, focus, sentences")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--show-relevance", action="store_true", help="dev: print the relevance distributions")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    root = paths.data_dir(args.data_dir, "medquad", "mediqa2019")
    methods = args.methods.split(",")
    index = open_index(args.index, need_dense=any(needs_dense(m) for m in methods))
    passages = all_passages(index)
    questions = evaluate.liveqa_questions(root)
    reranker = Reranker(args.focus_bonus, args.type_bonus, args.info_bonus, args.rerank_on_focus, args.rqe_weight,
                        rqe_model=args.rqe_model, rqe_kind=args.rqe_kind, rqe_top_k=args.rqe_top_k, cross_encoder=args.cross_encoder,
                        synonyms=args.synonyms, clean_synonyms=args.clean_synonyms, types_from=args.types_from,
                        topic_first=args.topic_first, list_penalty=args.list_penalty, learned=args.learned,
                        ranker_model=args.ranker_model)
    if args.previous_cues:
        from bench_knowledge_grid import PREVIOUS_CUES

        retrieve.QTYPE_CUES = PREVIOUS_CUES
    views = QueryViews(*(float(w) for w in args.views.split(",")))
    print(f"index {index.folder} ({index.manifest['passages']:,} passages); re-ranker {reranker}; {measured_at()}")
    if args.split in ("liveqa", "dev2", "dev3", "dev4"):
        if args.split == "liveqa":
            qrels = evaluate.liveqa_qrels(root)
            print(f"TREC LiveQA 2017 medical: {len(questions)} questions\n")
        elif args.split == "dev3":
            questions, qrels = dev3_set(root, passages, evaluate.dev_set(root, passages))
            print(f"development set 3: {len(questions)} TREC LiveQA'17 training questions, graded by their annotations\n")
        elif args.split == "dev4":
            questions, qrels = dev4_set(root, passages, evaluate.dev_set(root, passages), evaluate.dev2_set(root, passages)[0])
            print(f"development set 4: {len(questions)} TREC LiveQA'17 training questions (Train-2 + Train-1), graded by "
                  "their annotations\n")
        else:
            questions, qrels = evaluate.dev2_set(root, passages)
            print(f"development set 2: {len(questions)} MEDIQA Task 3 Alexa + validation questions, graded MedQuAD answers\n")
        print(f"| method | avgScore | MAP@10 | MRR@10 | P@1 (top answer correct) | ms/question (median, p95) | CPU ms/question |")
        print("|---|---|---|---|---|---|---|")
    else:
        dev = evaluate.dev_set(root, passages)
        negatives = no_source_questions()
        print(f"development set: {len(dev)} MEDIQA RQE consumer questions; {len(negatives)} no-source questions\n")
        print("| method | hit@1 | MRR@10 | ms/question (median, p95) | CPU ms/question | dev top relevance (p10, median) | "
              "no-source relevance (median, max) |")
        print("|---|---|---|---|---|---|---|")
    for method in methods:
        retriever = Retriever(index, method, reranker, encoder_threads=args.threads, views=views)
        retriever.search("warm up the encoder and caches", 1)
        if args.split in ("liveqa", "dev2", "dev3", "dev4"):
            r = run_liveqa(retriever, questions, qrels, passages)
            print(f"| {method} | {r['avgScore']:.3f} | {r['MAP@10']:.3f} | {r['MRR@10']:.3f} | {r['P@1']:.2f} | "
                  f"{r['ms_median']:.1f}, {r['ms_p95']:.1f} | {r['cpu_ms_median']:.1f} |", flush=True)
            if args.split != "liveqa":
                continue
            log = HERE / "results" / "liveqa_runs.jsonl"
            log.parent.mkdir(exist_ok=True)
            with log.open("a") as handle:
                rqe_meta = {}
                if reranker.rqe_weight and reranker.rqe_kind == "cross-encoder":
                    from visual_med_alpaca.knowledge import cross_encoder

                    meta = cross_encoder.load(reranker.cross_encoder).meta
                    rqe_meta = {"rqe_model_meta": {k: meta.get(k) for k in ("validation_auc", "best_step", "steps",
                                                                            "trained_min", "recipe")}}
                elif reranker.learned:
                    from visual_med_alpaca.knowledge.ranker import load_model

                    meta = load_model(reranker.ranker_model).meta
                    rqe_meta = {"ranker_model_meta": {k: meta.get(k) for k in ("objective", "C", "cv", "trained_on")}}
                elif reranker.rqe_weight:
                    from visual_med_alpaca.knowledge.rqe import load_model

                    meta = load_model(reranker.rqe_model).meta
                    rqe_meta = {"rqe_model_meta": {k: meta.get(k) for k in ("validation_auc", "medquad_pairs",
                                                                            "medquad_pair_weight", "mediqa_hard_negatives",
                                                                            "C")}}
                handle.write(json.dumps({"method": method, "reranker": vars(reranker), "views": vars(views), **rqe_meta,
                                         "cues": "previous" if args.previous_cues else "current", "index": index.manifest.get("fingerprint"),
                                         "at": utc_now("%Y-%m-%dT%H:%M:%SZ"), "load": os.getloadavg(),
                                         **{k: round(v, 4) for k, v in r.items()}}) + "\n")
        else:
            r = run_dev(retriever, dev, negatives)
            dev_rel, neg_rel = r["dev_top_relevance"], r["no_source_relevance"]
            print(f"| {method} | {r['hit@1']:.3f} | {r['MRR@10']:.3f} | {r['ms_median']:.1f}, {r['ms_p95']:.1f} | "
                  f"{r['cpu_ms_median']:.1f} | "
                  f"{dev_rel[len(dev_rel) // 10]:.3f}, {statistics.median(dev_rel):.3f} | "
                  f"{statistics.median(neg_rel):.3f}, {max(neg_rel):.3f} |", flush=True)
            if args.show_relevance:
                print("  dev:", [round(x, 3) for x in dev_rel], "\n  no-source:", [round(x, 3) for x in neg_rel])
    index.close()


if __name__ == "__main__":
    run(main)

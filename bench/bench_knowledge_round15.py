"""Knowledge, fifteenth round: the index's sentence encoder fine-tuned as a bi-encoder (knowledge/bi_encoder.py) on
question-entailment triples, a separate candidate index embedded with it, decided on dev + dev2 + dev3 against the
shipped default; never LiveQA's test questions. Applies bench/results/knowledge_round15_rule.txt. One step per call
(each resumable or repeatable), so that no call holds the CPU lock longer than it must:

  python bench/bench_knowledge_round15.py --step triples                 # count the training triples (no training)
  python bench/bench_knowledge_round15.py --step train --threads 2       # fine-tune (engine checkpoints: rerun resumes)
  python bench/bench_knowledge_round15.py --step build --threads 2       # the candidate index (resumable build)
  python bench/bench_knowledge_round15.py --step refit --threads 2       # C2's RQE model on the candidate's cosines
  python bench/bench_knowledge_round15.py --step score --threads 2 --decision-out bench/results/knowledge_round15.json

Everything is written under --work (default /tmp/vmed-know15): the model (bi-encoder/), the engine's checkpoints
(bi-encoder-run/), the candidate index (knowledge/medquad), C2's RQE model (rqe_lr_ft.json). The shared index is only
read (S). Configurations: S = the shipped default on the shared index; C1 = the candidate index (fine-tuned encoder for
the query and the index's question + names vectors) with the shipped re-ranker and RQE model; C2 = C1 with the RQE model
refitted on the candidate encoder's cosines (as `vmed knowledge train-rqe` fits it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measured_at, run, threads  # noqa: E402
from bench_knowledge_round7 import RULES, report  # noqa: E402
from bench_knowledge_round10 import passes, pooled  # noqa: E402
from bench_knowledge_round13 import SHIPPED, sane  # noqa: E402
from bench_liveqa import dev3_set, development_row, no_source_questions, run_liveqa, train1_set  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402

THRESHOLD = 0.45  # knowledge.min_relevance (round 1)
CANDIDATES = ("C1", "C2")  # on a full tie, the smaller change (no refit) first


def work_paths(work: Path) -> dict[str, Path]:
    return {"model": work / "bi-encoder", "run": work / "bi-encoder-run", "index": work / "knowledge" / "medquad",
            "rqe": work / "rqe_lr_ft.json"}


def held_out(root: Path, passages) -> tuple[list[str], set[str], list, object]:
    """Development questions (dev, dev2, dev3: their near copies never train), the passages never used in training
    (judged for LiveQA; dev's gold; graded by dev2 or dev3), and Train-1 (questions, grades)."""
    from visual_med_alpaca.knowledge import evaluate

    dev = evaluate.dev_set(root, passages)
    dev2, qrels2 = evaluate.dev2_set(root, passages)
    dev3, qrels3 = dev3_set(root, passages, dev)
    train1, qrels1 = train1_set(root, passages, dev, dev2)
    questions = [q for q, _ in dev] + [t for _, t in dev2] + [t for _, t in dev3]
    excluded = (evaluate.liveqa_qrels(root).judged(passages) | {i for _, gold in dev for i in gold}
                | qrels2.judged(passages) | qrels3.judged(passages))
    return questions, excluded, train1, qrels1


def triples(args, work: dict[str, Path]):
    from visual_med_alpaca.knowledge import bi_encoder
    from visual_med_alpaca.knowledge.index import open_index
    from bench_liveqa import all_passages

    root = paths.data_dir(args.data_dir, "medquad", "mediqa2019")
    index = open_index("medquad")
    passages = all_passages(index)
    index.close()
    questions, excluded, train1, qrels1 = held_out(root, passages)
    print(f"held out: {len(questions)} development questions (near copies dropped), {len(excluded):,} passages never "
          f"used; Train-1: {len(train1)} graded questions")
    return bi_encoder.training_triples(root, passages, questions, excluded, train1, qrels1, args.medquad_triples, seed=0)


def config(args, work: dict[str, Path]):
    from visual_med_alpaca.knowledge.bi_encoder import BiEncoderConfig

    return BiEncoderConfig(output_dir=str(work["run"]), threads=args.threads, medquad_triples=args.medquad_triples,
                           **({"max_steps": args.max_steps} if args.max_steps else {}),
                           **({"resume_from_checkpoint": str(args.resume_from)} if args.resume_from else {}))


def step_train(args, work):
    from visual_med_alpaca.knowledge import bi_encoder
    from visual_med_alpaca.train.engine import checkpoints

    found = triples(args, work)
    meta = bi_encoder.train(found, config(args, work), work["model"], resume=bool(checkpoints(work["run"])))
    print(json.dumps(meta, indent=1))


def step_build(args, work):
    from visual_med_alpaca.knowledge.corpus import medquad_passages
    from visual_med_alpaca.knowledge.index import BuildOptions, build_index

    root = paths.data_dir(args.data_dir, "medquad")
    options = BuildOptions(threads=args.threads, encoder=str(work["model"]))
    manifest = build_index(str(work["index"]), medquad_passages(root / "medquad"), options, corpora=["medquad"])
    print(json.dumps({k: v for k, v in manifest.items() if k != "stores"}, indent=1))


def step_refit(args, work):
    from visual_med_alpaca.knowledge import encoder, evaluate, rqe
    from visual_med_alpaca.knowledge.index import ENCODER_DIR, open_index
    from bench_liveqa import all_passages

    root = paths.data_dir(args.data_dir, "medquad", "mediqa2019")
    index = open_index(str(work["index"]), need_dense=True)
    dev = evaluate.dev_set(root, all_passages(index))
    model = rqe.train(root, encoder.OnnxEncoder(index.folder / ENCODER_DIR, args.threads).encode, [q for q, _ in dev])
    model.meta["encoder"] = f"the round-15 fine-tuned bi-encoder ({work['model']}), 128 word pieces"
    model.save(work["rqe"])
    index.close()
    print(f"{work['rqe']}: C={model.meta['C']:g}, validation AUC {model.meta['validation_auc']:.4f}")


def threshold_for(row: dict, s_counts: dict[str, int]) -> float | None:
    """The threshold at which `row` separates at least as well as S at 0.45: 0.45 itself if it does, else the lowest
    t in steps of 0.01 (0.05-0.95) with no more no-source questions answered and no more dev questions refused than
    S at 0.45 (the rule's condition 5); None if there is none."""
    def ok(t: float) -> bool:
        c = counts(row, t)
        return c["no_source_answered"] <= s_counts["no_source_answered"] and c["dev_refused"] <= s_counts["dev_refused"]

    if ok(THRESHOLD):
        return THRESHOLD
    return next((t / 100 for t in range(5, 96) if ok(t / 100)), None)


def counts(row: dict, t: float = THRESHOLD) -> dict[str, int]:
    return {"no_source_answered": sum(r >= t for r in row["no_source_relevance"]),
            "dev_refused": sum(r < t for r in row["dev_top_relevance"])}


def decide(rows: dict) -> dict:
    """knowledge_round15_rule.txt: nothing unless S repeats its numbers; a candidate passes iff round 10's conditions
    (1)-(4) hold against S on dev + dev3 (and dev2), and (5) at 0.45 or at the threshold threshold_for finds; of
    several, the most correct top answers over dev + dev3, then dev3 avgScore, then CANDIDATES' order."""
    if not sane(rows["S"]):
        return {"adopt": None, "sanity": False, "checks": {}}
    s_counts = counts(rows["S"])
    checks, thresholds = {}, {}
    for name in CANDIDATES:
        found = passes(rows["S"], rows[name], "dev3")
        thresholds[name] = threshold_for(rows[name], s_counts)
        found["5 the no-source threshold separates as well"] = thresholds[name] is not None
        checks[name] = found
    passing = [n for n in CANDIDATES if all(checks[n].values())]
    best = max(passing, key=lambda n: (pooled(rows[n], "dev3"), rows[n]["dev3"]["avgScore"], -CANDIDATES.index(n)),
               default=None)
    return {"adopt": best, "sanity": True, "read_on": "dev3", "checks": checks, "thresholds": thresholds,
            "pooled": {name: pooled(row, "dev3") for name, row in rows.items()}}


def step_score(args, work):
    from visual_med_alpaca.knowledge import evaluate
    from visual_med_alpaca.knowledge.index import open_index
    from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever
    from bench_liveqa import all_passages

    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    root = paths.data_dir(args.data_dir, "medquad", "mediqa2019")
    negatives = no_source_questions()
    print(f"{measured_at()}\n")
    print("| config | dev hit@1 | dev MRR@10 | dev2 avgScore | dev3 avgScore | dev3 MAP@10 | dev3 MRR@10 | dev3 P@1 | "
          "Train-1 avgScore (trained on) | dev ms (median, p95) | no-source answered / dev refused at 0.45 | "
          "correct top answers, dev + dev3 |")
    print("|---" * 12 + "|")
    rows = {}
    configs = (("S", "medquad", None), ("C1", str(work["index"]), None), ("C2", str(work["index"]), str(work["rqe"])))
    for name, index_name, rqe_model in configs:
        index = open_index(index_name, need_dense=True)
        passages = all_passages(index)
        dev = evaluate.dev_set(root, passages)
        dev2, qrels2 = evaluate.dev2_set(root, passages)
        dev3, qrels3 = dev3_set(root, passages, dev)
        train1, qrels1 = train1_set(root, passages, dev, dev2)
        reranker = Reranker(*RULES, rqe_weight=1.0, rqe_model=rqe_model, **SHIPPED)
        retriever = Retriever(index, "dense-question", reranker, encoder_threads=args.threads)
        row = rows[name] = development_row(retriever, dev, negatives, dev2, qrels2, passages, keep_relevance=True)
        row["dev3"] = run_liveqa(retriever, dev3, qrels3, passages)
        row["train1"] = run_liveqa(retriever, train1, qrels1, passages)
        row["index"] = index.manifest.get("fingerprint")
        d, d3, t = row["dev"], row["dev3"], counts(row)
        print(f"| {name} | {d['hit@1']:.3f} | {d['MRR@10']:.3f} | {row['dev2']['avgScore']:.3f} | {d3['avgScore']:.3f} | "
              f"{d3['MAP@10']:.3f} | {d3['MRR@10']:.3f} | {d3['P@1']:.3f} | {row['train1']['avgScore']:.3f} | "
              f"{d['ms_median']:.1f}, {d['ms_p95']:.1f} | {t['no_source_answered']} / {t['dev_refused']} | "
              f"{pooled(row, 'dev3')} |", flush=True)
        index.close()
    report(decide(rows), "bench/results/knowledge_round15_rule.txt", rows, args.decision_out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step", choices=["triples", "train", "build", "refit", "score"], required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/vmed-know15"))
    parser.add_argument("--threads", type=threads, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--medquad-triples", type=int, default=2000, help="MedQuAD structure triples sampled")
    parser.add_argument("--max-steps", type=int, default=None, help="optimizer steps (default: one epoch)")
    parser.add_argument("--resume-from", type=Path, default=None,
                        help="train: resume from this checkpoint folder instead of the newest (with --max-steps = its "
                             "step: that checkpoint becomes the model, the rule's cap)")
    parser.add_argument("--decision-out", default=None, help="score: write the rows and the rule's decision (JSON)")
    args = parser.parse_args()
    work = work_paths(args.work)
    if args.step == "triples":
        found = triples(args, work)
        for kind in ("mediqa", "train1", "medquad"):
            example = next((t for t in found if t.kind == kind), None)
            print(f"{kind} example: {example}")
        return
    {"train": step_train, "build": step_build, "refit": step_refit, "score": step_score}[args.step](args, work)


if __name__ == "__main__":
    run(main)

"""Knowledge, seventh round: MedQuAD's focus synonyms in the re-ranker's focus match (C1) and also on the RQE
model's side of the pair (C2), against the shipped configuration, on both development sets (never LiveQA);
applies bench/results/knowledge_round7_rule.txt.

  python bench/bench_knowledge_round7.py --decision-out bench/results/knowledge_round7.json

Every configuration: dense-question, views 1,0,0, current cue words, rules F 0.5 / T 0.25 / I 0 + the shipped RQE
model x 1 (the shipped default); S: synonyms none (shipped), C1: synonyms focus, C2: synonyms focus+rqe. dev = 34
MEDIQA RQE consumer questions (hit@1, MRR@10); dev2 = the graded MEDIQA Task 3 Alexa + validation questions
(avgScore, MAP@10, MRR@10, scored as on LiveQA; evaluate.dev2_set). The index must be format 2 (synonyms stored).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measured_at, run, utc_now  # noqa: E402
from bench_liveqa import development_arguments, development_row, open_development  # noqa: E402

from visual_med_alpaca.knowledge.retrieve import Reranker, Retriever  # noqa: E402

RULES = (0.5, 0.25, 0.0)  # the shipped focus / type / info bonuses
CONFIGS = (("S", "none"), ("C1", "focus"), ("C2", "focus+rqe"))
DEV_QUESTIONS = 34  # one dev question at rank 1 = 1/34 hit@1
MAX_MS = 100.0
EPS = 1e-9


def passes(shipped: dict, candidate: dict) -> dict[str, bool]:
    """The committed rule's four conditions for one candidate against S (bench/results/knowledge_round7_rule.txt)."""
    return {
        "a dev MRR@10 does not fall": candidate["dev"]["MRR@10"] >= shipped["dev"]["MRR@10"] - EPS,
        "b dev hit@1 up by >= 1 question": candidate["dev"]["hit@1"] >= shipped["dev"]["hit@1"] + 1 / DEV_QUESTIONS - EPS,
        "c dev2 avgScore does not fall": candidate["dev2"]["avgScore"] >= shipped["dev2"]["avgScore"] - EPS,
        "d dev retrieval median <= 100 ms": candidate["dev"]["ms_median"] <= MAX_MS,
    }


def decide(rows: dict[str, dict]) -> dict:
    """Adopt a candidate that passes all four; of two, the higher dev hit@1, then dev MRR@10, then dev2 avgScore,
    then C1 (the simpler); none: the default stays 'none'."""
    checks = {name: passes(rows["S"], rows[name]) for name, _ in CONFIGS[1:]}
    passing = [name for name, _ in CONFIGS[1:] if all(checks[name].values())]
    order = {name: i for i, (name, _) in enumerate(CONFIGS)}
    passing.sort(key=lambda n: (-rows[n]["dev"]["hit@1"], -rows[n]["dev"]["MRR@10"], -rows[n]["dev2"]["avgScore"], order[n]))
    adopted = passing[0] if passing else None
    return {"adopt": adopted, "synonyms": dict(CONFIGS)[adopted] if adopted else "none", "checks": checks}


def score_configs(description: str, configs, decide, rule: str, extra: tuple[str, Callable[[dict], str]] | None = None) -> None:
    """The round scripts' main: each (name, synonyms[, other Reranker settings]) configuration on both development
    sets, one table row each, then `decide(rows)` by the committed `rule` file; `extra`: one more column (its header,
    its text from a row, which then keeps every question's top relevance)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    development_arguments(parser)
    args = parser.parse_args()
    index, passages, dev, dev2, qrels2, negatives = open_development(args)
    with_synonyms = sum(bool(p.synonyms) for p in passages)
    print(f"index {index.folder} ({len(passages):,} passages, {with_synonyms:,} with focus synonyms, dense fields "
          f"{index.manifest.get('dense_fields')}); dev {len(dev)} questions, dev2 {len(dev2)}; {measured_at()}\n")
    print("| config | synonyms | dev hit@1 | dev MRR@10 | dev2 avgScore | dev2 MAP@10 | dev2 MRR@10 | "
          f"dev ms (median, p95) | dev top relevance min / no-source max |{f' {extra[0]} |' if extra else ''}")
    print("|---" * (9 + bool(extra)) + "|")
    rows = {}
    for name, synonyms, *settings in configs:
        options = settings[0] if settings else {}
        retriever = Retriever(index, "dense-question", Reranker(*RULES, rqe_weight=1.0, synonyms=synonyms, **options),
                              encoder_threads=args.threads)
        row = rows[name] = {"synonyms": synonyms, **options,
                            **development_row(retriever, dev, negatives, dev2, qrels2, passages,
                                              keep_relevance=extra is not None)}
        d, d2 = row["dev"], row["dev2"]
        described = " ".join([synonyms, *(f"{k}={v}" for k, v in options.items())])
        print(f"| {name} | {described} | {d['hit@1']:.3f} | {d['MRR@10']:.3f} | {d2['avgScore']:.3f} | {d2['MAP@10']:.3f} | "
              f"{d2['MRR@10']:.3f} | {d['ms_median']:.1f}, {d['ms_p95']:.1f} | {row['dev_top_relevance_min']:.3f} / "
              f"{row['no_source_max']:.3f} |{f' {extra[1](row)} |' if extra else ''}", flush=True)
    report(decide(rows), rule, rows, args.decision_out)
    index.close()


def report(decision: dict, rule: str, rows: dict, decision_out: str | None) -> None:
    """Print the rule's decision and when it finished; write the rows and the decision to `decision_out` (JSON)."""
    print(f"\nrule ({rule}): {json.dumps(decision)}")
    print(f"finished {utc_now('%Y-%m-%dT%H:%M:%SZ')}, load average {os.getloadavg()}")
    if decision_out:
        Path(decision_out).parent.mkdir(parents=True, exist_ok=True)
        Path(decision_out).write_text(json.dumps({"rows": rows, **decision}, indent=1) + "\n")


def main() -> None:
    score_configs(__doc__, CONFIGS, decide, "bench/results/knowledge_round7_rule.txt")


if __name__ == "__main__":
    run(main)

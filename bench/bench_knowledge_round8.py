"""Knowledge, eighth round: MedQuAD's focus synonyms in the dense search against the shipped configuration, on both
development sets (never LiveQA); applies bench/results/knowledge_round8_rule.txt (C3) and knowledge_round8b_rule.txt
(C4, scored only after C3 was not adopted).

  python bench/bench_knowledge_round8.py --decision-out bench/results/knowledge_round8.json

Every configuration: dense-question, views 1,0,0, current cue words, rules F 0.5 / T 0.25 / I 0 + the shipped RQE
model x 1. S: synonyms focus+rqe (shipped since round 7); C3: focus+rqe+dense (each passage also scores by its
question asked with every other name of its focus, the best cosine counting); C4: focus+rqe+written (only the names
the question writes). The index must hold the "names" vectors (`vmed knowledge build --dense-fields question,names`);
its question vectors are the same as without them, so S's ranking is the shipped one. dev = 34 MEDIQA RQE consumer
questions (hit@1, MRR@10); dev2 = the graded MEDIQA Task 3 Alexa + validation questions (avgScore, MAP@10, MRR@10,
scored as on LiveQA); the no-source questions (bench/data/no_source_questions.txt) against knowledge.min_relevance.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run  # noqa: E402
from bench_knowledge_round7 import passes, score_configs  # noqa: E402

CONFIGS = (("S", "focus+rqe"), ("C3", "focus+rqe+dense"), ("C4", "focus+rqe+written"))  # C4: knowledge_round8b_rule.txt
THRESHOLD = 0.45  # knowledge.min_relevance: below it the answer says no source was found


def threshold_counts(row: dict) -> dict[str, int]:
    """How many no-source questions get a source (top relevance >= the threshold), how many dev questions get none."""
    return {"no_source_answered": sum(r >= THRESHOLD for r in row["no_source_relevance"]),
            "dev_refused": sum(r < THRESHOLD for r in row["dev_top_relevance"])}


def checks(shipped: dict, candidate: dict) -> dict[str, bool]:
    """Round 7's four conditions against S and (e) the no-source threshold separates as well (no more no-source
    questions answered, no more dev questions refused)."""
    found = passes(shipped, candidate)
    s, c = threshold_counts(shipped), threshold_counts(candidate)
    found["e the no-source threshold separates as well"] = (c["no_source_answered"] <= s["no_source_answered"]
                                                            and c["dev_refused"] <= s["dev_refused"])
    return found


def decide(rows: dict) -> dict:
    """C3 by knowledge_round8_rule.txt, then (only if C3 is not adopted) C4 by knowledge_round8b_rule.txt: adopted
    iff every check passes against S; else the default stays focus+rqe."""
    found = {name: checks(rows["S"], rows[name]) for name, _ in CONFIGS[1:] if name in rows}
    adopted = next((name for name in found if all(found[name].values())), None)
    return {"adopt": adopted, "synonyms": dict(CONFIGS)[adopted] if adopted else "focus+rqe", "checks": found,
            "threshold": {name: threshold_counts(row) for name, row in rows.items()}}


def _counts(row: dict) -> str:
    found = threshold_counts(row)
    return f"{found['no_source_answered']} / {found['dev_refused']}"


THRESHOLD_COLUMN = ("no-source answered / dev refused", _counts)  # score_configs' extra column (rounds 8, 9)


def main() -> None:
    score_configs(__doc__, CONFIGS, decide, "bench/results/knowledge_round8_rule.txt, knowledge_round8b_rule.txt",
                  THRESHOLD_COLUMN)


if __name__ == "__main__":
    run(main)

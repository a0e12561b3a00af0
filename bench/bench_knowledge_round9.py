"""Knowledge, ninth round: cleaner focus synonyms (the broader names left out) and question types read in the asking
sentences, against the shipped configuration, on both development sets (never LiveQA); applies
bench/results/knowledge_round9_rule.txt.

  python bench/bench_knowledge_round9.py --decision-out bench/results/knowledge_round9.json

Every configuration: dense-question, views 1,0,0, current cue words, rules F 0.5 / T 0.25 / I 0 + the shipped RQE
model x 1. S: synonyms focus+rqe (shipped since round 7). C5: S without the synonyms that name a broader topic
(knowledge.clean_synonyms: "Thalassemia" listed for alpha thalassemia, retrieve.broader_name). C6: C5's names, also in
the dense search where the question writes them (focus+rqe+written, round 8's C4). C7: S with the question's types
read in its subject line and asking sentences (knowledge.types_from=asking, retrieve.asked_types). C8: C5 + C7. The
index must hold the "names" vectors for C6 (`vmed knowledge build --dense-fields question,names`); its question
vectors are the shipped ones. dev = 34 MEDIQA RQE consumer questions (hit@1, MRR@10); dev2 = the graded MEDIQA Task 3
Alexa + validation questions (avgScore, MAP@10, MRR@10); the no-source questions against knowledge.min_relevance.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run  # noqa: E402
from bench_knowledge_round8 import THRESHOLD_COLUMN, checks, threshold_counts  # noqa: E402
from bench_knowledge_round7 import score_configs  # noqa: E402

CLEAN, ASKING = {"clean_synonyms": True}, {"types_from": "asking"}
CONFIGS = (("S", "focus+rqe", {}), ("C5", "focus+rqe", CLEAN), ("C6", "focus+rqe+written", CLEAN),
           ("C7", "focus+rqe", ASKING), ("C8", "focus+rqe", {**CLEAN, **ASKING}))
PREFERENCE = ("C5", "C7", "C8", "C6")  # on a full tie: the fewest changes first; C6 needs the names vectors
SHIPPED = {"hit@1": 25 / 34, "MRR@10": 0.763, "avgScore": 2.031}  # S as measured in rounds 7 and 8 (the sanity check)


def sane(row: dict) -> bool:
    return (abs(row["dev"]["hit@1"] - SHIPPED["hit@1"]) < 1e-6 and abs(row["dev"]["MRR@10"] - SHIPPED["MRR@10"]) < 5e-4
            and abs(row["dev2"]["avgScore"] - SHIPPED["avgScore"]) < 5e-4)


def decide(rows: dict) -> dict:
    """bench/results/knowledge_round9_rule.txt: nothing is decided unless S repeats its numbers; a candidate passes iff
    round 8's conditions (a)-(e) all hold against S; of several, the higher dev hit@1, then dev MRR@10, then dev2
    avgScore, then PREFERENCE; none: the default stays S."""
    settings = {name: {"synonyms": synonyms, **options} for name, synonyms, options in CONFIGS}
    if not sane(rows["S"]):
        return {"adopt": None, "settings": settings["S"], "sanity": False, "checks": {}}
    found = {name: checks(rows["S"], rows[name]) for name in PREFERENCE if name in rows}
    passing = sorted((name for name in found if all(found[name].values())),
                     key=lambda n: (-rows[n]["dev"]["hit@1"], -rows[n]["dev"]["MRR@10"], -rows[n]["dev2"]["avgScore"],
                                    PREFERENCE.index(n)))
    adopted = passing[0] if passing else None
    return {"adopt": adopted, "settings": settings[adopted or "S"], "sanity": True, "checks": found,
            "threshold": {name: threshold_counts(row) for name, row in rows.items()}}


def main() -> None:
    score_configs(__doc__, CONFIGS, decide, "bench/results/knowledge_round9_rule.txt", THRESHOLD_COLUMN)


if __name__ == "__main__":
    run(main)

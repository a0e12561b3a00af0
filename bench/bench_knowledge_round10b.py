"""Knowledge, tenth round, second rule: round 9's candidates (cleaner synonyms, types where the message asks, both; the
written names for the record) decided once more on dev + dev3, the development set that round 10 found to order
LiveQA's runs better (bench_knowledge_round10.py, part A); never LiveQA. Applies bench/results/knowledge_round10b_rule.txt.

  VMED_KNOWLEDGE_DIR=/tmp/vmed-know9/knowledge python bench/bench_knowledge_round10b.py --decision-out \\
      bench/results/knowledge_round10b.json

The index must hold the "names" vectors for C6 (`vmed knowledge build --dense-fields question,names`); its question
vectors are the shipped ones, so S, C5, C7 and C8 rank as on the shipped index.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measured_at, run, utc_now  # noqa: E402
from bench_knowledge_round10 import open_round10, passes, pooled, sane, score_rows  # noqa: E402


CLEAN, ASKING = {"clean_synonyms": True}, {"types_from": "asking"}
CONFIGS = (("S", {}), ("C5", CLEAN), ("C7", ASKING), ("C8", {**CLEAN, **ASKING}),
           ("C6", {"synonyms": "focus+rqe+written", **CLEAN}))
ADOPTABLE = ("C5", "C7", "C8")  # in this order on a full tie; C6 for the record only (needs the names vectors)
SHIPPED_DEV3 = 1.647  # S's dev3 avgScore in the first rule's run (knowledge_round10.log)


def decide(rows: dict) -> dict:
    """knowledge_round10b_rule.txt: nothing unless S repeats its numbers; a candidate passes iff part B's (1)-(5) hold
    against S; of several, the most correct top answers over dev + dev3, then dev3 avgScore, then ADOPTABLE's order."""
    s = rows["S"]
    if not (sane(s) and abs(s["dev3"]["avgScore"] - SHIPPED_DEV3) < 5e-4):
        return {"adopt": None, "sanity": False, "checks": {}}
    found = {name: passes(s, rows[name]) for name in rows if name != "S"}
    passing = sorted((n for n in ADOPTABLE if n in found and all(found[n].values())),
                     key=lambda n: (-pooled(rows[n]), -rows[n]["dev3"]["avgScore"], ADOPTABLE.index(n)))
    adopted = passing[0] if passing else None
    return {"adopt": adopted, "settings": dict(CONFIGS)[adopted] if adopted else {}, "sanity": True, "checks": found,
            "pooled": {name: pooled(row) for name, row in rows.items()}}


def main() -> None:
    args, index, passages, dev, dev2, qrels2, negatives, dev3, qrels3 = open_round10(__doc__)
    print(f"index {index.folder} (dense fields {index.manifest.get('dense_fields')}); dev {len(dev)}, dev2 {len(dev2)}, "
          f"dev3 {len(dev3)} questions; {measured_at()}\n")
    rows = score_rows(index, CONFIGS, args.threads, dev, negatives, dev2, qrels2, dev3, qrels3, passages)
    decision = {"record_only": "dev3 version 2: no decision"} if args.dev3_version == 2 else decide(rows)
    print(f"\nrule (bench/results/knowledge_round10b_rule.txt): {json.dumps(decision)}")
    print(f"finished {utc_now('%Y-%m-%dT%H:%M:%SZ')}, load average {os.getloadavg()}")
    if args.decision_out:
        Path(args.decision_out).write_text(json.dumps({"rows": rows, **decision}, indent=1) + "\n")
    index.close()


if __name__ == "__main__":
    run(main)

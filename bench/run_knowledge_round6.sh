#!/bin/sh
# Knowledge, sixth round (bench/results/knowledge_round6_rule.txt, committed before this ran): train the candidate
# RQE model (hard negatives mined from the MEDIQA training pairs), score S and C on dev + dev2, apply the rule, and
# run LiveQA'17 ONCE for the candidate only if the rule adopts it (the run is appended to liveqa_runs.jsonl).
#   flock /tmp/vmed-cpu.lock nice -n 5 sh bench/run_knowledge_round6.sh
set -e
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=2 PYTHONPATH="$PWD"
echo "start $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p runs/r6
python -m visual_med_alpaca.cli knowledge train-rqe --mediqa-hard-negatives 1 --threads 2 --out runs/r6/rqe_lr.json
echo "trained $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
python bench/bench_knowledge_round6.py --candidate runs/r6/rqe_lr.json --decision-out bench/results/knowledge_round6.json
adopt=$(python -c 'import json; print(json.load(open("bench/results/knowledge_round6.json"))["adopt"])')
if [ "$adopt" = True ]; then
  echo "adopted: LiveQA'17, once"
  python bench/bench_liveqa.py --split liveqa --methods dense-question --focus-bonus 0.5 --type-bonus 0.25 \
    --info-bonus 0 --rqe-weight 1 --rqe-model runs/r6/rqe_lr.json
else
  echo "not adopted: no LiveQA run"
fi
echo "end $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"

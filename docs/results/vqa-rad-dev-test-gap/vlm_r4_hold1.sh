#!/bin/bash
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2
echo "lock $(date -u +%T) $(uptime)"
python -m pytest -x -q tests/test_closed.py tests/test_vlm.py 2>&1 | tail -5
echo "tests done $(date -u +%T) $(uptime)"
/usr/bin/time -v python bench/vlm_closed_forms.py --model vlm:runs/vlm-rule --threads 2 --out runs/vlm-closed-forms.jsonl 2>runs/vlm-closed-forms.time
tail -25 runs/vlm-closed-forms.time | grep -E "Elapsed|Maximum resident"
echo "end $(date -u +%T) $(uptime)"

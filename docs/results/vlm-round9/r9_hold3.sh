#!/bin/bash
# round 9, hold 3 (MA adopted by the rule): the shipped bundle's memory, by the recipe's command, then VQA-RAD test ONCE
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
log=docs/results/vlm-round9/holds.log
echo "HOLD3 start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log
s=$(date +%s)
python -m visual_med_alpaca.cli train vlm -c configs/vlm-cpu-continue.yaml --memory visual_med_alpaca/assets/vlm/default \
  > runs/r9/build-shipped.json 2> runs/r9/build-shipped.err
echo "shipped memory rc=$? $(( $(date +%s) - s ))s $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log
python - <<'PY' | tee -a $log
import numpy as np
a, b = np.load("visual_med_alpaca/assets/vlm/default/memory.npz"), np.load("runs/r9/mem-image/memory.npz")
same = [k for k in a.files if k != "source" and np.array_equal(a[k], b[k])]
print(f"shipped memory vs the one scored on train-dev: {len(same)} of {len(a.files) - 1} arrays identical (source aside)")
PY
s=$(date +%s)
/usr/bin/time -v python -m visual_med_alpaca.cli eval vqa-rad -c configs/eval/vqa_rad.yaml --model vlm:default --threads 2 \
  --max-new-tokens 16 --out runs/eval/vqa-rad-vlm-round9 -q > runs/r9/test.log 2> runs/r9/test.err
echo "test rc=$? $(( $(date +%s) - s ))s $(grep -o 'Maximum resident[^:]*: [0-9]*' runs/r9/test.err) $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log
echo "HOLD3 end $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log

#!/bin/bash
# round 9, hold 1: the two memories (shipped recipe's data; + D-train) and the LOO threshold choice
# (the memory tests ran in two short holds before: 13:31:07-13:31:17, 1 failed (a fixture threshold on an fp16 edge);
#  13:34:34-13:34:47, 11 passed in 8.35 s)
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
log=docs/results/vlm-round9/holds.log
echo "HOLD1 start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log
mkdir -p runs/r9
for split in image seen; do
  rm -rf runs/r9/mem-$split; cp -r visual_med_alpaca/assets/vlm/default runs/r9/mem-$split
  s=$(date +%s)
  /usr/bin/time -v python -m visual_med_alpaca.cli train vlm -c configs/vlm-cpu.yaml --set dev_split=$split \
    --memory runs/r9/mem-$split > runs/r9/build-$split.json 2> runs/r9/build-$split.err
  echo "memory $split rc=$? $(( $(date +%s) - s ))s $(grep -o 'Maximum resident[^:]*: [0-9]*' runs/r9/build-$split.err) $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log
  cat runs/r9/build-$split.json
done
s=$(date +%s)
python bench/vlm_case_memory_loo.py runs/r9/mem-image --bias 0.486 \
  --vlm-dev docs/results/vqa-rad-train-dev-vlm-continue/steps160-factsopen/predictions.jsonl \
  --out docs/results/vlm-round9/loo.json | tee docs/results/vlm-round9/loo.txt
echo "loo rc=${PIPESTATUS[0]} $(( $(date +%s) - s ))s $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log
echo "HOLD1 end $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log

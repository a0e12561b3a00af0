#!/bin/bash
# one hold: export the round-8 candidates (stage-2 checkpoints 100/160/220), their dev loss, train-dev evals (bias 0)
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
cfg=configs/vlm-cpu-round8.yaml; stage=runs/vlm-cpu-round8/instruct
echo "EVALS start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
bundles=()
for step in ${STEPS:-100 160 220}; do
  [ -d $stage/checkpoint-$step ] || { echo "missing checkpoint-$step"; continue; }
  out=runs/r8-bundles/G$step
  python -m visual_med_alpaca.cli train vlm -c $cfg --export $stage/checkpoint-$step --out $out 2>&1 | tail -1
  bundles+=($out)
done
echo "exported $(date -u +%T)"
python bench/vlm_dev_loss.py $cfg "${bundles[@]}" 2>&1 | grep "dev loss"
echo "dev loss done $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
for b in "${bundles[@]}"; do
  n=$(basename $b)
  s=$(date +%s)
  python -m visual_med_alpaca.cli eval vqa-rad -c configs/eval/vqa_rad.yaml --model vlm:$b --threads 2 \
    --max-new-tokens 16 --subset train-dev --out runs/eval/dev-r8-$n > runs/eval-dev-r8-$n.log 2>&1
  echo "eval $n rc=$? $(( $(date +%s) - s ))s $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "EVALS end $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"

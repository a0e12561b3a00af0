#!/bin/bash
# one hold: export a variant's kept checkpoints as bundles, their dev loss (+ the shipped bundle's), train-dev evals
# usage: runs/r6_evals.sh CONFIG STAGE_DIR NAME [shipped]
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
cfg=$1; stage=$2; name=$3
echo "EVALS $name start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
bundles=()
for step in 100 200 300; do
  out=runs/r6-bundles/$name$step
  python -m visual_med_alpaca.cli train vlm -c $cfg --export $stage/checkpoint-$step --out $out 2>&1 | tail -1
  bundles+=($out)
done
echo "exported $(date -u +%T)"
extra=(); [ "$4" = shipped ] && extra=(visual_med_alpaca/assets/vlm/default)
python bench/vlm_dev_loss.py $cfg "${extra[@]}" "${bundles[@]}" 2>&1 | grep "dev loss"
echo "dev loss done $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
for b in "${bundles[@]}"; do
  n=$(basename $b)
  s=$(date +%s)
  python -m visual_med_alpaca.cli eval vqa-rad -c configs/eval/vqa_rad.yaml --model vlm:$b --threads 2 \
    --max-new-tokens 16 --subset train-dev --out runs/eval/dev-r6-$n > runs/eval-dev-r6-$n.log 2>&1
  echo "eval $n rc=$? $(( $(date +%s) - s ))s $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "EVALS $name end $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"

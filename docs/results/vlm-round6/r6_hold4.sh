#!/bin/bash
# hold 4: variant B's exports, dev loss, train-dev evals; then the in-sample fit check (train-fit) for S and all six
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
echo "TESTS start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
python -m pytest -q tests/test_vlm.py tests/test_train.py tests/test_eval_benchmarks.py tests/test_eval_runner.py \
  -p no:cacheprovider 2>&1 | tail -4
echo "TESTS end $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
runs/r6_evals.sh configs/vlm-cpu-round6-mlp.yaml runs/vlm-cpu-round6-mlp/instruct-longer-mlp B
echo "FIT start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
for b in default runs/r6-bundles/A100 runs/r6-bundles/A200 runs/r6-bundles/A300 runs/r6-bundles/B100 runs/r6-bundles/B200 runs/r6-bundles/B300; do
  n=$(basename $b); s=$(date +%s)
  python -m visual_med_alpaca.cli eval vqa-rad -c configs/eval/vqa_rad.yaml --model vlm:$b --threads 2 \
    --max-new-tokens 16 --subset train-fit --out runs/eval/fit-r6-$n > runs/eval-fit-r6-$n.log 2>&1
  echo "fit $n rc=$? $(( $(date +%s) - s ))s $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "HOLD4 end $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"

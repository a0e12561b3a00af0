#!/bin/bash
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
echo "TRAIN start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
timeout ${1:-14m} python -m visual_med_alpaca.cli train vlm -c configs/vlm-cpu-round8.yaml --resume >> runs/r8-train.log 2>&1
echo "train rc=$? $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"

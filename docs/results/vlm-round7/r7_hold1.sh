#!/bin/bash
# round 7, hold 1: train configs/vlm-cpu-round7.yaml (resumable), under the CPU lock
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
echo "HOLD1 start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
timeout 14m python -m visual_med_alpaca.cli train vlm -c configs/vlm-cpu-round7.yaml --resume > runs/r7-train.log 2>&1
echo "train rc=$? $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "HOLD1 end $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"

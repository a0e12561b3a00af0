#!/bin/bash
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
echo "PROBE start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
timeout 150s python -m visual_med_alpaca.cli train vlm -c runs/r8-probe.yaml 2>&1 | while IFS= read -r l; do echo "$(date -u +%T.%N | cut -c1-12) $l"; done
echo "PROBE end $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"

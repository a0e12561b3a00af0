#!/bin/bash
# hold 2: the init_new_lora test, then variant B training (<= 14 min of hold)
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
start=$(date +%s)
echo "HOLD2 start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
python -m pytest -q -x "tests/test_vlm.py::test_two_stage_training_resumes_and_makes_a_loadable_bundle" \
  tests/test_vlm.py::test_recipes_validate -p no:cacheprovider 2>&1 | tail -3
rc=${PIPESTATUS[0]}
echo "tests rc=$rc $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$rc" != 0 ]; then exit 1; fi
left=$(( 14*60 - ($(date +%s) - start) - 20 ))
echo "training for at most ${left}s"
timeout ${left}s python -m visual_med_alpaca.cli train vlm -c configs/vlm-cpu-round6-mlp.yaml --resume >> runs/r6mlp-train.log 2>&1
echo "train rc=$? $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/bin/bash
# hold 1: changed tests, then training (stops itself by 14 min of hold in all)
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
start=$(date +%s)
echo "HOLD1 start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
python -m pytest -q -x tests/test_train.py::test_keep_every_keeps_those_checkpoints_beyond_the_rotation \
  tests/test_eval_benchmarks.py "tests/test_vlm.py::test_two_stage_training_resumes_and_makes_a_loadable_bundle" \
  tests/test_vlm.py::test_train_vlm_export_bad_input_is_one_error_line tests/test_vlm.py::test_recipes_validate \
  -p no:cacheprovider 2>&1 | tail -5
rc=${PIPESTATUS[0]}
echo "tests rc=$rc $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$rc" != 0 ]; then exit 1; fi
left=$(( 14*60 - ($(date +%s) - start) - 20 ))
echo "training for at most ${left}s"
timeout ${left}s python -m visual_med_alpaca.cli train vlm -c configs/vlm-cpu-round6.yaml --resume >> runs/r6-train.log 2>&1
echo "train rc=$? $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"

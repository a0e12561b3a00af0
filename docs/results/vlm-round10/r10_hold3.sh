#!/bin/bash
cd /work/wt-vlmdev
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
out=docs/results/vlm-round10; log=$out/holds.log
stamp() { echo "$1 $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log; }
stamp "HOLD3 start"
python bench/vqa_paired.py $out/dev/S/predictions.jsonl $out/dev/MA/predictions.jsonl > $out/paired-MA.txt 2>&1; stamp "paired rc=$?"
python -m pytest tests/test_eval_benchmarks.py "tests/test_bench_common.py" -q -x -p no:cacheprovider -k "vqa_rad or paraphrase or grouped or vlm_round10 or vlm_case_memory_gap or every_benchmark" > runs/r10/tests.out 2>&1; stamp "tests rc=$? $(tail -1 runs/r10/tests.out)"
stamp "HOLD3 end"

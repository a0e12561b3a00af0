#!/bin/bash
# round 4, hold 2: tests, load phases + one-shot timings (direct LoRA merge), then VQA-RAD test ONCE (pre-registered)
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2
echo "lock $(date -u +%T) $(uptime)"
python -m pytest -x -q tests/test_closed.py tests/test_vlm.py tests/test_pipeline.py > runs/vlm-r4-tests.log 2>&1; rc=$?
tail -3 runs/vlm-r4-tests.log
[ $rc -eq 0 ] || { echo "tests failed: no test run"; exit 1; }
echo "tests done $(date -u +%T) $(uptime)"
python bench/vlm_load_phases.py 2>&1 | grep -v -E "Loading weights|warn" | tee runs/vlm-r4-phases.txt
grep -q ", 0 differ" runs/vlm-r4-phases.txt || { echo "merge differs from peft: no test run"; exit 1; }
echo "phases done $(date -u +%T) $(uptime)"
python bench/bench_vlm.py --runs 5 --threads 2 2>&1 | grep -v -E "Loading weights|warn"
echo "bench done $(date -u +%T) $(uptime)"
for q in "What organ system is shown?" "Is there a fracture?"; do
  /usr/bin/time -f "wall %e s, peak RSS %M KB" python -m visual_med_alpaca.cli ask "$q" --image examples/ct_slice.png --model vlm:default --json -q --set llm.threads=2 | python -c "import json,sys; d=json.load(sys.stdin); t=d['timings']; print(json.dumps({'q': '$q', 'first_token_s': t.get('first_token_s'), 'load_model_s': t.get('load_model_s'), 'answer': d['answer'][:40]}))"
done
echo "ask done $(date -u +%T) $(uptime)"
git log --oneline -1
rm -rf runs/eval/vqa-rad-vlm-round4
/usr/bin/time -f "wall %e s, peak RSS %M KB" python -m visual_med_alpaca.cli eval vqa-rad -c configs/eval/vqa_rad.yaml --model vlm:default --threads 2 --max-new-tokens 16 --out runs/eval/vqa-rad-vlm-round4 2>&1 | tail -25
echo "test run done $(date -u +%T) $(uptime)"

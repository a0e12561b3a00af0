#!/bin/bash
# round 10, hold 2: hold 1's memories carry configs/vlm-cpu.yaml's own case_memory settings (0.95/0.90/0.90), not
# the shipped thresholds round 9 scored with (0.93/0.52/0.51: round 9's hold 2 rewrote vlm.json in its copies).
# So, as round 9 did: copies with the shipped bundle's case_memory settings, the gap script on both D-evals again
# (its cosine quartiles do not depend on the question thresholds; image_min and the "answered" counts do), and
# MA again on the grouped D-eval. Hold 1's MA run (at 0.95/0.90/0.90) is kept as dev/MA-recipe-thresholds.
cd /work/wt-vlmdev
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
out=docs/results/vlm-round10; log=$out/holds.log
stamp() { echo "$1 $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log; }
stamp "HOLD2 start"
for split in seen seen-grouped; do
  b=runs/r10/answer-$split; rm -rf $b; cp -r runs/r10/mem-$split $b
  python - $b <<'PY'
import json, pathlib, sys
shipped = json.loads(pathlib.Path("visual_med_alpaca/assets/vlm/default/vlm.json").read_text())["case_memory"]
p = pathlib.Path(sys.argv[1]) / "vlm.json"; m = json.loads(p.read_text()); m["case_memory"] = shipped
p.write_text(json.dumps(m, indent=2) + "\n"); print(p, shipped)
PY
done
python bench/vlm_case_memory_gap.py --seen-memory runs/r10/answer-seen --subset train-dev-seen --no-test \
  > $out/gap-seen.txt 2>&1; stamp "gap seen rc=$?"
python bench/vlm_case_memory_gap.py --seen-memory runs/r10/answer-seen-grouped --subset train-dev-seen-grouped \
  --no-test > $out/gap-grouped.txt 2>&1; stamp "gap grouped rc=$?"
s=$(date +%s)
python -m visual_med_alpaca.cli eval vqa-rad -c configs/eval/vqa_rad.yaml --model vlm:runs/r10/answer-seen-grouped \
  --threads 2 --max-new-tokens 16 --subset train-dev-seen-grouped --out runs/eval/r10-MA2 --restart -q --case-memory \
  > runs/r10/eval-MA2.log 2>&1
stamp "eval MA (shipped thresholds) rc=$? $(( $(date +%s) - s ))s"
mkdir -p $out/dev/MA; cp runs/eval/r10-MA2/*.json* $out/dev/MA/
stamp "HOLD2 end"

#!/bin/bash
# round 9, hold 2: the candidates (MA: use answer, MP: use prompt) and the shipped bundle S on D-eval and train-dev
# usage: r9_hold2.sh IMAGE_MIN YES_NO_MIN OTHER_MIN seen|dev   (the thresholds hold 1 chose; one dev set per hold)
cd /work/wt-vlm
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
log=docs/results/vlm-round9/holds.log
echo "HOLD2-$4 start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg) thresholds $1 $2 $3" | tee -a $log
for split in image seen; do
  for use in answer prompt; do
    b=runs/r9/$use-$split; rm -rf $b; cp -r runs/r9/mem-$split $b
    python - $b $1 $2 $3 $use <<'PY'
import json, pathlib, sys
folder, image_min, yes_no_min, other_min, use = sys.argv[1:]
p = pathlib.Path(folder) / "vlm.json"; m = json.loads(p.read_text())
m["case_memory"] = {"image_min": float(image_min), "yes_no_min": float(yes_no_min), "other_min": float(other_min), "use": use}
p.write_text(json.dumps(m, indent=2) + "\n")
PY
  done
done
run() {  # name bundle subset extra...
  local name=$1 bundle=$2 subset=$3; shift 3
  local s=$(date +%s)
  python -m visual_med_alpaca.cli eval vqa-rad -c configs/eval/vqa_rad.yaml --model vlm:$bundle --threads 2 \
    --max-new-tokens 16 --subset $subset --out runs/eval/r9-$name --restart -q "$@" > runs/r9/eval-$name.log 2>&1
  echo "eval $name rc=$? $(( $(date +%s) - s ))s $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log
}
if [ "$4" = seen ]; then
  run S-seen default train-dev-seen --no-case-memory
  run MA-seen runs/r9/answer-seen train-dev-seen
  run MP-seen runs/r9/prompt-seen train-dev-seen
else
  run S-dev default train-dev --no-case-memory
  run MA-dev runs/r9/answer-image train-dev
  run MP-dev runs/r9/prompt-image train-dev
fi
echo "HOLD2-$4 end $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log

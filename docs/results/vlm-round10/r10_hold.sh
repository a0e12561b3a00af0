#!/bin/bash
# round 10, one hold: the paraphrase groups checked on train, the two D-evals' memories, the closest-question cosine
# on each D-eval (gap script, test not read), then the shipped VLM alone (S) and with the case memory (MA: memory
# = train-minus-dev + the grouped D-train, the shipped thresholds 0.93/0.52/0.51, use answer) on the grouped D-eval.
# Prediction committed before this ran: bench/results/vlm_round10_prediction.txt
cd /work/wt-vlmdev
export PYTHONPATH=$PWD OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
out=docs/results/vlm-round10; log=$out/holds.log
stamp() { echo "$1 $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $log; }
stamp "HOLD start"
mkdir -p runs/r10
python bench/vlm_round10_split.py --cosine > $out/split.txt 2>&1; stamp "split rc=$?"
for split in seen seen-grouped; do
  b=runs/r10/mem-$split; rm -rf $b; cp -r visual_med_alpaca/assets/vlm/default $b
  python -m visual_med_alpaca.cli train vlm -c configs/vlm-cpu.yaml --set dev_split=$split --memory $b \
    > runs/r10/build-$split.json 2> runs/r10/build-$split.err; stamp "memory $split rc=$?"
  cat runs/r10/build-$split.json
done
python bench/vlm_case_memory_gap.py --seen-memory runs/r10/mem-seen --subset train-dev-seen --no-test \
  > $out/gap-seen.txt 2>&1; stamp "gap seen rc=$?"
python bench/vlm_case_memory_gap.py --seen-memory runs/r10/mem-seen-grouped --subset train-dev-seen-grouped --no-test \
  > $out/gap-grouped.txt 2>&1; stamp "gap grouped rc=$?"
run() {  # name bundle extra...
  local name=$1 bundle=$2; shift 2
  local s=$(date +%s)
  python -m visual_med_alpaca.cli eval vqa-rad -c configs/eval/vqa_rad.yaml --model vlm:$bundle --threads 2 \
    --max-new-tokens 16 --subset train-dev-seen-grouped --out runs/eval/r10-$name --restart -q "$@" \
    > runs/r10/eval-$name.log 2>&1
  stamp "eval $name rc=$? $(( $(date +%s) - s ))s"
  mkdir -p $out/dev/$name; cp runs/eval/r10-$name/*.json* $out/dev/$name/ 2>/dev/null
}
run S default --no-case-memory
run MA runs/r10/mem-seen-grouped --case-memory
stamp "HOLD end"

#!/bin/bash
# hold 5: step time, 1 vs 2 threads, 12 steps each of the round-6 recipe (same machine, same hold)
cd /work/wt-vlm
export PYTHONPATH=$PWD
rm -rf runs/r6-speed1 runs/r6-speed2
for t in 1 2; do
  echo "threads $t start $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
  OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t python -m visual_med_alpaca.cli train vlm -c configs/vlm-cpu-round6.yaml \
    --set output_dir=runs/r6-speed$t --set threads=$t --set eval_every=1000 --set save_every=1000 --set "report_to=[none]" \
    --set "stages=[{name: speed, data: vqa, train_lm: true, max_steps: 12, batch_size: 16, micro_batch_size: 8, learning_rate: 3.0e-4, projector_learning_rate: 1.2e-4, init_from: visual_med_alpaca/assets/vlm/default}]" 2>/dev/null \
    | python -c "import json,sys; d=json.load(sys.stdin)['stages']['speed']; print('threads', $t, 'steps', d['steps'], 'train_seconds', d['train_seconds'], 's/step', round(d['train_seconds']/d['steps'],2), 'tokens/s', d['tokens_per_s'])"
  echo "threads $t end $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
done

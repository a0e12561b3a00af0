"""Dev loss of trained VLM weights: nats per answer token on the recipe's dev set (held-out VQA-RAD *train*
images, the same examples, prompt, answer cut and loss as the training engine's eval), so runs can be compared
at any step, e.g. the shipped step-60 weights against a continuation.

    PYTHONPATH=. python bench/vlm_dev_loss.py configs/vlm-cpu-continue.yaml WEIGHTS.pt [WEIGHTS.pt ...]

WEIGHTS: what `init_from` takes: a VLM bundle folder (e.g. visual_med_alpaca/assets/vlm/default), a checkpoint-N
folder of a stage, or a stage's weights.pt (projector + LoRA) from `vmed train vlm`. --new-lora: the FIRST weights
may lack LoRA modules the recipe adds (e.g. the shipped attention-only bundle under configs/vlm-cpu-round7.yaml's MLP
LoRA); those keep their fresh init (B = 0), so it is measured as itself. Only the first: later weights would inherit
the previous one's tensors there, so they must have every LoRA tensor of the recipe.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import threads

from visual_med_alpaca.config import load_config
from visual_med_alpaca.vlm.train import VLMTrainConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("weights", type=Path, nargs="+")
    ap.add_argument("--threads", type=threads, default=2)
    ap.add_argument("--new-lora", action="store_true", help="the first weights may lack the recipe's extra LoRA")
    args = ap.parse_args()

    import torch

    from visual_med_alpaca.paths import data_dir
    from visual_med_alpaca.vlm.encoders import FeatureCache
    from visual_med_alpaca.vlm.train import (ExampleCollator, build_model, init_state, load_trainable, make_loader,
                                             stage_examples)

    torch.set_num_threads(args.threads)
    cfg = load_config(VLMTrainConfig, args.config)
    stage = next(s for s in cfg.stages if s.data == "vqa")
    _, dev = stage_examples(cfg, stage, data_dir(cfg.data_dir, "vqa_rad", "medpix2"))
    cache = FeatureCache(Path(cfg.feature_cache or Path(cfg.output_dir).parent / "feature-cache"), cfg.encoder)
    cache.fill([e.image for e in dev])
    vlm, _ = build_model(cfg)
    vlm.eval()
    loader = make_loader(dev, ExampleCollator(vlm, cache, stage), stage.micro_batch_size, False)
    for n, weights in enumerate(args.weights):
        load_trainable(vlm, init_state(vlm, str(weights), cfg, new_lora=args.new_lora and n == 0))
        started, total, items = time.perf_counter(), 0.0, 0
        with torch.no_grad():
            for batch in loader:
                examples = batch["examples"]
                total += float(vlm(batch["features"], [e.prompt for e in examples], [e.answer for e in examples],
                                   stage.max_answer_tokens)[0])
                items += batch["answer_tokens"]
        print(f"{weights}: dev loss {total / items:.4f} nats/answer token ({len(dev)} examples, {items} answer "
              f"tokens, {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

"""Dev loss of trained VLM weights: nats per answer token on the recipe's dev set (held-out VQA-RAD *train*
images, the same examples, prompt, answer cut and loss as the training engine's eval), so runs can be compared
at any step, e.g. the shipped step-60 weights against a continuation.

    PYTHONPATH=. python bench/vlm_dev_loss.py configs/vlm-cpu-continue.yaml WEIGHTS.pt [WEIGHTS.pt ...]

WEIGHTS: what `init_from` takes: a VLM bundle folder (e.g. visual_med_alpaca/assets/vlm/default), a checkpoint-N
folder of a stage, or a stage's weights.pt (projector + LoRA) from `vmed train vlm`. Each is loaded into the model as
built (fresh projector and LoRA), never on top of the previous weights. --new-lora: weights may lack LoRA modules the
recipe adds (e.g. the shipped attention-only bundle under configs/vlm-cpu-round7.yaml's MLP LoRA); those keep their
fresh init (B = 0), so such weights are measured as themselves, whichever position they have in the list.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import threads

from visual_med_alpaca.config import load_config
from visual_med_alpaca.vlm.train import VLMTrainConfig


def load_weights(vlm, fresh: dict, weights: Path, cfg: VLMTrainConfig, new_lora: bool) -> None:
    """`weights` into the model as built (`fresh`: a copy of its trainable tensors then): LoRA tensors the weights
    lack (with `new_lora`) keep the fresh init, not the values of weights loaded before."""
    from visual_med_alpaca.vlm.train import init_state, load_trainable

    load_trainable(vlm, fresh)
    load_trainable(vlm, init_state(vlm, str(weights), cfg, new_lora=new_lora))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("weights", type=Path, nargs="+")
    ap.add_argument("--threads", type=threads, default=2)
    ap.add_argument("--new-lora", action="store_true", help="weights may lack the recipe's extra LoRA (kept fresh)")
    args = ap.parse_args()

    import torch

    from visual_med_alpaca.paths import data_dir
    from visual_med_alpaca.vlm.encoders import FeatureCache
    from visual_med_alpaca.vlm.train import ExampleCollator, build_model, make_loader, stage_examples, trainable_state

    torch.set_num_threads(args.threads)
    cfg = load_config(VLMTrainConfig, args.config)
    stage = next(s for s in cfg.stages if s.data == "vqa")
    _, dev = stage_examples(cfg, stage, data_dir(cfg.data_dir, "vqa_rad", "medpix2"))
    cache = FeatureCache(Path(cfg.feature_cache or Path(cfg.output_dir).parent / "feature-cache"), cfg.encoder)
    cache.fill([e.image for e in dev])
    vlm, _ = build_model(cfg)
    vlm.eval()
    fresh = {key: value.detach().clone() for key, value in trainable_state(vlm).items()}
    loader = make_loader(dev, ExampleCollator(vlm, cache, stage), stage.micro_batch_size, False)
    for weights in args.weights:
        load_weights(vlm, fresh, weights, cfg, args.new_lora)
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

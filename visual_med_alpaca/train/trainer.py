"""The LoRA / full fine-tuning recipe behind `vmed train lora` and `vmed train full`, on the training engine.

It brings the model (peft LoRA or all weights), length-grouped Alpaca batches, and the loss that applies the LM
head only on response tokens; train/engine.py does the loop, schedule, checkpoints and exact resume.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from ..config import dump_config
from ..errors import UserInputError
from . import engine, sft
from .config import TrainConfig


def load_model_and_tokenizer(cfg: TrainConfig):
    import torch
    from transformers import AutoModelForCausalLM

    from ..llm.hf import load_tokenizer, quantization_config, resolve_model_source

    source = resolve_model_source(cfg.model)
    try:
        tokenizer = load_tokenizer(source)
        kwargs = {"dtype": getattr(torch, cfg.dtype)}
        quant = quantization_config(cfg.quantization)
        if quant is not None:
            kwargs.update(quantization_config=quant, device_map={"": 0})
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except OSError as exc:
        raise UserInputError(f"could not load model '{cfg.model}': {str(exc).splitlines()[0]}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    if tokenizer.eos_token_id is None:
        raise UserInputError(f"model '{cfg.model}' has no EOS token; the trainer needs one to end answers")
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    if cfg.mode == "lora":
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        if quant is not None:
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
        model = get_peft_model(model, LoraConfig(
            r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
            target_modules=cfg.lora.target_modules, bias="none", task_type="CAUSAL_LM"))
    return model, tokenizer


def _split(cfg: TrainConfig, records: list[dict]) -> tuple[list[dict], list[dict]]:
    if cfg.data.validation:
        return records, sft.read_alpaca(cfg.data.validation)[: cfg.data.max_val_examples]
    n_val = min(int(len(records) * cfg.data.val_fraction), cfg.data.max_val_examples)
    shuffled = records[:]
    random.Random(cfg.seed).shuffle(shuffled)
    return shuffled[n_val:], shuffled[:n_val]


RESUME_KEYS = ("mode", "model", "lora")  # what the checkpoint's weights are shaped by


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool = True) -> dict:
    """Run (or resume) a training job; returns the metrics also written to output_dir/metrics.json."""
    import torch
    from torch.utils.data import DataLoader

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if resume and not cfg.resume_from_checkpoint:
        cfg = cfg.model_copy(update={"resume_from_checkpoint": True})
    if Path(cfg.output_dir).exists() and not Path(cfg.output_dir).is_dir():  # not after the model loads
        raise UserInputError(f"output_dir {cfg.output_dir} is a file: give a folder")
    if engine._resume_path(cfg) is not None:  # a wrong resume fails before the model loads
        changed = engine.check_same_recipe(cfg, cfg.output_dir, RESUME_KEYS)
        if changed:
            print(engine.changed_settings_note(changed), file=sys.stderr)
    records = sft.read_alpaca(cfg.data.train)[: cfg.data.max_examples]
    train_records, val_records = _split(cfg, records)
    torch.manual_seed(cfg.seed)
    model, tokenizer = load_model_and_tokenizer(cfg)
    train_ex = sft.encode_all(train_records, tokenizer, cfg.max_length, cfg.train_on_inputs)
    val_ex = sft.encode_all(val_records, tokenizer, cfg.max_length, cfg.train_on_inputs)
    if not train_ex:
        raise UserInputError("no usable training examples (all prompts longer than max_length?)")

    from accelerate import PartialState

    run_cfg = cfg.engine(PartialState().num_processes)
    accelerator = engine.make_accelerator(run_cfg)
    collate = sft.collator(tokenizer)
    rows = [sft.features(e) for e in train_ex]
    if cfg.group_by_length:
        loader = DataLoader(rows, batch_size=cfg.micro_batch_size, collate_fn=collate,
                            sampler=sft.length_grouped_sampler([len(e) for e in train_ex], cfg.micro_batch_size, cfg.seed))
    else:
        loader = DataLoader(rows, batch_size=cfg.micro_batch_size, collate_fn=collate, shuffle=True)
    val_rows = [sft.features(e) for e in sorted(val_ex, key=len)]
    val_loader = DataLoader(val_rows, batch_size=cfg.micro_batch_size, collate_fn=collate) if val_rows else None
    response_only = cfg.response_only_logits and accelerator.num_processes == 1  # sharded wrappers need the full forward

    if accelerator.is_main_process:  # beside the checkpoints: `vmed export` rebuilds an adapter from one
        Path(cfg.output_dir).mkdir(parents=True, exist_ok=True)
        (Path(cfg.output_dir) / "config.yaml").write_text(dump_config(cfg))

    def save_model(out: Path) -> None:
        target = out / ("adapter" if cfg.mode == "lora" else "model")
        accelerator.unwrap_model(model).save_pretrained(target)
        tokenizer.save_pretrained(target)

    result = engine.train(
        model, loader, run_cfg, compute_loss=lambda m, batch: sft.summed_loss(m, batch, response_only)[0],
        num_items=sft.target_count, eval_loader=val_loader, save_model=save_model, accelerator=accelerator,
        tracker_config={"mode": cfg.mode, "model": cfg.model}, progress=progress, desc=f"train {cfg.mode}")
    metrics = {
        "mode": cfg.mode, "model": cfg.model, "steps": result.steps, "epochs_seen": result.epochs_seen,
        "train_examples": len(train_ex), "val_examples": len(val_ex), "tokens": result.tokens,
        "tokens_per_s": result.tokens_per_s, "train_seconds": result.seconds, "padding_waste": result.padding_waste,
        "final_train_loss": result.train_losses[-1][1] if result.train_losses else None,
        "eval_loss": result.eval_losses, "train_loss": result.train_losses,
    }
    if accelerator.is_main_process:
        (Path(cfg.output_dir) / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics

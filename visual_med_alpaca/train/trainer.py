"""One training loop for `vmed train lora` and `vmed train full` (accelerate handles devices, DDP/FSDP/DeepSpeed).

A plain loop rather than transformers.Trainer so the loss can skip the LM head on prompt tokens; it keeps the
Trainer's contract: effective batch by gradient accumulation, warmup + schedule, clipping, seeded order,
checkpoints every N steps with exact resume, eval loss on a validation split, a loss curve at the end.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from pathlib import Path

from ..config import dump_config
from ..errors import UserInputError
from . import sft
from .config import TrainConfig

CHECKPOINT = "checkpoint"


def load_model_and_tokenizer(cfg: TrainConfig):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..llm.hf import quantization_config, resolve_model_source

    source = resolve_model_source(cfg.model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        kwargs = {"dtype": getattr(torch, cfg.dtype)}
        quant = quantization_config(cfg.quantization)
        if quant is not None:
            kwargs.update(quantization_config=quant, device_map={"": 0})
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except OSError as exc:
        raise UserInputError(f"could not load model '{cfg.model}': {str(exc).splitlines()[0]}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
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


def _lr_lambda(cfg: TrainConfig, total: int):
    warmup = int(total * cfg.warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if cfg.lr_scheduler == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 1 - progress) if cfg.lr_scheduler == "linear" else 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def evaluate(model, examples: list[sft.Example], pad_id: int, micro_batch: int, response_only: bool,
             device) -> float | None:
    """Mean token loss of the responses in examples."""
    import torch

    if not examples:
        return None
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]))
    with torch.no_grad():
        for start in range(0, len(order), micro_batch):
            batch = sft.collate([examples[i] for i in order[start:start + micro_batch]], pad_id)
            loss, n = sft.summed_loss(model, {k: v.to(device) for k, v in batch.items()}, response_only)
            total, count = total + loss.item(), count + n.item()
    model.train(was_training)
    return total / max(count, 1)


def _trainable_state(model, cfg: TrainConfig) -> dict:
    if cfg.mode == "lora":
        from peft import get_peft_model_state_dict

        return get_peft_model_state_dict(model)
    return model.state_dict()


def _save_checkpoint(out: Path, model, optimizer, scheduler, cfg, state: dict) -> None:
    """Atomic: written to a temp folder, then swapped in, so a kill mid-save never loses the last one."""
    import torch

    tmp = out / f"{CHECKPOINT}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(_trainable_state(model, cfg), tmp / "weights.pt")
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state()}, tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps(state))
    final = out / CHECKPOINT
    old = out / f"{CHECKPOINT}.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _load_checkpoint(out: Path, model, optimizer, scheduler, cfg) -> dict:
    import torch

    ckpt = out / CHECKPOINT
    if not (ckpt / "state.json").is_file():
        raise UserInputError(f"--resume: no checkpoint in {out}")
    weights = torch.load(ckpt / "weights.pt", map_location="cpu")
    if cfg.mode == "lora":
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, weights)
    else:
        model.load_state_dict(weights)
    extra = torch.load(ckpt / "optimizer.pt", map_location="cpu", weights_only=False)
    optimizer.load_state_dict(extra["optimizer"])
    scheduler.load_state_dict(extra["scheduler"])
    torch.set_rng_state(extra["torch_rng"])
    return json.loads((ckpt / "state.json").read_text())


def plot_losses(history: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    if history["train"]:
        ax.plot(*zip(*history["train"]), label="train", lw=1)
    if history["eval"]:
        ax.plot(*zip(*history["eval"]), "o-", label="validation")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (nats/token)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool = True) -> dict:
    """Run (or resume) a training job; returns the metrics also written to output_dir/metrics.json."""
    import torch
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.output_dir)
    if not resume and (out / CHECKPOINT).exists():
        raise UserInputError(f"{out} already holds a checkpoint: pass --resume, or choose another output_dir")
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)

    records = sft.read_alpaca(cfg.data.train)[: cfg.data.max_examples]
    train_records, val_records = _split(cfg, records)
    model, tokenizer = load_model_and_tokenizer(cfg)
    train_ex = sft.encode_all(train_records, tokenizer, cfg.max_length, cfg.train_on_inputs)
    val_ex = sft.encode_all(val_records, tokenizer, cfg.max_length, cfg.train_on_inputs)
    if not train_ex:
        raise UserInputError("no usable training examples (all prompts longer than max_length?)")
    lengths = [len(e) for e in train_ex]

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    processes = accelerator.num_processes
    accum = max(1, cfg.batch_size // (cfg.micro_batch_size * processes))
    steps_per_epoch = max(1, len(train_ex) // (cfg.micro_batch_size * accum * processes))
    total_steps = cfg.max_steps or max(1, math.ceil(steps_per_epoch * cfg.epochs))

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(cfg, total_steps))
    state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "tokens": 0, "seconds": 0.0,
             "history": {"train": [], "eval": []}}
    if resume:
        state = _load_checkpoint(out, model, optimizer, scheduler, cfg)
    model, optimizer = accelerator.prepare(model, optimizer)
    response_only = cfg.response_only_logits and processes == 1  # sharded wrappers need the full forward
    device = accelerator.device
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(dump_config(cfg))
    model.train()

    def epoch_batches(epoch: int) -> list[list[int]]:
        batches = sft.length_grouped_batches(lengths, cfg.micro_batch_size, cfg.seed + epoch, cfg.group_by_length)
        return batches[accelerator.process_index::processes]

    batches = epoch_batches(state["epoch"])
    waste = sft.padding_waste(lengths, batches)
    bar = tqdm(total=total_steps, initial=state["step"], disable=not (progress and accelerator.is_main_process),
               desc=f"train {cfg.mode}", unit="step", dynamic_ncols=True)
    while state["step"] < total_steps:
        started = time.perf_counter()
        group = []
        while len(group) < accum:
            if state["batch_in_epoch"] >= len(batches):
                state["epoch"] += 1
                state["batch_in_epoch"] = 0
                batches = epoch_batches(state["epoch"])
            group.append(batches[state["batch_in_epoch"]])
            state["batch_in_epoch"] += 1
        micro = [sft.collate([train_ex[i] for i in b], tokenizer.pad_token_id) for b in group]
        targets = sum(int((m["labels"][:, 1:] != sft.IGNORE).sum()) for m in micro)
        step_loss, step_tokens = 0.0, 0
        for k, batch in enumerate(micro):
            batch = {key: value.to(device) for key, value in batch.items()}
            syncing = k == len(micro) - 1
            context = accelerator.no_sync(model) if not syncing and processes > 1 else _nullcontext()
            with context:
                loss_sum, _ = sft.summed_loss(model, batch, response_only)
                accelerator.backward(loss_sum / max(targets, 1))
            step_loss += loss_sum.item()
            step_tokens += int(batch["attention_mask"].sum())
        accelerator.clip_grad_norm_(params, cfg.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] += 1
        state["tokens"] += step_tokens
        state["seconds"] += time.perf_counter() - started
        loss_value = step_loss / max(targets, 1)
        if not math.isfinite(loss_value):
            raise RuntimeError(f"training loss became {loss_value} at step {state['step']}")
        if state["step"] % cfg.log_every == 0:
            state["history"]["train"].append((state["step"], loss_value))
        bar.update(1)
        bar.set_postfix(loss=f"{loss_value:.3f}", tok_s=f"{state['tokens'] / max(state['seconds'], 1e-9):.0f}",
                        lr=f"{scheduler.get_last_lr()[0]:.1e}")
        last = state["step"] == total_steps
        if val_ex and (state["step"] % cfg.eval_every == 0 or last):
            val = evaluate(model, val_ex, tokenizer.pad_token_id, cfg.micro_batch_size, response_only, device)
            state["history"]["eval"].append((state["step"], val))
            bar.write(f"step {state['step']}: validation loss {val:.4f}")
        if accelerator.is_main_process and (state["step"] % cfg.save_every == 0 or last):
            _save_checkpoint(out, accelerator.unwrap_model(model), optimizer, scheduler, cfg, state)
    bar.close()

    metrics = {
        "mode": cfg.mode, "model": cfg.model, "steps": state["step"], "epochs_seen": state["epoch"],
        "train_examples": len(train_ex), "val_examples": len(val_ex), "tokens": state["tokens"],
        "tokens_per_s": state["tokens"] / max(state["seconds"], 1e-9), "train_seconds": state["seconds"],
        "padding_waste": waste, "final_train_loss": state["history"]["train"][-1][1] if state["history"]["train"] else None,
        "eval_loss": state["history"]["eval"], "train_loss": state["history"]["train"],
    }
    if accelerator.is_main_process:
        final = accelerator.unwrap_model(model)
        target = out / ("adapter" if cfg.mode == "lora" else "model")
        final.save_pretrained(target)
        tokenizer.save_pretrained(target)
        plot_losses(state["history"], out / "loss.png")
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

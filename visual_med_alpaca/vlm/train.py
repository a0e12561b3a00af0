"""`vmed train vlm`: LLaVA-Med's two-stage curriculum on cached image features.

Stage 1 (alignment): encoder and language model frozen, only the projector learns, on image-caption pairs.
Stage 2 (instruction tuning): projector + LoRA on the language model, on VQA-RAD train questions.
Image feature maps are computed once and cached, so training runs only the language model. Each stage
checkpoints every `save_every` steps (atomic) and `--resume` continues exactly; a finished stage is not rerun.
Multi-GPU: `accelerate launch --config_file configs/accelerate/fsdp.yaml -m visual_med_alpaca.cli train vlm ...`.
"""

from __future__ import annotations

import json
import math
import random
import resource
import shutil
import time
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..config import Strict, dump_config
from ..errors import UserInputError
from ..train.config import LoraSettings

CHECKPOINT = "checkpoint"


class StageConfig(Strict):
    name: str
    data: Literal["captions", "vqa"]
    train_lm: bool = Field(False, description="LoRA on the language model (stage 2); false = projector only")
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1, description="optimizer steps; overrides epochs")
    learning_rate: float = Field(1e-3, gt=0)
    projector_learning_rate: float | None = Field(None, gt=0, description="default: learning_rate")
    batch_size: int = Field(16, ge=1, description="examples per optimizer step (micro batches x accumulation)")
    micro_batch_size: int = Field(8, ge=1)
    warmup_ratio: float = Field(0.03, ge=0, lt=1)
    lr_scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    max_answer_tokens: int = Field(48, ge=1, description="longer answers/captions are cut (CPU time)")
    limit: int | None = Field(None, ge=1, description="first N training (and dev) examples only: smoke runs")

    @model_validator(mode="after")
    def _check(self):
        if self.batch_size % self.micro_batch_size:
            raise ValueError("batch_size must be a multiple of micro_batch_size")
        return self


class VLMTrainConfig(Strict):
    output_dir: str = "runs/vlm-cpu"
    encoder: str = Field("efficientnet-lite0", description="efficientnet-lite0 or a transformers vision tower")
    grid: int = Field(3, ge=1, le=32, description="image tokens = grid x grid (pooled feature map)")
    language_model: str = Field("default", description="'default' (Gemma-3-270M from the GGUF), HF folder or hub id")
    language_model_label: str = "gemma-3-270m"
    lora: LoraSettings = LoraSettings(r=16, alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    data_dir: str | None = Field(None, description="shared data (default ../shared/data or $VMED_DATA_DIR)")
    caption_splits: list[str] = Field(["dev"], description="MedPix 2.0 splits for stage 1 (never test)")
    caption_facts: bool = Field(True, description="captions start with MedPix's modality, plane and location")
    dev_fraction: float = Field(0.1, ge=0.0, lt=0.5, description="VQA-RAD train images held out as dev")
    dev_seed: int = 0
    max_dev_examples: int = Field(200, ge=0)
    stages: list[StageConfig] = Field(..., min_length=1)
    dtype: Literal["float32", "bfloat16"] = "float32"
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    gradient_checkpointing: bool = False
    seed: int = 42
    save_every: int = Field(20, ge=1)
    eval_every: int = Field(50, ge=1)
    threads: int | None = Field(None, ge=1)
    feature_cache: str | None = Field(None, description="default: <output_dir>/../feature-cache")


def _lr_lambda(stage: StageConfig, total: int):
    warmup = int(total * stage.warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if stage.lr_scheduler == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 1 - progress) if stage.lr_scheduler == "linear" else 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def _batches(n: int, size: int, seed: int) -> list[list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [order[i:i + size] for i in range(0, n - size + 1, size)] or [order]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_model(cfg: VLMTrainConfig):
    """Frozen language model (+ LoRA modules when a stage trains it) and a fresh projector."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..llm.hf import resolve_model_source
    from .encoders import load_encoder
    from .model import Projector, VisionLanguageModel

    source = resolve_model_source(cfg.language_model)
    tokenizer = AutoTokenizer.from_pretrained(source)
    lm = AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, cfg.dtype))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    for p in lm.parameters():
        p.requires_grad_(False)
    if cfg.gradient_checkpointing:
        lm.gradient_checkpointing_enable()
        lm.config.use_cache = False
    if any(s.train_lm for s in cfg.stages):
        from peft import LoraConfig, get_peft_model

        lm = get_peft_model(lm, LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                                           target_modules=cfg.lora.target_modules, bias="none", task_type="CAUSAL_LM"))
    channels = load_encoder(cfg.encoder).channels
    projector = Projector(channels, lm.get_input_embeddings().embedding_dim)
    return VisionLanguageModel(lm, tokenizer, projector, cfg.grid), {"lm_config": lm.config}


def _lora_params(vlm):
    return [p for n, p in vlm.lm.named_parameters() if "lora_" in n]


def _set_trainable(vlm, train_lm: bool):
    for p in vlm.projector.parameters():
        p.requires_grad_(True)
    for p in _lora_params(vlm):
        p.requires_grad_(train_lm)


def _trainable_state(vlm) -> dict:
    state = {f"projector.{k}": v for k, v in vlm.projector.state_dict().items()}
    state.update({f"lm.{n}": p.detach() for n, p in vlm.lm.named_parameters() if "lora_" in n})
    return state


def _load_trainable(vlm, state: dict) -> None:
    vlm.projector.load_state_dict({k[len("projector."):]: v for k, v in state.items() if k.startswith("projector.")})
    params = dict(vlm.lm.named_parameters())
    for key, value in state.items():
        if key.startswith("lm."):
            params[key[3:]].data.copy_(value)


def _save_checkpoint(folder: Path, vlm, optimizer, scheduler, state: dict) -> None:
    """Atomic: written beside, then swapped in, so a kill mid-save keeps the previous checkpoint."""
    import torch

    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(_trainable_state(vlm), tmp / "weights.pt")
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state()}, tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps(state))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _examples(cfg: VLMTrainConfig, stage: StageConfig, root: Path):
    from .data import caption_examples, vqa_examples

    if stage.data == "captions":
        pairs = caption_examples(root, cfg.caption_splits, cfg.caption_facts)
        return pairs[: stage.limit], []
    train, dev = vqa_examples(root, cfg.dev_fraction, cfg.dev_seed)
    return train[: stage.limit], dev[: min(cfg.max_dev_examples, stage.limit or cfg.max_dev_examples)]


def _features(cache, examples, device):
    import numpy as np
    import torch

    return torch.from_numpy(np.stack([cache.load(e.image) for e in examples])).to(device)


def _loss(vlm, cache, examples, stage: StageConfig, device):
    inputs, mask, labels = vlm.embed([e.prompt for e in examples],
                                     vlm.image_tokens(_features(cache, examples, device)),
                                     [e.answer for e in examples], stage.max_answer_tokens)
    return vlm.summed_loss(inputs, mask, labels)


def _dev_loss(vlm, cache, dev, stage, device, micro: int) -> float | None:
    import torch

    if not dev:
        return None
    total, count = 0.0, 0
    vlm.eval()
    with torch.no_grad():
        for start in range(0, len(dev), micro):
            loss, n = _loss(vlm, cache, dev[start:start + micro], stage, device)
            total, count = total + loss.item(), count + n.item()
    vlm.train()
    return total / max(count, 1)


def train_vlm(cfg: VLMTrainConfig, *, resume: bool = False, log=print) -> dict:
    """Run (or resume) both stages; writes <output_dir>/vlm (the bundle), loss.png and metrics.json."""
    import torch
    from accelerate import Accelerator

    from ..paths import data_dir
    from .bundle import save_bundle
    from .encoders import FeatureCache

    wall_start = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.output_dir)
    if not resume and any((out / s.name).exists() for s in cfg.stages):
        raise UserInputError(f"{out} already holds a training run: pass --resume, or choose another output_dir")
    root = data_dir(cfg.data_dir, "vqa_rad", "medpix2")
    stage_data = {s.name: _examples(cfg, s, root) for s in cfg.stages}  # bad data fails before the model loads
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(dump_config(cfg))

    cache = FeatureCache(Path(cfg.feature_cache or out.parent / "feature-cache"), cfg.encoder)
    images = [e.image for train, dev in stage_data.values() for e in train + dev]
    started = time.perf_counter()
    filled = cache.fill(images, progress=lambda done, total: log(f"image features {done}/{total}"))
    feature_s = time.perf_counter() - started
    log(f"image features: {filled} computed in {feature_s:.0f} s, {len(set(images)) - filled} cached")

    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    vlm, extra = build_model(cfg)
    accelerator = Accelerator(cpu=not torch.cuda.is_available(), mixed_precision=cfg.mixed_precision)
    device = accelerator.device
    vlm.to(device)
    summary: dict = {"stages": {}, "feature_seconds": round(feature_s, 1)}
    history: dict[str, list] = {}
    for stage in cfg.stages:
        folder = out / stage.name
        train, dev = stage_data[stage.name]
        done_file = folder / "done.json"
        if done_file.is_file():  # finished earlier: take its weights, go on
            _load_trainable(vlm, torch.load(folder / CHECKPOINT / "weights.pt", map_location="cpu"))
            result = json.loads(done_file.read_text())
            summary["stages"][stage.name] = result
            history[stage.name] = result["history"]
            log(f"stage {stage.name}: already done ({result['steps']} steps)")
            continue
        _set_trainable(vlm, stage.train_lm)
        accum = stage.batch_size // stage.micro_batch_size
        steps_per_epoch = max(1, len(train) // stage.batch_size)
        total = stage.max_steps or max(1, math.ceil(steps_per_epoch * stage.epochs))
        groups = [{"params": list(vlm.projector.parameters()), "lr": stage.projector_learning_rate or stage.learning_rate}]
        if stage.train_lm:
            groups.append({"params": _lora_params(vlm), "lr": stage.learning_rate})
        optimizer = torch.optim.AdamW(groups, weight_decay=0.0)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(stage, total))
        state = {"step": 0, "epoch": 0, "batch": 0, "tokens": 0, "target_tokens": 0, "seconds": 0.0,
                 "history": {"train": [], "dev": []}}
        if (folder / CHECKPOINT / "state.json").is_file():
            _load_trainable(vlm, torch.load(folder / CHECKPOINT / "weights.pt", map_location="cpu"))
            saved = torch.load(folder / CHECKPOINT / "optimizer.pt", map_location="cpu", weights_only=False)
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            torch.set_rng_state(saved["torch_rng"])
            state = json.loads((folder / CHECKPOINT / "state.json").read_text())
            log(f"stage {stage.name}: resumed at step {state['step']}/{total}")
        params = [p for g in groups for p in g["params"]]
        vlm.train()
        batches = _batches(len(train), stage.micro_batch_size, cfg.seed + state["epoch"])
        log(f"stage {stage.name}: {len(train)} examples, {len(dev)} dev, {total} steps of {stage.batch_size}")
        while state["step"] < total:
            t0 = time.perf_counter()
            step_loss, step_targets, step_tokens = 0.0, 0, 0
            micro = []
            while len(micro) < accum:
                if state["batch"] >= len(batches):
                    state["epoch"] += 1
                    state["batch"] = 0
                    batches = _batches(len(train), stage.micro_batch_size, cfg.seed + state["epoch"])
                micro.append(batches[state["batch"]])
                state["batch"] += 1
            for ids in micro:
                examples = [train[i] for i in ids]
                inputs, mask, labels = vlm.embed([e.prompt for e in examples],
                                                 vlm.image_tokens(_features(cache, examples, device)),
                                                 [e.answer for e in examples], stage.max_answer_tokens)
                loss_sum, n = vlm.summed_loss(inputs, mask, labels)
                accelerator.backward(loss_sum)
                step_loss += loss_sum.item()
                step_targets += int(n)
                step_tokens += int(mask.sum())
            for p in params:  # mean over the step's answer tokens, however they fell into micro batches
                if p.grad is not None:
                    p.grad.div_(max(step_targets, 1))
            accelerator.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            state["tokens"] += step_tokens
            state["target_tokens"] += step_targets
            state["seconds"] += time.perf_counter() - t0
            value = step_loss / max(step_targets, 1)
            if not math.isfinite(value):
                raise RuntimeError(f"training loss became {value} at step {state['step']} of stage {stage.name}")
            state["history"]["train"].append((state["step"], value))
            last = state["step"] == total
            if state["step"] % 5 == 0 or last:
                log(f"stage {stage.name} step {state['step']}/{total} loss {value:.3f} "
                    f"{state['tokens'] / max(state['seconds'], 1e-9):.0f} tok/s "
                    f"elapsed {state['seconds'] / 60:.1f} min rss {_peak_rss_mb():.0f} MB")
            if dev and (state["step"] % cfg.eval_every == 0 or last):
                dev_loss = _dev_loss(vlm, cache, dev, stage, device, stage.micro_batch_size)
                state["history"]["dev"].append((state["step"], dev_loss))
                log(f"stage {stage.name} step {state['step']}: dev loss {dev_loss:.4f}")
            if state["step"] % cfg.save_every == 0 or last:
                _save_checkpoint(folder / CHECKPOINT, vlm, optimizer, scheduler, state)
        result = {"steps": state["step"], "epochs_seen": state["epoch"] + state["batch"] / max(len(batches), 1),
                  "examples": len(train), "dev_examples": len(dev), "tokens": state["tokens"],
                  "answer_tokens": state["target_tokens"], "train_seconds": round(state["seconds"], 1),
                  "tokens_per_s": round(state["tokens"] / max(state["seconds"], 1e-9), 1),
                  "final_train_loss": state["history"]["train"][-1][1],
                  "dev_loss": state["history"]["dev"][-1][1] if state["history"]["dev"] else None,
                  "history": state["history"]}
        done_file.write_text(json.dumps(result, indent=2))
        summary["stages"][stage.name] = result
        history[stage.name] = state["history"]

    lm_config = extra["lm_config"]
    meta = {"encoder": cfg.encoder, "encoder_channels": vlm.projector.in_dim, "grid": cfg.grid,
            "language_model": cfg.language_model, "language_model_label": cfg.language_model_label,
            "lm_width": lm_config.hidden_size, "lm_vocab": lm_config.vocab_size, "uses_facts": False,
            "stages": [s.name for s in cfg.stages],
            "trained_on": {"captions": f"MedPix 2.0 {'+'.join(cfg.caption_splits)} (VQA-RAD test overlaps excluded)",
                           "vqa": f"VQA-RAD train minus {cfg.dev_fraction:.0%} of its images (dev, seed {cfg.dev_seed})"}}
    bundle = save_bundle(out / "vlm", accelerator.unwrap_model(vlm), meta, adapter=any(s.train_lm for s in cfg.stages))
    summary.update(wall_seconds_this_run=round(time.perf_counter() - wall_start, 1), peak_rss_mb=round(_peak_rss_mb()),
                   threads=torch.get_num_threads(), bundle=str(bundle))
    plot_stages(history, out / "loss.png")
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    return summary


def plot_stages(history: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, max(1, len(history)), figsize=(5 * max(1, len(history)), 3.4), squeeze=False)
    for ax, (name, h) in zip(axes[0], history.items()):
        if h["train"]:
            ax.plot(*zip(*h["train"]), lw=1, label="train")
        if h["dev"]:
            ax.plot(*zip(*h["dev"]), "o-", label="dev (VQA-RAD train, held-out images)")
        ax.set_title(f"stage {name}")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss (nats/answer token)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

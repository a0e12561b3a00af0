"""`vmed train vlm`: LLaVA-Med's two-stage curriculum on cached image features.

Stage 1 (alignment): encoder and language model frozen, only the projector learns, on image-caption pairs.
Stage 2 (instruction tuning): projector + LoRA on the language model, on VQA-RAD train questions.
Image feature maps are computed once and cached, so training runs only the language model. Each stage is one
run of the project's training engine (train/engine.py) in <output_dir>/<stage>: checkpoints every `save_every`
steps, `--resume` continues exactly, a finished stage (done.json) is not rerun.
Multi-GPU: `accelerate launch --config_file configs/accelerate/fsdp.yaml -m visual_med_alpaca.cli train vlm ...`
(written for GPUs, never run here: no GPU).
"""

from __future__ import annotations

import json
import random
import resource
import time
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..config import Strict, Threads, dump_config
from ..data.store import write_json_atomic
from ..errors import UserInputError
from ..train.config import LoraSettings
from .memory import MemorySettings

WEIGHTS = "weights.pt"  # what a finished stage ships: the projector and LoRA weights it trained


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
    init_from: str | None = Field(None, description="start from trained weights: a VLM bundle folder (vlm.json + "
                                  "projector + adapter, e.g. the shipped one), a checkpoint-N folder, or a finished "
                                  "stage's weights.pt; a continuation with its own schedule, AdamW starts afresh")
    init_new_lora: bool = Field(False, description="with init_from: LoRA modules the source lacks (e.g. the MLP's, "
                                "when the source adapted attention only) start fresh, B = 0, so step 0 is the source")

    @model_validator(mode="after")
    def _check(self):
        if self.batch_size % self.micro_batch_size:
            raise ValueError("batch_size must be a multiple of micro_batch_size")
        return self


class BundleSettings(Strict):
    """How the written bundle is used (its vlm.json): prompt and yes/no settings chosen on dev, not by training."""
    case_memory: MemorySettings | None = Field(None, description="how the bundle's case memory (`--memory`) is "
                                               "used: thresholds and answer/prompt (vlm/memory.py); none: "
                                               "--memory keeps the bundle's own")
    uses_facts: bool = Field(False, description="the expert's text goes into the prompt")
    facts_on_yes_no: bool = Field(True, description="... also in yes/no prompts")
    yes_no_bias: float = Field(0.0, description="log-odds added to 'yes' before a yes/no decision")
    expert_yes_no: list[str] = Field([], description="modalities whose modality/plane yes/no questions the "
                                     "radiology expert answers")


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
    dev_split: Literal["image", "seen", "seen-grouped"] = Field(
        "image", description="image: dev = held-out train images; seen: their questions split by question, half "
        "trained on, dev = the rest (questions about seen images, as VQA-RAD test's); seen-grouped: the same with "
        "VQA-RAD's paraphrase groups kept on one side, as test keeps them")
    max_dev_examples: int = Field(200, ge=0)
    stages: list[StageConfig] = Field(..., min_length=1)
    dtype: Literal["float32", "bfloat16"] = "float32"
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    gradient_checkpointing: bool = False
    seed: int = 42
    save_every: int = Field(20, ge=1)
    keep_every: int | None = Field(None, ge=1, description="keep the checkpoints at multiples of this step (the "
                                   "others rotate), e.g. one per epoch: candidates for `--export`")
    bundle: BundleSettings = BundleSettings()
    eval_every: int = Field(50, ge=1)
    threads: Threads | None = None
    feature_cache: str | None = Field(None, description="default: <output_dir>/../feature-cache")
    report_to: list[str] = Field(["tensorboard"], description="the engine's trackers: tensorboard | wandb | mlflow | none")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_model(cfg: VLMTrainConfig):
    """Frozen language model (+ LoRA modules when a stage trains it) and a fresh projector."""
    import torch
    from transformers import AutoModelForCausalLM

    from ..llm.hf import load_tokenizer, resolve_model_source
    from .encoders import load_encoder
    from .model import Projector, VisionLanguageModel

    source = resolve_model_source(cfg.language_model)
    tokenizer = load_tokenizer(source)
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


def trainable_state(vlm) -> dict:
    """The projector and LoRA tensors (what training changes, what `init_state` and `load_trainable` take), not
    copies: the model's own tensors."""
    state = {f"projector.{k}": v for k, v in vlm.projector.state_dict().items()}
    state.update({f"lm.{n}": p.detach() for n, p in vlm.lm.named_parameters() if "lora_" in n})
    return state


def _cpu(state: dict) -> dict:
    """CPU copies: a weights.pt trained on a GPU loads on a machine without one, `map_location` or not."""
    return {k: v.detach().cpu() for k, v in state.items()}


def load_trainable(vlm, state: dict) -> None:
    """Copy a trainable state (projector.* and LoRA tensors, as `init_state` returns it) into `vlm`."""
    vlm.projector.load_state_dict({k[len("projector."):]: v for k, v in state.items() if k.startswith("projector.")})
    params = dict(vlm.lm.named_parameters())
    for key, value in state.items():
        if key.startswith("lm."):
            params[key[3:]].data.copy_(value)


def _bundle_state(folder: Path, cfg: VLMTrainConfig, role: str) -> dict:
    """A bundle's projector and LoRA as this trainer's state keys (what `trainable_state` gives)."""
    from .bundle import ADAPTER, load_projector, read_adapter, read_meta

    meta = read_meta(folder)
    for key, mine in (("encoder", cfg.encoder), ("grid", cfg.grid)):
        if meta[key] != mine:
            raise UserInputError(f"{role}: {folder} was trained with {key} {meta[key]!r}, this recipe has {mine!r}")
    state = {f"projector.{k}": v for k, v in load_projector(folder, meta).state_dict().items()}
    if (folder / ADAPTER).is_dir():
        settings, lora = read_adapter(folder / ADAPTER)
        if lora is None or (settings["r"], settings["lora_alpha"]) != (cfg.lora.r, cfg.lora.alpha):
            raise UserInputError(f"{role}: the adapter in {folder / ADAPTER} is not a plain LoRA with r "
                                 f"{cfg.lora.r} and alpha {cfg.lora.alpha} (this recipe's)")
        for module, pair in lora.items():
            state.update({f"lm.base_model.model.{module}.lora_{ab}.default.weight": t.float()
                          for ab, t in pair.items()})
    return state


def init_state(vlm, path: str, cfg: VLMTrainConfig, role: str = "init_from", new_lora: bool = False) -> dict:
    """Trained weights to start a stage from (a bundle folder, a checkpoint-N folder, a stage folder or its
    weights.pt), checked against this model: the same projector and LoRA tensors; with new_lora, LoRA tensors of
    modules the source has no LoRA on are left out (they keep peft's fresh init, B = 0)."""
    import torch
    from safetensors.torch import load_file

    from ..train.engine import STATE_FILE
    from .bundle import META

    file = Path(path)
    if (file / META).is_file():
        state = _bundle_state(file, cfg, role)
    else:
        checkpoint = (file / STATE_FILE).is_file() and (file / "model.safetensors").is_file()  # the engine's
        file = file / "model.safetensors" if checkpoint else file / WEIGHTS if file.is_dir() else file
        if not file.is_file():
            raise UserInputError(f"{role}: {path} is not a VLM bundle, a checkpoint folder or a {WEIGHTS}")
        try:
            state = ({k: v for k, v in load_file(str(file)).items() if k.startswith("projector.") or "lora_" in k}
                     if checkpoint else torch.load(file, map_location="cpu"))
        except Exception as exc:  # torch.load and safetensors raise many kinds for a file that is not theirs
            raise UserInputError(f"{role}: {file} cannot be read as trained weights ({type(exc).__name__}): a "
                                 "broken or unfinished file, or not one `vmed train vlm` wrote") from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise UserInputError(f"{role}: {file} holds no projector / LoRA tensors (not one `vmed train vlm` wrote)")
    mine = trainable_state(vlm)
    if new_lora:
        adapted = {k.split(".lora_")[0] for k in state if ".lora_" in k}
        mine = {k: v for k, v in mine.items() if ".lora_" not in k or k.split(".lora_")[0] in adapted}
    wrong = sorted(k for k in set(state) | set(mine) if k not in state or k not in mine
                   or tuple(state[k].shape) != tuple(mine[k].shape))
    if wrong:
        raise UserInputError(f"{role}: {path} was trained for another model ({len(wrong)} tensors differ, "
                             f"e.g. {wrong[0]}): same encoder, language model, grid and LoRA settings needed")
    return state


def stage_examples(cfg: VLMTrainConfig, stage: StageConfig, root: Path):
    """(train, dev) examples of one stage: captions (no dev) or VQA-RAD train by the recipe's dev split."""
    from .data import caption_examples, vqa_examples

    if stage.data == "captions":
        pairs = caption_examples(root, cfg.caption_splits, cfg.caption_facts)
        return pairs[: stage.limit], []
    train, dev = vqa_examples(root, cfg.dev_fraction, cfg.dev_seed, cfg.dev_split)
    return train[: stage.limit], dev[: min(cfg.max_dev_examples, stage.limit or cfg.max_dev_examples)]


class ExampleCollator:
    """A stage's examples as DataLoader items; batches carry the cached image features and the mask the model
    will build (its real tokens count towards tokens/s and padding waste) and their answer tokens (num_items)."""

    def __init__(self, vlm, cache, stage: StageConfig):
        self.vlm, self.cache, self.stage = vlm, cache, stage

    def __call__(self, examples) -> dict:
        import numpy as np
        import torch

        lengths, answers = [], 0
        image = self.vlm.grid * self.vlm.grid
        for e in examples:
            before, found, after, answer = self.vlm._pieces(e.prompt, e.answer)
            answer_len = min(len(answer), self.stage.max_answer_tokens)
            answers += answer_len
            lengths.append(len(before) + (image if found else 0) + len(after) + answer_len)
        mask = torch.zeros(len(examples), max(lengths), dtype=torch.long)
        for i, n in enumerate(lengths):
            mask[i, :n] = 1
        return {"examples": examples, "attention_mask": mask, "answer_tokens": answers,
                "features": torch.from_numpy(np.stack([self.cache.load(e.image) for e in examples]))}


def _summed_loss(stage: StageConfig):
    def compute_loss(model, batch):
        # Call the model as prepared (never its unwrapped module): a DDP wrapper only syncs gradients, and FSDP
        # only gathers its shards, when its own forward runs (tests/test_vlm.py checks the sync on CPU).
        examples = batch["examples"]
        return model(batch["features"], [e.prompt for e in examples], [e.answer for e in examples],
                     stage.max_answer_tokens)[0]

    return compute_loss


def make_loader(examples, collate, batch_size: int, shuffle: bool):
    """A DataLoader over `examples` batched by `collate` (an `ExampleCollator`)."""
    from torch.utils.data import DataLoader

    return DataLoader(examples, batch_size=batch_size, shuffle=shuffle, collate_fn=collate,
                      drop_last=shuffle and len(examples) >= batch_size)


def _engine_config(cfg: VLMTrainConfig, stage: StageConfig, folder: Path, has_dev: bool, resume: bool):
    from ..train.engine import EngineConfig, checkpoints

    return EngineConfig(
        output_dir=str(folder), max_steps=stage.max_steps, num_train_epochs=stage.epochs,
        learning_rate=stage.learning_rate, lr_scheduler_type=stage.lr_scheduler, warmup_ratio=stage.warmup_ratio,
        gradient_accumulation_steps=stage.batch_size // stage.micro_batch_size, max_grad_norm=1.0,
        logging_steps=5, save_steps=cfg.save_every, keep_every=cfg.keep_every,
        eval_steps=cfg.eval_every if has_dev else None, report_to=cfg.report_to, seed=cfg.seed,
        mixed_precision=cfg.mixed_precision,
        resume_from_checkpoint=True if resume and checkpoints(folder) else None)


def build_bundle_memory(cfg: VLMTrainConfig, folder: Path, grid: int = 1) -> dict:
    """`--memory FOLDER`: the bundle's case memory (vlm/memory.py) from exactly the VQA questions the recipe's stage 2
    trains on (`vqa_items`: VQA-RAD train by its dev split; never test), written into the bundle as memory.npz, and
    the recipe's `bundle.case_memory` settings into its vlm.json; a recipe that names none keeps the bundle's own
    (the shipped ones were chosen by leave-one-out, round 9), and only a bundle without any gets the defaults.
    Image features come from the training cache."""
    from ..paths import data_dir
    from .bundle import META, memory_settings, read_meta
    from .data import vqa_items
    from .encoders import FeatureCache
    from .memory import MEMORY, build_memory

    folder = Path(folder)
    meta = read_meta(folder)
    if meta["encoder"] != cfg.encoder:
        raise UserInputError(f"{folder} uses the encoder '{meta['encoder']}', the recipe '{cfg.encoder}': a memory "
                             "is built with the bundle's own encoder, give the bundle's recipe")
    stages = [s for s in cfg.stages if s.data == "vqa"]
    if not stages:
        raise UserInputError("the recipe has no VQA stage: a case memory remembers the questions stage 2 trains on")
    root = data_dir(cfg.data_dir, "vqa_rad")
    items = vqa_items(root, cfg.dev_fraction, cfg.dev_seed, cfg.dev_split)[0][: stages[-1].limit]
    cache = FeatureCache(Path(cfg.feature_cache or Path(cfg.output_dir).parent / "feature-cache"), cfg.encoder)
    source = (f"VQA-RAD train ({len(items)} questions this VLM was trained on; dev split '{cfg.dev_split}', "
              f"fraction {cfg.dev_fraction}, seed {cfg.dev_seed})")
    summary = build_memory(folder / MEMORY, items, cfg.encoder, grid, cache, source)
    settings = (cfg.bundle.case_memory or memory_settings(meta, folder / META)).model_dump()
    write_json_atomic(folder / META, {**meta, "case_memory": settings}, indent=2)  # a crash never leaves half a vlm.json
    return {**summary, "case_memory": settings}


RESUME_KEYS = ("encoder", "grid", "language_model", "lora")  # what the checkpoints' weights are shaped by


def train_vlm(cfg: VLMTrainConfig, *, resume: bool = False, log=print, progress: bool = True) -> dict:
    """Run (or resume) both stages on train/engine.py, one engine run per stage in <output_dir>/<stage>;
    writes <output_dir>/vlm (the bundle), loss.png and metrics.json."""
    import torch

    from ..paths import data_dir
    from ..train.engine import STATE_FILE, changed_settings_note, check_same_recipe, checkpoints, total_steps, train
    from .bundle import save_bundle
    from .encoders import FeatureCache

    wall_start = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.output_dir)
    started_before = any((out / s.name).exists() for s in cfg.stages)
    if not resume and started_before:
        raise UserInputError(f"{out} already holds a training run: pass --resume, or choose another output_dir")
    if resume and not started_before:
        raise UserInputError(f"resume: no training run in {out} (run without --resume to start one)")
    if resume:
        changed = check_same_recipe(cfg, out, RESUME_KEYS)
        if changed:
            log(changed_settings_note(changed))
    root = data_dir(cfg.data_dir, "vqa_rad", "medpix2")
    stage_data = {s.name: stage_examples(cfg, s, root) for s in cfg.stages}  # bad data fails before the model loads
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(dump_config(cfg))

    cache = FeatureCache(Path(cfg.feature_cache or out.parent / "feature-cache"), cfg.encoder)
    images = [e.image for train_set, dev in stage_data.values() for e in train_set + dev]
    started = time.perf_counter()
    filled = cache.fill(images, progress=lambda done, total: log(f"image features {done}/{total}"))
    feature_s = time.perf_counter() - started
    log(f"image features: {filled} computed in {feature_s:.0f} s, {len(set(images)) - filled} cached")

    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    vlm, extra = build_model(cfg)
    summary: dict = {"stages": {}, "feature_seconds": round(feature_s, 1)}
    history: dict[str, dict] = {}
    for stage in cfg.stages:
        folder = out / stage.name
        train_set, dev = stage_data[stage.name]
        done_file = folder / "done.json"
        if done_file.is_file():  # finished earlier: take its weights, go on
            load_trainable(vlm, torch.load(folder / WEIGHTS, map_location="cpu"))
            result = json.loads(done_file.read_text())
            summary["stages"][stage.name] = result
            history[stage.name] = result["history"]
            log(f"stage {stage.name}: already done ({result['steps']} steps)")
            continue
        if stage.init_from:  # a resumed run then overwrites these with its checkpoint's weights
            state = init_state(vlm, stage.init_from, cfg, new_lora=stage.init_new_lora)
            load_trainable(vlm, state)
            fresh = sum(".lora_" in k for k in trainable_state(vlm)) - sum(".lora_" in k for k in state)
            log(f"stage {stage.name}: starts from {stage.init_from}"
                + (f" ({fresh} LoRA tensors fresh)" if fresh else ""))
        _set_trainable(vlm, stage.train_lm)
        engine_cfg = _engine_config(cfg, stage, folder, bool(dev), resume)
        if engine_cfg.resume_from_checkpoint:
            step = json.loads((checkpoints(folder)[-1] / STATE_FILE).read_text())["step"]
            total = total_steps(engine_cfg, len(train_set) // stage.micro_batch_size or 1)  # the loader drops a tail
            log(f"stage {stage.name}: resumed at step {step}/{total}")
        groups = [{"params": list(vlm.projector.parameters()),
                   "lr": stage.projector_learning_rate or stage.learning_rate}]
        if stage.train_lm:
            groups.append({"params": _lora_params(vlm), "lr": stage.learning_rate})
        collate = ExampleCollator(vlm, cache, stage)
        log(f"stage {stage.name}: {len(train_set)} examples, {len(dev)} dev, batches of {stage.batch_size}")
        run = train(vlm, make_loader(train_set, collate, stage.micro_batch_size, True), engine_cfg,
                    compute_loss=_summed_loss(stage), params=groups,
                    eval_loader=make_loader(dev, collate, stage.micro_batch_size, False) if dev else None,
                    num_items=lambda batch: batch["answer_tokens"],
                    save_model=lambda folder: torch.save(_cpu(trainable_state(vlm)), folder / WEIGHTS),
                    tracker_config={"stage": stage.name}, progress=progress, desc=f"stage {stage.name}")
        result = {"steps": run.steps, "epochs_seen": round(run.epochs_seen, 3), "examples": len(train_set),
                  "dev_examples": len(dev), "tokens": run.tokens, "padding_waste": round(run.padding_waste, 3),
                  "train_seconds": round(run.seconds, 1), "tokens_per_s": round(run.tokens_per_s, 1),
                  "final_train_loss": run.train_losses[-1][1],
                  "dev_loss": run.eval_losses[-1][1] if run.eval_losses else None,
                  "history": {"train": run.train_losses, "dev": run.eval_losses}}
        log(f"stage {stage.name}: {run.steps} steps, train loss {result['final_train_loss']:.3f}"
            + (f", dev loss {result['dev_loss']:.3f}" if result["dev_loss"] is not None else ""))
        done_file.write_text(json.dumps(result, indent=2))
        summary["stages"][stage.name] = result
        history[stage.name] = result["history"]

    bundle = save_bundle(out / "vlm", vlm, _bundle_meta(cfg, extra["lm_config"], vlm.projector.in_dim),
                         adapter=any(s.train_lm for s in cfg.stages))
    summary.update(wall_seconds_this_run=round(time.perf_counter() - wall_start, 1), peak_rss_mb=round(_peak_rss_mb()),
                   threads=torch.get_num_threads(), bundle=str(bundle))
    plot_stages(history, out / "loss.png")
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    return summary


def _bundle_meta(cfg: VLMTrainConfig, lm_config, channels: int) -> dict:
    return {"encoder": cfg.encoder, "encoder_channels": channels, "grid": cfg.grid,
            "language_model": cfg.language_model, "language_model_label": cfg.language_model_label,
            "lm_width": lm_config.hidden_size, "lm_vocab": lm_config.vocab_size, **cfg.bundle.model_dump(),
            "stages": [s.name for s in cfg.stages],
            "trained_on": {"captions": f"MedPix 2.0 {'+'.join(cfg.caption_splits)} (VQA-RAD test overlaps excluded)",
                           "vqa": f"VQA-RAD train minus {cfg.dev_fraction:.0%} of its images (dev, seed {cfg.dev_seed})"
                           + (f" + half of their questions (dev_split {cfg.dev_split})"
                              if cfg.dev_split != "image" else "")}}


def export_bundle(cfg: VLMTrainConfig, source: str, folder: Path) -> Path:
    """A bundle (vlm.json with the recipe's `bundle` settings, projector, adapter) from trained weights: a kept
    checkpoint-N of a stage, a stage folder or a bundle; e.g. one per epoch, to compare them on dev."""
    import torch

    from .bundle import save_bundle

    if not Path(source).exists():  # before the language model loads
        raise UserInputError(f"--export: {source} not found (a stage's checkpoint-N folder, a stage folder or a "
                             "bundle)")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    vlm, extra = build_model(cfg)
    load_trainable(vlm, init_state(vlm, source, cfg, "--export"))
    meta = {**_bundle_meta(cfg, extra["lm_config"], vlm.projector.in_dim), "exported_from": str(source)}
    return save_bundle(Path(folder), vlm, meta, adapter=any(s.train_lm for s in cfg.stages))


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

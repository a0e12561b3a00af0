"""The one training engine: every recipe (LoRA/full SFT, the captioner, the vision-language model) runs here.

A recipe brings its model, its DataLoader(s), the parameters to train, a `compute_loss(model, batch)` and a
`save_model(dir)` hook for what it ships (a LoRA adapter, a projector, a whole model). The engine does the rest
on accelerate, with the knobs of `transformers.Trainer`: AdamW + `get_scheduler` (warmup, cosine/linear/...),
gradient accumulation through `Accelerator.accumulate`, clipping, seeding, checkpoints every `save_steps`
(`save_state`: weights that train, optimizer, scheduler, every RNG) with exact resume (`load_state` +
`skip_first_batches`), eval loss every `eval_steps`, metrics to TensorBoard (default) or W&B/MLflow
(`report_to`), and a loss PNG at the end.

Hand-written (no library does it for a caller-supplied loss): the loop itself, so a recipe can skip the LM
head on prompt tokens (`response_only_logits`, 1.6x the Trainer's tokens/s on a big vocabulary).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Literal

from pydantic import Field, model_validator

from ..config import Strict
from ..errors import UserInputError

CHECKPOINT_PREFIX = "checkpoint-"
STATE_FILE = "trainer_state.json"
TRACKERS = ("tensorboard", "wandb", "mlflow")
SchedulerName = Literal["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                        "inverse_sqrt"]


class EngineConfig(Strict):
    """What every recipe shares; named as in `transformers.TrainingArguments`."""

    output_dir: str = "runs/train"
    max_steps: int | None = Field(None, ge=1, description="optimizer steps; overrides num_train_epochs")
    num_train_epochs: float = Field(1.0, gt=0)
    learning_rate: float = Field(1e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    lr_scheduler_type: SchedulerName = "cosine"
    warmup_steps: int = Field(0, ge=0, description="linear warmup steps (wins over warmup_ratio when > 0)")
    warmup_ratio: float = Field(0.0, ge=0, lt=1, description="warmup as a share of the total steps")
    gradient_accumulation_steps: int = Field(1, ge=1)
    max_grad_norm: float | None = Field(1.0, gt=0, description="clip the gradient norm; null = no clipping")
    logging_steps: int = Field(1, ge=1, description="send the mean train loss to the trackers every N steps")
    save_steps: int = Field(50, ge=1, description="checkpoint every N optimizer steps (and at the last one)")
    save_total_limit: int = Field(2, ge=1, description="checkpoints kept")
    keep_every: int | None = Field(None, ge=1, description="also keep every checkpoint whose step is a multiple of "
                                   "this, beyond save_total_limit (e.g. one per epoch, to compare them afterwards)")
    eval_steps: int | None = Field(None, ge=1, description="eval loss every N steps (and at the end); null = end only")
    report_to: list[str] = Field(["tensorboard"], description="tensorboard | wandb | mlflow | none")
    seed: int = Field(42, ge=0, le=2**32 - 1, description="accelerate's set_seed (numpy) takes 0..2**32-1 only")
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    resume_from_checkpoint: bool | str | None = Field(
        None, description="true = the newest checkpoint in output_dir, or a checkpoint folder")

    @model_validator(mode="after")
    def _check_trackers(self):
        unknown = set(self.report_to) - {*TRACKERS, "none", "all"}
        if unknown:
            raise ValueError(f"report_to: unknown tracker(s) {sorted(unknown)}; choose from {', '.join(TRACKERS)}, none")
        return self

    def trackers(self) -> list[str]:
        if "none" in self.report_to:
            return []
        return list(TRACKERS) if "all" in self.report_to else list(dict.fromkeys(self.report_to))


@dataclass
class TrainResult:
    output_dir: Path
    steps: int
    train_losses: list[tuple[int, float]] = field(default_factory=list)  # (step, loss) for every step
    eval_losses: list[tuple[int, float]] = field(default_factory=list)
    eval_metrics: list[tuple[int, dict]] = field(default_factory=list)  # from the recipe's evaluate hook
    plot: Path | None = None
    seconds: float = 0.0  # training time without eval and checkpoints
    tokens: int = 0  # real (attention_mask) tokens seen, when batches carry an attention_mask
    padding_waste: float = 0.0
    epochs_seen: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / max(self.seconds, 1e-9)


def checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints in output_dir, oldest first."""
    found = [p for p in Path(output_dir).glob(f"{CHECKPOINT_PREFIX}*")
             if p.is_dir() and p.name[len(CHECKPOINT_PREFIX):].isdigit() and (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: int(p.name[len(CHECKPOINT_PREFIX):]))


def _resume_path(cfg: EngineConfig) -> Path | None:
    existing = checkpoints(cfg.output_dir)
    if not cfg.resume_from_checkpoint:
        if existing:
            raise UserInputError(f"{cfg.output_dir} already holds checkpoints: resume (--resume) or choose "
                                 "another output_dir")
        return None
    if cfg.resume_from_checkpoint is True:
        if not existing:
            raise UserInputError(f"resume: no checkpoint in {cfg.output_dir}")
        return existing[-1]
    path = Path(cfg.resume_from_checkpoint)
    if not (path / STATE_FILE).is_file():
        raise UserInputError(f"resume: {path} is not a checkpoint folder")
    return path


RUN_ONLY_KEYS = frozenset({"output_dir", "resume_from_checkpoint", "threads", "report_to"})  # shape no result


def check_same_recipe(cfg, folder: str | Path, keys: tuple[str, ...]) -> list[str]:
    """A resume loads the checkpoint into the model this recipe builds: another base model or LoRA/encoder shape
    failed there with a wall of 'size mismatch' lines. `folder`'s config.yaml (the run's own, written when it
    started) is compared on `keys`, those that shape the weights; one error line, before any model loads. Other
    settings (learning rate, steps) may change on a resume: their names are returned, for the caller to say that
    the losses will then differ from an uninterrupted run's."""
    from ..config import load_config

    earlier = Path(folder) / "config.yaml"
    if not earlier.is_file():
        return []
    before = load_config(type(cfg), earlier)
    changed = [key for key in keys if getattr(before, key) != getattr(cfg, key)]
    if changed:
        raise UserInputError(f"{folder} holds a run of another recipe ({', '.join(changed)} changed): resume it with "
                             f"its own ({earlier}) or choose another output_dir")
    old, new = before.model_dump(mode="json"), cfg.model_dump(mode="json")
    return [key for key in new if key not in RUN_ONLY_KEYS and old.get(key) != new[key]]


def changed_settings_note(changed: list[str]) -> str:
    return (f"resuming with other settings than the run's own config.yaml ({', '.join(changed)}): the losses will "
            "differ from an uninterrupted run's")


def make_accelerator(cfg: EngineConfig):
    """The Accelerator the engine builds when the recipe brings none."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, GradientAccumulationPlugin

    trackers = cfg.trackers()
    for name in trackers:
        module = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}[name]
        try:
            __import__(module)
        except ImportError:
            raise UserInputError(f"report_to={name} needs `pip install {module}` (or report_to: [none])") from None
    from accelerate.state import AcceleratorState

    if str(AcceleratorState._shared_state.get("_mixed_precision", cfg.mixed_precision)) != cfg.mixed_precision:
        # accelerate keeps one precision per process and refuses another: a second run in the same process (a
        # notebook, the tests) with another mixed_precision starts a fresh state; the process group is kept
        AcceleratorState._reset_state()
    return Accelerator(
        cpu=not torch.cuda.is_available(), mixed_precision=cfg.mixed_precision, log_with=trackers or None,
        project_dir=cfg.output_dir,
        gradient_accumulation_plugin=GradientAccumulationPlugin(num_steps=cfg.gradient_accumulation_steps,
                                                                sync_with_dataloader=False),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True))


def plot_losses(train: list[tuple[int, float]], evals: list[tuple[int, float]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    if train:
        ax.plot(*zip(*train), label="train", lw=1)
    if evals:
        ax.plot(*zip(*evals), "o-", label="validation")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _tokens(batch) -> tuple[int, int]:
    mask = batch.get("attention_mask") if isinstance(batch, Mapping) else None  # dict or BatchEncoding
    return (int(mask.sum()), mask.numel()) if mask is not None else (0, 0)


def _only_trainable(models, weights, output_dir) -> None:
    """save_state pre-hook: keep what trains (and buffers), not the frozen base of a LoRA model."""
    for model, state in zip(models, weights):
        frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
        for key in [k for k in state if k in frozen]:
            del state[key]


def _param_groups(params) -> list[dict]:
    """torch optimizer groups from parameters or group dicts ({"params": [...], "lr": x}); frozen ones dropped."""
    items = list(params)
    if not items or not isinstance(items[0], Mapping):
        items = [{"params": items}]
    groups = [{**g, "params": [p for p in g["params"] if p.requires_grad]} for g in items]
    return [g for g in groups if g["params"]]


def total_steps(cfg: EngineConfig, n_batches: int) -> int:
    """Optimizer steps of a run over a loader of n_batches micro-batches (max_steps, else the epochs' worth)."""
    return cfg.max_steps or max(1, math.ceil(n_batches * cfg.num_train_epochs / cfg.gradient_accumulation_steps))


def evaluate_loss(model, loader, compute_loss, accelerator, num_items: Callable | None = None) -> float:
    """Mean loss over loader: per item when num_items is given (compute_loss then returns a sum), else per batch."""
    import torch

    was_training = model.training
    model.eval()
    total, count = torch.zeros((), device=accelerator.device), torch.zeros((), device=accelerator.device)
    with torch.no_grad():
        for batch in loader:
            loss = compute_loss(model, batch).detach().float()
            total += loss
            count += num_items(batch) if num_items else 1
    model.train(was_training)
    total, count = accelerator.reduce(total, "sum"), accelerator.reduce(count, "sum")
    return float(total / count.clamp(min=1))


def train(model, train_loader, cfg: EngineConfig, *, compute_loss: Callable[[Any, Any], Any],
          params: Iterable | None = None, eval_loader=None, save_model: Callable[[Path], None] | None = None,
          accelerator=None, num_items: Callable[[Any], int] | None = None,
          evaluate: Callable[[Any], dict] | None = None, tracker_config: dict | None = None,
          progress: bool = True, desc: str = "train") -> TrainResult:
    """Train model on train_loader; returns the per-step losses and where everything went.

    params: the parameters to train (default: every one that requires a gradient), or torch param-group dicts
    (`[{"params": [...], "lr": x}, ...]`) where groups need their own learning rate; a group without "lr" takes
    cfg.learning_rate, and the scheduler scales every group alike.
    compute_loss(model, batch) returns the batch's mean loss, or, when num_items(batch) is given, the summed
    loss: the engine then divides by the items of the whole accumulated step (all micro-batches, all
    processes), so each token weighs the same however the batches are cut (as transformers' num_items_in_batch).
    evaluate(model) -> {name: number} runs beside the eval loss (e.g. caption metrics); save_model(output_dir)
    writes what the recipe ships, on the main process, after the last step. An accelerator passed in must come
    from make_accelerator(cfg) and serve this one call (it keeps the scheduler and hooks registered here).
    """
    import contextlib

    from accelerate import PartialState

    from ..data.store import exclusive

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:  # one run per output folder (the main process holds the lock)
        if PartialState().is_main_process:
            stack.enter_context(exclusive(out / "train.lock", f"another training run is writing to {out}; wait "
                                                               "for it or choose another output_dir"))
        return _train(model, train_loader, cfg, compute_loss=compute_loss, params=params, eval_loader=eval_loader,
                      save_model=save_model, accelerator=accelerator, num_items=num_items, evaluate=evaluate,
                      tracker_config=tracker_config, progress=progress, desc=desc)


def _train(model, train_loader, cfg: EngineConfig, *, compute_loss, params, eval_loader, save_model, accelerator,
           num_items, evaluate, tracker_config, progress, desc) -> TrainResult:
    import torch
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm
    from transformers import get_scheduler

    resume = _resume_path(cfg)
    set_seed(cfg.seed)
    if accelerator is None:
        accelerator = make_accelerator(cfg)
    if accelerator.gradient_accumulation_steps != cfg.gradient_accumulation_steps:
        raise ValueError("the accelerator's gradient_accumulation_steps differs from the config's")
    if accelerator.gradient_state.sync_with_dataloader:
        raise ValueError("build the accelerator with engine.make_accelerator (accumulation groups run across epoch "
                         "ends, so syncing must not follow the data loader)")
    out = Path(cfg.output_dir)  # made by train()
    groups = _param_groups(params if params is not None else model.parameters())
    params = [p for g in groups for p in g["params"]]
    if not params:
        raise UserInputError("nothing to train: no parameter requires a gradient")
    if len(train_loader) == 0:
        raise UserInputError("the training data loader is empty")

    accum = cfg.gradient_accumulation_steps
    n_batches = len(train_loader)  # every step takes `accum` micro-batches, running on into the next epoch
    total = total_steps(cfg, n_batches)
    warmup = cfg.warmup_steps or math.ceil(total * cfg.warmup_ratio)
    optimizer = torch.optim.AdamW(groups, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    scheduler = get_scheduler(cfg.lr_scheduler_type, optimizer, num_warmup_steps=warmup, num_training_steps=total)
    for loader in (train_loader, eval_loader):
        # A DataLoader draws a seed from the global RNG each time an iterator starts; a resumed run starts one
        # mid-epoch, which would shift the RNG stream dropout uses. Its own generator keeps that draw apart.
        if loader is not None and getattr(loader, "generator", None) is None:
            loader.generator = torch.Generator().manual_seed(cfg.seed)
    model, optimizer, train_loader = accelerator.prepare(model, optimizer, train_loader)
    if eval_loader is not None:
        eval_loader = accelerator.prepare(eval_loader)
    # The scheduler counts optimizer steps (a prepared one would step once per process).
    accelerator.register_for_checkpointing(scheduler)
    accelerator.register_save_state_pre_hook(_only_trainable)

    state = {"step": 0, "train_losses": [], "eval_losses": [], "eval_metrics": [], "seconds": 0.0,
             "tokens": 0, "grid": 0}
    if resume is not None:
        accelerator.load_state(str(resume), strict=False)
        state = json.loads((resume / STATE_FILE).read_text())
        accelerator.print(f"resumed from {resume} (step {state['step']})")
    if accelerator.is_main_process:
        (out / "engine.json").write_text(cfg.model_dump_json(indent=2))
    if cfg.trackers():
        accelerator.init_trackers(out.name or "train", config={
            k: v for k, v in {**cfg.model_dump(), **(tracker_config or {})}.items()
            if isinstance(v, (int, float, str, bool))})

    def save_checkpoint() -> None:
        final = out / f"{CHECKPOINT_PREFIX}{state['step']}"
        partial = out / f"{final.name}.partial"
        if accelerator.is_main_process:
            shutil.rmtree(partial, ignore_errors=True)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(partial))
        if accelerator.is_main_process:  # complete before it is named a checkpoint: a kill never leaves half of one
            (partial / STATE_FILE).write_text(json.dumps(state))
            shutil.rmtree(final, ignore_errors=True)
            partial.rename(final)
            for old in checkpoints(out)[: -cfg.save_total_limit]:
                if not (cfg.keep_every and int(old.name[len(CHECKPOINT_PREFIX):]) % cfg.keep_every == 0):
                    shutil.rmtree(old)
        accelerator.wait_for_everyone()

    def run_eval() -> None:
        step = state["step"]
        if eval_loader is not None:
            value = evaluate_loss(model, eval_loader, compute_loss, accelerator, num_items)
            state["eval_losses"].append((step, value))
            accelerator.log({"eval/loss": value}, step=step)
            bar.write(f"step {step}: eval loss {value:.4f}")
        if evaluate is not None:
            metrics = evaluate(accelerator.unwrap_model(model))
            state["eval_metrics"].append((step, metrics))
            accelerator.log({f"eval/{k}": v for k, v in metrics.items() if isinstance(v, (int, float))}, step=step)
            bar.write(f"step {step}: {metrics}")

    bar = tqdm(total=total, initial=state["step"], desc=desc, unit="step", dynamic_ncols=True,
               disable=not (progress and accelerator.is_local_main_process))
    position = {"epoch": state["step"] * accum // n_batches}

    def micro_batches():
        """The seeded batch stream from where the last step ended. Each epoch's order is a function of (seed,
        epoch) (set_epoch), so a resumed run sees the batches an uninterrupted one would; skip_first_batches
        drops the ones already trained on without collating them."""
        skip = state["step"] * accum % n_batches
        while True:
            train_loader.set_epoch(position["epoch"])
            yield from accelerator.skip_first_batches(train_loader, skip) if skip else train_loader
            position["epoch"] += 1
            skip = 0

    model.train()
    window: list[float] = []
    batches = micro_batches()
    while state["step"] < total:
        started = time.perf_counter()
        group = [next(batches) for _ in range(accum)]
        if num_items is not None:  # summed losses: divide by the items of the whole step, on every process
            items = accelerator.reduce(torch.tensor(float(sum(num_items(b) for b in group)),
                                                    device=accelerator.device), "sum")
            scale = accelerator.num_processes / items.clamp(min=1)
        else:
            scale = 1.0 / len(group)
        scale = scale * accelerator.gradient_accumulation_steps  # accelerator.backward divides by it
        step_loss = 0.0
        for batch in group:
            with accelerator.accumulate(model):
                loss = compute_loss(model, batch)
                accelerator.backward(loss * scale)
            step_loss += float(loss.detach() * scale) / accelerator.gradient_accumulation_steps
            real, grid = _tokens(batch)
            state["tokens"] += real
            state["grid"] += grid
        if cfg.max_grad_norm:
            accelerator.clip_grad_norm_(params, cfg.max_grad_norm)
        if not accelerator.sync_gradients:  # a prepared optimizer would skip the step silently
            raise RuntimeError("gradient accumulation out of step: the last micro-batch did not sync")
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if num_items is not None and accelerator.num_processes > 1:
            step_loss = float(accelerator.reduce(torch.tensor(step_loss, device=accelerator.device), "sum")
                              ) / accelerator.num_processes
        state["step"] += 1
        state["seconds"] += time.perf_counter() - started
        if not math.isfinite(step_loss):
            raise UserInputError(f"training loss became {step_loss} at step {state['step']} "
                                 "(lower learning_rate, or use float32)")
        state["train_losses"].append((state["step"], step_loss))
        window.append(step_loss)
        bar.update(1)
        bar.set_postfix(loss=f"{step_loss:.4f}", lr=f"{scheduler.get_last_lr()[0]:.1e}")
        last = state["step"] == total
        if state["step"] % cfg.logging_steps == 0 or last:
            accelerator.log({"train/loss": sum(window) / len(window),
                             "train/learning_rate": scheduler.get_last_lr()[0],
                             "train/tokens_per_s": state["tokens"] / max(state["seconds"], 1e-9)},
                            step=state["step"])
            window = []
        if (cfg.eval_steps and state["step"] % cfg.eval_steps == 0) or last:
            run_eval()
        if state["step"] % cfg.save_steps == 0 or last:
            save_checkpoint()
    bar.close()

    result = TrainResult(out, state["step"], [tuple(x) for x in state["train_losses"]],
                         [tuple(x) for x in state["eval_losses"]], [tuple(x) for x in state["eval_metrics"]],
                         seconds=state["seconds"], tokens=state["tokens"],
                         padding_waste=1 - state["tokens"] / state["grid"] if state["grid"] else 0.0,
                         epochs_seen=state["step"] * accum / n_batches)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if save_model is not None:
            save_model(out)
        result.plot = plot_losses(result.train_losses, result.eval_losses, out / "loss.png")
    accelerator.end_training()
    return result


"""The training recipe schema: one pydantic model that every `configs/*.yaml` preset must validate against."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..config import Strict


class DataConfig(Strict):
    train: list[str] = Field(..., min_length=1, description="Alpaca JSON/JSONL files (instruction, input, output)")
    validation: list[str] = Field(default_factory=list, description="validation files; empty = split from train")
    val_fraction: float = Field(0.02, ge=0.0, lt=0.5, description="share of train held out when no validation file")
    max_val_examples: int = Field(200, ge=0)
    max_examples: int | None = Field(None, ge=1, description="use only the first N training examples")


class LoraSettings(Strict):
    r: int = Field(8, ge=1)
    alpha: int = Field(16, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"])


class TrainConfig(Strict):
    mode: Literal["lora", "full"] = "lora"
    model: str = Field(..., description="HF folder, hub id, .gguf file or 'default' (embedded Gemma-3-270M)")
    output_dir: str = "runs/sft"
    data: DataConfig
    lora: LoraSettings = LoraSettings()
    max_length: int = Field(512, ge=16)
    train_on_inputs: bool = Field(False, description="also learn the prompt tokens (default: response only)")
    batch_size: int = Field(128, ge=1, description="effective batch: micro_batch_size x accumulation x processes")
    micro_batch_size: int = Field(4, ge=1)
    epochs: float = Field(3.0, gt=0)
    max_steps: int | None = Field(None, ge=1, description="optimizer steps; overrides epochs")
    learning_rate: float = Field(1e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    warmup_ratio: float = Field(0.03, ge=0, lt=1)
    lr_scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    max_grad_norm: float = Field(1.0, gt=0)
    group_by_length: bool = True
    response_only_logits: bool = Field(True, description="apply the LM head only where the loss is taken")
    gradient_checkpointing: bool = False
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    quantization: Literal["none", "8bit", "4bit"] = Field("none", description="QLoRA base loading (CUDA only)")
    seed: int = 42
    save_every: int = Field(50, ge=1, description="checkpoint every N optimizer steps")
    eval_every: int = Field(50, ge=1)
    log_every: int = Field(1, ge=1)
    threads: int | None = Field(None, ge=1, description="torch CPU threads")

    @model_validator(mode="after")
    def _check(self):
        if self.batch_size % self.micro_batch_size:
            raise ValueError("batch_size must be a multiple of micro_batch_size")
        if self.mode == "full" and self.quantization != "none":
            raise ValueError("quantized loading is for LoRA (QLoRA) only")
        return self

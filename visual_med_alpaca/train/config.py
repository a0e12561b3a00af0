"""The training recipe schema: one pydantic model that every `configs/*.yaml` preset must validate against."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..config import Strict, Threads
from .engine import EngineConfig


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


class TrainConfig(EngineConfig):
    """The LoRA/full SFT recipe: the engine's knobs (train/engine.py, named as in transformers.TrainingArguments)
    plus what this recipe needs. gradient_accumulation_steps follows from batch_size / micro_batch_size."""

    mode: Literal["lora", "full"] = "lora"
    model: str = Field(..., description="HF folder, hub id, .gguf file or 'default' (embedded Gemma-3-270M)")
    output_dir: str = "runs/sft"
    data: DataConfig
    lora: LoraSettings = LoraSettings()
    max_length: int = Field(512, ge=16)
    train_on_inputs: bool = Field(False, description="also learn the prompt tokens (default: response only)")
    batch_size: int = Field(128, ge=1, description="effective batch: micro_batch_size x accumulation x processes")
    micro_batch_size: int = Field(4, ge=1)
    num_train_epochs: float = Field(3.0, gt=0)
    warmup_ratio: float = Field(0.03, ge=0, lt=1)
    group_by_length: bool = True
    response_only_logits: bool = Field(True, description="apply the LM head only where the loss is taken")
    gradient_checkpointing: bool = False
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    quantization: Literal["none", "8bit", "4bit"] = Field("none", description="QLoRA base loading (CUDA only)")
    eval_steps: int | None = Field(50, ge=1)
    threads: Threads | None = Field(None, description="torch CPU threads")

    @model_validator(mode="after")
    def _check(self):
        if self.batch_size % self.micro_batch_size:
            raise ValueError("batch_size must be a multiple of micro_batch_size")
        # the run's own config.yaml (dump_config) holds the field's default: that file must load back (resume
        # check, export of a checkpoint), so only another value is refused
        if "gradient_accumulation_steps" in self.model_fields_set and \
                self.gradient_accumulation_steps != type(self).model_fields["gradient_accumulation_steps"].default:
            raise ValueError("set batch_size (effective) and micro_batch_size; gradient_accumulation_steps follows")
        if self.mode == "full" and self.quantization != "none":
            raise ValueError("quantized loading is for LoRA (QLoRA) only")
        return self

    def engine(self, processes: int = 1) -> EngineConfig:
        """The engine's part of this recipe, with the accumulation that gives batch_size on `processes`."""
        accum = max(1, self.batch_size // (self.micro_batch_size * processes))
        fields = {k: getattr(self, k) for k in EngineConfig.model_fields}
        return EngineConfig.model_validate({**fields, "gradient_accumulation_steps": accum})

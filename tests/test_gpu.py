"""The CUDA paths, on tiny real-architecture models: what a user with a GPU gets from the hf backend, the training
engine (LoRA and the VLM's two stages, bf16 autocast) and the VLM bundle. Skipped without CUDA (CI has none); run on
a GPU machine with `python -m pytest -m gpu` (docs/benchmarks.md, "The CUDA paths")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import EXAMPLES, REPO, shared_data

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

from visual_med_alpaca.config import GenerationSettings, LLMConfig, load_config  # noqa: E402
from visual_med_alpaca.llm import load_language_model  # noqa: E402
from visual_med_alpaca.llm.hf import HFModel  # noqa: E402
from visual_med_alpaca.prompts import build_prompt  # noqa: E402

PROMPT = build_prompt("Is aspirin used to treat pain?")
GREEDY = GenerationSettings(max_new_tokens=8, stop_on_repeat=False, repetition_penalty=1.0)
RECORDS = [
    {"instruction": "What is diabetes?", "input": "", "output": "Diabetes is a disease of high blood sugar."},
    {"instruction": "What treats pain?", "input": "", "output": "Aspirin treats pain."},
    {"instruction": "What treats hair loss?", "input": "", "output": "Minoxidil and finasteride treat hair loss."},
]


def cpu_model(folder: Path) -> HFModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    return HFModel(model, AutoTokenizer.from_pretrained(folder), name="cpu", device="cpu")


def test_hf_backend_loads_on_the_gpu_in_bf16_and_scores_like_the_cpu(tiny_llama_dir):
    gpu = load_language_model(LLMConfig(backend="hf", model=str(tiny_llama_dir)))
    weight = next(gpu.model.parameters())
    assert weight.device.type == "cuda" and weight.dtype == torch.bfloat16  # dtype auto: bf16 where CUDA has it
    assert "".join(gpu.stream(PROMPT, GREEDY))  # generation streams on the GPU
    options = [" yes", " no", " maybe"]
    # bf16 weights: the same log-probabilities as the fp32 CPU model to within bf16's rounding
    assert gpu.score_continuations(PROMPT, options) == pytest.approx(
        cpu_model(tiny_llama_dir).score_continuations(PROMPT, options), abs=0.15)


def test_lora_training_runs_on_the_gpu_with_bf16_autocast_and_the_adapter_loads_on_cpu(tmp_path, tiny_llama_dir):
    from visual_med_alpaca.train.config import TrainConfig
    from visual_med_alpaca.train.trainer import train

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in RECORDS * 8))
    cfg = TrainConfig.model_validate({
        "model": str(tiny_llama_dir), "output_dir": str(tmp_path / "run"), "data": {"train": [str(data)],
        "val_fraction": 0.0}, "batch_size": 4, "micro_batch_size": 4, "max_steps": 24, "learning_rate": 3e-3,
        "save_steps": 12, "report_to": ["none"], "max_length": 96, "mixed_precision": "bf16",
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0}})
    metrics = train(cfg, progress=False)
    losses = [loss for _, loss in metrics["train_loss"]]
    assert metrics["steps"] == 24 and all(loss == loss for loss in losses)  # no NaN under autocast
    assert sum(losses[-4:]) < sum(losses[:4])  # it learns
    tuned = load_language_model(LLMConfig(backend="hf", model=str(tiny_llama_dir), dtype="float32",
                                          adapter=str(tmp_path / "run" / "adapter")))
    assert next(tuned.model.parameters()).device.type == "cuda"
    from peft import PeftModel

    on_cpu = cpu_model(tiny_llama_dir)
    on_cpu.model = PeftModel.from_pretrained(on_cpu.model, str(tmp_path / "run" / "adapter")).eval()
    options = [" Aspirin", " Diabetes"]
    assert tuned.score_continuations(PROMPT, options) == pytest.approx(
        on_cpu.score_continuations(PROMPT, options), abs=2e-3)  # trained on the GPU, the same model on a CPU


def test_vlm_trains_both_stages_on_the_gpu_and_its_bundle_answers_on_gpu_and_cpu(tmp_path, tiny_llama_dir,
                                                                                  monkeypatch):
    shared_data("vqa_rad", "hf_train.jsonl")
    shared_data("medpix2", "splitted_dataset", "descriptions_dev.jsonl")
    from visual_med_alpaca.images import load_image
    from visual_med_alpaca.vlm.train import VLMTrainConfig, train_vlm

    cfg = load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu.yaml", {
        "output_dir": str(tmp_path / "run"), "language_model": str(tiny_llama_dir), "grid": 2,
        "feature_cache": str(tmp_path / "cache"), "lora.target_modules": ["q_proj", "v_proj"], "save_every": 2,
        "mixed_precision": "bf16", "report_to": ["none"]}, sets=[
        "stages=[{name: align, data: captions, max_steps: 3, batch_size: 4, micro_batch_size: 4, limit: 8}, "
        "{name: instruct, data: vqa, train_lm: true, max_steps: 4, batch_size: 4, micro_batch_size: 2, "
        "learning_rate: 0.01, limit: 8}]"])
    summary = train_vlm(cfg, log=lambda line: None)
    assert summary["stages"]["instruct"]["steps"] == 4
    assert all(loss == loss for _, loss in summary["stages"]["instruct"]["history"]["train"])
    bundle = tmp_path / "run" / "vlm"
    prompt_image = load_image(EXAMPLES / "ct_slice.png")

    def yes_score(llm):
        prompt = llm.build_prompt("Is this a CT image?", None, True)
        return llm.bind(prompt_image).score_continuations(prompt, [" yes", " no"])

    gpu = load_language_model(LLMConfig(model=f"vlm:{bundle}"))
    assert gpu.vlm.device.type == "cuda"  # a GPU user's bundle runs there, not on the CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the same bundle as a CPU-only user loads it
    cpu = load_language_model(LLMConfig(model=f"vlm:{bundle}"))
    assert cpu.vlm.device.type == "cpu"
    assert yes_score(gpu) == pytest.approx(yes_score(cpu), abs=0.05)


def test_hf_llava_checkpoint_answers_on_the_gpu(tmp_path):
    from helpers_vlm import make_tiny_llava
    from visual_med_alpaca.pipeline import Assistant

    path = make_tiny_llava(tmp_path / "tiny-llava-hf")
    assistant = Assistant.from_config(None, **{"llm.model": f"vlm:{path}", "generation.max_new_tokens": 4,
                                               "generation.repetition_penalty": 1.0})
    assert next(assistant.llm.model.parameters()).device.type == "cuda"
    answer = assistant.ask("Is this a CT image?", EXAMPLES / "ct_slice.png")
    assert answer.answer.lower().startswith(("yes", "no"))


def test_the_llava_med_gpu_recipe_runs_as_written_with_tiny_stand_ins(tmp_path, tiny_llama_dir):
    """configs/vlm-llava-med-gpu.yaml as it is (bf16 weights, bf16 autocast, gradient checkpointing, LoRA r128 on
    every projection, its learning rates and schedules) with a tiny CLIP tower and a tiny Llama for CLIP ViT-L/14-336
    and Mistral-7B, and short stages: both stages train on the GPU, the encoder runs there, the bundle answers."""
    shared_data("vqa_rad", "hf_train.jsonl")
    shared_data("medpix2", "splitted_dataset", "descriptions_dev.jsonl")
    from helpers_vlm import make_tiny_clip
    from visual_med_alpaca.pipeline import Assistant
    from visual_med_alpaca.vlm.encoders import load_encoder
    from visual_med_alpaca.vlm.train import VLMTrainConfig, train_vlm

    clip = make_tiny_clip(tmp_path / "tiny-clip")
    cfg = load_config(VLMTrainConfig, REPO / "configs" / "vlm-llava-med-gpu.yaml", {
        "output_dir": str(tmp_path / "run"), "encoder": str(clip), "grid": 2, "language_model": str(tiny_llama_dir),
        "feature_cache": str(tmp_path / "cache"), "max_dev_examples": 4, "report_to": ["none"]})
    assert cfg.dtype == "bfloat16" and cfg.mixed_precision == "bf16" and cfg.gradient_checkpointing
    cfg.stages = [s.model_copy(update={"max_steps": 3, "batch_size": 4, "micro_batch_size": 2, "limit": 8})
                  for s in cfg.stages]
    summary = train_vlm(cfg, log=lambda line: None)
    assert [summary["stages"][s.name]["steps"] for s in cfg.stages] == [3, 3]
    assert all(loss == loss for s in cfg.stages for _, loss in summary["stages"][s.name]["history"]["train"])
    assert next(load_encoder(str(clip)).model.parameters()).device.type == "cuda"
    assistant = Assistant.from_config(None, **{"llm.model": f"vlm:{tmp_path / 'run' / 'vlm'}",
                                               "generation.max_new_tokens": 3})
    assert assistant.llm.vlm.device.type == "cuda"
    answer = assistant.ask("Is this a CT image?", EXAMPLES / "ct_slice.png")
    assert answer.answer.lower().startswith(("yes", "no"))

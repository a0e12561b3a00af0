"""A tiny VLM bundle on disk (EfficientNet-Lite0 features -> random projector -> a tiny Llama + LoRA), loaded the way
`--model vlm:FOLDER` loads a trained one."""

from __future__ import annotations

import torch


def make_bundle(folder, lm_dir, grid=2, seed=0):
    """A VLM bundle: efficientnet-lite0 features -> random projector -> the tiny Llama, plus a LoRA adapter."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from visual_med_alpaca.vlm.bundle import save_bundle
    from visual_med_alpaca.vlm.model import Projector, VisionLanguageModel

    torch.manual_seed(seed)
    lm = AutoModelForCausalLM.from_pretrained(lm_dir)
    lm = get_peft_model(lm, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    vlm = VisionLanguageModel(lm, AutoTokenizer.from_pretrained(lm_dir), Projector(1280, lm.config.hidden_size), grid)
    meta = {"encoder": "efficientnet-lite0", "encoder_channels": 1280, "grid": grid, "language_model": str(lm_dir),
            "lm_width": lm.config.hidden_size, "lm_vocab": lm.config.vocab_size}
    return save_bundle(folder, vlm, meta, adapter=True)

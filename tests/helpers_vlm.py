"""A tiny VLM bundle on disk (EfficientNet-Lite0 features -> random projector -> a tiny Llama + LoRA), loaded the way
`--model vlm:FOLDER` loads a trained one."""

from __future__ import annotations

import torch

from conftest import build_tokenizer


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


def make_tiny_llava(path):
    """A random LlavaForConditionalGeneration (CLIP vision tower + Llama) with processor and chat template, saved
    like a LLaVA-Med v1.5 -hf checkpoint."""
    from transformers import LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    torch.manual_seed(0)
    tokenizer = build_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    template = ("{% for m in messages %}USER: {% for c in m['content'] %}{% if c['type'] == 'image' %}<image>\n"
                "{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endfor %}{% if add_generation_prompt %}"
                " ASSISTANT:{% endif %}")
    processor = LlavaProcessor(image_processor=_tiny_clip_processor(), tokenizer=tokenizer, patch_size=10,
                               vision_feature_select_strategy="default", chat_template=template,
                               num_additional_image_tokens=1)
    vision = _tiny_clip_config()
    text = LlamaConfig(vocab_size=len(tokenizer), hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
                         vision_feature_select_strategy="default", vision_feature_layer=-2)
    LlavaForConditionalGeneration(config).save_pretrained(path)
    processor.save_pretrained(path)
    return path


def make_tiny_clip(path):
    """A random CLIP vision tower with its image processor, saved like openai/clip-vit-large-patch14-336: the
    `encoder:` a GPU recipe names (30-pixel images, 10-pixel patches: a 3x3 feature map of 32 channels)."""
    from transformers import CLIPVisionModel

    torch.manual_seed(0)
    CLIPVisionModel(_tiny_clip_config()).save_pretrained(path)
    _tiny_clip_processor().save_pretrained(path)
    return path


def _tiny_clip_config():
    """The tiny CLIP vision tower of both builders: 30-pixel images, 10-pixel patches, 32 channels."""
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                            image_size=30, patch_size=10, projection_dim=32)


def _tiny_clip_processor():
    from transformers import CLIPImageProcessor

    return CLIPImageProcessor(size={"shortest_edge": 30}, crop_size={"height": 30, "width": 30})

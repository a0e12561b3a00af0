"""The hf backend on a tiny real-architecture Llama saved to disk, loaded exactly like a user's checkpoint."""

import pytest
import torch

from visual_med_alpaca.config import GenerationSettings, LLMConfig
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.llm import generate_stream, load_language_model
from visual_med_alpaca.prompts import build_prompt

PROMPT = build_prompt("What are the chemicals that treat hair loss?")
GREEDY = GenerationSettings(max_new_tokens=12, stop_on_repeat=False, repetition_penalty=1.0)


@pytest.fixture(scope="module")
def adapter_dir(tiny_llama_dir, tmp_path_factory):
    """A LoRA adapter with non-zero weights (init_lora_weights=False), saved with peft."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                                                 init_lora_weights=False))
    path = tmp_path_factory.mktemp("adapter")
    peft_model.save_pretrained(path)
    return path


def logits(model, prompt):
    inputs = model.tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        return model.model(**inputs).logits[0, -1]


def test_loads_and_streams(tiny_llama_dir):
    model = load_language_model(LLMConfig(model=str(tiny_llama_dir)))
    assert model.context_length == 1024
    pieces = list(model.stream(PROMPT, GREEDY))
    assert len(pieces) >= 2  # streamed, not returned at once
    again = "".join(model.stream(PROMPT, GREEDY))
    assert "".join(pieces) == again  # greedy is deterministic


def test_seeded_sampling_is_reproducible(tiny_llama_dir):
    model = load_language_model(LLMConfig(model=str(tiny_llama_dir)))
    settings = GenerationSettings(max_new_tokens=12, temperature=1.5, seed=5, stop_on_repeat=False)
    first = "".join(generate_stream(model, PROMPT, settings))
    assert first == "".join(generate_stream(model, PROMPT, settings))


def test_adapter_changes_output_and_merged_equals_unmerged(tiny_llama_dir, adapter_dir, tmp_path):
    base = load_language_model(LLMConfig(model=str(tiny_llama_dir)))
    adapted = load_language_model(LLMConfig(model=str(tiny_llama_dir), adapter=str(adapter_dir)))
    assert "adapter" in adapted.name or adapter_dir.name in adapted.name
    assert not torch.allclose(logits(base, PROMPT), logits(adapted, PROMPT), atol=1e-4)

    merged_dir = tmp_path / "merged"
    adapted.model.merge_and_unload().save_pretrained(merged_dir)
    adapted.tokenizer.save_pretrained(merged_dir)
    adapted = load_language_model(LLMConfig(model=str(tiny_llama_dir), adapter=str(adapter_dir)))  # fresh, unmerged
    merged = load_language_model(LLMConfig(model=str(merged_dir)))
    assert torch.allclose(logits(adapted, PROMPT), logits(merged, PROMPT), atol=1e-4)
    assert "".join(adapted.stream(PROMPT, GREEDY)) == "".join(merged.stream(PROMPT, GREEDY))


def test_adapter_none_means_base(tiny_llama_dir):
    model = load_language_model(LLMConfig(model=str(tiny_llama_dir), adapter="none"))
    assert "+" not in model.name


def test_quantization_needs_cuda(tiny_llama_dir):
    if torch.cuda.is_available():
        pytest.skip("CUDA present: 8-bit loading is allowed here")
    for mode in ("8bit", "4bit"):
        with pytest.raises(UserInputError, match="needs a CUDA GPU"):
            load_language_model(LLMConfig(model=str(tiny_llama_dir), quantization=mode))


def test_missing_adapter_and_uncached_hub_id(tiny_llama_dir, tmp_path):
    with pytest.raises(UserInputError, match="adapter not found"):
        load_language_model(LLMConfig(model=str(tiny_llama_dir), adapter=str(tmp_path)))
    with pytest.raises(UserInputError, match="not in the Hugging Face cache"):
        load_language_model(LLMConfig(model="nobody/no-such-model-xyz", backend="hf"))


def test_the_gguf_medical_adapter_is_refused_with_the_reason(tiny_llama_dir):
    with pytest.raises(UserInputError, match="GGUF LoRA for the embedded Gemma.*peft adapter folder"):
        load_language_model(LLMConfig(model=str(tiny_llama_dir), adapter="medical"))

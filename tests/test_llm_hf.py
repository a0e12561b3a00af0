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
    inputs = model.tokenizer(prompt, return_tensors="pt").to(model.model.device)  # the GPU where there is one
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


@pytest.mark.timeout(60)
def test_hub_ids_come_from_the_local_cache_only(hub_not_offline):
    """Without HF_HUB_OFFLINE on a machine without network, `--model nosuchmodel` (a typo) used to retry the hub
    for a minute before failing; a cached hub id is now read from its snapshot folder, an uncached one fails at once."""
    from visual_med_alpaca.llm.hf import resolve_model_source

    repo = hub_not_offline / "models--someone--tiny"
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    assert resolve_model_source("someone/tiny", local_only=True) == str(snapshot)
    assert resolve_model_source("someone/tiny") == "someone/tiny"  # training recipes may still download
    for typo in ("nosuchmodel", "someone/missing"):
        with pytest.raises(UserInputError, match="not in the Hugging Face cache.*nothing is downloaded"):
            load_language_model(LLMConfig(model=typo, backend="hf"))


def test_loading_hf_weights_prints_no_progress_bar(tiny_llama_dir, capfd):
    """The hf backend loads weights without transformers' "Loading weights" bar on stderr (its switch, restored)."""
    from transformers.utils import logging as hf_logging

    hf_logging.enable_progress_bar()
    capfd.readouterr()
    load_language_model(LLMConfig(model=str(tiny_llama_dir), backend="hf"))
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()


def test_the_gguf_medical_adapter_is_refused_with_the_reason(tiny_llama_dir):
    with pytest.raises(UserInputError, match="GGUF LoRA for the embedded Gemma.*peft adapter folder"):
        load_language_model(LLMConfig(model=str(tiny_llama_dir), adapter="medical"))


# -- load_tokenizer: the same tokenizer as AutoTokenizer, faster for a GemmaTokenizer folder ----------------------
TOKENIZER_TEXTS = ["<image>\nQuestion: Is there a fracture?\nAnswer:", " yes", " no", "the  fish\t\tis\n\n  here?",
                   "Ünïcödé — 日本語 🙂 café", "<bos><eos><pad> <mask>x", "   leading", "trailing   ", ""]


def _tiny_gemma_tokenizer_dir(path):
    from transformers import GemmaTokenizer

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<mask>": 4}
    vocab.update({c: 5 + i for i, c in enumerate("abcdefghijklmnopqrstuvwxyz▁?.:\n")})
    vocab.update({"▁t": 40, "he": 41, "▁the": 42, "is": 43})
    GemmaTokenizer(vocab=vocab, merges=[("▁", "t"), ("h", "e"), ("▁t", "he"), ("i", "s")]).save_pretrained(path)
    return path


def _same_tokenizer(a, b):
    for text in TOKENIZER_TEXTS:
        for kwargs in ({}, {"add_special_tokens": False}):
            assert a(text, **kwargs)["input_ids"] == b(text, **kwargs)["input_ids"], text
        ids = a(text)["input_ids"]
        assert a.decode(ids, skip_special_tokens=True) == b.decode(ids, skip_special_tokens=True)
    for attr in ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id", "padding_side", "all_special_ids"):
        assert getattr(a, attr) == getattr(b, attr), attr
    assert type(a) is type(b) and a.get_added_vocab() == b.get_added_vocab()


def test_load_tokenizer_reads_a_gemma_tokenizer_json_directly(tmp_path, monkeypatch):
    import transformers

    from visual_med_alpaca.llm.hf import load_tokenizer

    folder = _tiny_gemma_tokenizer_dir(tmp_path / "tok")
    slow = transformers.AutoTokenizer.from_pretrained(folder)

    def refuse(*args, **kwargs):
        raise AssertionError("took the slow AutoTokenizer path")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", refuse)
    _same_tokenizer(slow, load_tokenizer(str(folder)))


def test_load_tokenizer_builds_the_reference_pipeline_once(tmp_path, monkeypatch):
    """The empty GemmaTokenizer that the file's pipeline is compared with is built once per set of special
    tokens, not on every load: a second load builds only the file's own tokenizer."""
    import transformers

    from visual_med_alpaca.llm.hf import load_tokenizer

    folder = _tiny_gemma_tokenizer_dir(tmp_path / "tok")
    built = []

    class Counted(transformers.GemmaTokenizer):
        def __init__(self, *args, **kwargs):
            built.append("file" if "tokenizer_file" in kwargs else "empty")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(transformers, "GemmaTokenizer", Counted)
    first = load_tokenizer(str(folder))
    assert built[0] == "file" and built[1:] in ([], ["empty"])  # the reference: built now, or by an earlier load
    del built[:]
    second = load_tokenizer(str(folder))
    assert built == ["file"]
    _same_tokenizer(first, second)


def test_load_tokenizer_takes_the_ordinary_path_when_the_file_differs(tmp_path, monkeypatch):
    """A tokenizer.json whose pipeline is not GemmaTokenizer's (here: another normalizer) is not read directly:
    GemmaTokenizer rebuilds its own pipeline, so the direct read would give other ids."""
    import json

    import transformers

    from visual_med_alpaca.llm.hf import load_tokenizer

    folder = _tiny_gemma_tokenizer_dir(tmp_path / "tok")
    data = json.loads((folder / "tokenizer.json").read_text())
    data["normalizer"] = {"type": "Lowercase"}
    (folder / "tokenizer.json").write_text(json.dumps(data))
    calls = []
    real = transformers.AutoTokenizer.from_pretrained
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: calls.append(a) or real(*a, **k))
    tokenizer = load_tokenizer(str(folder))
    assert calls and tokenizer("the fish")["input_ids"] == real(folder)("the fish")["input_ids"]


@pytest.mark.slow
def test_load_tokenizer_same_ids_on_the_shipped_gemma_3_tokenizer():
    """The real 262k-word Gemma-3 tokenizer: the default model's, derived from the embedded GGUF by the real path
    (once per machine, ~60 s; cached for every later test and run)."""
    from transformers import AutoTokenizer

    from visual_med_alpaca.llm.hf import load_tokenizer, resolve_model_source

    folder = resolve_model_source("default")
    _same_tokenizer(AutoTokenizer.from_pretrained(folder), load_tokenizer(str(folder)))

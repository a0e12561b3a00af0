"""GGUF LoRA export: the file layout llama.cpp expects, and llama.cpp output equal to HF+peft output."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
gguf = pytest.importorskip("gguf")

from visual_med_alpaca.errors import UserInputError  # noqa: E402
from visual_med_alpaca.prompts import build_prompt  # noqa: E402
from visual_med_alpaca.train.export import dequantized_gguf, export_gguf_lora  # noqa: E402


def tiny_gemma3(path: Path) -> Path:
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    from conftest import build_tokenizer

    tok = build_tokenizer()
    config = Gemma3TextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=16)
    Gemma3ForCausalLM(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def random_adapter(model, out: Path, modules: list[str], std: float, r: int = 4) -> Path:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    peft_model = get_peft_model(model, LoraConfig(r=r, lora_alpha=2 * r, target_modules=modules))
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, std)
    peft_model.save_pretrained(out)
    return peft_model


def test_gguf_adapter_layout(tmp_path):
    from transformers import AutoModelForCausalLM

    base = tiny_gemma3(tmp_path / "base")
    random_adapter(AutoModelForCausalLM.from_pretrained(base), tmp_path / "ad", ["q_proj", "down_proj"], 0.1)
    path = export_gguf_lora(tmp_path / "ad", tmp_path / "ad.gguf", base=str(base))
    reader = gguf.GGUFReader(str(path))
    text = lambda key: bytes(reader.fields[key].parts[-1]).decode()  # noqa: E731
    assert text("general.architecture") == "gemma3" and text("general.type") == "adapter"
    assert text("adapter.type") == "lora" and reader.fields["adapter.lora.alpha"].parts[-1][0] == 8.0
    shapes = {t.name: [int(d) for d in t.shape] for t in reader.tensors}
    assert set(shapes) == {f"blk.{i}.{n}.weight.lora_{p}" for i in (0, 1) for n in ("attn_q", "ffn_down") for p in "ab"}
    assert shapes["blk.0.attn_q.weight.lora_a"] == [32, 4]  # ggml ne = [in, r]
    assert shapes["blk.0.attn_q.weight.lora_b"] == [4, 32]  # [r, out]: q = 2 heads x 16


def test_unsupported_architecture_is_a_clear_error(tmp_path, tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    random_adapter(AutoModelForCausalLM.from_pretrained(tiny_llama_dir), tmp_path / "ad", ["q_proj"], 0.1)
    with pytest.raises(UserInputError, match="export merge"):
        export_gguf_lora(tmp_path / "ad", tmp_path / "ad.gguf", base=str(tiny_llama_dir))


@pytest.fixture(scope="module")
def gemma_random_adapter(tmp_path_factory, gemma_gguf):
    """(F32 copy of the default GGUF, tokenizer, peft model with a random adapter, that adapter as GGUF LoRA)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from visual_med_alpaca.llm.hf import resolve_model_source
    from visual_med_alpaca.paths import cache_dir

    tmp = tmp_path_factory.mktemp("gemma-adapter")
    f32 = cache_dir("gguf-f32") / f"{gemma_gguf.stem}-{gemma_gguf.stat().st_size}-f32.gguf"
    if not f32.is_file():
        dequantized_gguf(gemma_gguf, f32.with_suffix(".partial")).replace(f32)
    source = resolve_model_source("default")
    tok = AutoTokenizer.from_pretrained(source)
    peft_model = random_adapter(AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32),
                                tmp / "ad", ["q_proj", "v_proj", "o_proj", "down_proj"], 0.02).eval()
    return f32, tok, peft_model, export_gguf_lora(tmp / "ad", tmp / "ad.gguf", base=source)


@pytest.mark.slow
def test_llama_cpp_with_adapter_matches_hf_peft_greedy(gemma_random_adapter):
    """Against an F32 copy of the default GGUF (the exact weights HF dequantizes), llama.cpp + GGUF LoRA must
    produce the same greedy tokens as transformers + peft, and different ones from the base (adapter active)."""
    from llama_cpp import Llama

    f32, tok, peft_model, adapter_file = gemma_random_adapter
    prompts = [build_prompt(q) for q in ("How is asthma treated?", "What causes anemia?")]

    def hf_greedy(model):
        outs = []
        for prompt in prompts:
            ids = tok(prompt, return_tensors="pt")
            with torch.no_grad():
                out = model.generate(**ids, max_new_tokens=8, do_sample=False)
            outs.append(out[0, ids["input_ids"].shape[1]:].tolist())
        return outs

    def cpp_greedy(lora):
        llm = Llama(model_path=str(f32), n_ctx=256, n_threads=2, verbose=False, lora_path=lora)
        outs = []
        for prompt in prompts:
            tokens = llm.tokenize(prompt.encode(), add_bos=True, special=False)
            out = []
            for token in llm.generate(tokens, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True):
                out.append(token)
                if len(out) == 8:
                    break
            outs.append(out)
        return outs

    with_adapter = hf_greedy(peft_model)
    assert cpp_greedy(str(adapter_file)) == with_adapter
    with peft_model.disable_adapter():
        assert hf_greedy(peft_model) != with_adapter


@pytest.mark.slow
def test_eval_adapter_command_compares_base_and_adapter_through_the_harness(tmp_path, gemma_random_adapter):
    """`vmed train eval-adapter`: perplexity, PubMedQA/RQE runs of the eval harness and assistant answers, for
    base and adapter; the adapter is really applied (its perplexity differs) and the runs are on disk."""
    import json
    import subprocess
    import sys

    from conftest import REPO, shared_data

    adapter_file = gemma_random_adapter[3]
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text(json.dumps({"instruction": "What is asthma?",
                                   "output": "A long-term disease of the airways of the lungs."}) + "\n")
    out = tmp_path / "runs" / "adapter_eval.json"
    run = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "train", "eval-adapter", str(adapter_file),
                          "--heldout", str(heldout), "--data-dir", str(shared_data()), "--n-heldout", "1",
                          "--limit", "3", "--n-questions", "1", "--threads", "2", "--out", str(out)],
                         cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr
    result = json.loads(out.read_text())
    base, tuned = result["base"], result["adapter"]
    assert base["heldout_perplexity"] != tuned["heldout_perplexity"]
    for name in ("base", "adapter"):
        for benchmark in ("pubmedqa", "mediqa-rqe"):
            assert result[name][benchmark]["n"] == 3
            assert (tmp_path / "runs" / "adapter_eval" / f"{name}-{benchmark}" / "metrics.json").is_file()
    assert len(base["answers"]) == 1 and all(isinstance(a, str) for a in tuned["answers"].values())
    assert "| What are the symptoms of type 2 diabetes? |" in run.stdout  # the table it prints, answers side by side
    assert "| PubMedQA test accuracy, 3 items (majority class " in run.stdout
    missing = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "train", "eval-adapter",
                              str(tmp_path / "none.gguf"), "--heldout", str(heldout)], cwd=REPO,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and missing.stderr.startswith(f"error: adapter file not found: {tmp_path / 'none.gguf'}")


def test_eval_adapter_names_the_one_file_that_is_missing(tmp_path):
    """It said 'need the adapter file and HELDOUT' whichever was missing, and never named the adapter."""
    import subprocess
    import sys

    from conftest import REPO

    adapter = tmp_path / "a.gguf"
    adapter.write_bytes(b"GGUF")
    result = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "train", "eval-adapter", str(adapter),
                             "--heldout", str(tmp_path / "none.jsonl")], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        f"error: held-out answers not found: {tmp_path / 'none.jsonl'} (run `vmed train medical-data` first)"]


def test_an_adapter_config_without_peft_type_fails_before_the_base_loads(tmp_path, monkeypatch):
    """`vmed export merge` on a folder whose adapter_config.json was `{}` de-quantized the default base for minutes,
    then ended in peft's KeyError 'peft_type' traceback; a corrupt one was a JSONDecodeError. Both are refused first."""
    from visual_med_alpaca.train import export

    def no_base(*args, **kwargs):
        raise AssertionError("the base model loaded before the adapter config was checked")

    monkeypatch.setattr(export, "_base_source", no_base)
    for text in ("{}", "not json", "[1]"):
        (tmp_path / "adapter_config.json").write_text(text)
        for run in (export.merge, export.export_gguf_lora):
            with pytest.raises(UserInputError, match="is not a peft adapter config"):
                run(tmp_path, tmp_path / "out")

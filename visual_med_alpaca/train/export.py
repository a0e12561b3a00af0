"""Exports: a peft adapter merged into its base (saved with the tokenizer), and a GGUF LoRA adapter that
llama.cpp loads next to the unchanged base GGUF (`Llama(lora_path=...)`), so the default stays on llama.cpp.

The GGUF layout follows llama.cpp's convert_lora_to_gguf.py: general.type=adapter, adapter.type=lora,
adapter.lora.alpha, and per linear layer `<gguf tensor>.weight.lora_a` (r x in) / `.lora_b` (out x r).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserInputError

# HF model_type -> llama.cpp architecture, for the architectures whose linear weights llama.cpp keeps in HF
# layout (no q/k row permutation), so LoRA matrices carry over unchanged. Checked against llama.cpp: gemma3.
GGUF_ARCH = {"gemma3_text": "gemma3", "gemma3": "gemma3"}


def _adapter_config(adapter: Path) -> dict:
    path = adapter / "adapter_config.json"
    if not path.is_file():
        raise UserInputError(f"not a peft adapter folder (no adapter_config.json): {adapter}")
    try:
        config = json.loads(path.read_bytes())
    except ValueError:  # not JSON, or not UTF-8
        config = None
    # checked before the base model loads: `export merge` on an adapter_config.json without peft_type spent
    # minutes de-quantizing the default base, then ended in peft's KeyError traceback
    if not isinstance(config, dict) or not config.get("peft_type"):
        raise UserInputError(f"{path} is not a peft adapter config (a JSON object with peft_type, as peft writes)")
    return config


def adapter_from_checkpoint(checkpoint: Path) -> Path:
    """A peft adapter folder for a LoRA run's `checkpoint-N/` (so a stopped run can be exported as it stands)."""
    if (checkpoint / "adapter_config.json").is_file():
        return checkpoint
    weights = checkpoint / "model.safetensors"
    if not weights.is_file() or not (checkpoint.parent / "config.yaml").is_file():
        raise UserInputError(f"{checkpoint} is neither a peft adapter folder nor a training checkpoint")
    target = checkpoint / "adapter"
    if (target / "adapter_config.json").is_file():
        return target
    from safetensors.torch import load_file

    from ..config import load_config
    from .config import TrainConfig
    from .trainer import load_model_and_tokenizer

    cfg = load_config(TrainConfig, checkpoint.parent / "config.yaml")
    if cfg.mode != "lora":
        raise UserInputError(f"{checkpoint} is a full fine-tune checkpoint, not a LoRA adapter")
    model, tokenizer = load_model_and_tokenizer(cfg)
    missing = set(load_file(weights)) - set(model.state_dict())
    if missing:
        raise UserInputError(f"{checkpoint} does not match the recipe in {checkpoint.parent / 'config.yaml'}")
    model.load_state_dict(load_file(weights), strict=False)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def dequantized_gguf(path: Path, out: Path) -> Path:
    """An F32 copy of a (quantized) GGUF with the same metadata: llama.cpp then computes with exactly the
    weights transformers dequantizes, which makes HF-vs-llama.cpp comparisons exact up to float rounding."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(str(path))
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    writer = gguf.GGUFWriter(str(out), arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture" or name == "general.file_type":
            continue
        kind = field.types[0]
        if kind == gguf.GGUFValueType.ARRAY:
            sub = field.types[-1]
            if sub == gguf.GGUFValueType.STRING:
                value = [bytes(field.parts[i]).decode("utf-8", "replace") for i in field.data]
            else:
                value = [field.parts[i].tolist()[0] for i in field.data]
            writer.add_key_value(name, value, kind, sub_type=sub)
        elif kind == gguf.GGUFValueType.STRING:
            writer.add_key_value(name, bytes(field.parts[-1]).decode("utf-8", "replace"), kind)
        else:
            writer.add_key_value(name, field.parts[-1].tolist()[0], kind)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    for tensor in reader.tensors:
        data = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        writer.add_tensor(tensor.name, data.reshape([int(d) for d in reversed(tensor.shape)]))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def _base_source(adapter_cfg: dict, base: str | None) -> str:
    from ..llm.hf import resolve_model_source

    return resolve_model_source(base or adapter_cfg.get("base_model_name_or_path") or "default")


def _adapter_tensors(adapter: Path) -> dict:
    from safetensors.torch import load_file

    files = [adapter / "adapter_model.safetensors", adapter / "adapter_model.bin"]
    for path in files:
        if path.is_file():
            if path.suffix == ".safetensors":
                return load_file(str(path))
            import torch

            return torch.load(path, map_location="cpu")
    raise UserInputError(f"no adapter weights in {adapter}")


def export_gguf_lora(adapter: str | Path, out: str | Path, base: str | None = None, dtype: str = "f16") -> Path:
    """Write the peft LoRA in `adapter` as a llama.cpp GGUF adapter; returns the file path."""
    import gguf
    import numpy as np

    adapter, out = adapter_from_checkpoint(Path(adapter)), Path(out)
    acfg = _adapter_config(adapter)
    if acfg.get("peft_type") != "LORA":
        raise UserInputError(f"only LoRA adapters can be exported to GGUF (found {acfg.get('peft_type')})")
    if acfg.get("use_rslora") or acfg.get("use_dora") or acfg.get("modules_to_save"):
        raise UserInputError("rsLoRA / DoRA / modules_to_save adapters have no llama.cpp equivalent; use export merge")
    if acfg.get("rank_pattern") or acfg.get("alpha_pattern"):
        raise UserInputError("per-layer rank/alpha patterns are not supported by the GGUF LoRA format")
    model_cfg = json.loads((Path(_base_source(acfg, base)) / "config.json").read_text())
    arch = GGUF_ARCH.get(model_cfg.get("model_type"))
    if arch is None:
        raise UserInputError(
            f"GGUF LoRA export supports {sorted(set(GGUF_ARCH.values()))}, not '{model_cfg.get('model_type')}': "
            "run `vmed export merge` and convert the merged folder with llama.cpp's convert_hf_to_gguf.py")
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], model_cfg["num_hidden_layers"])
    np_dtype, qtype = (np.float16, gguf.GGMLQuantizationType.F16) if dtype == "f16" else (
        np.float32, gguf.GGMLQuantizationType.F32)

    tensors = _adapter_tensors(adapter)
    pairs: dict[str, dict[str, object]] = {}
    for key, value in tensors.items():
        for part, suffix in (("a", ".lora_A.weight"), ("b", ".lora_B.weight")):
            if key.endswith(suffix):
                hf_name = key.removeprefix("base_model.model.")[: -len(suffix)]
                gguf_name = names.get_name(hf_name + ".weight", try_suffixes=(".weight",))
                if gguf_name is None:
                    raise UserInputError(f"no llama.cpp tensor for adapter layer {hf_name}")
                pairs.setdefault(gguf_name, {})[part] = value
                break
        else:
            raise UserInputError(f"unexpected tensor in adapter: {key}")
    if not pairs:
        raise UserInputError(f"adapter {adapter} holds no LoRA tensors")

    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out), arch)
    writer.add_string("general.type", "adapter")
    writer.add_string("general.name", adapter.name)
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(acfg["lora_alpha"]))
    for name in sorted(pairs):
        pair = pairs[name]
        if set(pair) != {"a", "b"}:
            raise UserInputError(f"adapter layer {name} lacks its lora_A or lora_B")
        # numpy (rows, cols) becomes ggml ne=[cols, rows]: lora_a ne=[in, r], lora_b ne=[r, out], as llama.cpp wants
        for part in ("a", "b"):
            array = pair[part].float().numpy().astype(np_dtype)
            writer.add_tensor(f"{name}.lora_{part}", array, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def merge(adapter: str | Path, out: str | Path, base: str | None = None) -> Path:
    """Base + adapter merged into plain weights, saved with the tokenizer files (loadable with no peft)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter, out = adapter_from_checkpoint(Path(adapter)), Path(out)
    source = _base_source(_adapter_config(adapter), base)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    merged.save_pretrained(out)
    tokenizer_from = adapter if (adapter / "tokenizer_config.json").is_file() else source
    AutoTokenizer.from_pretrained(tokenizer_from).save_pretrained(out)
    return out

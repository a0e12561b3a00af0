"""A trained VLM on disk: `vlm.json` (what it was trained with), `projector.safetensors`, optional `adapter/`
(peft LoRA of the language model). Base weights (encoder, language model) stay where they are: the bundle names
them. Loading checks the parts fit together before anything heavy loads, and says what is wrong if not.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..closed import EXPERT_CLASS_WORDS
from ..errors import UserInputError
from ..paths import ASSETS
from .memory import MemorySettings

FORMAT = 1
META = "vlm.json"
PROJECTOR = "projector.safetensors"
ADAPTER = "adapter"
DEFAULT_BUNDLE = ASSETS / "vlm" / "default"


def bundle_folder(name: str) -> Path:
    """'default' = the shipped bundle; otherwise a folder holding vlm.json."""
    if name in ("", "default"):
        if not (DEFAULT_BUNDLE / META).is_file():
            raise UserInputError(f"the shipped VLM is missing ({DEFAULT_BUNDLE / META}); train one with "
                                 "`vmed train vlm -c configs/vlm-cpu.yaml` and pass --model vlm:runs/vlm-cpu/vlm")
        return DEFAULT_BUNDLE
    path = Path(name).expanduser()
    if not path.is_dir():
        raise UserInputError(f"VLM folder not found: {name}")
    return path


def read_meta(folder: Path) -> dict[str, Any]:
    meta_path = folder / META
    if not meta_path.is_file():
        raise UserInputError(f"{folder} is not a VLM folder (no {META}); a Hugging Face LLaVA checkpoint has a "
                             "config.json with model_type 'llava'")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise UserInputError(f"{meta_path} is not valid JSON: {exc}") from None
    missing = [k for k in ("encoder", "encoder_channels", "grid", "language_model", "lm_width", "lm_vocab") if k not in meta]
    if missing or meta.get("format") != FORMAT:
        raise UserInputError(f"{meta_path} is not a format-{FORMAT} VLM description (missing {', '.join(missing) or 'format'})")
    bias = meta.get("yes_no_bias", 0.0)
    if isinstance(bias, bool) or not isinstance(bias, (int, float)):
        raise UserInputError(f"{meta_path}: yes_no_bias must be a number (log-odds added to 'yes'), not {bias!r}")
    for flag in ("uses_facts", "facts_on_yes_no"):
        if not isinstance(meta.get(flag, False), bool):
            raise UserInputError(f"{meta_path}: {flag} must be true or false, not {meta[flag]!r}")
    modalities = meta.get("expert_yes_no") or []
    known = set(EXPERT_CLASS_WORDS["modality"])
    if not isinstance(modalities, list) or not all(isinstance(m, str) and m in known for m in modalities):
        raise UserInputError(f"{meta_path}: expert_yes_no must be a list of modalities among "
                             f"{', '.join(sorted(known))}, not {meta['expert_yes_no']!r}")
    memory_settings(meta, meta_path)
    if not (folder / PROJECTOR).is_file():
        raise UserInputError(f"the projector is missing: {folder / PROJECTOR}")
    return meta


def memory_settings(meta: dict[str, Any], where: Path | str) -> MemorySettings:
    """The bundle's `case_memory` settings (defaults when it names none); a bad value is one error line."""
    from pydantic import ValidationError

    try:
        return MemorySettings.model_validate(meta.get("case_memory") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserInputError(f"{where}: case_memory.{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def case_memory_settings(model: str) -> dict[str, Any] | None:
    """The case-memory settings of the bundle `model` names ('default' or a folder), as plain JSON (defaults when
    its vlm.json names none); None for a folder that is not one of our bundles (a LLaVA checkpoint)."""
    folder = bundle_folder(model)
    if not (folder / META).is_file():
        return None
    return memory_settings(read_meta(folder), folder / META).model_dump(mode="json")


def check_language_model(meta: dict[str, Any], lm_config, where: str) -> None:
    """The projector and adapter only fit the language model they were trained with."""
    width = getattr(lm_config, "hidden_size", None)
    vocab = getattr(lm_config, "vocab_size", None)
    if (width, vocab) != (meta["lm_width"], meta["lm_vocab"]):
        raise UserInputError(
            f"the VLM in {where} was trained for a language model with {meta['lm_width']}-d embeddings and a "
            f"{meta['lm_vocab']}-token vocabulary, but '{meta['language_model']}' has {width}-d and {vocab}: "
            "mismatched projector/adapter")


def bundle_target(folder: Path) -> Path:
    """`folder` checked as a place to write a bundle to: a new folder, an empty one or an earlier bundle (which is
    replaced). Anything else is one error, since writing a bundle replaces the whole folder (`--out runs` would
    have deleted runs/); its parent is created."""
    folder = Path(folder)
    if folder.exists() and not (folder.is_dir() and ((folder / META).is_file() or not any(folder.iterdir()))):
        raise UserInputError(f"{folder} exists and is not a VLM bundle; writing one replaces the whole folder: "
                             "give a new folder (or an earlier bundle to replace)")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(f"cannot write a bundle to {folder}: {exc.strerror}") from None
    return folder


def save_bundle(folder: Path, vlm, meta: dict[str, Any], adapter: bool) -> Path:
    """Projector in fp16 (half the size; trained in fp32) and the LoRA adapter, written atomically into `folder`
    (`bundle_target`: new, empty or an earlier bundle)."""
    import shutil

    from safetensors.torch import save_file

    folder = bundle_target(folder)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    state = {k: v.detach().to("cpu").half().contiguous() for k, v in vlm.projector.state_dict().items()}
    save_file(state, partial / PROJECTOR)
    if adapter:
        vlm.lm.save_pretrained(partial / ADAPTER)
        config = partial / ADAPTER / "adapter_config.json"
        settings = json.loads(config.read_text())
        settings["base_model_name_or_path"] = meta["language_model"]  # not the cache folder it came from
        config.write_text(json.dumps(settings, indent=2))
        halve_adapter(partial / ADAPTER)
    (partial / META).write_text(json.dumps({"format": FORMAT, **meta}, indent=2) + "\n")
    if folder.exists():
        shutil.rmtree(folder)
    partial.replace(folder)
    return folder


def halve_adapter(folder: Path) -> None:
    """Store the LoRA weights in fp16 (half the size to ship); peft casts them back to the model's dtype on load."""
    from safetensors.torch import load_file, save_file

    path = Path(folder) / "adapter_model.safetensors"
    if path.is_file():
        save_file({k: v.half().contiguous() for k, v in load_file(path).items()}, path)


# The adapter settings `merge_adapter` reproduces exactly (peft's LoRA merge for nn.Linear: W += (B @ A) * alpha / r,
# in the model's dtype); an adapter with any other value takes peft's own path.
_PLAIN_LORA = {"peft_type": "LORA", "use_dora": False, "use_rslora": False, "fan_in_fan_out": False, "bias": "none",
               "lora_bias": False, "alpha_pattern": {}, "rank_pattern": {}, "modules_to_save": None,
               "layer_replication": None, "target_parameters": None, "trainable_token_indices": None}
_LORA_KEY = re.compile(r"base_model\.model\.(.+)\.lora_([AB])\.weight")


def read_adapter(folder: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]] | None]:
    """peft's adapter settings (adapter_config.json) and, for a plain LoRA (the settings `merge_adapter`
    reproduces), its tensors by module: {"model.layers.0.self_attn.q_proj": {"A": tensor, "B": tensor}}; None for
    the tensors when the adapter is anything else."""
    from safetensors.torch import load_file

    settings = json.loads((folder / "adapter_config.json").read_text())
    if any(settings.get(key, plain) != plain for key, plain in _PLAIN_LORA.items()):
        return settings, None
    stored: dict[str, dict[str, Any]] = {}
    for key, tensor in load_file(str(folder / "adapter_model.safetensors")).items():
        match = _LORA_KEY.fullmatch(key)
        if match is None:
            return settings, None
        stored.setdefault(match[1], {})[match[2]] = tensor
    return settings, stored


def merge_adapter(lm, folder: Path) -> bool:
    """Merge a plain LoRA adapter (`folder`: peft's adapter_config.json + adapter_model.safetensors) into `lm`'s
    Linear weights directly, as peft's `merge_and_unload` computes it, without importing peft or wrapping the model
    (~1 s of a load). False (nothing changed) when the adapter uses a setting this does not reproduce; an adapter
    that names modules or shapes the model lacks raises ValueError (what does not fit)."""
    import torch

    settings, stored = read_adapter(folder)
    if stored is None:
        return False
    if not stored:
        raise ValueError("it holds no LoRA tensors")  # peft's path calls this a mismatch too
    scaling = settings["lora_alpha"] / settings["r"]
    updates = []
    for name, pair in stored.items():
        try:
            layer = lm.get_submodule(name)
        except AttributeError:
            layer = None
        weight = getattr(layer, "weight", None)
        if not isinstance(layer, torch.nn.Linear) or set(pair) != {"A", "B"} or \
                (pair["B"].shape[0], pair["A"].shape[1]) != tuple(weight.shape) or pair["A"].shape[0] != pair["B"].shape[1]:
            what = "is not a Linear layer of the model" if not isinstance(layer, torch.nn.Linear) else "does not fit"
            raise ValueError(f"{name} {what}")
        updates.append((weight, pair["A"].to(weight.dtype), pair["B"].to(weight.dtype)))
    with torch.no_grad():
        for weight, a, b in updates:
            weight.data += (b @ a) * scaling
    return True


def load_projector(folder: Path, meta: dict[str, Any]):
    import torch
    from safetensors.torch import load_file

    from .model import Projector

    state = load_file(folder / PROJECTOR)
    projector = Projector(meta["encoder_channels"], meta["lm_width"])
    shapes = {k: tuple(v.shape) for k, v in projector.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if shapes != found:
        raise UserInputError(f"{folder / PROJECTOR} does not match {META} (weights {found}, expected {shapes})")
    projector.load_state_dict({k: v.to(torch.float32) for k, v in state.items()})
    return projector.eval()

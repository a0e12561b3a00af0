"""The `vlm` backend: `--model vlm:default` (the shipped CPU-trained VLM), `vlm:FOLDER` (a bundle from
`vmed train vlm`) or `vlm:LLAVA_FOLDER` (a Hugging Face `LlavaForConditionalGeneration` checkpoint such as
LLaVA-Med v1.5 in HF format, loaded with its processor and chat template).

The assistant binds the question's image with `bind(image)`; the bound model streams and scores like any
language model, so the eval harness, the server and the demo need nothing new.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import GenerationSettings, LLMConfig
from ..errors import UserInputError
from ..images import LoadedImage
from .bundle import (ADAPTER, DEFAULT_BUNDLE, bundle_folder, check_language_model, load_projector, merge_adapter,
                     read_meta)
from .memory import MEMORY, CaseMemory
from .model import VisionLanguageModel, build_vlm_prompt, causal_lm


def _hf_config(folder: Path) -> dict | None:
    path = folder / "config.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        raise UserInputError(f"{path} is not valid JSON") from None


def _set_threads(config: LLMConfig) -> None:
    if config.threads:
        import torch

        torch.set_num_threads(config.threads)


def _merge_with_peft(lm, adapter: Path):
    """(merged model, None) or (lm, what does not fit), through peft: for adapters `merge_adapter` does not cover."""
    from peft import PeftModel
    from safetensors import safe_open

    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as stored:
        n_stored = len(list(stored.keys()))
    peft_model = PeftModel.from_pretrained(lm, str(adapter))
    n_model = sum(1 for n, _ in peft_model.named_parameters() if "lora_" in n)
    if n_model != n_stored:  # peft only warns when layers are missing on either side
        return lm, f"it holds {n_stored} LoRA tensors, the model has {n_model} LoRA slots"
    return peft_model.merge_and_unload(), None


@dataclass(frozen=True)
class EncodedImage:
    """What our VLM keeps of a bound image: its image tokens, and its case-memory vector (None: no memory)."""

    tokens: Any
    vector: Any = None


class BoundImage:
    """A vision-language model with one image attached: the `LanguageModel` the assistant streams from."""

    def __init__(self, owner, image_inputs, timings: dict[str, float]):
        self.owner = owner
        self.image_inputs = image_inputs
        self.name = owner.name
        self.context_length = owner.context_length
        self.timings = timings

    def stream(self, prompt: str, settings: GenerationSettings):
        return self.owner.stream_with(prompt, self.image_inputs, settings)

    def count_tokens(self, text: str, special: bool = True) -> int:
        return self.owner.count_with(text, self.image_inputs, special)

    def score_continuations(self, prompt: str, continuations: list[str]) -> list[float]:
        return self.owner.score_with(prompt, self.image_inputs, continuations)


class _ImageModel:
    """What both VLM kinds share: unbound use is text-only; `bind` attaches an image."""

    uses_facts = False
    yes_no_bias = 0.0
    expert_yes_no = None
    memory = None  # a CaseMemory (vlm/memory.py) when the bundle ships one

    def recall(self, question: str, bound: BoundImage):
        """The remembered training case for this question about the bound image (vlm/memory.py), or None."""
        vector = getattr(bound.image_inputs, "vector", None)
        if self.memory is None or vector is None:
            return None
        start = time.perf_counter()
        case = self.memory.recall(question, vector)
        bound.timings["recall_s"] = round(time.perf_counter() - start, 4)
        return case

    def wants_facts(self, question: str) -> bool:
        return self.uses_facts

    def bind(self, image: LoadedImage | None) -> BoundImage:
        start = time.perf_counter()
        inputs = self.encode(image) if image is not None else None
        return BoundImage(self, inputs, {"encode_image_s": round(time.perf_counter() - start, 4)} if image else {})

    def stream(self, prompt: str, settings: GenerationSettings):
        return self.stream_with(prompt, None, settings)

    def count_tokens(self, text: str, special: bool = True) -> int:
        return self.count_with(text, None, special)

    def score_continuations(self, prompt: str, continuations: list[str]) -> list[float]:
        return self.score_with(prompt, None, continuations)


class VLMBackend(_ImageModel):
    """Our bundle: encoder (by name) + projector + language model (+ merged LoRA)."""

    def __init__(self, vlm: VisionLanguageModel, encoder, meta: dict, name: str, memory: CaseMemory | None = None):
        self.vlm = vlm
        self.encoder = encoder
        self.meta = meta
        self.name = name
        self.memory = memory
        self.uses_facts = bool(meta.get("uses_facts", False))
        # The expert's text helped open answers but hurt yes/no decisions on the dev set (docs/vlm.md), so a
        # bundle may keep it out of yes/no prompts.
        self.facts_on_yes_no = bool(meta.get("facts_on_yes_no", True))
        self.yes_no_bias = float(meta.get("yes_no_bias", 0.0))
        # Modalities (e.g. ["CT", "MRI"]) on whose images a yes/no question that asks only which modality/plane the
        # image is gets the radiology expert's confident classification instead of the model's (docs/vlm.md).
        modalities = meta.get("expert_yes_no")
        self.expert_yes_no = tuple(modalities) if modalities else None
        self.context_length = getattr(causal_lm(vlm.lm).config, "max_position_embeddings", None)

    @classmethod
    def from_config(cls, config: LLMConfig):
        folder = Path(config.model).expanduser() if config.model not in ("", "default") else None
        if folder is not None and folder.is_dir() and not (folder / "vlm.json").is_file():
            hf = _hf_config(folder)
            if hf is not None:
                if config.case_memory:  # asked for: never silently ignored
                    raise UserInputError(f"--case-memory: {folder} is a Hugging Face LLaVA checkpoint, which has no "
                                         "case memory (only bundles from `vmed train vlm` have one); leave it out")
                return LlavaBackend.from_config(config)
        folder = bundle_folder(config.model)
        meta = read_meta(folder)
        memory = CaseMemory.load(folder, meta) if config.case_memory else None  # before the weights load
        if config.case_memory and memory is None:  # asked for: not silently answered without it
            raise UserInputError(f"--case-memory: the VLM bundle {folder} has no case memory ({MEMORY}); build it "
                                 f"with `vmed train vlm -c RECIPE --memory {folder}`, or leave --case-memory out")
        _set_threads(config)
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM

        from ..llm.hf import best_device, load_tokenizer, quiet_weight_loading, resolve_model_source
        from .encoders import load_encoder

        if config.adapter not in (None, "none"):
            raise UserInputError("--adapter does not apply to a VLM: its LoRA adapter is part of the VLM folder")
        source = resolve_model_source(meta["language_model"], local_only=True)  # a hub id not cached fails at once
        check_language_model(meta, AutoConfig.from_pretrained(source), str(folder))  # before the weights load
        encoder = load_encoder(meta["encoder"], local_only=True)  # a hub id not cached fails at once
        if encoder.channels != meta["encoder_channels"]:
            raise UserInputError(f"the VLM in {folder} was trained on {meta['encoder_channels']}-channel features but "
                                 f"the encoder '{meta['encoder']}' gives {encoder.channels}: mismatched projector")
        tokenizer = load_tokenizer(source)
        with quiet_weight_loading():
            lm = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
        if (folder / ADAPTER).is_dir():
            problem = None
            try:  # a plain LoRA merges straight into the weights; other adapters go through peft
                if not merge_adapter(lm, folder / ADAPTER):
                    lm, problem = _merge_with_peft(lm, folder / ADAPTER)
            except (OSError, ValueError, RuntimeError, KeyError) as exc:
                problem = str(exc).splitlines()[0]
            if problem:
                raise UserInputError(f"the LoRA adapter in {folder / ADAPTER} does not fit "
                                     f"'{meta['language_model']}' ({problem}): mismatched projector/adapter")
        vlm = VisionLanguageModel(lm.eval(), tokenizer, load_projector(folder, meta), meta["grid"]).eval()
        vlm.to(best_device())  # fp32 there too: the yes/no bias was chosen in fp32
        label = "default" if folder == DEFAULT_BUNDLE else folder.name
        return cls(vlm, encoder, meta, f"vlm:{label} ({meta['encoder']} + {meta.get('language_model_label', meta['language_model'])})",
                   memory)

    def wants_facts(self, question: str) -> bool:
        from ..closed import is_yes_no

        return self.uses_facts and (self.facts_on_yes_no or not is_yes_no(question))

    def build_prompt(self, question: str, facts: str | None, has_image: bool, remembered: str | None = None) -> str:
        """`remembered`: a remembered case's line (case memory, `use: prompt`); it goes in whatever the question."""
        facts = facts if self.wants_facts(question) else None
        lines = "\n".join(text.strip() for text in (remembered, facts) if text) or None
        return build_vlm_prompt(question, lines, has_image)

    def yes_no_options(self) -> tuple[str, str]:
        return " yes", " no"  # how answers were trained: after "Answer:" with a space

    def encode(self, image: LoadedImage) -> EncodedImage:
        import torch

        maps = self.encoder.feature_maps([image.image])
        with torch.inference_mode():
            tokens = self.vlm.image_tokens(maps)[0]
        return EncodedImage(tokens, self.memory.vectors(maps)[0] if self.memory is not None else None)

    def stream_with(self, prompt, image, settings):
        return self.vlm.stream(prompt, image.tokens if image is not None else None, settings)

    def count_with(self, text, image, special: bool = True) -> int:
        if not special:  # a text of its own (an answer): no BOS, no image tokens
            return len(self.vlm.tokenizer(text, add_special_tokens=False)["input_ids"])
        return self.vlm.count_tokens(text, image is not None)

    def score_with(self, prompt, image, continuations):
        return self.vlm.score_continuations(prompt, image.tokens if image is not None else None, continuations)


class LlavaBackend(_ImageModel):
    """A Hugging Face LLaVA checkpoint (LLaVA-1.5, LLaVA-Med v1.5 -hf): its own processor and chat template."""

    def __init__(self, model, processor, name: str):
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.name = name
        text = getattr(model.config, "text_config", model.config)
        self.context_length = getattr(text, "max_position_embeddings", None)

    @classmethod
    def from_config(cls, config: LLMConfig):
        from transformers import AutoProcessor, LlavaForConditionalGeneration

        from ..llm.hf import best_device, pick_dtype, quantization_config, quiet_weight_loading

        folder = Path(config.model).expanduser()
        hf = _hf_config(folder)
        if hf is None:
            raise UserInputError(f"{folder} is neither a VLM folder (vlm.json) nor a Hugging Face checkpoint (config.json)")
        if "vision_config" not in hf:
            raise UserInputError(f"{folder} has no vision tower (config.json has no vision_config; model_type "
                                 f"'{hf.get('model_type')}'): use it as a text model with --model {folder}, not vlm:")
        if hf.get("model_type") not in ("llava", "llava_next", "llava_onevision"):
            raise UserInputError(f"{folder}: model_type '{hf.get('model_type')}' is not a LLaVA checkpoint "
                                 "(LlavaForConditionalGeneration)")
        _set_threads(config)
        device = best_device()
        kwargs = {"dtype": pick_dtype(config.dtype, device)}
        quant = quantization_config(config.quantization)
        if quant is not None:
            kwargs.update(quantization_config=quant, device_map=config.device_map or "auto")
        elif config.device_map:
            kwargs["device_map"] = config.device_map
        try:
            processor = AutoProcessor.from_pretrained(folder)
            with quiet_weight_loading():
                model = LlavaForConditionalGeneration.from_pretrained(folder, **kwargs)
        except (OSError, ValueError) as exc:
            raise UserInputError(f"could not load the LLaVA checkpoint {folder}: {str(exc).splitlines()[0]}") from None
        if "device_map" not in kwargs:
            model.to(device)
        if getattr(processor, "chat_template", None) is None and getattr(processor.tokenizer, "chat_template", None) is None:
            raise UserInputError(f"{folder} has no chat template (chat_template.json or in tokenizer_config.json)")
        if processor.tokenizer.pad_token_id is None:
            processor.tokenizer.pad_token = processor.tokenizer.eos_token
        return cls(model.eval(), processor, f"llava:{folder.name}")

    def build_prompt(self, question: str, facts: str | None, has_image: bool, remembered: str | None = None) -> str:
        facts = "\n".join(text.strip() for text in (remembered, facts) if text) or None
        content = ([{"type": "image"}] if has_image else []) + [
            {"type": "text", "text": f"{facts.strip()}\n{question}" if facts else question}]
        return self.processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)

    def yes_no_options(self) -> tuple[str, str]:
        return "Yes", "No"

    def encode(self, image: LoadedImage):
        from .encoders import check_image

        check_image(image.image, self.name)
        return image.image

    def _inputs(self, prompt: str, image):
        if getattr(self.processor, "image_token", "<image>") not in prompt:
            image = None  # a prompt without the image placeholder (text-only question) gets no pixels
        try:
            inputs = self.processor(images=image, text=prompt, return_tensors="pt") if image is not None \
                else self.processor(text=prompt, return_tensors="pt")
        except ValueError as exc:
            raise UserInputError(f"the LLaVA processor cannot take this input: {str(exc).splitlines()[0]}") from None
        return inputs.to(self.model.device)

    def stream_with(self, prompt, image, settings):
        from ..llm.hf import HFModel

        # HFModel.stream generates from tokenized text; here the processor's inputs (with pixels) are passed in.
        runner = HFModel(self.model, self.tokenizer, name=self.name, device=str(self.model.device))
        return runner.stream(prompt, settings, inputs=self._inputs(prompt, image))

    def count_with(self, text, image, special: bool = True) -> int:
        if not special or image is None or getattr(self.processor, "image_token", "<image>") not in text:
            return len(self.tokenizer(text, add_special_tokens=special)["input_ids"])
        return int(self._inputs(text, image)["input_ids"].shape[1])

    def score_with(self, prompt, image, continuations):
        import torch

        base = self._inputs(prompt, image)
        scores = []
        for text in continuations:
            ids = torch.tensor([self.tokenizer(text, add_special_tokens=False)["input_ids"]], device=self.model.device)
            full = torch.cat([base["input_ids"], ids], dim=1)
            extra = {k: v for k, v in base.items() if k not in ("input_ids", "attention_mask")}
            with torch.inference_mode():
                logits = self.model(input_ids=full, attention_mask=torch.ones_like(full), **extra).logits[0].float()
            start = base["input_ids"].shape[1]
            logprobs = torch.log_softmax(logits[start - 1:start - 1 + ids.shape[1]], dim=-1)
            scores.append(float(logprobs[torch.arange(ids.shape[1]), ids[0]].sum()))
        return scores

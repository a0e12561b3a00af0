"""Hugging Face causal LMs: full weights or base + LoRA (peft), 8/4-bit on CUDA, streamed generation.

This backend is for users' checkpoints and for training; the embedded default runs on llama.cpp.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..config import GenerationSettings, LLMConfig
from ..errors import BackendError, UserInputError
from ..paths import cache_dir, cached_hub_folder, looks_like_path
from ..prompts import stop_sequences
from .base import Generation


def _torch():
    import torch

    return torch


@contextmanager
def quiet_weight_loading():
    """transformers' "Loading weights" progress bar off while weights load (its own switch, restored after), so
    `vmed ask --model vlm:... --quiet` and the hf backend print nothing on stderr but errors. The one place that
    turns it off: the hf backend, the VLM bundle and LLaVA loaders and the HF vision encoder use it."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def best_device() -> str:
    """Where a model runs: "cuda" where PyTorch sees a GPU, else "cpu" (the hf backend, the VLM bundle, LLaVA and an
    HF vision tower all choose so)."""
    return "cuda" if _torch().cuda.is_available() else "cpu"


def pick_dtype(name: str, device: str):
    torch = _torch()
    if name != "auto":
        return getattr(torch, name)
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32  # bf16 matmuls are far slower than fp32 on most CPUs


def quantization_config(mode: str):
    """bitsandbytes 8/4-bit config, refused clearly where there is no CUDA."""
    if mode == "none":
        return None
    if not _torch().cuda.is_available():
        raise UserInputError(
            f"{mode} loading needs a CUDA GPU (bitsandbytes); none is available here. "
            "Use quantization 'none' on CPU, or the gguf backend for a quantized CPU model."
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise UserInputError(f"{mode} loading needs bitsandbytes: pip install bitsandbytes") from None
    from transformers import BitsAndBytesConfig

    if mode == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=_torch().bfloat16,
    )


# Files AutoTokenizer.from_pretrained would read beside tokenizer.json / tokenizer_config.json: a folder holding
# any of them takes the ordinary path. The two config keys are from_pretrained's own bookkeeping.
_TOKENIZER_EXTRAS = ("special_tokens_map.json", "added_tokens.json", "chat_template.jinja", "chat_template.json",
                     "tokenizer.model", "additional_chat_templates")
_TOKENIZER_BOOKKEEPING = ("backend", "tokenizer_class", "is_local", "local_files_only")


def load_tokenizer(source: str):
    """AutoTokenizer.from_pretrained(source), the same tokenizer, loaded ~2.5x faster where it can be.

    transformers 5 builds a GemmaTokenizer (Gemma-3's 262k vocabulary, 515k merges) by parsing its 33 MB
    tokenizer.json in Python and rebuilding the BPE from the lists (~5 s on 2 cores). When the file's pipeline
    (normalizer, pre-tokenizer, decoder, BPE settings) is the one GemmaTokenizer builds, the Rust loader reads the
    file directly (~1.6 s) into the same class: same ids, same special tokens, same padding side."""
    folder = Path(source)
    tokenizer = _gemma_from_file(folder) if folder.is_dir() else None
    if tokenizer is None:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(source)
    return tokenizer


def _gemma_from_file(folder: Path):
    import json

    config_file, file = folder / "tokenizer_config.json", folder / "tokenizer.json"
    if not (config_file.is_file() and file.is_file()) or any((folder / n).exists() for n in _TOKENIZER_EXTRAS):
        return None
    settings = json.loads(config_file.read_text(encoding="utf-8"))
    if settings.get("tokenizer_class") != "GemmaTokenizer" or "added_tokens_decoder" in settings:
        return None
    from transformers import GemmaTokenizer

    try:  # transformers 5: GemmaTokenizer is a tokenizers-library class; before, a sentencepiece one
        from transformers.tokenization_utils_tokenizers import TokenizersBackend
    except ImportError:
        return None
    if not issubclass(GemmaTokenizer, TokenizersBackend):
        return None
    kwargs = {k: v for k, v in settings.items() if k not in _TOKENIZER_BOOKKEEPING}
    tokenizer = GemmaTokenizer(tokenizer_file=str(file), name_or_path=str(folder), **kwargs)
    special = tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in kwargs.items() if k.endswith("_token")))
    return tokenizer if _pipeline(tokenizer.backend_tokenizer) == _gemma_pipeline(special) else None


def _pipeline(backend) -> tuple:
    """What must match for the Rust-loaded file to be the tokenizer GemmaTokenizer would build."""
    model = backend.model
    names = ("fuse_unk", "byte_fallback", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix",
             "ignore_merges")
    return (str(backend.normalizer), str(backend.pre_tokenizer), str(backend.decoder), type(model).__name__,
            [getattr(model, n, None) for n in names])


@functools.lru_cache(maxsize=8)
def _gemma_pipeline(special: tuple[tuple[str, str], ...]) -> tuple:
    """The pipeline of an empty GemmaTokenizer with these special tokens (JSON values), built once per process."""
    import json

    from transformers import GemmaTokenizer

    return _pipeline(GemmaTokenizer(**{k: json.loads(v) for k, v in special}).backend_tokenizer)


def gguf_as_hf_folder(gguf_path: Path) -> Path:
    """Dequantize a GGUF once into a cached safetensors folder (60 s once, then ~3 s per load)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    stat = gguf_path.stat()
    key = hashlib.sha1(f"{gguf_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    folder = cache_dir("hf-from-gguf", f"{gguf_path.stem}-{key}")
    if (folder / "config.json").is_file() and (folder / "tokenizer_config.json").is_file():
        return folder
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model.hf_quantizer = None  # save_pretrained refuses a GGUF-loaded model otherwise
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = folder.with_name(folder.name + ".partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    if folder.exists():
        folder.rmdir()
    partial.replace(folder)
    return folder


def resolve_model_source(model: str, local_only: bool = False) -> str:
    """A local folder, a .gguf file (converted once) or a hub id. `local_only` (the hf backend: `--model`): a hub
    id is read from the local HF cache only, as its snapshot folder, so nothing goes to the network; otherwise
    (training recipes) `from_pretrained` may download it."""
    if model == "default":
        from .default_model import default_gguf_path

        return str(gguf_as_hf_folder(default_gguf_path()))
    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return str(gguf_as_hf_folder(path))
    if path.exists() and not path.is_dir():
        raise UserInputError(f"model path {model} is a file; the hf backend needs a model folder or a .gguf")
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UserInputError(f"{model} is not a Hugging Face model folder (no config.json)")
        return str(path)
    if looks_like_path(model):
        raise UserInputError(f"model folder not found: {model}")
    if local_only:
        return cached_hub_folder(model)  # a hub id not cached fails here, at once
    return model  # a hub id


class HFModel:
    def __init__(self, model, tokenizer, *, name: str, device: str):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        self.context_length = getattr(model.config, "max_position_embeddings", None)

    @classmethod
    def from_config(cls, config: LLMConfig) -> HFModel:
        torch = _torch()
        from transformers import AutoModelForCausalLM

        quant = quantization_config(config.quantization)
        source = resolve_model_source(config.model, local_only=True)  # a hub id not cached fails here, at once
        adapter = adapter_folder(config.adapter)  # checked before minutes of weight loading, not after
        device = best_device()
        kwargs = {"dtype": pick_dtype(config.dtype, device)}
        if quant is not None:
            kwargs["quantization_config"] = quant
        if config.device_map or quant is not None:
            kwargs["device_map"] = config.device_map or "auto"
        try:
            tokenizer = load_tokenizer(source)
            with quiet_weight_loading():
                model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
        except OSError as exc:
            raise UserInputError(
                f"could not load model '{config.model}': not a local model folder and not in the "
                f"Hugging Face cache (this machine may be offline). Details: {str(exc).splitlines()[0]}"
            ) from None
        if "device_map" not in kwargs:
            model.to(device)
        name = Path(config.model).name if config.model != "default" else "gemma-3-270m (hf)"
        if adapter is not None:
            from peft import PeftModel

            with quiet_weight_loading():
                model = PeftModel.from_pretrained(model, str(adapter))
            name += f" + {adapter.name}"
        model.eval()
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        return cls(model, tokenizer, name=name, device=device)

    def count_tokens(self, text: str, special: bool = True) -> int:
        return len(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    def stream(self, prompt: str, settings: GenerationSettings, inputs=None, stop_strings: bool = True) -> Generation:
        """`inputs`: ready model inputs (a LLaVA processor's, with pixels; or a VLM's inputs_embeds) instead of the
        tokenized prompt. `stop_strings=False` skips building the stop-string table (seconds on a 262k vocabulary);
        generate_stream's stop filter still cuts at the Alpaca headers."""
        return Generation(lambda out: self._generate(prompt, settings, inputs, stop_strings, out))

    def _generate(self, prompt: str, settings: GenerationSettings, inputs, stop_strings: bool,
                  out: Generation) -> Iterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer, set_seed

        cancelled = threading.Event()
        out.tokens = 0

        class Cancel(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):  # called once per token generated
                out.tokens += 1
                return cancelled.is_set()

        if inputs is None:
            inputs = self.tokenizer(prompt, return_tensors="pt").to(self.model.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
        sampling = settings.temperature > 0
        kwargs = dict(
            **inputs, streamer=streamer, max_new_tokens=settings.max_new_tokens, do_sample=sampling,
            repetition_penalty=settings.repetition_penalty, pad_token_id=self.tokenizer.pad_token_id,
            stopping_criteria=StoppingCriteriaList([Cancel()]),
        )
        if stop_strings:
            kwargs.update(stop_strings=stop_sequences(settings.stop), tokenizer=self.tokenizer)
        if sampling:
            kwargs.update(temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        failure: list[BaseException] = []

        def run():
            try:
                set_seed(settings.seed)
                with _torch().inference_mode(), warnings.catch_warnings():
                    # with inputs_embeds (a VLM) the repetition penalty sees only generated tokens: intended
                    warnings.filterwarnings("ignore", message="Passing `repetition_penalty` with `inputs_embeds`")
                    self.model.generate(**kwargs)
            except BaseException as exc:  # surfaced in the consumer's thread below
                failure.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            cancelled.set()
            worker.join()
        if failure:
            raise BackendError(f"generation failed: {failure[0]}") from failure[0]

    def score_continuations(self, prompt: str, continuations: list[str]) -> list[float]:
        """All continuations in one right-padded batch; sums the log-probabilities of their tokens."""
        torch = _torch()
        prompt_ids = self.tokenizer(prompt)["input_ids"]
        options = [self.tokenizer(text, add_special_tokens=False)["input_ids"] for text in continuations]
        rows = [prompt_ids + ids for ids in options]
        width = max(len(r) for r in rows)
        if self.context_length and width > self.context_length:
            raise UserInputError(f"the prompt is too long for the model ({width} tokens of {self.context_length})")
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=self.model.device)
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=self.model.device)
        with torch.inference_mode():
            logits = self.model(input_ids=input_ids, attention_mask=mask).logits.float()
        logprobs = torch.log_softmax(logits, dim=-1)
        start = len(prompt_ids)
        scores = []
        for row, ids in enumerate(options):
            positions = torch.arange(start - 1, start - 1 + len(ids), device=logprobs.device)
            targets = torch.tensor(ids, device=logprobs.device)
            scores.append(float(logprobs[row, positions, targets].sum()))
        return scores


def adapter_folder(adapter: str | None) -> Path | None:
    """The peft adapter folder to attach, None for the base model; a clear error for anything else."""
    if not adapter or adapter.lower() == "none":
        return None
    if adapter.lower() == "medical":
        raise UserInputError("the shipped 'medical' adapter is a GGUF LoRA for the embedded Gemma-3-270M (gguf backend); "
                             "for a Hugging Face model pass a peft adapter folder, such as one `vmed train lora` writes")
    path = Path(adapter).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise UserInputError(f"LoRA adapter not found: {adapter} (expected a folder with adapter_config.json)")
    return path

"""GGUF models through llama.cpp (llama-cpp-python): the fast CPU path and the embedded default."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from ..config import GenerationSettings, LLMConfig
from ..errors import BackendError, UserInputError
from ..paths import ASSETS
from ..prompts import stop_sequences
from .base import Generation
from .default_model import DEFAULT_MODEL_LABEL, default_gguf_path

# The medical GGUF LoRA adapter trained here for the default model, chosen with `--adapter medical`. It is not
# the default: it lowers medical-answer perplexity but makes image yes/no answers worse (docs/training.md).
MEDICAL_ADAPTER = ASSETS / "adapters" / "gemma-270m-med-lora.gguf"
GGUF_MAGIC = b"GGUF"  # the first four bytes of every GGUF file


def is_gguf(path: Path) -> bool:
    """Whether `path` is a readable file that starts like a GGUF file (checked before llama.cpp loads it)."""
    try:
        with path.open("rb") as handle:
            return handle.read(4) == GGUF_MAGIC
    except OSError:
        return False


class GGUFModel:
    def __init__(self, model_path: Path, *, adapter: Path | None, n_ctx: int, threads: int | None, label: str):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise BackendError("the gguf backend needs llama-cpp-python (pip install llama-cpp-python)") from None
        threads = threads or min(os.cpu_count() or 1, 8)
        kwargs = dict(  # prompt processing too: llama.cpp's batch threads otherwise default to every core
            model_path=str(model_path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
            verbose=False, logits_all=False,
        )
        if adapter is not None:
            kwargs["lora_path"] = str(adapter)
        with _native_stderr_captured() as log, _interrupt_after():
            try:
                self.llama = Llama(**kwargs)
            except (ValueError, RuntimeError) as exc:
                failure = exc
            else:
                failure = None
        if failure is not None:
            detail = " ".join(log.text.split()[-40:])
            raise BackendError(f"llama.cpp could not load {model_path}: {failure}. {detail}".strip())
        self.name = label + (f" + {adapter.name}" if adapter else "")
        self.context_length = n_ctx
        self.adapter = adapter

    @classmethod
    def from_config(cls, config: LLMConfig) -> GGUFModel:
        if config.model == "default":
            path, label = default_gguf_path(), DEFAULT_MODEL_LABEL
        else:
            path, label = Path(config.model).expanduser(), Path(config.model).name
            if not path.is_file():
                raise UserInputError(f"GGUF model file not found: {config.model}")
            if not is_gguf(path):
                raise UserInputError(f"{config.model} is not a GGUF model file (it does not start with 'GGUF')")
        adapter = adapter_path(config.adapter)
        return cls(path, adapter=adapter, n_ctx=config.n_ctx, threads=config.threads, label=label)

    def count_tokens(self, text: str, special: bool = True) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=special, special=False))

    def stream(self, prompt: str, settings: GenerationSettings) -> Generation:
        return Generation(lambda out: self._generate(prompt, settings, out))

    def _generate(self, prompt: str, settings: GenerationSettings, out: Generation) -> Iterator[str]:
        from llama_cpp import StoppingCriteriaList

        first: list[int] = []  # the length of the token list at llama.cpp's first check (one check per token sampled)

        def count(input_ids, logits) -> bool:
            # the k-th sampled token is checked with prompt + k - 1 tokens (so is the end, after the last one): the
            # tokens sampled are the growth since the first check, plus that first one
            if not first:
                first.append(len(input_ids))
            out.tokens = len(input_ids) - first[0] + 1
            return False

        # Reusing a cached prompt prefix changes llama.cpp's batch shapes and so, over a long greedy answer,
        # the text; starting from an empty cache keeps every answer reproducible (the prefix is ~40 tokens).
        self.llama.reset()
        out.tokens = 0
        pieces = self.llama.create_completion(
            prompt,
            max_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            top_p=settings.top_p,
            top_k=settings.top_k,
            repeat_penalty=settings.repetition_penalty,
            seed=settings.seed,
            stop=stop_sequences(settings.stop),
            stopping_criteria=StoppingCriteriaList([count]),
            stream=True,
        )
        for chunk in pieces:
            text = chunk["choices"][0]["text"]
            if text:
                yield text

    def score_continuations(self, prompt: str, continuations: list[str]) -> list[float]:
        """The prompt is evaluated once; each continuation is then fed token by token from that cached state."""
        import llama_cpp
        import numpy as np

        prompt_tokens = self.llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
        if len(prompt_tokens) + 8 > self.context_length:
            raise UserInputError(f"the prompt is too long for the model ({len(prompt_tokens)} tokens of {self.context_length})")
        n_vocab = self.llama.n_vocab()

        def last_logprobs():
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.llama.ctx, -1), shape=(n_vocab,))
            logits = logits.astype(np.float64)
            return logits - (np.log(np.exp(logits - logits.max()).sum()) + logits.max())

        self.llama.reset()
        self.llama.eval(prompt_tokens)
        after_prompt = last_logprobs()
        scores = []
        for text in continuations:
            tokens = self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
            self.llama.n_tokens = len(prompt_tokens)  # eval() drops the cache past this point
            logprobs, total = after_prompt, 0.0
            for i, token in enumerate(tokens):
                total += float(logprobs[token])
                if i + 1 < len(tokens):
                    self.llama.eval([token])
                    logprobs = last_logprobs()
            scores.append(total)
        return scores


def adapter_path(requested: str | None) -> Path | None:
    """The .gguf LoRA file `llm.adapter` names ('medical': the packaged one; None or 'none': no adapter)."""
    if requested is None or requested.lower() == "none":
        return None
    if requested.lower() == "medical":
        return MEDICAL_ADAPTER
    path = Path(requested).expanduser()
    if not path.is_file():
        raise UserInputError(f"GGUF LoRA adapter not found: {requested} (llama.cpp needs a .gguf adapter file)")
    return path


class _Captured:
    text = ""  # what was written to fd 2, once the block has ended


@contextlib.contextmanager
def _interrupt_after():
    """A ctrl-C during the block is raised when it ends. llama.cpp calls back into Python (llama-cpp-python's log
    callback) while it loads, and a KeyboardInterrupt raised inside that ctypes callback is swallowed there, so the
    load went on as if no key had been pressed. Main thread only (where Python delivers signals)."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    pressed: list[int] = []
    signal.signal(signal.SIGINT, lambda number, frame: pressed.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if pressed:
        raise KeyboardInterrupt


@contextlib.contextmanager
def _native_stderr_captured():
    """llama.cpp writes load-time notices straight to fd 2; keep them for error messages, off the terminal.
    The text is read before the temporary file closes: `captured.text` after the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    captured = _Captured()
    with tempfile.TemporaryFile(mode="w+") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            log.seek(0)
            captured.text = log.read()

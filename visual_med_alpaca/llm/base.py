"""The language-model protocol, the backend registry, and clean stopping shared by every backend."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from ..config import GenerationSettings, LLMConfig
from ..errors import UserInputError
from ..paths import local_or_cached
from ..prompts import STOP_SEQUENCES, stop_sequences
from ..registry import load_class


@runtime_checkable
class LanguageModel(Protocol):
    """A text-completion model. `stream` yields raw text pieces (a `Generation` when the backend knows how many tokens
    it generated); stopping is handled by `generate_stream`. `count_tokens` counts a text's tokens as the model's input
    (with the special tokens its tokenizer adds, such as BOS) or, with `special=False`, the text's own tokens alone;
    None: no tokenizer here (a remote server's)."""

    name: str
    context_length: int | None

    def stream(self, prompt: str, settings: GenerationSettings) -> Iterator[str]: ...

    def count_tokens(self, text: str, special: bool = True) -> int | None: ...


class Generation(Iterator[str]):
    """What a backend's `stream` returns when it knows how many tokens the model generated: iterate it for the text
    pieces; `tokens` is that count (every token sampled, the end-of-text token included), final once the stream has
    ended or been closed; None while unknown (a server that reported no usage). `prompt_tokens`: the prompt's tokens
    as a remote server counted them (the openai backend, whose tokenizer is the server's: its usage), None when no
    server said. `pieces(generation)` makes the pieces and sets `generation.tokens`. A backend that cannot tell
    returns a plain iterator of text, and the answer's text is counted instead (`pipeline.Assistant.answer_tokens`)."""

    def __init__(self, pieces: Callable[[Generation], Iterator[str]]):
        self.tokens: int | None = None
        self.prompt_tokens: int | None = None
        self._pieces = pieces(self)

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()


@runtime_checkable
class ScoresContinuations(Protocol):
    """Optional extra a backend may offer: log-likelihood scoring, for multiple choice with base models."""

    def score_continuations(self, prompt: str, continuations: list[str]) -> list[float]:
        """Sum of token log-probabilities of each continuation right after `prompt`."""
        ...


@runtime_checkable
class SeesImages(Protocol):
    """A vision-language model: the assistant gives it the image (`bind`) instead of an expert's text."""

    uses_facts: bool  # whether its prompts may carry the expert's text (then `wants_facts` says for which question)
    yes_no_bias: float  # log-odds added to "yes" before the yes/no decision (calibrated on a dev set; 0 = none)
    # modalities whose images' modality/plane-only yes/no questions the radiology expert decides (None = never)
    expert_yes_no: tuple[str, ...] | None

    def bind(self, image) -> LanguageModel: ...

    def wants_facts(self, question: str) -> bool:
        """Whether this question's prompt carries the expert's text (only then do the router and expert run)."""
        ...

    def build_prompt(self, question: str, facts: str | None, has_image: bool, remembered: str | None = None) -> str: ...

    def yes_no_options(self) -> tuple[str, str]: ...

    def recall(self, question: str, bound: LanguageModel):
        """Its case memory's remembered training case for this question about the bound image (vlm/memory.py:
        `Case`), or None: no memory, no image, or nothing close enough."""
        ...


# name -> "module:Class"; imported only when chosen, so `vmed --help` never loads torch or llama.cpp.
BACKENDS: dict[str, str] = {
    "gguf": "visual_med_alpaca.llm.gguf:GGUFModel",
    "hf": "visual_med_alpaca.llm.hf:HFModel",
    "openai": "visual_med_alpaca.llm.openai_compat:OpenAICompatModel",
    "vlm": "visual_med_alpaca.vlm.backend:VLMBackend",  # vision-language: vlm:default, vlm:FOLDER, vlm:LLAVA_FOLDER
}


def resolve_backend(config: LLMConfig) -> str:
    """Pick the backend when the config says 'auto': from a URL, a file suffix or a folder."""
    if config.backend != "auto":
        return config.backend
    model = config.model
    for name in BACKENDS:  # explicit "gguf:path", "hf:id", "openai:name"
        if model.startswith(name + ":"):
            return name
    if config.base_url:
        return "openai"
    if model == "default" or model.lower().endswith(".gguf"):
        return "gguf"
    return "hf"


def strip_backend_prefix(model: str) -> str:
    for name in BACKENDS:
        if model.startswith(name + ":"):
            return model[len(name) + 1:]
    return model


def check_model_exists(config: LLMConfig) -> None:
    """Refuse a model or adapter that is not there (a GGUF or adapter file, a model folder, a hub id not in the
    local Hugging Face cache) without loading it, so that an answer that needs no model (the knowledge stage's
    extractive or "no source" answer) still refuses a mistyped --model. Not checked here: the embedded default
    (finding it may assemble it), a server's model names (openai) and vlm: models (a VLM is always loaded)."""
    backend = resolve_backend(config)
    model = strip_backend_prefix(config.model)
    if backend == "gguf":
        from .engine import gguf_model_path
        from .gguf import adapter_path

        if model == "default":
            adapter_path(config.adapter)
        else:
            gguf_model_path(config)  # the file and its adapter
    elif backend == "hf":
        from .hf import adapter_folder

        if model != "default":
            local_or_cached(model)
        adapter_folder(config.adapter)


def load_language_model(config: LLMConfig) -> LanguageModel:
    backend = resolve_backend(config)
    cls = load_class(BACKENDS, backend, "backend")
    if config.case_memory and backend != "vlm":  # asked for: never silently ignored
        raise UserInputError(f"--case-memory applies to vlm: models (bundles from `vmed train vlm`), not to the "
                             f"{backend} model '{config.model}'; leave it out")
    return cls.from_config(config.model_copy(update={"model": strip_backend_prefix(config.model)}))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class StopFilter:
    """Turns a raw token stream into the answer: cut at the next Alpaca header or a repeated sentence.

    Text that might be the start of a stop sequence (or of a repeat) is held back until it is
    decided, so what has been streamed to a user never has to be taken back.
    """

    def __init__(self, stops: tuple[str, ...] = STOP_SEQUENCES, stop_on_repeat: bool = True):
        self.stops = stops
        self.stop_on_repeat = stop_on_repeat
        self.text = ""
        self.emitted = 0
        self.started = False
        self.stopped = False

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        self.text += piece
        cut = min((i for i in (self.text.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.text, self.stopped = self.text[:cut], True
        if self.stop_on_repeat:
            repeat_at = self._first_repeat()
            if repeat_at is not None:
                self.text, self.stopped = self.text[:repeat_at], True
        if self.stopped:
            return self.flush()
        return self._emit(self._safe_length())

    def flush(self) -> str:
        """The rest of the text once the model has finished."""
        self.stopped = True
        return self._emit(len(self.text.rstrip()))

    def _emit(self, safe: int) -> str:
        # Never stream leading or trailing whitespace: the answer starts and ends with text.
        if not self.started:
            self.emitted = len(self.text) - len(self.text.lstrip())
        safe = len(self.text[:safe].rstrip())
        if safe <= self.emitted:
            return ""
        out, self.emitted, self.started = self.text[self.emitted:safe], safe, True
        return out

    @property
    def answer(self) -> str:
        return self.text.strip()

    def _sentences(self) -> list[tuple[int, str]]:
        spans, start = [], 0
        for match in _SENTENCE_END.finditer(self.text):
            spans.append((start, self.text[start:match.start()].strip()))
            start = match.end()
        spans.append((start, self.text[start:].strip()))  # the one still being written
        return spans

    def _first_repeat(self) -> int | None:
        seen: set[str] = set()
        for start, sentence in self._sentences()[:-1]:
            if len(sentence) >= 8 and sentence.lower() in seen:
                return start
            seen.add(sentence.lower())
        return None

    def _safe_length(self) -> int:
        text = self.text
        hold = 0
        for stop in self.stops:
            for n in range(min(len(stop), len(text)), 0, -1):
                if text.endswith(stop[:n]):
                    hold = max(hold, n)
                    break
        safe = len(text) - hold
        if self.stop_on_repeat:
            sentences = self._sentences()
            start, partial = sentences[-1]
            earlier = [s.lower() for _, s in sentences[:-1] if len(s) >= 8]
            if partial and any(s.startswith(partial.lower()) for s in earlier):
                safe = min(safe, start)
        return max(safe, self.emitted)


def generate_stream(model: LanguageModel, prompt: str, settings: GenerationSettings) -> Generation:
    """Stream the cleaned answer; closes the backend's stream as soon as the answer is complete. Its `tokens`, once it
    has ended: the tokens the model generated (those past the cut too), as the backend's stream says (None: it did not
    say); `prompt_tokens`: the backend stream's (a server's count of the prompt, or None)."""
    return Generation(lambda out: _cleaned(model, prompt, settings, out))


def _cleaned(model: LanguageModel, prompt: str, settings: GenerationSettings, out: Generation) -> Iterator[str]:
    stop = StopFilter(tuple(stop_sequences(settings.stop)), stop_on_repeat=settings.stop_on_repeat)
    raw = model.stream(prompt, settings)
    try:
        for piece in raw:
            text = stop.feed(piece)
            if text:
                yield text
            if stop.stopped:
                return
        rest = stop.flush()
        if rest:
            yield rest
    finally:
        close = getattr(raw, "close", None)
        if close:
            close()
        out.tokens = raw.tokens if isinstance(raw, Generation) else None
        out.prompt_tokens = raw.prompt_tokens if isinstance(raw, Generation) else None

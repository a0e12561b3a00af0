"""The assistant: image -> router -> visual expert -> text; question + text -> prompt -> LLM -> answer.

`Assistant` is the one Python API; the CLI, the Gradio demo and the HTTP server only call it.
Models (router, experts, LLM) load once and are reused across questions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import AssistantConfig, GenerationSettings, load_config
from .errors import UserInputError
from .experts import load_expert
from .images import LoadedImage, from_pil, load_image
from .llm import LanguageModel, generate_stream, load_language_model
from .prompts import RESEARCH_NOTICE, build_prompt
from .router import EXPERT_FOR_CLASS, load_router

MAX_QUESTION_CHARS = 20_000
MIN_ANSWER_TOKENS = 16  # a prompt that leaves less room than this in the context is refused


@dataclass
class Description:
    """The image -> text half: which expert ran, the router's class scores and the expert's text."""

    expert: str
    route: dict[str, float]
    text: str | None
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    answer: str
    expert: str
    expert_text: str | None
    prompt: str
    model: str
    timings: dict[str, float]
    notice: str = RESEARCH_NOTICE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class AnswerStream:
    """Iterate for answer text as it is generated; `result` holds the full `Answer` afterwards."""

    def __init__(self, assistant: Assistant, prompt: str, description: Description, settings: GenerationSettings,
                 started: float):
        self.prompt = prompt
        self.description = description
        self._assistant = assistant
        self._settings = settings
        self._started = started
        self.result: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        llm = self._assistant.llm
        timings = dict(self.description.timings)
        pieces: list[str] = []
        generate_start = time.perf_counter()
        for piece in generate_stream(llm, self.prompt, self._settings):
            if not pieces:
                timings["first_token_s"] = time.perf_counter() - self._started
            pieces.append(piece)
            yield piece
        answer = "".join(pieces).strip()
        timings["generate_s"] = time.perf_counter() - generate_start
        timings["total_s"] = time.perf_counter() - self._started
        tokens = llm.count_tokens(answer) if answer else 0
        if tokens:
            timings["answer_tokens"] = tokens
        self.result = Answer(answer, self.description.expert, self.description.text, self.prompt, llm.name,
                             {k: round(v, 4) for k, v in timings.items()})


def _expert_for(route: dict[str, float]) -> tuple[str, float]:
    """The expert with the most probability, summed over the classes it serves: classes that share an
    expert (pathology and other) should not split the vote and leave a clear choice unmade."""
    by_expert: dict[str, float] = {}
    for image_class, probability in route.items():
        expert = EXPERT_FOR_CLASS.get(image_class, "none")
        by_expert[expert] = by_expert.get(expert, 0.0) + probability
    return max(by_expert.items(), key=lambda kv: kv[1])


class Assistant:
    def __init__(self, config: AssistantConfig | None = None, llm: LanguageModel | None = None):
        self.config = config or AssistantConfig()
        self._llm = llm
        self.llm_load_s: float | None = None
        # The image half runs one image at a time: the router and experts are cached, shared instances.
        # Generation may run concurrently when the language model allows it (a batching engine).
        self._vision_lock = threading.Lock()

    @classmethod
    def from_config(cls, path: str | Path | None = None, sets: list[str] | None = None, **overrides: Any) -> Assistant:
        """Config from a YAML file, VMED_* env vars, `key=value` items and dotted overrides such as `{'llm.model': 'x'}`."""
        return cls(load_config(AssistantConfig, path, overrides, env_prefix="VMED_", sets=sets))

    @property
    def llm(self) -> LanguageModel:
        if self._llm is None:
            start = time.perf_counter()
            self._llm = load_language_model(self.config.llm)
            self.llm_load_s = time.perf_counter() - start
        return self._llm

    # -- image -> text ------------------------------------------------------------------------------
    def describe(self, image: str | Path | LoadedImage | Any | None, expert: str | None = None) -> Description:
        """Route the image and run its expert; `expert` ('auto', 'none' or a name) overrides the config."""
        if image is None:
            return Description("none", {}, None)
        with self._vision_lock:
            return self._describe(image, expert)

    def _describe(self, image: Any, expert: str | None) -> Description:
        start = time.perf_counter()
        loaded = self._load(image)
        timings = {"load_image_s": time.perf_counter() - start}
        choice = expert or self.config.vision.expert
        route: dict[str, float] = {}
        note = None
        if choice == "auto":
            start = time.perf_counter()
            route = load_router(self.config.vision.router).classify(loaded)
            timings["route_s"] = time.perf_counter() - start
            choice, confidence = _expert_for(route)
            if confidence < self.config.vision.min_confidence:
                best, score = max(route.items(), key=lambda kv: kv[1])
                choice = "none"
                note = (f"The image type could not be determined with confidence (best guess: {best}, "
                        f"{score:.2f}), so no visual expert described it.")
        if choice == "none":
            return Description("none", route, note, _rounded(timings))
        options = self.config.vision.expert_options.get(choice, {})
        start = time.perf_counter()
        text = load_expert(choice, options).describe(loaded)
        timings["expert_s"] = time.perf_counter() - start
        return Description(choice, route, text.strip() or None, _rounded(timings))

    @staticmethod
    def _load(image: Any) -> LoadedImage:
        if isinstance(image, LoadedImage):
            return image
        if isinstance(image, (str, Path)):
            return load_image(image)
        from PIL import Image

        if isinstance(image, Image.Image):
            return from_pil(image)
        raise UserInputError(f"unsupported image input of type {type(image).__name__}")

    # -- question -> answer -------------------------------------------------------------------------
    def stream(self, question: str, image: Any = None, expert: str | None = None,
               settings: GenerationSettings | None = None) -> AnswerStream:
        """Describe the image, build the prompt and return a stream of the answer."""
        started = time.perf_counter()
        question = validate_question(question)
        description = self.describe(image, expert)
        prompt = build_prompt(question, description.text)
        settings = settings or self.config.generation
        llm = self.llm
        if self.llm_load_s is not None:
            description.timings["load_model_s"] = round(self.llm_load_s, 4)
            self.llm_load_s = None  # reported once, on the question that paid for it
        settings = fit_to_context(llm, prompt, settings)
        return AnswerStream(self, prompt, description, settings, started)

    def ask(self, question: str, image: Any = None, expert: str | None = None,
            settings: GenerationSettings | None = None) -> Answer:
        stream = self.stream(question, image, expert, settings)
        for _ in stream:
            pass
        assert stream.result is not None
        return stream.result


def validate_question(question: str) -> str:
    if question is None or not question.strip():
        raise UserInputError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise UserInputError(f"the question is too long ({len(question):,} characters; the limit is {MAX_QUESTION_CHARS:,})")
    return question.strip()


def fit_to_context(llm: LanguageModel, prompt: str, settings: GenerationSettings) -> GenerationSettings:
    """Refuse a prompt that leaves no room to answer; shorten max_new_tokens to what fits."""
    if not llm.context_length:
        return settings
    used = llm.count_tokens(prompt)
    if used is None:
        return settings
    room = llm.context_length - used
    if room < MIN_ANSWER_TOKENS:
        raise UserInputError(
            f"the prompt is too long for the model: {used} tokens of a {llm.context_length}-token context "
            f"(shorten the question)"
        )
    if settings.max_new_tokens > room:
        return settings.model_copy(update={"max_new_tokens": room})
    return settings


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in timings.items()}

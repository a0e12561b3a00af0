"""The assistant: image -> router -> visual expert -> text; question -> knowledge (trusted, cited passages);
question + text + passages -> prompt -> LLM -> answer (or, in extractive mode, the best source's own answer).

`Assistant` is the one Python API; the CLI, the Gradio demo and the HTTP server only call it.
Models (router, experts, LLM) load once and are reused across questions.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .config import AssistantConfig, GenerationSettings, load_config, validate
from .errors import UserInputError
from .experts import check_expert_choice, load_expert
from .images import LoadedImage, from_pil, load_image, too_small_to_classify
from .closed import asked_classes, examined, expert_yes_no, is_yes_no, not_examined_answer
from .knowledge.stage import Consultation, KnowledgeStage, context_text, sources_footer, trim_to_question
from .llm import LanguageModel, generate_stream, load_language_model
from .llm.base import ScoresContinuations, SeesImages, check_model_exists
from .prompts import RESEARCH_NOTICE, build_prompt
from .router import EXPERT_FOR_CLASS, load_router

MAX_QUESTION_CHARS = 20_000
# Control characters other than tab, LF, CR and NEL: C0 (NUL, ESC, backspace, ...), DEL and C1 (U+0080-U+009F, e.g.
# Windows-1252 quotes decoded as Latin-1). No question needs one, and the model would get them as text
# (validate_question refuses them for ask, the Python API and serve alike).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")
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
    sources: list[dict[str, Any]] = field(default_factory=list)  # id, title, url, score, relevance, text
    knowledge_note: str | None = None  # why there are no sources (no index, nothing relevant); what to run
    # A yes/no question answered by option log-likelihood: each option's log-probability (before any bias).
    option_logprobs: dict[str, float] | None = None
    # A VLM's case memory matched (vlm/memory.py): the remembered training case (id, question, answer, image, how
    # similar, source, use: "answer" = this answer is the remembered one, "prompt" = the model answered with it).
    remembered: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class AnswerStream:
    """Iterate for answer text as it is generated; `result` holds the full `Answer` afterwards.

    With knowledge, the sources' footer ("Sources: [1] title — URL") is streamed last. `llm` is None for an
    answer the knowledge stage gives without a model (extractive, or "no source found"). `count_answer` counts the
    answer's tokens (Assistant.answer_tokens for the model that answers, given the tokens generated and the chosen
    yes/no option as keywords; None: nobody counts here)."""

    def __init__(self, llm: LanguageModel | None, prompt: str, description: Description, settings: GenerationSettings,
                 started: float, prefix: str | None = None, fixed: str | None = None,
                 consultation: Consultation | None = None, option_logprobs: dict[str, float] | None = None,
                 prompt_tokens: int | None = None, remembered=None,
                 count_answer: Callable[..., int | None] | None = None):
        self.prompt = prompt
        self.remembered = remembered  # a vlm/memory.py Case: where the answer (or its prompt's context) came from
        # counted once, when the prompt was fitted to the context, or as a remote server reported it once the answer
        # was generated (the openai backend); None: not counted
        self.prompt_tokens = prompt_tokens
        self.answer_text = ""  # the answer without the sources footer, once streamed
        self.answer_tokens: int | None = None  # answer_text's tokens, counted once (None: no model counted them)
        self.option_logprobs = option_logprobs
        self.description = description
        self.consultation = consultation
        self.sources = consultation.source_dicts() if consultation else []
        self._llm = llm
        self._count_answer = count_answer
        self._settings = settings
        self._started = started
        self._prefix = prefix  # a yes/no question: the option the model scored higher, continued by generation
        self._fixed = fixed  # an answer decided without the model (nothing examined what was asked)
        self._generated: int | None = None  # the tokens the model generated, when its stream said
        self.result: Answer | None = None

    @property
    def generated(self) -> bool:
        """Whether a language model writes the answer (so max_new_tokens can cut it), not a fixed text: the knowledge
        stage's answer or its "no source" note, a declined yes/no question, a remembered case."""
        return self._fixed is None and self._llm is not None

    def _pieces(self) -> Iterator[str]:
        if self._fixed is not None:
            yield self._fixed
            return
        if self._prefix is None:
            generation = generate_stream(self._llm, self.prompt, self._settings)
            yield from generation
            self._generated = generation.tokens
            self._reported_prompt(generation)
            return
        yield self._prefix.strip().capitalize()
        first = True
        generation = generate_stream(self._llm, self.prompt + self._prefix, self._settings)
        for piece in generation:
            if first and piece[:1] not in ".,;:!?)":
                piece = " " + piece  # the stop filter drops the leading space of the continuation
            first = False
            yield piece
        self._generated = generation.tokens
        self._reported_prompt(generation)

    def _reported_prompt(self, generation) -> None:
        """A remote server's count of the prompt (the openai backend's usage), where nobody here could count it."""
        if self.prompt_tokens is None and generation.prompt_tokens is not None:
            self.prompt_tokens = generation.prompt_tokens

    def __iter__(self) -> Iterator[str]:
        llm = self._llm
        timings = dict(self.description.timings)
        pieces: list[str] = []
        generate_start = time.perf_counter()
        for piece in self._pieces():
            if not pieces:
                timings["first_token_s"] = time.perf_counter() - self._started
            pieces.append(piece)
            yield piece
        answer = "".join(pieces).strip()
        consultation = self.consultation
        footer = sources_footer(consultation.sources, answer) if consultation and consultation.found else ""
        if footer:
            yield footer
        timings["generate_s"] = time.perf_counter() - generate_start
        timings["total_s"] = time.perf_counter() - self._started
        tokens = None
        if llm is not None and self._count_answer is not None:
            tokens = self._count_answer(answer, generated=self._generated,
                                        chosen=self._prefix if self._fixed is None else None)
        self.answer_text = answer
        self.answer_tokens = tokens
        if tokens:
            timings["answer_tokens"] = tokens
        if llm is None:
            name = f"knowledge:{'extractive' if consultation and consultation.found else 'no-source'}"
            timings.pop("generate_s")
        elif self._fixed is not None and self.remembered is not None:
            name = f"case-memory of {llm.name}"  # the model did not answer: its memory of a training case did
        else:
            name = llm.name
        self.result = Answer(answer + footer, self.description.expert, self.description.text, self.prompt, name,
                             {k: round(v, 4) for k, v in timings.items()}, sources=self.sources,
                             knowledge_note=consultation.notes() if consultation else None,
                             option_logprobs=self.option_logprobs,
                             remembered=self.remembered.to_dict() if self.remembered is not None else None)


def expert_for(route: dict[str, float]) -> tuple[str, float]:
    """The expert with the most probability, summed over the classes it serves: classes that share an
    expert (pathology and other) should not split the vote and leave a clear choice unmade."""
    by_expert: dict[str, float] = {}
    for image_class, probability in route.items():
        expert = EXPERT_FOR_CLASS.get(image_class, "none")
        by_expert[expert] = by_expert.get(expert, 0.0) + probability
    return max(by_expert.items(), key=lambda kv: kv[1])


class Assistant:
    def __init__(self, config: AssistantConfig | None = None, llm: LanguageModel | None = None,
                 cache_descriptions: bool = False):
        if config is not None and not isinstance(config, AssistantConfig):  # was an AttributeError at the first ask
            if not isinstance(config, Mapping):
                hint = ": for a YAML file use Assistant.from_config(path)" if isinstance(config, (str, Path)) else ""
                raise UserInputError(f"config must be an AssistantConfig or a mapping, not {type(config).__name__}"
                                     + hint)
            config = validate(AssistantConfig, dict(config))
        self.config = config or AssistantConfig()
        self._llm = llm
        self.llm_load_s: float | None = None
        self._knowledge: KnowledgeStage | None = None
        # The image half runs one image at a time: the router and experts are cached, shared instances.
        # Generation may run concurrently when the language model allows it (a batching engine).
        self._vision_lock = threading.Lock()
        # With `cache_descriptions` (an evaluation asks many questions about one image) each image content is
        # routed and described once: the router and experts are deterministic, so the text is the same.
        self._descriptions: dict[tuple[str, str | None], Description] | None = {} if cache_descriptions else None

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

    def answer_tokens(self, text: str, model: LanguageModel | None = None, generated: int | None = None,
                      chosen: str | None = None) -> int | None:
        """The one count of an answer's tokens, which `timings.answer_tokens` (vmed ask --json) and the API's
        `usage.completion_tokens` report: the tokens the model generated when its stream said how many (`generated`,
        a `Generation`'s `tokens`; for a yes/no answer plus the tokens of the option it chose by log-likelihood,
        `chosen`, which it did not generate); otherwise `text` counted by `model`'s tokenizer (default: the
        assistant's model; a VLM bound to an image) without special tokens (no BOS): an answer no model wrote (the
        knowledge stage's, a declined question's, a remembered case's) or a backend that cannot say. None: neither
        is known (the openai backend, a server that reports no usage)."""
        model = model or self.llm
        if generated is None:
            return model.count_tokens(text, special=False) if text else 0
        if not chosen:
            return generated
        option = model.count_tokens(chosen, special=False)
        return None if option is None else option + generated

    @property
    def knowledge(self) -> KnowledgeStage:
        if self._knowledge is None:
            self._knowledge = KnowledgeStage(self.config.knowledge)
        return self._knowledge

    def consult(self, question: str) -> Consultation:
        """The knowledge stage alone: the trusted passages for a question (or a note saying why none)."""
        return self.knowledge.consult(validate_question(question))

    # -- image -> text ------------------------------------------------------------------------------
    def describe(self, image: str | Path | LoadedImage | Any | None, expert: str | None = None) -> Description:
        """Route the image and run its expert; `expert` ('auto', 'none' or a name) overrides the config."""
        check_expert_choice(expert or self.config.vision.expert)
        if image is None:
            return Description("none", {}, None)
        if self._descriptions is None:
            with self._vision_lock:
                return self._describe(image, expert)
        start = time.perf_counter()
        loaded = self._load(image)
        key = (loaded.content_key(), expert)
        load_image_s = round(time.perf_counter() - start, 4)
        with self._vision_lock:
            known = self._descriptions.get(key)
            if known is None:
                known = self._descriptions[key] = self._describe(loaded, expert)
                return replace(known, route=dict(known.route), timings={**known.timings, "load_image_s": load_image_s})
        return replace(known, route=dict(known.route), timings={"load_image_s": load_image_s})  # nothing ran again

    def _describe(self, image: Any, expert: str | None) -> Description:
        start = time.perf_counter()
        loaded = self._load(image)
        timings = {"load_image_s": time.perf_counter() - start}
        choice = expert or self.config.vision.expert
        route: dict[str, float] = {}
        note = None
        if choice == "auto":
            too_small = too_small_to_classify(loaded)
            if too_small:  # no image type guessed from a few pixels
                return Description("none", {}, too_small, _rounded(timings))
            start = time.perf_counter()
            route = load_router(self.config.vision.router).classify(loaded)
            timings["route_s"] = time.perf_counter() - start
            choice, confidence = expert_for(route)
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

    def _vision_language(self) -> bool:
        from .llm.base import resolve_backend

        return isinstance(self._llm, SeesImages) or (self._llm is None and resolve_backend(self.config.llm) == "vlm")

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
               settings: GenerationSettings | None = None, knowledge: bool | None = None) -> AnswerStream:
        """Describe the image, consult the knowledge stage, build the prompt and return a stream of the answer.

        `knowledge` (default: the config's `knowledge.enabled`, and for a question with an image
        `knowledge.image_questions` too) turns retrieval on or off for this question.
        Without an image, an extractive answer or a "no source found" answer needs no language model."""
        started = time.perf_counter()
        question = validate_question(question)
        if settings is not None and not isinstance(settings, GenerationSettings):
            raise UserInputError(f"settings must be a GenerationSettings (e.g. assistant.config.generation.model_copy("
                                 f"update={{'max_new_tokens': 64}})), not {type(settings).__name__}")
        if knowledge is not None and not isinstance(knowledge, bool):  # "no" was truthy: retrieval ran
            raise UserInputError(f"knowledge must be True, False or None (the config's choice), not {knowledge!r}")
        check_expert_choice(expert or self.config.vision.expert)
        loaded = self._load(image) if image is not None else None  # a bad image fails before any model loads
        load_image_s = time.perf_counter() - started
        cfg = self.config.knowledge
        wanted = cfg.enabled if knowledge is None else knowledge
        if wanted and knowledge is None and self._vision_language():
            wanted = False  # a VLM's prompt carries no passages: retrieving and citing them would mislead
        if wanted and knowledge is None and loaded is not None and not cfg.image_questions:
            wanted = False  # the question is about the image: no general passages unless the config asks for them
        case = bound = None
        if loaded is not None and self.config.llm.case_memory and isinstance(self.llm, SeesImages):
            # a VLM's case memory first: a training conversation about this very image, asked alike (vlm/memory.py)
            bound = self.llm.bind(loaded)
            case = self.llm.recall(question, bound)
            if case is not None and case.use == "answer":  # the remembered answer, named as such; no model runs
                description = Description("none", {}, None, {**bound.timings, "load_image_s": round(load_image_s, 4)})
                self._report_model_load(description)  # and no knowledge lookup: its passages would go unused
                return AnswerStream(bound, "", description, settings or self.config.generation, started,
                                    fixed=case.answer_text(), remembered=case,
                                    count_answer=lambda text, **counts: self.answer_tokens(text, bound, **counts))
        consultation = self.knowledge.consult(question) if wanted else None
        if consultation is not None and loaded is None and not consultation.skipped:
            fixed = None
            if not consultation.found:
                fixed = consultation.note  # say so instead of guessing
            elif cfg.mode == "extractive":
                fixed = trim_to_question(consultation.sources[0].passage.text, question, cfg.max_answer_words)
            if fixed is not None:
                if self._llm is None:  # no model answers this one, but a mistyped --model is still refused
                    check_model_exists(self.config.llm)
                return AnswerStream(None, "", Description("none", {}, None, dict(consultation.timings)),
                                    settings or self.config.generation, started, fixed=fixed, consultation=consultation)
        passages = consultation.sources if consultation is not None and consultation.found else []
        llm = self.llm
        options = ("Yes", "No")
        if isinstance(llm, SeesImages):  # a vision-language model looks at the image itself
            bound = llm.bind(loaded) if bound is None else bound
            description = (self.describe(loaded, expert) if loaded is not None and llm.wants_facts(question)
                           else Description("none", {}, None))
            description.timings.update(bound.timings)
            options, model = llm.yes_no_options(), bound
            remembered = case.context() if case is not None else None

            def make_prompt(context: str | None) -> str:
                return llm.build_prompt(question, context, loaded is not None, remembered)
        else:
            description = self.describe(loaded, expert)
            model = llm

            def make_prompt(context: str | None) -> str:
                return build_prompt(question, context)
        if loaded is not None:
            description.timings["load_image_s"] = round(load_image_s, 4)
        if consultation is not None:
            description.timings.update(consultation.timings)
        settings = settings or self.config.generation
        self._report_model_load(description)
        # a yes/no question about what nothing here looked for is declined without the model (closed.py)
        declined = (is_yes_no(question) and loaded is not None and not isinstance(llm, SeesImages)
                    and not examined(question, description.text))
        prompt_tokens = None
        while True:  # the passages go into the prompt's input; the lowest-ranked go first when it is too long
            prompt = make_prompt(context_text(passages, cfg.context_words, description.text) if passages
                                 else description.text)
            if declined:
                break  # the prompt is shown, never sent: not fitted (an engine counts tokens by an HTTP call)
            try:
                settings, prompt_tokens = fit_to_context(model, prompt, settings)
                break
            except UserInputError:
                if not passages:
                    raise
                passages = passages[:-1]
        if consultation is not None and consultation.found:
            consultation.sources = passages
            consultation.found = bool(passages)
        prefix = fixed = logprobs = None
        if declined:
            fixed = not_examined_answer(description.expert, description.text)
            consultation = None  # the declined answer uses no passage: citing one would suggest it did
        elif is_yes_no(question) and isinstance(model, ScoresContinuations):
            start = time.perf_counter()
            scores = model.score_continuations(prompt, list(options))
            logprobs = {option.strip().lower(): round(score, 4) for option, score in zip(options, scores)}
            # A VLM's calibrated decision: its bundle may add a log-odds bias to "yes" (chosen on a dev set).
            bias = llm.yes_no_bias if isinstance(llm, SeesImages) else 0.0
            prefix = options[0] if scores[0] + bias >= scores[1] else options[1]
            description.timings["yes_no_s"] = round(time.perf_counter() - start, 4)
            if isinstance(llm, SeesImages) and loaded is not None and llm.expert_yes_no is not None:
                decided = self._expert_decides(question, loaded, expert, llm.expert_yes_no)
                if decided is not None:  # the answer names the expert whose classification decided it
                    verdict, seen = decided
                    description = replace(seen, timings={**seen.timings, **description.timings})
                    prefix = options[0] if verdict == "yes" else options[1]
        return AnswerStream(model, prompt, description, settings, started, prefix, fixed, consultation, logprobs,
                            prompt_tokens, remembered=case,
                            count_answer=lambda text, **counts: self.answer_tokens(text, model, **counts))

    def _report_model_load(self, description: Description) -> None:
        """The language model's load time, in the timings of the question that paid for it (once)."""
        if self.llm_load_s is not None:
            description.timings["load_model_s"] = round(self.llm_load_s, 4)
            self.llm_load_s = None

    def _expert_decides(self, question: str, loaded: LoadedImage, expert: str | None,
                        modalities: tuple[str, ...]) -> tuple[str, Description] | None:
        """A yes/no question that asks only which modality/plane the image is, about an image the router sends to
        the radiology expert and the expert confidently puts among `modalities`: (its yes/no, the description)."""
        if asked_classes(question) is None:
            return None  # most questions: nothing runs
        seen = self.describe(loaded, expert)
        # A type it could not read decides nothing. With --expert auto a too-small picture already came back as
        # expert "none"; a named --expert radiology still runs, and its text only says "too small" (facts() below
        # would classify it anyway), so the same images.too_small_to_classify check is made here.
        if seen.expert != "radiology" or too_small_to_classify(loaded):
            return None
        start = time.perf_counter()
        radiology = load_expert("radiology", self.config.vision.expert_options.get("radiology", {}))
        verdict = expert_yes_no(question, radiology.facts(loaded), radiology.min_confidence, modalities)
        seen.timings["expert_yes_no_s"] = round(time.perf_counter() - start, 4)
        return (verdict, seen) if verdict is not None else None

    def ask(self, question: str, image: Any = None, expert: str | None = None,
            settings: GenerationSettings | None = None, knowledge: bool | None = None) -> Answer:
        stream = self.stream(question, image, expert, settings, knowledge)
        for _ in stream:
            pass
        assert stream.result is not None
        return stream.result


def validate_question(question: str) -> str:
    if question is not None and not isinstance(question, str):  # the Python API: ask(123) was an AttributeError
        raise UserInputError(f"the question must be text (str), not {type(question).__name__}")
    if question is None or not question.strip():
        raise UserInputError("the question is empty")
    try:  # bytes that were not UTF-8 (argv, a file) arrive as lone surrogates, which no tokenizer takes
        question.encode("utf-8")
    except UnicodeEncodeError:
        raise UserInputError("the question is not valid UTF-8 text (typed or saved in another encoding?)") from None
    control = _CONTROL_CHARS.search(question)
    if control:
        raise UserInputError(f"the question contains a control character (U+{ord(control.group()):04X} at character "
                             f"{control.start() + 1}); only text, tabs and line breaks are accepted")
    if len(question) > MAX_QUESTION_CHARS:
        raise UserInputError(f"the question is too long ({len(question):,} characters; the limit is {MAX_QUESTION_CHARS:,})")
    return question.strip()


def fit_to_context(llm: LanguageModel, prompt: str,
                   settings: GenerationSettings) -> tuple[GenerationSettings, int | None]:
    """Refuse a prompt that leaves no room to answer; shorten max_new_tokens to what fits. Also returns the
    prompt's token count (None when the model has no context length or no tokenizer), so nobody counts again."""
    if not llm.context_length:
        return settings, None
    used = llm.count_tokens(prompt)
    if used is None:
        return settings, None
    room = llm.context_length - used
    if room < MIN_ANSWER_TOKENS:
        raise UserInputError(
            f"the prompt is too long for the model: {used} tokens of a {llm.context_length}-token context "
            f"(shorten the question)"
        )
    if settings.max_new_tokens > room:
        return settings.model_copy(update={"max_new_tokens": room}), used
    return settings, used


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in timings.items()}

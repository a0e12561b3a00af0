"""`vmed demo`: the paper's web demo in Gradio: image + question in, streamed answer out, and why.

Below the answer a collapsible panel shows which visual expert ran, its text and the exact prompt, so a
user can see what the language model was actually told. Models load once per process and are cached per
model choice; Gradio's queue runs one generation at a time, because the models are not thread-safe.
An API key typed in the page is used for that one request and is never stored or logged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from pydantic import Field, SecretStr

from ..config import AssistantConfig, GenerationSettings, KnowledgeConfig, LLMConfig, Strict, VisionConfig
from ..errors import BackendError, UserInputError
from ..images import load_image
from ..llm.base import resolve_backend
from ..pipeline import Assistant, validate_question
from ..prompts import RESEARCH_NOTICE

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES = [
    ("bar_chart.png", "How effective is this treatment on papule?"),
    ("line_chart.png", "How does Drug A change blood pressure compared with placebo?"),
    ("ct_slice.png", "What does this CT image show?"),
]
ENDPOINT_CHOICE = "OpenAI-compatible endpoint (base URL below)"


class ModelChoice(Strict):
    label: str
    llm: LLMConfig = LLMConfig()


class DemoConfig(Strict):
    """What `vmed demo` offers: the model choices, where it listens, and the shared generation settings."""

    host: str = "127.0.0.1"
    port: int = Field(7860, ge=0, le=65535)
    share: bool = Field(False, description="a public gradio.live link; off, as this is a research tool")
    models: list[ModelChoice] = Field(
        default_factory=lambda: [
            ModelChoice(label="Embedded default: Gemma-3-270M Q4_K_M (llama.cpp)"),
            ModelChoice(label="Gemma-3-270M Q4_K_M + medical LoRA (llama.cpp)", llm=LLMConfig(adapter="medical")),
        ],
        min_length=1,
    )
    endpoint_base_url: str = Field("http://127.0.0.1:8080/v1", description="pre-filled for the endpoint choice")
    endpoint_model: str = "default"
    max_file_mb: float = Field(20.0, gt=0)
    max_queue: int = Field(16, ge=1, description="visitors waiting for the model")
    generation: GenerationSettings = GenerationSettings()
    vision: VisionConfig = VisionConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()


class DemoModels:
    """One `Assistant` per model choice, built on first use and kept; per-request ones for typed API keys."""

    def __init__(self, config: DemoConfig):
        self.config = config
        self.choices = {choice.label: choice.llm for choice in config.models}
        self._cache: dict[str, Assistant] = {}
        self._lock = threading.Lock()

    @property
    def labels(self) -> list[str]:
        return [*self.choices, ENDPOINT_CHOICE]

    def _assistant_config(self, llm: LLMConfig) -> AssistantConfig:
        return AssistantConfig(llm=llm, generation=self.config.generation, vision=self.config.vision,
                               knowledge=self.config.knowledge)

    def get(self, label: str, base_url: str = "", endpoint_model: str = "", api_key: str = "") -> Assistant:
        if label == ENDPOINT_CHOICE:
            if not base_url.strip():
                raise UserInputError("enter the endpoint's base URL, e.g. http://127.0.0.1:8080/v1")
            llm = LLMConfig(backend="openai", base_url=base_url.strip(), model=endpoint_model.strip() or "default")
        elif label in self.choices:
            llm = self.choices[label]
        else:
            raise UserInputError(f"unknown model choice '{label}'")
        uses_key = resolve_backend(llm) == "openai"
        if uses_key and api_key:
            # Built for this request only, so the key dies with it and never sits in the cache.
            return Assistant(self._assistant_config(llm.model_copy(update={"api_key": SecretStr(api_key)})))
        key = f"{label}|{llm.base_url}|{llm.model}"
        with self._lock:
            if key not in self._cache:
                assistant = Assistant(self._assistant_config(llm))
                assistant.llm  # load now, once
                self._cache[key] = assistant
            return self._cache[key]


def route_summary(route: dict[str, float]) -> str:
    return ", ".join(f"{name} {score:.2f}" for name, score in sorted(route.items(), key=lambda kv: -kv[1]))


def sources_markdown(stream) -> str:
    """The knowledge stage's sources as links (or why there are none); a VLM's remembered case (case memory)."""
    if stream.remembered is not None:
        return f"**Remembered case** ({stream.remembered.id})\n\n{stream.remembered.note()}"
    if stream.consultation is None:
        return ""
    if not stream.sources:
        return f"**Sources:** none. {stream.consultation.note or ''}"
    lines = [f"{rank}. [{source['title']}]({source['url']})" if source["url"] else f"{rank}. {source['title']}"
             for rank, source in enumerate(stream.sources, 1)]
    return "**Sources**\n\n" + "\n".join(lines)


def answer_stream(models: DemoModels, image_path: str | None, question: str, label: str, base_url: str,
                  endpoint_model: str, api_key: str) -> Iterator[tuple[str, str, str, str, str, str]]:
    """Yield (answer so far, status, expert, expert text, prompt, sources) as the answer is generated."""
    question = validate_question(question)  # bad input first: the first request of a choice loads its model
    image = load_image(image_path) if image_path else None
    assistant = models.get(label, base_url, endpoint_model, api_key)
    stream = assistant.stream(question, image)
    description = stream.description
    expert = description.expert
    if description.route:
        expert += f"  (router: {route_summary(description.route)})"
    panel = (expert, description.text or "(no image text: the question was asked without an image input)",
             stream.prompt, sources_markdown(stream))
    text = ""
    yield text, "Generating…", *panel
    for piece in stream:
        text += piece
        yield text, "Generating…", *panel
    timings = stream.result.timings
    status = (f"Answered by {stream.result.model} in {timings['total_s']:.1f} s"
              + (f" (first token after {timings['first_token_s']:.1f} s)." if "first_token_s" in timings else "."))
    yield text or "(the model gave an empty answer)", status, *panel


def preview(image_path: str | None):
    """The picture as the experts see it (DICOM included), or nothing."""
    import gradio as gr

    if not image_path:
        return None
    try:
        return load_image(image_path).image
    except UserInputError as exc:
        gr.Warning(str(exc))
        return None


def build_demo(config: DemoConfig, models: DemoModels | None = None):
    import gradio as gr

    models = models or DemoModels(config)
    with gr.Blocks(title="Visual Med-Alpaca", analytics_enabled=False) as demo:
        gr.Markdown("# Visual Med-Alpaca\nAsk a biomedical question, optionally about an image: a visual expert "
                    "turns the image into text, and a language model answers from the prompt below.")
        gr.Markdown(f"**⚠️ {RESEARCH_NOTICE}** Answers can be wrong; the default model is a small base "
                    "model, not a medical expert.", elem_id="notice")
        with gr.Row():
            with gr.Column():
                image = gr.File(label="Image (PNG, JPEG or DICOM; optional)", type="filepath", elem_id="image-file",
                                file_types=["image", ".dcm", ".dicom"])
                shown = gr.Image(label="Preview", interactive=False, height=220, elem_id="preview")
                question = gr.Textbox(label="Question", lines=3, elem_id="question",
                                      placeholder="How effective is this treatment on papule?")
                model = gr.Dropdown(models.labels, value=models.labels[0], label="Model", elem_id="model")
                with gr.Row(visible=False) as endpoint_row:
                    base_url = gr.Textbox(config.endpoint_base_url, label="Endpoint base URL", elem_id="base-url")
                    endpoint_model = gr.Textbox(config.endpoint_model, label="Endpoint model name")
                api_key = gr.Textbox(label="API key (OpenAI-compatible models only; used for this request, never "
                                     "stored)", type="password", elem_id="api-key")
                submit = gr.Button("Submit", variant="primary", elem_id="submit")
            with gr.Column():
                answer = gr.Textbox(label="Answer", lines=10, interactive=False, elem_id="answer")
                status = gr.Markdown(elem_id="status")
                sources = gr.Markdown(elem_id="sources")
                with gr.Accordion("Why: the expert that ran, its text, and the exact prompt", open=False,
                                  elem_id="why"):
                    expert = gr.Textbox(label="Expert", interactive=False, elem_id="expert")
                    expert_text = gr.Textbox(label="Expert's text (given to the model as the input)", lines=6,
                                             interactive=False, elem_id="expert-text")
                    prompt = gr.Textbox(label="Exact prompt", lines=12, interactive=False, elem_id="prompt")
        examples = [[str(EXAMPLES_DIR / name), q] for name, q in EXAMPLES if (EXAMPLES_DIR / name).is_file()]
        if examples:
            gr.Examples(examples, inputs=[image, question], label="Examples")

        image.change(preview, image, shown, api_name=False)
        model.change(lambda label: gr.update(visible=label == ENDPOINT_CHOICE), model, endpoint_row, api_name=False)
        inputs = [image, question, model, base_url, endpoint_model, api_key]

        def run(*values):
            try:
                yield from answer_stream(models, *values)
            except (UserInputError, BackendError) as exc:
                raise gr.Error(str(exc)) from None  # shown in the page as one clear line

        for trigger in (submit.click, question.submit):
            trigger(run, inputs, [answer, status, expert, expert_text, prompt, sources], concurrency_limit=1,
                    api_name=False)
    demo.queue(max_size=config.max_queue, default_concurrency_limit=1)
    return demo

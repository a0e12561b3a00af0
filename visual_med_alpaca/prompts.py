"""The prompt manager: the two Alpaca templates, one source of truth for inference and training."""

from __future__ import annotations

PROMPT_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context "
    "of an uploaded image. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{question}\n\n### Input:\n{image_caption}\n\n### Response:\n"
)
PROMPT_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the "
    "request.\n\n### Instruction:\n{question}\n\n### Response:\n"
)

# Generation stops where a base model starts a new Alpaca section instead of ending its answer. The first (a
# header at the start of a line) ends almost every such run-on; the others catch a header written mid-line.
STOP_SEQUENCES = ("\n###", "### Instruction", "### Input", "### Response")


def stop_sequences(extra: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """Every stop sequence, each once, the likeliest to end an answer first: the line-start header, a setting's
    extra stops (`generation.stop`: asked for, and met before any header, e.g. VQA-RAD's blank line), then the
    mid-line headers. A server that takes only the first few (OpenAI's API: 4) gets the ones that matter;
    `llm.base.generate_stream` cuts the answer at all of them whatever the server did."""
    first, *headers = STOP_SEQUENCES
    return list(dict.fromkeys([first, *(extra or ()), *headers]))

RESEARCH_NOTICE = "Research use only: not medical advice and not for clinical use."


def build_prompt(question: str, image_text: str | None = None) -> str:
    """The exact prompt for a question, with the expert's image text when there is any."""
    if image_text:
        return PROMPT_WITH_INPUT.format(question=question, image_caption=image_text)
    return PROMPT_NO_INPUT.format(question=question)

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

# Generation stops where a base model starts a new Alpaca section instead of ending its answer.
STOP_SEQUENCES = ("\n###", "### Instruction", "### Input", "### Response")


def stop_sequences(extra: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """The Alpaca headers, then a setting's extra stops (`generation.stop`), each once, in that order."""
    return list(dict.fromkeys([*STOP_SEQUENCES, *(extra or ())]))

RESEARCH_NOTICE = "Research use only: not medical advice and not for clinical use."


def build_prompt(question: str, image_text: str | None = None) -> str:
    """The exact prompt for a question, with the expert's image text when there is any."""
    if image_text:
        return PROMPT_WITH_INPUT.format(question=question, image_caption=image_text)
    return PROMPT_NO_INPUT.format(question=question)

from visual_med_alpaca.prompts import PROMPT_NO_INPUT, PROMPT_WITH_INPUT, build_prompt

# The exact bytes of the two Alpaca templates from the project guide.
EXPECTED_WITH_INPUT = (
    b"Below is an instruction that describes a task, paired with an input that provides further context of an "
    b"uploaded image. Write a response that appropriately completes the request.\n\n### Instruction:\n"
    b"{question}\n\n### Input:\n{image_caption}\n\n### Response:\n"
)
EXPECTED_NO_INPUT = (
    b"Below is an instruction that describes a task. Write a response that appropriately completes the request."
    b"\n\n### Instruction:\n{question}\n\n### Response:\n"
)


def test_templates_are_byte_exact():
    assert PROMPT_WITH_INPUT.encode() == EXPECTED_WITH_INPUT
    assert PROMPT_NO_INPUT.encode() == EXPECTED_NO_INPUT


def test_build_prompt_picks_template_by_image_text():
    with_image = build_prompt("Q?", "a bar chart")
    assert with_image.encode() == EXPECTED_WITH_INPUT.replace(b"{question}", b"Q?").replace(b"{image_caption}", b"a bar chart")
    assert build_prompt("Q?", None).encode() == EXPECTED_NO_INPUT.replace(b"{question}", b"Q?")
    assert build_prompt("Q?", "") == build_prompt("Q?")


def test_braces_in_question_are_kept_verbatim():
    assert "dose {mg}" in build_prompt("dose {mg}", "x {y}")

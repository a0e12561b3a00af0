import json

import pytest

from visual_med_alpaca.config import GenerationSettings, LLMConfig
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.llm.base import StopFilter, generate_stream, load_language_model, resolve_backend


def run(pieces, **kwargs):
    stop = StopFilter(**kwargs)
    out = "".join(stop.feed(p) for p in pieces) + stop.flush()
    return out, stop


def test_stops_at_next_alpaca_header_split_across_pieces():
    out, stop = run(["Minoxidil helps.", "\n", "\n#", "##", " Instruction:\nMore"])
    assert out == "Minoxidil helps."
    assert stop.stopped


def test_holds_back_possible_header_prefix_until_decided():
    stop = StopFilter()
    assert stop.feed("Answer.\n#") == "Answer."
    assert stop.feed("1 is a number") == "\n#1 is a number"


def test_cuts_repeated_sentence():
    text = "Hair loss is treated with minoxidil. It is applied daily. Hair loss is treated with minoxidil. It"
    out, stop = run([w + " " for w in text.split(" ")])
    assert out == "Hair loss is treated with minoxidil. It is applied daily."
    assert stop.stopped


def test_repeat_detection_can_be_turned_off():
    text = "Same sentence here. Same sentence here."
    out, _ = run([text], stop_on_repeat=False)
    assert out == text


def test_no_leading_or_trailing_whitespace_streamed():
    out, _ = run(["\n", "  Yes", " it is.", "\n\n"])
    assert out == "Yes it is."


def test_streamed_text_equals_final_answer():
    pieces = ["The", " answer", " is", " 42", ".", "\n", "###", " Input"]
    stop = StopFilter()
    streamed = "".join(stop.feed(p) for p in pieces) + stop.flush()
    assert streamed == stop.answer == "The answer is 42."


class FakeModel:
    """Records whether the backend stream was closed once the answer was complete."""

    name, context_length = "fake", None

    def __init__(self, pieces):
        self.pieces, self.closed, self.consumed = pieces, False, 0

    def count_tokens(self, text, special=True):
        return None

    def stream(self, prompt, settings):
        try:
            for piece in self.pieces:
                self.consumed += 1
                yield piece
        finally:
            self.closed = True


def test_generate_stream_closes_backend_after_stop():
    model = FakeModel(["Done.", "\n### Instruction", " never", " read"] + ["x"] * 100)
    assert "".join(generate_stream(model, "p", GenerationSettings())) == "Done."
    assert model.closed and model.consumed == 2


def test_generation_stop_ends_the_answer_at_a_blank_line_only_when_set():
    """generation.stop adds to the Alpaca headers: the answer ends before it and the backend is closed."""
    pieces = ["Left lung.", "\n", "\n", "# Task:", " more"] + ["x"] * 50
    model = FakeModel(pieces)
    assert "".join(generate_stream(model, "p", GenerationSettings(stop=["\n\n"]))) == "Left lung."
    assert model.closed and model.consumed == 3
    model = FakeModel(pieces[:5])
    assert "".join(generate_stream(model, "p", GenerationSettings())) == "Left lung.\n\n# Task: more"
    model = FakeModel(["Done.", "\n### Instruction", " never"])  # the headers still stop with extra stops set
    assert "".join(generate_stream(model, "p", GenerationSettings(stop=["\n\n"]))) == "Done."


@pytest.mark.parametrize(
    "config, backend",
    [
        (LLMConfig(), "gguf"),
        (LLMConfig(model="m.gguf"), "gguf"),
        (LLMConfig(model="some/folder"), "hf"),
        (LLMConfig(model="gpt-4o-mini", base_url="http://x/v1"), "openai"),
        (LLMConfig(model="openai:gpt-4o-mini"), "openai"),
        (LLMConfig(model="hf:x.gguf"), "hf"),
    ],
)
def test_backend_resolution(config, backend):
    assert resolve_backend(config) == backend


def test_missing_model_paths_are_user_errors(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        load_language_model(LLMConfig(model=str(tmp_path / "nope.gguf")))
    with pytest.raises(UserInputError, match="not found"):
        load_language_model(LLMConfig(model=str(tmp_path / "nope"), backend="hf"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserInputError, match="no config.json"):
        load_language_model(LLMConfig(model=str(tmp_path / "empty"), backend="hf"))


@pytest.mark.parametrize("stop", [[""], ["\n\n", ""]])
def test_an_empty_stop_sequence_is_refused(stop):
    """An empty stop string would end every answer before its first character: one clear error instead."""
    from visual_med_alpaca.config import AssistantConfig, load_config

    with pytest.raises(UserInputError, match="generation.stop"):
        load_config(AssistantConfig, sets=[f"generation.stop={json.dumps(stop)}"])


def test_every_backend_is_offered_where_the_backends_are_listed():
    """`--backend`'s help and configs/assistant.yaml said `auto | gguf | hf | openai`, long after the `vlm` backend
    joined BACKENDS (config's Literal took it, so only the help hid it); the lists follow the registry."""
    import re
    import typing
    from pathlib import Path

    from visual_med_alpaca.cli_options import BackendOpt
    from visual_med_alpaca.llm.base import BACKENDS

    names = ["auto", *BACKENDS]
    assert BackendOpt.help == " | ".join(names)
    assert list(typing.get_args(LLMConfig.model_fields["backend"].annotation)) == names
    recipe = (Path(__file__).resolve().parents[1] / "configs" / "assistant.yaml").read_text()
    assert re.search(r"^  backend: auto +# (.*?) \(", recipe, re.M).group(1) == " | ".join(names)

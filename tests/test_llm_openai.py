"""The openai backend against a REAL OpenAI-compatible server (llama-cpp-python's) on 127.0.0.1, and against a
scripted one where the test must know what the server was sent."""

import pytest
from helpers_serve import ScriptedServer

from visual_med_alpaca.config import GenerationSettings, LLMConfig
from visual_med_alpaca.errors import BackendError, UserInputError
from visual_med_alpaca.llm import generate_stream, load_language_model
from visual_med_alpaca.prompts import build_prompt

PROMPT = build_prompt("What are the chemicals that treat hair loss?")
SETTINGS = GenerationSettings(max_new_tokens=24)


@pytest.mark.slow
@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999/v1", "not a url", "ftp://127.0.0.1/v1"])
def test_a_malformed_server_url_is_one_input_error(url, monkeypatch):
    """`--base-url http://[::1` (also the demo's endpoint box, OPENAI_BASE_URL, `vmed data synthesize`) ended in
    httpx's InvalidURL traceback when the client was made; a URL that is no http(s) URL said "cannot reach"."""
    with pytest.raises(UserInputError, match=r"the server URL .* is not an http\(s\) URL, e.g. http://127.0.0.1:8080/v1"):
        load_language_model(LLMConfig(model="x", base_url=url))
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    with pytest.raises(UserInputError, match="is not an http"):
        load_language_model(LLMConfig(model="x", backend="openai"))


@pytest.mark.parametrize("mode", ["completions", "chat"])
def test_streams_from_local_server(llama_server, mode):
    model = load_language_model(LLMConfig(model="gemma", base_url=llama_server.base_url, api_mode=mode))
    generation = generate_stream(model, PROMPT, SETTINGS)
    pieces = list(generation)
    assert pieces and "".join(pieces).strip()
    assert "###" not in "".join(pieces)
    assert generation.tokens is None  # llama-cpp-python's server reports no usage in a stream: not known


@pytest.mark.parametrize("mode", ["completions", "chat"])
def test_an_answer_counts_the_completion_tokens_the_server_reports(mode):
    """`vmed ask --json`'s timings.answer_tokens with the openai backend: the server's usage (asked for with
    stream_options.include_usage), where it had none (the tokenizer is the server's)."""
    from visual_med_alpaca.config import AssistantConfig, KnowledgeConfig
    from visual_med_alpaca.pipeline import Assistant

    with ScriptedServer(reply="Minoxidil and finasteride.") as server:
        model = load_language_model(LLMConfig(model="m", base_url=server.base_url, api_mode=mode))
        answer = Assistant(AssistantConfig(knowledge=KnowledgeConfig(enabled=False)), llm=model).ask("What treats "
                                                                                                    "hair loss?")
        assert server.bodies[-1]["stream_options"] == {"include_usage": True}
    assert answer.answer == "Minoxidil and finasteride." and answer.timings["answer_tokens"] == 3


@pytest.mark.slow
def test_completions_match_the_gguf_backend_greedy(llama_server, gemma_gguf):
    """Same weights, same greedy decoding: the server and the in-process backend agree."""
    remote = load_language_model(LLMConfig(model="gemma", base_url=llama_server.base_url))
    local = load_language_model(LLMConfig(model=str(gemma_gguf)))
    settings = GenerationSettings(max_new_tokens=16, repetition_penalty=1.0)
    assert "".join(generate_stream(remote, PROMPT, settings)) == "".join(generate_stream(local, PROMPT, settings))


@pytest.mark.slow
def test_key_from_env_is_sent_but_never_shown(llama_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-777")
    model = load_language_model(LLMConfig(model="gemma", base_url=llama_server.base_url))
    assert model.client.api_key == "sk-test-secret-777"
    assert "sk-test-secret-777" not in model.name and "sk-test-secret-777" not in repr(vars(model))


@pytest.mark.slow
def test_unreachable_server_is_a_clear_backend_error():
    from conftest import free_port

    model = load_language_model(LLMConfig(model="x", base_url=f"http://127.0.0.1:{free_port()}/v1", timeout_s=3))
    with pytest.raises(BackendError, match="cannot reach"):
        list(generate_stream(model, PROMPT, SETTINGS))


@pytest.mark.parametrize("mode", ["completions", "chat"])
def test_every_stop_takes_effect_the_likeliest_sent_to_the_server(mode):
    """The OpenAI API takes 4 stop sequences. The line-start header and generation.stop's go first (VQA-RAD's
    blank line used to be the 5th, behind the 4 headers, and never reached the server); the stops not sent
    still end the answer, cut here as the text arrives."""
    reply = "Left lung.\n\nNote: mid-line ### Response more"
    with ScriptedServer(reply=reply, pieces=9) as server:
        model = load_language_model(LLMConfig(model="m", base_url=server.base_url, api_mode=mode))
        answer = "".join(generate_stream(model, PROMPT, GenerationSettings(stop=["\n\n"])))
        assert server.bodies[-1]["stop"] == ["\n###", "\n\n", "### Instruction", "### Input"]
        assert answer == "Left lung."
        many = GenerationSettings(stop=["Zebra", "Yak", "Xylophone", "Note:"])  # more than the server takes
        answer = "".join(generate_stream(model, PROMPT, many))
        assert server.bodies[-1]["stop"] == ["\n###", "Zebra", "Yak", "Xylophone"]
        assert answer == "Left lung."

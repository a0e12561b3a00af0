"""`vmed serve`: the official openai client against a real uvicorn server on 127.0.0.1, and every bad request."""

from __future__ import annotations

import http.server
import io
import json
import re
import socket
import subprocess
import sys
import threading
from functools import partial

import httpx
import pytest
from conftest import EXAMPLES, REPO, CountingLLM, free_port, wait_for_http
from helpers_serve import GatedLLM, ScriptedServer, ThreadServer, data_url, wait_until

from visual_med_alpaca.config import AssistantConfig, GenerationSettings, KnowledgeConfig, LLMConfig
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.images import load_image
from visual_med_alpaca.pipeline import Assistant
from visual_med_alpaca.prompts import RESEARCH_NOTICE, build_prompt
from visual_med_alpaca.serve.api import ServeConfig, create_app

openai = pytest.importorskip("openai")

KEY = "sk-test-serve-123"
MODEL = "visual-med-alpaca"
QUESTION = "How effective is this treatment on papule?"


@pytest.fixture(scope="module")
def tiny_llm(tiny_llama_dir):
    config = AssistantConfig(llm=LLMConfig(backend="hf", model=str(tiny_llama_dir)))
    return Assistant(config).llm


def tiny_assistant(llm) -> Assistant:
    config = AssistantConfig(generation=GenerationSettings(max_new_tokens=8, stop_on_repeat=False))
    return Assistant(config, llm=llm)


@pytest.fixture(scope="module")
def server(tiny_llm, tmp_path_factory):
    key_file = tmp_path_factory.mktemp("keys") / "keys.txt"
    key_file.write_text(f"# accepted keys\n{KEY}\n")
    config = ServeConfig(api_key_file=key_file, max_body_bytes=256 * 1024, max_image_pixels=1_000_000,
                         max_tokens=64, max_queue=2)
    with ThreadServer(create_app(config, tiny_assistant(tiny_llm))) as running:
        yield running


@pytest.fixture()
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=30)


def image_message(question: str, url: str) -> list[dict]:
    return [{"role": "user", "content": [{"type": "text", "text": question},
                                         {"type": "image_url", "image_url": {"url": url}}]}]


def test_text_question_not_streamed(client):
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "What treats hair loss?"}], max_tokens=6, seed=1)
    assert raw.headers["x-research-notice"] == RESEARCH_NOTICE
    reply = raw.parse()
    assert reply.object == "chat.completion"
    assert isinstance(reply.choices[0].message.content, str)
    assert reply.choices[0].finish_reason in ("stop", "length")
    extension = reply.model_extra["x_visual_med_alpaca"]
    assert extension["expert"] == "none" and extension["expert_text"] is None
    assert extension["prompt"] == build_prompt("What treats hair loss?")
    assert extension["notice"] == RESEARCH_NOTICE
    usage = reply.usage
    assert usage.prompt_tokens > 0 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert (usage.completion_tokens > 0) == bool(reply.choices[0].message.content)


def test_image_question_streamed_matches_not_streamed(client):
    messages = image_message(QUESTION, data_url(EXAMPLES / "bar_chart.png"))
    chunks = list(client.chat.completions.create(model=MODEL, messages=messages, max_tokens=8, stream=True,
                                                 stream_options={"include_usage": True}))
    extension = chunks[0].model_extra["x_visual_med_alpaca"]
    expected = Assistant().describe(load_image(EXAMPLES / "bar_chart.png"))
    assert extension["expert"] == expected.expert and extension["expert_text"] == expected.text
    assert extension["route"] == expected.route
    assert extension["prompt"] == build_prompt(QUESTION, expected.text)
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    whole = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=8)
    assert streamed and streamed == whole.choices[0].message.content  # greedy: same answer either way


def test_completion_tokens_are_the_tokens_generated_streamed_or_not(client):
    """usage.completion_tokens (and timings.answer_tokens) re-tokenized the answer text: the tiny model's one generated
    token (max_tokens 1) came back as 3, more than max_tokens. It is the number of tokens the model generated,
    streamed or not."""
    messages = [{"role": "user", "content": "What is aspirin?"}]
    for max_tokens in (1, 5):
        whole = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=max_tokens)
        assert whole.usage.completion_tokens == max_tokens and whole.choices[0].finish_reason == "length"
        assert whole.model_extra["x_visual_med_alpaca"]["timings"]["answer_tokens"] == max_tokens
        chunks = list(client.chat.completions.create(model=MODEL, messages=messages, max_tokens=max_tokens,
                                                     stream=True, stream_options={"include_usage": True}))
        assert chunks[-1].usage.completion_tokens == max_tokens
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"


def test_text_question_streamed_and_earlier_image_kept(client):
    messages = image_message(QUESTION, data_url(EXAMPLES / "ct_slice.png"))
    messages += [{"role": "assistant", "content": "It is a CT slice."}, {"role": "user", "content": "Anything else?"}]
    chunks = list(client.chat.completions.create(model=MODEL, messages=messages, max_tokens=4, stream=True))
    extension = chunks[0].model_extra["x_visual_med_alpaca"]
    assert extension["expert"] != "none"  # the follow-up is about the image sent earlier
    assert "### Instruction:\nAnything else?\n" in extension["prompt"]


def test_dicom_image(client, server):
    pytest.importorskip("pydicom")
    from pydicom.data import get_testdata_file

    from visual_med_alpaca.errors import UserInputError

    dicom = get_testdata_file("CT_small.dcm")
    messages = image_message("What does this scan show?", data_url(open(dicom, "rb").read(), "application/dicom"))
    try:
        expected = Assistant().describe(load_image(dicom))
    except UserInputError as exc:  # this build cannot read DICOM: the API must refuse it the same way
        response = httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                              json={"model": MODEL, "messages": messages})
        assert response.status_code == 400
        assert response.json()["error"]["message"] == str(exc).replace(dicom, "the DICOM image")
        return
    reply = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=4)
    extension = reply.model_extra["x_visual_med_alpaca"]
    assert (extension["expert"], extension["expert_text"]) == (expected.expert, expected.text)


def test_models_and_health(client, server):
    assert [m.id for m in client.models.list().data] == [MODEL]
    assert client.models.retrieve(MODEL).id == MODEL
    health = httpx.get(server.url + "/healthz").json()
    assert health["status"] == "ok" and health["max_queue"] == 2 and health["notice"] == RESEARCH_NOTICE


def test_wrong_key_is_401_through_the_client(server):
    bad = openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        bad.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["code"] == "invalid_api_key"


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (width, height), 128).save(out, "PNG")
    return out.getvalue()


def _chat(**fields) -> dict:
    return {"model": MODEL, "messages": [{"role": "user", "content": "What is aspirin?"}], **fields}


BAD_REQUESTS = {
    "invalid JSON": ("{not json", 400, None),
    "body not an object": ("[]", 400, None),
    "missing messages": ({"model": MODEL}, 400, "messages"),
    "empty messages": (_chat(messages=[]), 400, "messages"),
    "messages not a list": (_chat(messages="hello"), 400, "messages"),
    "content wrong type": (_chat(messages=[{"role": "user", "content": 5}]), 400, "messages.0.content"),
    "unknown part type": (_chat(messages=[{"role": "user", "content": [{"type": "video", "video": "x"}]}]), 400,
                          "messages.0.content.0"),
    "unknown role": (_chat(messages=[{"role": "robot", "content": "hi"}]), 400, "messages.0.role"),
    "max_tokens as string": (_chat(max_tokens="5"), 400, "max_tokens"),
    "temperature out of range": (_chat(temperature=9), 400, "temperature"),
    "stream not a boolean": (_chat(stream="yes"), 400, "stream"),
    "n above 1": (_chat(n=2), 400, "n"),
    "negative seed": (_chat(seed=-7), 400, "seed"),  # was a 500: transformers' set_seed refused it mid-generation
    "seed above 32 bits": (_chat(seed=2**40), 400, "seed"),
    "max_tokens over the limit": (_chat(max_tokens=65), 400, "max_tokens"),
    "missing model": ({"messages": [{"role": "user", "content": "hi"}]}, 400, "model"),
    "unknown model": (_chat(model="gpt-4o"), 404, "model"),
    "no user message": (_chat(messages=[{"role": "system", "content": "be brief"}]), 400, "messages"),
    "empty question": (_chat(messages=[{"role": "user", "content": "   "}]), 400, "messages.0.content"),
    "NUL in the question": (_chat(messages=[{"role": "user", "content": "What is\u0000 aspirin?"}]), 400,
                            "messages.0.content"),  # was accepted and passed to the model
    "bad base64": (_chat(messages=image_message("q", "data:image/png;base64,@@not-base64@@")), 400, "image_url"),
    "data URL not base64": (_chat(messages=image_message("q", "data:image/png,rawbytes")), 400, "image_url"),
    "not an image": (_chat(messages=image_message("q", data_url(b"just some text, not a picture"))), 400,
                     "image_url"),
    "truncated image": (_chat(messages=image_message("q", data_url(_png(64, 64)[:60]))), 400, "image_url"),
    "empty image": (_chat(messages=image_message("q", "data:image/png;base64,")), 400, "image_url"),
    "too many pixels": (_chat(messages=image_message("q", data_url(_png(1100, 1000)))), 413, "image_url"),
    "remote image refused": (_chat(messages=image_message("q", "http://127.0.0.1:9/x.png")), 400, "image_url"),
    "not a URL": (_chat(messages=image_message("q", "file:///etc/passwd")), 400, "image_url"),
    "two images in a message": (_chat(messages=[{"role": "user", "content": [
        {"type": "text", "text": "q"}, {"type": "image_url", "image_url": {"url": data_url(_png(8, 8))}},
        {"type": "image_url", "image_url": {"url": data_url(_png(8, 8))}}]}]), 400, "messages.0.content"),
    "body too large": (_chat(messages=[{"role": "user", "content": "x" * 300_000}]), 413, None),
    "unknown expert": (_chat(expert="no-such-expert", messages=image_message("q", data_url(_png(8, 8)))), 400, None),
    "unknown expert, no image": (_chat(expert="no-such-expert"), 400, None),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_request_gets_openai_error(server, case):
    body, status, param = BAD_REQUESTS[case]
    content = body if isinstance(body, str) else json.dumps(body)
    response = httpx.post(server.url + "/v1/chat/completions", content=content,
                          headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param


def test_dicom_over_the_pixel_limit_is_413(server):
    pytest.importorskip("pydicom")
    from helpers_radiology import oversized_dicom

    body = _chat(messages=image_message("q", data_url(oversized_dicom(1000, 1100), "application/dicom")))
    response = httpx.post(server.url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 413, response.text
    assert response.json()["error"]["message"].startswith("image_url is too large (1100x1000 = 1,100,000 pixels")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": KEY}])
def test_auth_required(server, headers):
    for method, path in (("POST", "/v1/chat/completions"), ("GET", "/v1/models")):
        response = httpx.request(method, server.url + path, json=_chat(), headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_route_and_method_are_json(server):
    assert httpx.get(server.url + "/v1/nothing").json()["error"]["type"] == "invalid_request_error"
    response = httpx.get(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 405 and "error" in response.json()


def test_queue_full_is_429_and_requests_run_in_order(tiny_llm):
    gated = GatedLLM(tiny_llm)
    with ThreadServer(create_app(ServeConfig(max_queue=1), Assistant(tiny_assistant(tiny_llm).config, llm=gated))) as srv:
        post = partial(httpx.post, srv.url + "/v1/chat/completions", timeout=30)
        health = lambda: httpx.get(srv.url + "/healthz").json()  # noqa: E731
        results: dict[str, httpx.Response] = {}
        finished: list[str] = []

        def send(name):
            results[name] = post(json=_chat(messages=[{"role": "user", "content": f"Question {name}?"}]))
            finished.append(name)

        first = threading.Thread(target=send, args=("first",))
        first.start()
        wait_until(lambda: health()["busy"])
        second = threading.Thread(target=send, args=("second",))
        second.start()
        wait_until(lambda: health()["queued"] == 1)
        refused = post(json=_chat())
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert refused.headers["retry-after"] == "1"
        gated.gate.set()
        first.join(30)
        second.join(30)
        assert results["first"].status_code == results["second"].status_code == 200
        assert finished == ["first", "second"]
        prompts = [results[n].json()["x_visual_med_alpaca"]["prompt"] for n in ("first", "second")]
        assert "Question first?" in prompts[0] and "Question second?" in prompts[1]


def test_refused_when_the_answer_would_come_too_late(tiny_llm):
    gated = GatedLLM(tiny_llm)
    config = ServeConfig(max_queue=8, request_timeout_s=20)
    with ThreadServer(create_app(config, Assistant(tiny_assistant(tiny_llm).config, llm=gated))) as srv:
        worker = srv.server.config.app.state.worker
        first = threading.Thread(target=httpx.post, args=(srv.url + "/v1/chat/completions",),
                                 kwargs={"json": _chat(), "timeout": 30})
        first.start()
        wait_until(lambda: worker.busy)
        worker.service_s = 15.0  # as if recent answers took 15 s: one more would wait 15 s and finish after 30 s
        refused = httpx.post(srv.url + "/v1/chat/completions", json=_chat(), timeout=30)
        assert refused.status_code == 429 and "expected wait" in refused.json()["error"]["message"]
        worker.service_s = 5.0
        gated.gate.set()
        assert httpx.post(srv.url + "/v1/chat/completions", json=_chat(max_tokens=2), timeout=30).status_code == 200
        first.join(30)


def test_request_timeout_is_504_and_streams_an_error(tiny_llm):
    gated = GatedLLM(tiny_llm)
    config = ServeConfig(request_timeout_s=0.5)
    with ThreadServer(create_app(config, Assistant(tiny_assistant(tiny_llm).config, llm=gated))) as srv:
        response = httpx.post(srv.url + "/v1/chat/completions", json=_chat(), timeout=30)
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "timeout"
        worker = srv.server.config.app.state.worker
        gated.gate.set()
        wait_until(lambda: not worker.busy)
        gated.gate.clear()
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.APIError, match="did not finish"):
            for _ in client.chat.completions.create(model=MODEL, messages=_chat()["messages"], stream=True):
                pass
        gated.gate.set()
        wait_until(lambda: not worker.busy and worker.queued == 0)
        ok = httpx.post(srv.url + "/v1/chat/completions", json=_chat(max_tokens=2), timeout=30)
        assert ok.status_code == 200  # the worker survived both timeouts


def test_remote_image_when_allowed(tiny_llm):
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(EXAMPLES))
    files = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=files.serve_forever, daemon=True).start()
    try:
        config = ServeConfig(allow_remote_images=True, remote_image_networks=["127.0.0.1/32"])  # see test_serve_remote
        with ThreadServer(create_app(config, tiny_assistant(tiny_llm))) as srv:
            base = f"http://127.0.0.1:{files.server_address[1]}"
            ok = httpx.post(srv.url + "/v1/chat/completions", timeout=30,
                            json=_chat(max_tokens=2, messages=image_message("q", base + "/line_chart.png")))
            assert ok.status_code == 200
            assert ok.json()["x_visual_med_alpaca"]["expert"] != "none"
            missing = httpx.post(srv.url + "/v1/chat/completions", timeout=30,
                                 json=_chat(messages=image_message("q", base + "/missing.png")))
            assert missing.status_code == 400 and missing.json()["error"]["param"] == "image_url"
    finally:
        files.shutdown()


@pytest.mark.slow
def test_cli_serve_with_the_default_gguf(gemma_gguf, tmp_path):
    """`vmed serve` end to end: the real embedded Gemma GGUF, through the CLI, with the openai client."""
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "visual_med_alpaca.cli", "serve", "--port", str(port), "--max-new-tokens", "8",
         "--threads", "1", "--api-key-file", str(key_file)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=90, process=process)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0, timeout=60)
        chunks = list(client.chat.completions.create(
            model=MODEL, messages=image_message(QUESTION, data_url(EXAMPLES / "bar_chart.png")), stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
        extension = chunks[0].model_extra["x_visual_med_alpaca"]
        assert "gemma" in extension["llm"] and extension["expert"] != "none"
    finally:
        process.terminate()
        process.wait(15)
        log.close()


@pytest.mark.parametrize("args, message, code", [
    (["serve", "--model", "missing.gguf"], "GGUF model file not found", 2),
    (["demo", "--model", "missing.gguf"], "GGUF model file not found", 2),
    (["demo", "--set", "no_such_key=1"], "no_such_key", 2),
    (["serve", "--max-body-mb", "-1"], "--max-body-mb", 2),
    (["serve", "--llm-url", "http://127.0.0.1:9/v1"], "no generation engine answers", 1),
    (["engine", "build", "--source", "missing.tar.gz"], "--source not found", 2),
])
def test_cli_bad_input_is_one_line(args, message, code):
    """One line, nothing before it (no research notice or 'loading the model' first: the user waited for nothing)."""
    done = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == code
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_cli_port_in_use_is_one_line_before_the_model_loads(command):
    """A port another server listens on: one line, exit 2, before the research notice and the model's loading
    (it was uvicorn's own log and exit 1 after the model had loaded)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", command, "--port", str(port)], cwd=REPO,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"error: cannot serve on 127.0.0.1:{port}: address already in use; "
                                                f"choose another --port"], done.stderr


def test_usage_counts_prompt_once_and_a_generated_answer_not_at_all(tiny_llm):
    # With a batching engine each count is an HTTP call (/tokenize): the pipeline's counts are reused, and a generated
    # answer's tokens are the count its backend reports; only an answer no model wrote (declined) is counted.
    counting = CountingLLM(tiny_llm)
    assert counting.context_length  # so the pipeline counts the prompt when it fits it to the context
    assistant = Assistant(tiny_assistant(tiny_llm).config.model_copy(
        update={"knowledge": KnowledgeConfig(enabled=False)}), llm=counting)
    with ThreadServer(create_app(ServeConfig(), assistant)) as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0, timeout=30)
        # the third is declined without the model (nothing examined the image for it): the worker counts its prompt
        declined = image_message("Is there a fracture?", data_url(EXAMPLES / "ct_slice.png"))
        for messages in ([{"role": "user", "content": "What is aspirin?"}],
                         [{"role": "user", "content": "What treats hair loss?"}], declined):
            counting.counted.clear()
            reply = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=6)
            answer = reply.choices[0].message.content
            prompt = reply.model_extra["x_visual_med_alpaca"]["prompt"]
            written = messages is declined  # the declined answer: no model wrote it, its text is counted
            assert sorted(counting.counted) == sorted([prompt, answer] if written else [prompt])
            assert reply.usage.prompt_tokens == tiny_llm.count_tokens(prompt)
            expected = tiny_llm.count_tokens(answer, special=False) if written else 6  # max_tokens: generated
            assert reply.usage.completion_tokens == expected


@pytest.mark.parametrize("mode", ["completions", "chat"])
def test_usage_with_the_openai_backend_is_the_servers_own(mode):
    """`vmed serve` over a remote OpenAI-compatible server: no tokenizer here, so `usage` was null even when the server
    reported its usage. Now its prompt_tokens and completion_tokens are passed through, streamed or not; null only when
    the server says nothing."""
    from visual_med_alpaca.llm import load_language_model

    messages = [{"role": "user", "content": "What is aspirin?"}]
    config = AssistantConfig(knowledge=KnowledgeConfig(enabled=False))
    for report_usage in (True, False):
        with ScriptedServer(reply="Aspirin eases pain.", report_usage=report_usage) as remote:
            llm = load_language_model(LLMConfig(model="m", base_url=remote.base_url, api_mode=mode))
            with ThreadServer(create_app(ServeConfig(), Assistant(config, llm=llm))) as srv:
                client = openai.OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0, timeout=30)
                whole = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=8)
                chunks = list(client.chat.completions.create(model=MODEL, messages=messages, max_tokens=8, stream=True,
                                                             stream_options={"include_usage": True}))
        assert whole.choices[0].message.content == "Aspirin eases pain."
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Aspirin eases pain."
        assert chunks[-1].choices == []
        for usage in (whole.usage, chunks[-1].usage):
            if report_usage:  # the scripted server's usage: 10 prompt tokens, 3 completion tokens
                assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (10, 3, 13)
            else:
                assert usage is None


def test_the_answer_timings_and_usage_count_the_same_tokens_with_a_bos_counting_tokenizer(tiny_llm):
    """x_visual_med_alpaca.timings.answer_tokens (as `vmed ask --json`'s) and usage.completion_tokens are one count:
    with a tokenizer that adds a BOS token to every text (the gguf backend, the engine) the timings' count was one
    higher, BOS included."""
    with_bos = CountingLLM(tiny_llm)
    with_bos.count_tokens = lambda text, special=True: tiny_llm.count_tokens(text) + special
    assistant = Assistant(tiny_assistant(tiny_llm).config.model_copy(
        update={"knowledge": KnowledgeConfig(enabled=False)}), llm=with_bos)
    with ThreadServer(create_app(ServeConfig(), assistant)) as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0, timeout=30)
        reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "What is aspirin?"}],
                                               max_tokens=6)
    answer = reply.choices[0].message.content
    assert answer and reply.usage.completion_tokens == 6  # the tokens generated (max_tokens)
    assert reply.model_extra["x_visual_med_alpaca"]["timings"]["answer_tokens"] == reply.usage.completion_tokens


def test_an_answer_without_a_prompt_reports_no_prompt_tokens(tiny_llm, tmp_path):
    """The knowledge stage's "no trusted source" note is answered without any prompt (x_visual_med_alpaca.prompt is
    empty): usage.prompt_tokens is 0, not the 1 (BOS) the gguf backend and the engine count for an empty text."""
    from helpers_knowledge import write_medquad

    from visual_med_alpaca.knowledge.corpus import medquad_passages
    from visual_med_alpaca.knowledge.index import BuildOptions, build_index

    passages = list(medquad_passages(write_medquad(tmp_path / "medquad")))
    build_index(tmp_path / "idx", passages, BuildOptions(dense=False))
    knowledge = KnowledgeConfig(index=str(tmp_path / "idx"), method="bm25-fused", min_relevance=0.5)
    with_bos = CountingLLM(tiny_llm)
    with_bos.count_tokens = lambda text, special=True: tiny_llm.count_tokens(text) + special  # a BOS, as gguf counts
    assistant = Assistant(tiny_assistant(tiny_llm).config.model_copy(update={"knowledge": knowledge}), llm=with_bos)
    with ThreadServer(create_app(ServeConfig(), assistant)) as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0, timeout=30)
        reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "What is the "
                                                                       "capital of France?"}], max_tokens=6)
        assert reply.choices[0].message.content.startswith("No trusted source")
        assert reply.model_extra["x_visual_med_alpaca"]["prompt"] == ""
        assert reply.usage.prompt_tokens == 0 and reply.usage.completion_tokens > 0
        assert reply.usage.total_tokens == reply.usage.completion_tokens


def test_an_answer_no_model_wrote_finishes_with_stop_not_length(tiny_llm):
    """A fixed answer (here: declined, nothing examined the image for a fracture; also the knowledge stage's NIH
    answers) is whole, however many tokens it has; it used to be reported as cut short ("length") whenever it was
    longer than max_tokens, which tells OpenAI clients to ask for the rest."""
    assistant = Assistant(tiny_assistant(tiny_llm).config.model_copy(
        update={"knowledge": KnowledgeConfig(enabled=False)}), llm=tiny_llm)
    declined = image_message("Is there a fracture?", data_url(EXAMPLES / "ct_slice.png"))
    with ThreadServer(create_app(ServeConfig(), assistant)) as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0, timeout=30)
        reply = client.chat.completions.create(model=MODEL, messages=declined, max_tokens=2)
        assert reply.usage.completion_tokens > 2 and "not a negative result" in reply.choices[0].message.content
        assert reply.choices[0].finish_reason == "stop"
        chunks = list(client.chat.completions.create(model=MODEL, messages=declined, max_tokens=2, stream=True))
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_chart_ocr_runs_with_one_thread_beside_the_engine_unless_configured():
    """Beside llama-server the chart expert's OCR gets one ONNX Runtime thread; a configured count is kept."""
    from visual_med_alpaca.config import AssistantConfig
    from visual_med_alpaca.serve.commands import ocr_beside_engine

    config = AssistantConfig.model_validate({"vision": {"expert_options": {"chart": {"foo": 1}, "radiology": {"x": 2}}}})
    shared = ocr_beside_engine(config)
    assert shared.vision.expert_options == {"chart": {"foo": 1, "threads": 1}, "radiology": {"x": 2}}
    assert config.vision.expert_options["chart"] == {"foo": 1}  # the given config is not changed
    assert ocr_beside_engine(AssistantConfig()).vision.expert_options == {"chart": {"threads": 1}}
    chosen = AssistantConfig.model_validate({"vision": {"expert_options": {"chart": {"threads": 2}}}})
    assert ocr_beside_engine(chosen).vision.expert_options == {"chart": {"threads": 2}}


class EndlessLLM:
    """Writes a new word (w1, w2, ...) every 20 ms until the stream is closed (or, with `endless` off, two words); `closed` is set
    when the generation was stopped from outside."""

    name, context_length = "endless", None

    def __init__(self):
        self.endless, self.closed, self.words = True, threading.Event(), 0

    def count_tokens(self, text, special=True):
        return None

    def stream(self, prompt, settings):
        import time

        try:
            while self.endless or self.words < 2:
                self.words += 1
                time.sleep(0.02)
                yield f"w{self.words} "
        finally:
            if self.endless:
                self.closed.set()


def test_a_streaming_client_that_goes_away_frees_the_model_for_the_next_request():
    """A client that closes its stream mid-answer: the generation stops (not left writing into nobody's socket
    until max_tokens) and the next request is answered."""
    llm = EndlessLLM()
    config = AssistantConfig(knowledge=KnowledgeConfig(enabled=False), generation=GenerationSettings(max_new_tokens=8192))
    app = create_app(ServeConfig(max_tokens=8192), Assistant(config, llm=llm))  # left alone: 8192 words, ~3 minutes
    with ThreadServer(app) as running:
        with httpx.stream("POST", running.url + "/v1/chat/completions", json=_chat(stream=True), timeout=30) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            assert all(next(lines) is not None for _ in range(4))  # the first chunks arrived: the model is writing
        wait_until(llm.closed.is_set, timeout=10)
        wait_until(lambda: not app.state.worker.busy, timeout=10)
        written = llm.words
        llm.endless = False
        llm.words = 0
        answer = httpx.post(running.url + "/v1/chat/completions", json=_chat(), timeout=30)
        assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"].strip() == "w1 w2"
        assert written < 1000  # stopped within seconds of the client leaving, far from the 8192 words it may write


def test_nan_and_infinity_in_a_request_are_called_what_they_are():
    """JSON's NaN / Infinity (Python's json writes them) in temperature or top_p were refused as "less than or equal
    to 2"; the message says the number must be finite."""
    from pydantic import ValidationError

    from visual_med_alpaca.serve.schema import ChatRequest, validation_error

    for field, value in (("temperature", "NaN"), ("top_p", "Infinity")):
        body = f'{{"model": "{MODEL}", "messages": [{{"role": "user", "content": "hi"}}], "{field}": {value}}}'
        with pytest.raises(ValidationError) as raised:
            ChatRequest.model_validate_json(body)
        error = validation_error(raised.value)
        assert error.status == 400 and error.param == field and "finite number" in error.message


def test_remote_image_settings_are_checked_when_the_server_starts():
    """A bogus remote_image_networks entry started the server and made the first remote image a 500 (remote.py
    parsed it per request); a URL given as --remote-image-domain refused every image; domains without
    --allow-remote-images were ignored silently. Each is one configuration error now, naming the setting."""
    from visual_med_alpaca.config import validate

    cases = [({"allow_remote_images": True, "remote_image_networks": ["bogus"]},
              "remote_image_networks: 'bogus' is not a network in CIDR form"),
             ({"allow_remote_images": True, "remote_image_domains": ["https://example.org/"]},
              "remote_image_domains: 'https://example.org/' is not a domain name"),
             ({"remote_image_domains": ["example.org"]},
              "invalid configuration: remote image domains / networks are given but remote images are off")]
    for tree, message in cases:
        with pytest.raises(UserInputError, match=re.escape(message)):
            validate(ServeConfig, tree)
    fine = validate(ServeConfig, {"allow_remote_images": True, "remote_image_domains": ["example.org", "a-b.example."],
                                  "remote_image_networks": ["10.1.2.0/24", "fd00::/8"]})
    assert fine.remote_image_networks == ["10.1.2.0/24", "fd00::/8"]

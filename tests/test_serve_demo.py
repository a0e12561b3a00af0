"""`vmed demo`: model choices and caching, and the real page driven in Debian's Chromium by Playwright."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, REPO, free_port, wait_for_http

from visual_med_alpaca.config import LLMConfig
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.images import load_image
from visual_med_alpaca.pipeline import Assistant
from visual_med_alpaca.prompts import RESEARCH_NOTICE, build_prompt
from visual_med_alpaca.serve.demo import ENDPOINT_CHOICE, DemoConfig, DemoModels, ModelChoice, answer_stream

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
QUESTION = "How effective is this treatment on papule?"


def test_models_are_cached_per_choice_and_typed_keys_are_not(tiny_llama_dir):
    config = DemoConfig(models=[ModelChoice(label="tiny", llm=LLMConfig(backend="hf", model=str(tiny_llama_dir))),
                                ModelChoice(label="remote", llm=LLMConfig(backend="openai", base_url="http://127.0.0.1:9/v1"))])
    models = DemoModels(config)
    assert models.labels == ["tiny", "remote", ENDPOINT_CHOICE]
    assert models.get("tiny") is models.get("tiny")
    with_key = models.get("remote", api_key="sk-secret-typed")
    assert with_key is not models.get("remote", api_key="sk-secret-typed")  # built per request
    assert with_key.llm.client.api_key == "sk-secret-typed"
    cached = models.get("remote")
    assert cached.llm.client.api_key != "sk-secret-typed"
    assert all(models.get(label).config.llm.api_key is None for label in ("tiny", "remote"))  # the typed key is never kept
    endpoint = models.get(ENDPOINT_CHOICE, "http://127.0.0.1:9/v1", "gemma")
    assert (endpoint.config.llm.backend, endpoint.config.llm.model) == ("openai", "gemma")
    with pytest.raises(UserInputError, match="base URL"):
        models.get(ENDPOINT_CHOICE, " ", "gemma")
    with pytest.raises(UserInputError, match="unknown model choice"):
        models.get("nope")


def test_answer_streams_with_the_expert_panel(tiny_llama_dir):
    config = DemoConfig(models=[ModelChoice(label="tiny", llm=LLMConfig(backend="hf", model=str(tiny_llama_dir)))])
    config.generation.max_new_tokens = 6
    steps = list(answer_stream(DemoModels(config), str(EXAMPLES / "line_chart.png"), "What trend?", "tiny", "", "", ""))
    expected = Assistant().describe(load_image(EXAMPLES / "line_chart.png"))
    answer, status, expert, expert_text, prompt, sources = steps[-1]
    assert expert.startswith(expected.expert) and expert_text == expected.text
    assert prompt == build_prompt("What trend?", expected.text)
    assert status.startswith("Answered by") and answer
    assert [s[1] for s in steps[:-1]] == ["Generating…"] * (len(steps) - 1)


def test_bad_input_is_refused(tiny_llama_dir, tmp_path):
    config = DemoConfig(models=[ModelChoice(label="tiny", llm=LLMConfig(backend="hf", model=str(tiny_llama_dir)))])
    not_image = tmp_path / "notes.png"
    not_image.write_text("not a picture")
    for image, question in ((str(not_image), "q"), (None, "   ")):
        with pytest.raises(UserInputError):
            list(answer_stream(DemoModels(config), image, question, "tiny", "", "", ""))


def test_bad_input_is_refused_before_the_model_loads(tmp_path):
    """The model was loaded first (the first request of a choice: seconds, or its own error) and only then the
    question and the image were checked; a model that cannot load shows here which comes first."""
    config = DemoConfig(models=[ModelChoice(label="gone", llm=LLMConfig(backend="hf", model=str(tmp_path / "no")))])
    not_image = tmp_path / "notes.png"
    not_image.write_text("not a picture")
    for image, question, message in ((str(not_image), "q", str(not_image)), (None, "   ", "the question is empty")):
        with pytest.raises(UserInputError) as refused:
            list(answer_stream(DemoModels(config), image, question, "gone", "", "", ""))
        assert message in str(refused.value)  # not "model folder not found"
    with pytest.raises(UserInputError, match="model folder not found"):  # a good question reaches the model
        list(answer_stream(DemoModels(config), None, "What is aspirin?", "gone", "", "", ""))


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("demo") / "demo.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "visual_med_alpaca.cli", "demo", "--port", str(port), "--max-new-tokens", "8", "--threads", "1"],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", timeout=120, process=process)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(15)


@pytest.mark.slow
def test_demo_in_a_real_browser(demo_url):
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (run .ci/install-browser.sh)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(demo_url)
            assert RESEARCH_NOTICE in page.locator("#notice").inner_text()
            page.locator("#image-file input[type=file]").set_input_files(str(EXAMPLES / "bar_chart.png"))
            page.wait_for_selector("#preview img", timeout=30_000)
            page.locator("#question textarea").fill(QUESTION)
            # Record every value the answer box shows, to see that the answer arrives piece by piece.
            page.evaluate("""() => { window.seen = []; setInterval(() => {
                const v = document.querySelector('#answer textarea').value;
                if (v && window.seen[window.seen.length - 1] !== v) window.seen.push(v); }, 5); }""")
            page.locator("#submit").click()
            page.wait_for_function("() => document.querySelector('#status').innerText.includes('Answered by')",
                                   timeout=90_000)
            answer = page.locator("#answer textarea").input_value()
            seen = page.evaluate("() => window.seen")
            page.locator("#why").get_by_text("Why:").click()
            page.wait_for_selector("#expert-text textarea", state="visible")
            expert = page.locator("#expert textarea, #expert input").first.input_value()
            expert_text = page.locator("#expert-text textarea").input_value()
            prompt = page.locator("#prompt textarea").input_value()
            page.screenshot(path=str(ARTIFACTS / "demo.png"), full_page=True)
            page.locator("#question textarea").fill("   ")
            page.locator("#submit").click()
            page.get_by_text("the question is empty").first.wait_for(timeout=30_000)  # one clear line, no traceback
        finally:
            browser.close()
    assert answer.strip() and answer != "(the model gave an empty answer)"
    assert len(seen) >= 2 and all(answer.startswith(v) for v in seen), seen  # streamed, never taken back
    expected = Assistant().describe(load_image(EXAMPLES / "bar_chart.png"))
    assert expert.startswith(expected.expert) and expert_text == expected.text
    assert prompt == build_prompt(QUESTION, expected.text)


def test_default_choices_offer_the_base_and_the_medical_adapter():
    first, second = DemoConfig().models
    assert first.llm.adapter is None
    assert "medical LoRA" in second.label and second.llm.adapter == "medical"

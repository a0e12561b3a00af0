"""End to end: the tiny Llama (hf backend) through `Assistant` on real benchmark items, with resume
after an interruption, a killed half-written line, a changed setup, and the CLI."""

import json
import signal
import subprocess
import sys
from types import SimpleNamespace

import pytest
from conftest import REPO, shared_data

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.eval.runner import METRICS, PREDICTIONS, EvalConfig, Evaluator, read_predictions
from visual_med_alpaca.pipeline import Assistant


def _config(tiny_llama_dir, out, **extra):
    return EvalConfig.model_validate({
        "benchmark": "vqa-rad", "data_dir": str(shared_data()), "limit": 5, "out": str(out),
        "assistant": {"llm": {"backend": "hf", "model": str(tiny_llama_dir)},
                      "generation": {"max_new_tokens": 6, "temperature": 0.0}},
        **extra,
    })


class Interrupting:
    """Wraps an Assistant; raises KeyboardInterrupt on the n-th question, like Ctrl-C mid-run."""

    def __init__(self, inner, stop_at=None):
        self.inner, self.stop_at, self.calls = inner, stop_at, 0

    def ask(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return self.inner.ask(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.mark.slow
def test_vqa_rad_five_items_resume_after_interruption(tiny_llama_dir, tmp_path):
    config = _config(tiny_llama_dir, tmp_path)
    assistant = Assistant(config.assistant)
    first = Interrupting(assistant, stop_at=3)
    with pytest.raises(KeyboardInterrupt):
        Evaluator(config, first, progress=False).run()
    done = read_predictions(tmp_path / PREDICTIONS)
    assert len(done) == 2 and not (tmp_path / METRICS).exists()

    # a kill in the middle of a write leaves half a line: it is cut off and that item redone
    with (tmp_path / PREDICTIONS).open("a") as handle:
        handle.write('{"id": "vqarad_hf_test_00002", "predic')
    second = Interrupting(assistant)
    result = Evaluator(config, second, progress=False).run()
    assert second.calls == 3  # only the 3 unfinished items were asked
    records = read_predictions(tmp_path / PREDICTIONS)
    assert [r["id"] for r in records] == [f"vqarad_hf_test_{i:05d}" for i in range(5)]
    assert records[:2] == done
    assert all(r["expert"] == "radiology" for r in records)  # the router -> expert path ran
    assert result["n_scored"] == 5 and result["experts_used"] == {"radiology": 5}
    m = result["metrics"]
    assert m["n_closed"] + m["n_open"] == 5
    assert json.loads((tmp_path / METRICS).read_text())["metrics"] == m

    # a second writer on the same folder is refused while the first is alive; once the first is killed with
    # SIGKILL a resume right away works (a pid file's dead pid used to look alive and refuse it)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from filelock import FileLock; "
                               "lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); time.sleep(600)",
                               str(tmp_path / "run.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserInputError, match="another evaluation"):
            Evaluator(config, second, progress=False).run()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert Evaluator(config, second, progress=False).run()["n_scored"] == 5

    # a different setup in the same folder is refused instead of mixing predictions
    changed = _config(tiny_llama_dir, tmp_path, expert="none")
    with pytest.raises(UserInputError, match="different setup"):
        Evaluator(changed, Assistant(changed.assistant), progress=False).run()
    same = _config(tiny_llama_dir, tmp_path)  # the knowledge stage shapes prompts too
    passages = same.model_copy(update={"assistant": same.assistant.model_copy(
        update={"knowledge": same.assistant.knowledge.model_copy(update={"image_questions": True})})})
    with pytest.raises(UserInputError, match=r"different setup \(knowledge changed\)"):
        Evaluator(passages, Assistant(passages.assistant), progress=False).run()


def test_an_image_is_described_once_per_run_with_the_same_predictions(tiny_llama_dir, tmp_path, monkeypatch):
    """VQA-RAD asks several questions about one image: the run's cache describes each image once, and the
    predictions equal those of an assistant that describes every time (greedy)."""
    import visual_med_alpaca.pipeline as pipeline

    config = _config(tiny_llama_dir, tmp_path / "cached", limit=8)  # items 4-5 and 6-7 share an image
    uncached = _config(tiny_llama_dir, tmp_path / "uncached", limit=8)
    routed = []  # one routing per image described (the expert is 'auto')
    real_router = pipeline.load_router

    class Counted:
        def __init__(self, router):
            self.router, self.name = router, router.name

        def classify(self, image):
            routed.append(image.image.size)
            return self.router.classify(image)

    monkeypatch.setattr(pipeline, "load_router", lambda name: Counted(real_router(name)))
    evaluator = Evaluator(config, progress=False)
    evaluator.run()
    assert len(routed) == 6  # 8 questions, 6 images
    Evaluator(uncached, Assistant(uncached.assistant), progress=False).run()
    assert len(routed) == 6 + 8  # an assistant without the run's cache describes every time

    def records(out):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in read_predictions(out / PREDICTIONS)]
    assert records(tmp_path / "cached") == records(tmp_path / "uncached")
    assert len({r["id"] for r in records(tmp_path / "cached")}) == 8


def test_choice_by_loglik_and_by_generation(tiny_llama_dir, tmp_path):
    for mode in ("loglik", "generate"):
        config = EvalConfig.model_validate({
            "benchmark": "mediqa-rqe", "data_dir": str(shared_data()), "limit": 3, "mode": mode,
            "out": str(tmp_path / mode),
            "assistant": {"llm": {"backend": "hf", "model": str(tiny_llama_dir)},
                          "generation": {"max_new_tokens": 4}},
        })
        result = Evaluator(config, progress=False).run()
        records = read_predictions(tmp_path / mode / PREDICTIONS)
        assert result["mode"] == mode and result["n_scored"] == 3
        if mode == "loglik":
            assert all(set(r["option_logprobs"]) == {"yes", "no"} for r in records)
            assert all(r["choice"] == max(r["option_logprobs"], key=r["option_logprobs"].get) for r in records)
        else:
            assert all("prediction" in r for r in records)
        expected = 100 * sum(r["choice"] == r["reference"] for r in records) / 3
        assert result["metrics"]["accuracy"] == pytest.approx(round(expected, 2))


def test_an_item_longer_than_the_context_is_scored_wrong_not_fatal(tiny_llama_dir, tmp_path):
    config = EvalConfig.model_validate({  # some PubMedQA abstracts exceed the tiny model's 1,024 positions
        "benchmark": "pubmedqa", "data_dir": str(shared_data()), "limit": 3, "mode": "loglik", "out": str(tmp_path),
        "assistant": {"llm": {"backend": "hf", "model": str(tiny_llama_dir)}},
    })
    result = Evaluator(config, progress=False).run()
    records = read_predictions(tmp_path / PREDICTIONS)
    errors = [r for r in records if "error" in r]
    assert len(records) == 3 and errors
    assert all("too long" in r["error"] and r["choice"] is None for r in errors)
    assert result["n_errors"] == len(errors) == result["metrics"]["unanswered"]


@pytest.mark.slow
def test_cli_eval_and_bad_input(tiny_llama_dir, tmp_path):
    cli = [sys.executable, "-m", "visual_med_alpaca.cli", "eval"]
    data = str(shared_data())
    run = subprocess.run(cli + ["mediqa-rqe", "--backend", "hf", "--model", str(tiny_llama_dir), "--limit", "2",
                                "--out", str(tmp_path), "--data-dir", data, "-q"],
                         cwd=REPO, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout[: run.stdout.rindex("}") + 1])["n_scored"] == 2
    assert len(read_predictions(tmp_path / PREDICTIONS)) == 2
    bad = subprocess.run(cli + ["slake", "--data-dir", data], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().startswith("error: SLAKE images are missing")


def test_recipes_load_and_flags_keep_short_greedy_answers():
    from visual_med_alpaca.config import load_config
    from visual_med_alpaca.eval.benchmarks import BENCHMARKS

    recipes = sorted((REPO / "configs" / "eval").glob("*.yaml"))
    assert len(recipes) >= 4
    for recipe in recipes:
        config = load_config(EvalConfig, recipe)
        assert config.benchmark in BENCHMARKS
        assert config.assistant.generation.temperature == 0.0 and config.assistant.generation.max_new_tokens == 32
    # a --model flag alone must not bring back the assistant's long-answer default
    config = load_config(EvalConfig, None, {"benchmark": "vqa-rad", "assistant.llm.model": "x.gguf"})
    assert config.assistant.generation.max_new_tokens == 32
    # nor a --set of another generation key (it used to rebuild generation with 256 new tokens)
    config = load_config(EvalConfig, None, {"benchmark": "vqa-rad"}, sets=["assistant.generation.stop=[]"])
    assert config.assistant.generation.max_new_tokens == 32 and config.assistant.generation.temperature == 0.0
    assert load_config(EvalConfig, None, {"benchmark": "vqa-rad"},
                       sets=["assistant.generation.max_new_tokens=16"]).assistant.generation.max_new_tokens == 16
    with pytest.raises(UserInputError, match="mode"):
        load_config(EvalConfig, None, {"benchmark": "vqa-rad", "mode": "vote"})


class EchoAssistant:
    """Answers "yes" at once: for what the runner does around the model (files, resume, the recorded setup)."""

    llm = SimpleNamespace(name="echo")

    def __init__(self):
        self.calls = 0

    def ask(self, question, image=None, expert=None):
        self.calls += 1
        return SimpleNamespace(answer="yes", expert="none", option_logprobs=None, remembered=None)


def _run(out, benchmark="vqa-rad", limit=2, sets=None, assistant=None, **flags):
    from visual_med_alpaca.config import load_config

    config = load_config(EvalConfig, None, {"benchmark": benchmark, "data_dir": str(shared_data()), "limit": limit,
                                            "out": str(out), **flags}, sets=sets)
    return Evaluator(config, assistant or EchoAssistant(), progress=False).run()


def test_vqa_rad_answers_stop_at_a_blank_line_and_a_resume_with_another_stop_is_refused(tmp_path):
    """VQA-RAD's default stop (a blank line) fills generation.stop when it is unset and the run records it; a
    resume of that folder with another stop (or none) is refused instead of mixing answers, one with another
    thread count goes on where it stopped; a recipe's own stop (also none) wins."""
    first = _run(tmp_path / "run")
    assert first["generation"]["stop"] == ["\n\n"]
    for other in (["assistant.generation.stop=[]"], ['assistant.generation.stop=["Note"]']):
        with pytest.raises(UserInputError, match=r"different setup \(generation changed\)"):
            _run(tmp_path / "run", sets=other)
    more = EchoAssistant()
    assert _run(tmp_path / "run", limit=4, assistant=more, sets=["assistant.llm.threads=1"])["n_scored"] == 4
    assert more.calls == 2  # the two new items only, appended after the first two
    assert [r["id"] for r in read_predictions(tmp_path / "run" / PREDICTIONS)] == \
        [f"vqarad_hf_test_{i:05d}" for i in range(4)]
    assert _run(tmp_path / "own", sets=['assistant.generation.stop=["Note"]'])["generation"]["stop"] == ["Note"]
    assert "stop" not in _run(tmp_path / "none", sets=["assistant.generation.stop=[]"])["generation"]


def test_a_folder_written_before_generation_stop_existed_still_resumes(tmp_path):
    """Benchmarks without a default stop record no stop, so a folder from before `generation.stop` existed
    (its run.json has no such key) resumes instead of being refused as another setup."""
    _run(tmp_path, benchmark="pubmedqa", limit=1, mode="generate")
    run_file = tmp_path / "run.json"
    run = json.loads(run_file.read_text())
    run["identity"]["generation"].pop("stop", None)  # as written before the setting existed
    run_file.write_text(json.dumps(run))
    later = EchoAssistant()
    assert _run(tmp_path, benchmark="pubmedqa", limit=2, mode="generate", assistant=later)["n_scored"] == 2
    assert later.calls == 1


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_at_once(tiny_llama_dir, tmp_path):
    """`vmed eval` killed with SIGKILL mid-run, then started again right away: it resumes (the lock died with the
    process; the old pid-file lock refused this as 'another evaluation is writing') and scores every item once."""
    import time

    args = [sys.executable, "-m", "visual_med_alpaca.cli", "eval", "mediqa-rqe", "--backend", "hf", "--model",
            str(tiny_llama_dir), "--limit", "40", "--mode", "generate", "--max-new-tokens", "4", "--out",
            str(tmp_path), "--data-dir", str(shared_data()), "-q"]
    first = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    predictions = tmp_path / PREDICTIONS
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (predictions.is_file() and predictions.read_text().count("\n") >= 2):
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    time.sleep(1)  # dead, not yet reaped (a zombie still answers kill(pid, 0), which fooled the pid file)
    killed_at = len(read_predictions(predictions))
    assert 2 <= killed_at < 40, "the first run must die mid-way"
    second = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
    first.wait()
    assert second.returncode == 0, second.stderr
    records = read_predictions(predictions)
    assert len(records) == len({r["id"] for r in records}) == 40
    assert json.loads((tmp_path / METRICS).read_text())["items_this_run"] == 40 - killed_at


def test_an_unknown_expert_is_refused_also_for_a_text_benchmark(tmp_path):
    """`vmed eval pubmedqa --expert foo` ran and exited 0: a text benchmark never routes, so the name was not read."""
    config = EvalConfig(benchmark="pubmedqa", expert="foo", limit=1, out=str(tmp_path))
    with pytest.raises(UserInputError, match="unknown expert 'foo'"):
        Evaluator(config, assistant=SimpleNamespace(), progress=False)
    assert not list(tmp_path.iterdir())

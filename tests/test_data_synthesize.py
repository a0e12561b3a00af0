"""synthesize: retries/backoff and the response cache against a scripted server, and crash safety against a
REAL llama-cpp-python server: SIGKILL mid-run, and the server going away mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from conftest import REPO
from helpers_serve import ScriptedServer

from visual_med_alpaca.data.config import SynthesizeConfig
from visual_med_alpaca.data.synthesize import render, synthesize
from visual_med_alpaca.errors import BackendError

QUESTIONS = ["What is gout?", "What causes anemia?", "How is asthma treated?", "What is a stroke?",
             "What are the signs of diabetes?", "What does the liver do?", "What is hypertension?",
             "How do vaccines work?", "What is a migraine?", "What causes kidney stones?"]


def _questions(path, n):
    records = [{"id": f"q:{i}", "source": "q", "instruction": QUESTIONS[i % len(QUESTIONS)] + f" (case {i})",
                "input": "", "output": "", "topic": ""} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return {r["id"] for r in records}


def test_retries_429_and_5xx_then_cache_makes_rerun_free(tmp_path):
    server = ScriptedServer([429, 503, 500])
    try:
        ids = _questions(tmp_path / "q.jsonl", 5)
        config = SynthesizeConfig(base_url=server.base_url, model="m", concurrency=1, backoff_s=0.01, max_retries=3)
        report = synthesize(tmp_path / "q.jsonl", tmp_path / "out.jsonl", config, progress=False)
        assert report.retries == 3 and report.generated == 5 and report.completion_tokens == 15
        assert {json.loads(line)["id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()} == ids
        seen = server.requests
        again = synthesize(tmp_path / "q.jsonl", tmp_path / "out2.jsonl", config, cache_path=tmp_path / "synth_cache.sqlite",
                           progress=False)
        assert again.from_cache == 5 and again.generated == 0 and server.requests == seen  # cost nothing
    finally:
        server.close()


def test_gives_up_after_retries_with_a_resume_hint(tmp_path):
    server = ScriptedServer([500] * 10)
    try:
        _questions(tmp_path / "q.jsonl", 2)
        config = SynthesizeConfig(base_url=server.base_url, model="m", concurrency=1, backoff_s=0.01, max_retries=2)
        with pytest.raises(BackendError, match="rerun the same command to resume"):
            synthesize(tmp_path / "q.jsonl", tmp_path / "out.jsonl", config, progress=False)
        assert server.requests == 3
    finally:
        server.close()


def test_bad_request_is_logged_and_the_run_goes_on(tmp_path):
    server = ScriptedServer([400])
    try:
        _questions(tmp_path / "q.jsonl", 3)
        config = SynthesizeConfig(base_url=server.base_url, model="m", concurrency=1, backoff_s=0.01)
        report = synthesize(tmp_path / "q.jsonl", tmp_path / "out.jsonl", config, progress=False)
        assert report.failed == 1 and report.generated == 2
        assert "HTTP 400" in (tmp_path / "out.errors.jsonl").read_text()
    finally:
        server.close()


def test_template_keeps_literal_braces():
    assert render("{instruction}{input_block} {json: 1}", {"instruction": "Q?", "input": "ctx"}) == \
        "Q?\n\nInput:\nctx {json: 1}"


def _synth_cmd(workdir, base_url, *extra):
    template = workdir / "short_template.txt"  # a short prompt keeps the real server fast on a busy CPU
    template.write_text("Answer in one sentence: {instruction}{input_block}\n")
    return [sys.executable, "-m", "visual_med_alpaca.cli", "data", "synthesize", "--workdir", str(workdir),
            "--base-url", base_url, "--model", "gemma", "--max-tokens", "6", "--temperature", "0",
            "--concurrency", "2", "--template", str(template), "--no-progress", *extra]


def _lines(path):
    return path.read_text().splitlines() if path.exists() else []


def _wait_for_lines(path, n, process, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(_lines(path)) >= n:
            return
        assert process.poll() is None, "synthesize finished before it could be interrupted"
        time.sleep(0.05)
    raise TimeoutError(f"fewer than {n} records after {timeout}s")


@pytest.mark.slow
def test_sigkill_mid_run_loses_nothing_and_duplicates_nothing(llama_server, tmp_path):
    ids = _questions(tmp_path / "questions.jsonl", 14)
    out = tmp_path / "synthesized.jsonl"
    cmd = _synth_cmd(tmp_path, llama_server.base_url)
    process = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for_lines(out, 3, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written_before = len(_lines(out))
    assert 3 <= written_before < 14

    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["already_done"] == written_before
    seen = Counter(json.loads(line)["id"] for line in _lines(out))
    assert set(seen) == ids and max(seen.values()) == 1  # every id exactly once
    assert all(json.loads(line)["answer_source"] == "model:gemma" for line in _lines(out))


@pytest.mark.slow
def test_server_going_away_is_retried_reported_and_resumable(llama_server, tmp_path):
    ids = _questions(tmp_path / "questions.jsonl", 12)
    out = tmp_path / "synthesized.jsonl"
    process = subprocess.Popen(_synth_cmd(tmp_path, llama_server.base_url, "--max-retries", "3", "--backoff", "0.2"),
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_lines(out, 3, process)
        llama_server.stop()
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 1
        assert "retry 1/3" in stderr and "retry 3/3" in stderr
        error_lines = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(error_lines) == 1 and "rerun the same command to resume" in error_lines[0]
        assert "Traceback" not in stderr
        partial = [json.loads(line) for line in _lines(out)]  # every line is whole JSON
        assert len({r["id"] for r in partial}) == len(partial) < 12
    finally:
        if process.poll() is None:
            process.kill()
        llama_server.start()  # restore the shared server for other tests (new port)

    rerun = subprocess.run(_synth_cmd(tmp_path, llama_server.base_url), cwd=REPO, capture_output=True, text=True,
                           timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    seen = Counter(json.loads(line)["id"] for line in _lines(out))
    assert set(seen) == ids and max(seen.values()) == 1


def test_requests_per_minute_spaces_request_starts(tmp_path):
    server = ScriptedServer([])
    try:
        _questions(tmp_path / "q.jsonl", 4)
        config = SynthesizeConfig(base_url=server.base_url, model="m", concurrency=4, requests_per_minute=300)
        report = synthesize(tmp_path / "q.jsonl", tmp_path / "out.jsonl", config, progress=False)
        assert report.generated == 4 and report.seconds >= 3 * 60 / 300  # 4 starts, 0.2 s apart
    finally:
        server.close()

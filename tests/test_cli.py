"""`vmed` end to end through subprocess, as a user runs it, including every bad-input case."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import EXAMPLES, REPO, free_port


def vmed(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def assert_clean_failure(result, code, fragment):
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert fragment in lines[0]


def _commands(help_text: str) -> set[str]:
    """Command names in the "Commands" box of a typer --help page."""
    names, inside = set(), False
    for line in help_text.splitlines():
        if "Commands" in line:
            inside = True
        elif inside and line.lstrip("│ ").strip():
            first = line.strip("│ ").split()
            if first and not line.startswith("╰"):
                names.add(first[0])
    return names


def test_help_lists_every_command_of_every_concern():
    """cli.py assembles the groups from each concern's commands.py: every command must be reachable."""
    expected = {
        (): {"ask", "describe", "train", "data", "eval", "export", "serve", "demo", "engine", "knowledge"},
        ("train",): {"lora", "full", "medical-data", "eval-adapter", "captioner", "radiology", "router", "vlm"},
        ("export",): {"merge", "gguf-lora"},
        ("eval",): {"vqa-rad", "pathvqa", "slake", "pubmedqa", "mediqa-rqe", "mediqa-qa", "report", "judge", "charts"},
        ("data",): {"collect", "synthesize", "filter", "review", "balance", "export", "make-charts", "caption-instruct"},
        ("knowledge",): {"build", "search", "info", "train-rqe"},
        ("engine",): {"build", "where"},
    }
    for group, commands in expected.items():
        result = vmed(*group, "--help")
        assert result.returncode == 0, result.stderr
        assert commands <= _commands(result.stdout), (group, result.stdout)
    assert "not for clinical use" in vmed("--help").stdout


@pytest.mark.slow
def test_version_prints_pyprojects_version_and_exits_0():
    import tomllib

    result = vmed("--version", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"vmed {tomllib.loads((REPO / 'pyproject.toml').read_text())['project']['version']}"


def test_the_version_is_written_only_in_pyproject(tmp_path):
    """`__version__` was kept by hand beside pyproject.toml's version: a bump of one left `vmed --version` saying the
    other. A source tree reads its pyproject.toml; an installed copy (no pyproject.toml beside it) the metadata pip
    wrote from it."""
    import re
    import shutil
    from importlib.metadata import version

    tree = tmp_path / "tree"
    shutil.copytree(REPO / "visual_med_alpaca", tree / "visual_med_alpaca",
                    ignore=shutil.ignore_patterns("assets", "__pycache__"))
    text = (REPO / "pyproject.toml").read_text()
    (tree / "pyproject.toml").write_text(re.sub(r'(?m)^version = ".*"$', 'version = "7.8.9"', text, count=1))
    copy = tmp_path / "copy"
    shutil.copytree(tree / "visual_med_alpaca", copy / "visual_med_alpaca")
    for where, expected in ((tree, "7.8.9"), (copy, version("visual-med-alpaca"))):
        shown = [subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(where)})
                 for args in (["-m", "visual_med_alpaca.cli", "--version"],
                              ["-c", "import visual_med_alpaca as v; print(v.__file__, v.__version__)"])]
        assert [r.stdout.strip() for r in shown] == [f"vmed {expected}",
                                                     f"{where / 'visual_med_alpaca' / '__init__.py'} {expected}"], shown


def test_ask_about_bundled_chart_with_default_model():
    result = vmed("ask", "How effective is this treatment on papule?", "--image", EXAMPLES / "bar_chart.png",
                  "--show-prompt", "--max-new-tokens", "48")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[prompt]" in out and "### Input:\n" in out and "[answer]" in out
    answer = out.split("[answer]", 1)[1]
    assert answer.strip() and "###" not in answer
    assert answer.count("not for clinical use") == 1


@pytest.mark.slow
def test_ask_json_without_image_and_quiet():
    result = vmed("ask", "What are the chemicals that treat hair loss?", "--json", "--quiet", "--max-new-tokens", "32")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"answer", "expert", "expert_text", "prompt", "model", "timings", "sources", "knowledge_note",
                            "option_logprobs", "remembered"}
    assert payload["expert"] == "none" and payload["expert_text"] is None and payload["remembered"] is None
    assert payload["prompt"].endswith("### Response:\n") and payload["answer"]
    assert "gemma" in payload["model"]


@pytest.mark.slow
def test_ask_is_deterministic_with_seed():
    args = ("ask", "Name a drug for high blood pressure.", "--json", "--temperature", "0.8", "--seed", "4",
            "--max-new-tokens", "24")
    first, second = vmed(*args), vmed(*args)
    assert json.loads(first.stdout)["answer"] == json.loads(second.stdout)["answer"]


def test_ask_with_tiny_hf_model(tiny_llama_dir):
    result = vmed("ask", "Is aspirin an analgesic?", "--model", tiny_llama_dir, "--max-new-tokens", "6", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"] == tiny_llama_dir.name


def test_ask_json_answer_tokens_are_the_tokens_generated(tiny_llama_dir):
    """timings.answer_tokens re-tokenized the answer text: 12 for the tiny model's 6 generated tokens."""
    result = vmed("ask", "What is aspirin?", "--model", tiny_llama_dir, "--max-new-tokens", "6", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["timings"]["answer_tokens"] == 6


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_one_error_line_exit_1_not_a_traceback():
    """`vmed describe ... --json > out.json` (or ask, eval report) on a full disk ended in an OSError traceback (errno
    28) from the last echo; it is a runtime failure: one line, exit 1."""
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "describe", str(EXAMPLES / "ct_slice.png"),
                                 "--expert", "none", "--json"], cwd=REPO, stdout=full, stderr=subprocess.PIPE,
                                text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr == "error: cannot write the output: No space left on device\n"


def test_describe_json():
    result = vmed("describe", EXAMPLES / "bar_chart.png", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"expert", "route", "text", "timings"}
    assert max(payload["route"], key=payload["route"].get) == "chart" and payload["text"]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    (root / "zero.png").write_bytes(b"")
    (root / "text.png").write_text("not a picture")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 300, 3), np.uint8)).save(root / "full.jpg")
    data = (root / "full.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    Image.new("1", (20000, 20000)).save(root / "bomb.png")  # 400 Mpx that compresses to a few KB
    return root


@pytest.mark.parametrize(
    "case, code, fragment",
    [
        ("missing", 2, "image not found"),
        ("directory", 2, "is a directory"),
        ("zero.png", 2, "empty (0 bytes)"),
        ("text.png", 2, "not an image"),
        ("truncated.jpg", 2, "truncated or corrupt"),
        ("bomb.png", 2, "too large to decode safely"),
    ],
)
def test_bad_images(bad_files, case, code, fragment):
    path = {"missing": bad_files / "missing.png", "directory": bad_files}.get(case, bad_files / case)
    assert_clean_failure(vmed("ask", "What is shown?", "--image", path, "--expert", "image-facts"), code, fragment)
    assert_clean_failure(vmed("describe", path), code, fragment)


def test_bad_questions_and_names():
    assert_clean_failure(vmed("ask", "  "), 2, "question is empty")
    assert_clean_failure(vmed("ask", "why " * 6000), 2, "too long")
    assert_clean_failure(vmed("ask", "x", "--model", "missing-model.gguf"), 2, "not found")
    assert_clean_failure(vmed("ask", "x", "--model", "nobody/nothing-here", "--backend", "hf"), 2, "could not load model")
    assert_clean_failure(vmed("ask", "x", "--backend", "nope"), 2, "invalid configuration")
    assert_clean_failure(vmed("describe", EXAMPLES / "bar_chart.png", "--expert", "nope"), 2, "unknown expert")
    assert_clean_failure(vmed("ask", "What is aspirin?", "--expert", "nope"), 2, "unknown expert")
    assert_clean_failure(vmed("ask", "x", "--quantization", "8bit", "--model", "some/folder"), 2, "needs a CUDA GPU")


def test_a_context_length_no_model_has_is_a_usage_error():
    """`--set llm.n_ctx=100000000` reached llama.cpp, which failed to allocate it (exit 1, its own message): a context
    above 2**20 tokens is refused with the other bad settings, before any model loads."""
    assert_clean_failure(vmed("ask", "What is aspirin?", "--set", "llm.n_ctx=100000000"), 2,
                         "llm.n_ctx: Input should be less than or equal to 1048576")


def test_usage_errors_are_one_error_line_with_exit_2(tmp_path):
    """Typer's usage errors (a value out of range, a missing argument, an unknown option) printed a boxed panel of
    several lines; the rule is one `error:` line (with the --help hint on it) and exit 2. --help is unchanged."""
    cases = [
        (("eval", "charts", "--set", tmp_path, "--limit", "0"), "'--limit': Input should be greater than or equal to 1"),
        (("data", "make-charts", "--out", tmp_path, "--n", "0"), "'--n': Input should be greater than or equal to 1"),
        # a negative seed or sample size was a numpy / random.sample traceback
        (("data", "make-charts", "--out", tmp_path, "--seed", "-1"), "'--seed': Input should be greater than or equal to 0"),
        (("data", "review", "--workdir", tmp_path, "--sample", "-1"), "'--sample': Input should be greater than or equal to 1"),
        (("data", "caption-instruct", "--workdir", tmp_path, "--sample", "-1"),
         "'--sample': Input should be greater than or equal to 1"),
        (("serve", "--log-level", "loud"), "'--log-level': 'loud' is not one of: critical, error"),  # was a KeyError
        (("ask",), "Missing argument 'question'"),
        (("ask", "why?", "--no-such-option"), "No such option: --no-such-option"),
    ]
    for args, fragment in cases:
        result = vmed(*args)
        assert_clean_failure(result, 2, fragment)
        assert f" {args[0]}" in result.stderr and "--help' for help" in result.stderr
    shown = vmed("data", "make-charts", "--help")
    assert shown.returncode == 0 and "Usage:" in shown.stdout and "--n" in shown.stdout and not shown.stderr
    bare = vmed("train")  # a group without a command shows its help, as before
    assert bare.returncode == 2 and "Usage:" in bare.stdout + bare.stderr and "error:" not in bare.stderr


def test_serve_refuses_a_missing_or_empty_api_key_file_before_loading_anything(tmp_path):
    """The key file was read only after the engine had started and the model had loaded (seconds, and the
    research notice and "loading the model ..." printed first); now it is checked before either."""
    assert_clean_failure(vmed("serve", "--engine", "none", "--api-key-file", tmp_path / "missing.txt"), 2,
                         "API key file not found")
    (tmp_path / "empty.txt").write_text("# no key here\n")
    assert_clean_failure(vmed("serve", "--engine", "none", "--api-key-file", tmp_path / "empty.txt"), 2,
                         "holds no key")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))  # was a UnicodeDecodeError traceback
    assert_clean_failure(vmed("serve", "--engine", "none", "--api-key-file", tmp_path / "latin1.txt"), 2,
                         "is not UTF-8 text")


def test_knowledge_build_answer_tokens_below_one_is_a_usage_error(tmp_path):
    """--answer-tokens -5 ended in the tokenizer's OverflowError traceback once the answers were embedded, and 0
    embedded answers cut to nothing; both are one usage error now, before any work (an own corpus and index
    folder here, so that the shared index is never touched)."""
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.jsonl").write_text('{"id": "a", "title": "Aspirin", "text": "Aspirin is a medicine."}\n')
    for value in ("-5", "0"):
        result = vmed("knowledge", "build", "--name", tmp_path / f"index{value}", "--no-medquad", "--corpus",
                      tmp_path / "corpus", "--dense-fields", "question,answer", "--answer-tokens", value)
        assert_clean_failure(result, 2, "'--answer-tokens': Input should be greater than or equal to 1")


def test_question_with_a_control_character_is_one_clear_error():
    """An escape sequence pasted into the question (argv cannot hold a NUL) was accepted and given to the model."""
    assert_clean_failure(vmed("ask", "\x1b[31mWhat is aspirin?"), 2, "control character (U+001B at character 1)")


def test_a_malformed_base_url_is_one_clear_error():
    """It was httpx's InvalidURL traceback (exit 1), before any answer."""
    assert_clean_failure(vmed("ask", "x", "--no-knowledge", "--base-url", "http://[::1"), 2,
                         "the server URL 'http://[::1' is not an http(s) URL")


def test_question_that_is_not_utf8_is_one_clear_error():
    """A Latin-1 byte in argv reaches Python as a lone surrogate; it used to fail in the tokenizer with a traceback."""
    result = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "ask", b"Qu'est-ce que la caf\xe9ine ?"],
                            cwd=REPO, capture_output=True, text=True, timeout=180)
    assert_clean_failure(result, 2, "not valid UTF-8")


def test_an_output_path_that_is_a_file_is_one_clear_error(tmp_path):
    """--out naming an existing file used to end in a FileExistsError / NotADirectoryError traceback."""
    taken = tmp_path / "taken.txt"
    taken.write_text("not a folder")
    assert_clean_failure(vmed("data", "make-charts", "--out", taken, "--n", "1"), 2, f"cannot use {taken}")
    assert_clean_failure(vmed("eval", "report", REPO / "docs" / "results" / "pubmedqa",
                              "--out", taken / "report.md"), 2, f"cannot use {taken}")


@pytest.mark.slow
def test_question_longer_than_context_is_refused():
    assert_clean_failure(vmed("ask", "aspirin " * 2400), 2, "too long for the model")


def test_unreachable_openai_server_is_runtime_error():
    result = vmed("ask", "x", "--base-url", f"http://127.0.0.1:{free_port()}/v1", "--model", "m")
    assert_clean_failure(result, 1, "cannot reach")


def test_unreachable_engine_url_is_runtime_error_like_an_unreachable_server(tmp_path):
    """--llm-url at which nothing answers exited 2 (bad input) while --base-url exited 1; both are the runtime
    failure the README names: an unreachable server, exit 1."""
    result = vmed("eval", "pubmedqa", "--llm-url", f"http://127.0.0.1:{free_port()}/v1", "--concurrency", "2",
                  "--mode", "generate", "--limit", "1", "--out", tmp_path / "out")
    assert_clean_failure(result, 1, "no generation engine answers at")


def test_malformed_engine_url_is_one_error_line(tmp_path):
    """A malformed --llm-url (`http://[::1`) was httpx's InvalidURL traceback from `vmed serve` and `vmed eval -j`;
    it is checked like --base-url now (openai_compat.resolve_endpoint), exit 2."""
    assert_clean_failure(vmed("serve", "--llm-url", "http://[::1", "--port", free_port()), 2, "is not an http(s) URL")
    result = vmed("eval", "pubmedqa", "--llm-url", "ftp://example.org/v1", "--concurrency", "2", "--mode", "generate",
                  "--limit", "1", "--out", tmp_path / "out")
    assert_clean_failure(result, 2, "is not an http(s) URL")


def test_api_key_never_printed():
    secret = "sk-do-not-print-4242"
    result = vmed("ask", "x", "--base-url", f"http://127.0.0.1:{free_port()}/v1", "--api-key", secret)
    assert secret not in result.stdout + result.stderr


def _commands_with(option: str):
    """(path, click command) of every `vmed` command that takes `option`."""
    import typer

    from visual_med_alpaca.cli import app

    def walk(command, path):
        if hasattr(command, "commands"):  # a group
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))
        elif any(option in param.opts for param in command.params):
            yield path, command

    return list(walk(typer.main.get_command(app), ()))


def test_threads_zero_is_one_clear_error_for_every_command_that_takes_it():
    """--threads 0 used to become a default silently (2 for the encoder, all cores for llama.cpp): it is one
    error, before any work, from every command with --threads (one option, cli_options.threads_option)."""
    from typer.testing import CliRunner

    from visual_med_alpaca.cli import app
    from visual_med_alpaca.errors import UserInputError

    commands = _commands_with("--threads")
    assert {("ask",), ("eval", "vqa-rad"), ("serve",), ("demo",), ("knowledge", "build"), ("knowledge", "train-rqe"),
            ("engine", "quantize"), ("train", "eval-adapter")} <= {path for path, _ in commands}
    for path, command in commands:
        required = [p for p in command.params if p.required and p.param_type_name == "argument"]
        for value in ("0", "-2"):
            result = CliRunner().invoke(app, [*path, *["x.gguf"] * len(required), "--threads", value])
            assert isinstance(result.exception, UserInputError), (path, result.output)
            assert f"--threads is a number of CPU threads, 1 or more (not {value})" in str(result.exception)
    assert_clean_failure(vmed("eval", "vqa-rad", "--threads", "0"), 2, "--threads is a number of CPU threads")
    assert_clean_failure(vmed("eval", "vqa-rad", "--set", "assistant.llm.threads=0"), 2, "assistant.llm.threads")


def test_threads_beyond_the_bound_are_one_clear_error_not_a_crash():
    """--threads 100000 aborted llama.cpp (std::bad_alloc, exit 134 with a gdb backtrace) and 10000 stalled for
    minutes: every --threads, and every `threads` config key (--set, YAML), stops at config.MAX_THREADS."""
    from typer.testing import CliRunner

    from visual_med_alpaca.cli import app
    from visual_med_alpaca.config import MAX_THREADS
    from visual_med_alpaca.errors import UserInputError

    for path, command in _commands_with("--threads"):
        required = [p for p in command.params if p.required and p.param_type_name == "argument"]
        result = CliRunner().invoke(app, [*path, *["x.gguf"] * len(required), "--threads", str(MAX_THREADS + 1)])
        assert isinstance(result.exception, UserInputError), (path, result.output)
        assert f"is more than {MAX_THREADS} CPU threads" in str(result.exception)
    assert_clean_failure(vmed("ask", "What is asthma?", "--threads", "100000"), 2, "more than 1024 CPU threads")
    assert_clean_failure(vmed("ask", "What is asthma?", "--set", "llm.threads=100000"), 2,
                         "llm.threads: Input should be less than or equal to 1024")


def test_ctrl_c_says_so_in_one_line_and_a_rerun_resumes(tmp_path):
    """Ctrl-C ended every command silently with exit 130 (typer turns KeyboardInterrupt into Exit(130), so the CLI's
    own "interrupted" line never ran): now one line says it, and what was written stays (make-charts resumes)."""
    import signal
    import time

    out = tmp_path / "charts"
    args = [sys.executable, "-m", "visual_med_alpaca.cli", "data", "make-charts", "--out", str(out), "--n", "30"]
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while len(list(out.glob("images/*.png"))) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in stderr
    assert stderr.splitlines()[-1].startswith("interrupted: what was written so far is kept")
    drawn = len(list(out.glob("images/*.png")))
    assert 2 <= drawn < 30
    again = vmed("data", "make-charts", "--out", out, "--n", "30")
    assert again.returncode == 0 and len((out / "gold.jsonl").read_text().splitlines()) == 30


def test_a_ctrl_c_that_lands_in_a_finalizer_still_ends_the_command(tmp_path):
    """A ctrl-C whose KeyboardInterrupt Python raised inside a finalizer (one of matplotlib's weakref callbacks, while
    make-charts drew: CI, stop 37) was printed as "Exception ignored in ..." with a traceback, and the job ran on to
    its end with exit 0. Here a finalizer raises it, as such a ctrl-C does, in the middle of a command."""
    script = textwrap.dedent(f"""
        import sys, time
        from visual_med_alpaca import cli
        from visual_med_alpaca.data import charts

        class Finalizer:
            def __del__(self):
                raise KeyboardInterrupt  # where a ctrl-C lands when it arrives while a finalizer runs

        def drawing(*args, **kwargs):
            Finalizer()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                pass
            print("ran on to the end")
            return "gold.jsonl"

        charts.make_chart_set = drawing
        sys.argv = ["vmed", "data", "make-charts", "--out", {str(tmp_path / "charts")!r}, "--n", "3"]
        cli.main()
    """)
    import signal

    # a ctrl-C reaches Python only where SIGINT is not ignored: a shell's background job (`cmd &`) inherits SIG_IGN
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert result.returncode == 130 and "ran on" not in result.stdout
    assert "Exception ignored" not in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("interrupted: what was written so far is kept")


def test_a_read_only_file_system_or_a_too_long_name_is_one_error_line(tmp_path, monkeypatch, capsys):
    """An --out / --workdir on a read-only mount (EROFS: not a PermissionError) and a file name over 255 bytes
    (ENAMETOOLONG, raised even by Path.exists()) were OSError tracebacks from every command; both are paths the user
    chose that cannot be used, one `error: cannot use PATH: reason` line, exit 2, like a read-only folder."""
    import errno

    from visual_med_alpaca import cli

    long = tmp_path / ("a" * 300 + ".png")
    assert_clean_failure(vmed("describe", long, "--expert", "none"), 2, "File name too long")
    assert_clean_failure(vmed("ask", "What is asthma?", "-c", long.with_suffix(".yaml")), 2, "cannot use")

    def read_only(self, *args, **kwargs):  # what mkdir raises on a read-only mount (mounting one needs privileges)
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    monkeypatch.setattr(sys, "argv", ["vmed", "data", "collect", "--workdir", str(tmp_path / "work")])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    assert capsys.readouterr().err == f"error: cannot use {tmp_path / 'work'}: Read-only file system\n"


def test_ask_threads_sets_the_language_model_threads(monkeypatch):
    """`vmed ask` had no --threads (`vmed eval` had; only `--set llm.threads=2` worked): it is the shared option
    now, shown by --help and mapped to llm.threads like eval's."""
    from typer.testing import CliRunner

    from visual_med_alpaca.cli import app
    from visual_med_alpaca.errors import UserInputError
    from visual_med_alpaca.pipeline import Assistant

    given = {}

    def from_config(path, sets=None, **overrides):
        given.update(overrides)
        raise UserInputError("stop before loading a model")

    monkeypatch.setattr(Assistant, "from_config", staticmethod(from_config))
    result = CliRunner().invoke(app, ["ask", "What is aspirin?", "--threads", "2"])
    assert isinstance(result.exception, UserInputError) and given == {"llm.threads": 2}
    shown = CliRunner().invoke(app, ["ask", "--help"], terminal_width=200)
    assert shown.exit_code == 0 and "--threads" in shown.output and "CPU threads" in shown.output


def test_every_file_the_readme_commands_name_is_shipped():
    """README.md and docs/radiology.md told a new user to run `--image scan.dcm`, `describe scan.nii.gz` and
    `--image scan.png`: files that do not exist (error: file not found on the first try)."""
    import re

    named = []
    for doc in (REPO / "README.md", REPO / "docs" / "radiology.md"):
        for line in doc.read_text().splitlines():
            named += re.findall(r"(?:--image|vmed describe) ((?!\.\.\.)[\w./-]+\.(?:png|jpe?g|dcm|nii(?:\.gz)?))", line)
    assert "examples/ct_scan.dcm" in named and "examples/ct_scan.nii.gz" in named
    assert [name for name in named if not (REPO / name).is_file()] == []

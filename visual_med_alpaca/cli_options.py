"""Command-line options shared by several commands, and the one mapping from flags to config keys.

Command modules (`*/commands.py`) import this, never `cli.py`: `cli.py` assembles their command groups, so
the dependency runs one way (cli -> commands -> library)."""

from __future__ import annotations

from typing import Any

import typer

from . import paths
from .errors import UserInputError

ConfigOpt = typer.Option(None, "--config", "-c", help="YAML config file (see configs/assistant.yaml)")
SetOpt = typer.Option(None, "--set", help="Override any config key: --set generation.top_k=20 (repeatable)")
# The language-model choice, the same for ask, serve and eval.
ModelOpt = typer.Option(None, "--model", "-m", help="default | path.gguf | HF folder or hub id | server model name")
# the backends are llm/base.py's BACKENDS, listed here (not imported: llm.base loads pydantic, +0.1 s on every
# `vmed --help`) as BENCHMARK_HELP is; tests/test_llm_base.py checks that the two and config's Literal agree
BackendOpt = typer.Option(None, "--backend", help="auto | gguf | hf | openai | vlm")
AdapterOpt = typer.Option(None, "--adapter", help="LoRA adapter (.gguf for gguf, peft folder for hf); 'medical' = the "
                                                  "shipped adapter of the default model; 'none' = no adapter")
BaseUrlOpt = typer.Option(None, "--base-url", help="OpenAI-compatible server (openai backend), e.g. http://127.0.0.1:8080/v1")
# How an OpenAI-compatible server is spoken to: the assistant's openai backend, data synthesis, the judge.
ApiKeyOpt = typer.Option(None, "--api-key", help="API key (default: $OPENAI_API_KEY); never printed")
ApiModeOpt = typer.Option(None, "--api-mode", help="chat | completions (OpenAI-compatible server)")
# An engine already running, for the commands that can start one (serve, eval --concurrency).
LlmUrlOpt = typer.Option(None, "--llm-url", help="Generate through an engine already running (llama-server or vLLM, .../v1)")
DataDirOpt = typer.Option(None, "--data-dir", help="Data folder (default $VMED_DATA_DIR, else ../shared/data)")


def _path_text(text: Any) -> Any:
    try:
        return paths.given_path(text)
    except UserInputError as exc:  # click's own error: "error: Invalid value for '--out': ..." (+ the --help hint)
        raise typer.BadParameter(str(exc)) from None


# Every --out (and other path options that take it): `typer.Option(..., "--out", **PATH_TEXT, help=...)`, so an empty
# path is a usage error instead of the current folder (`paths.given_path`, the one check).
PATH_TEXT: dict[str, Any] = {"parser": _path_text, "metavar": "PATH"}
# The visual-expert choice of ask, describe, eval and demo (`experts/base.py:check_expert_choice` checks it).
ExpertOpt = typer.Option(None, "--expert", "-e", help="auto (the router decides), none, or an expert name")


def check_threads(value: int | None) -> int | None:
    """The one --threads check (the CLI's, and bench/_common.py's `threads` for the bench scripts): 1 to
    config.MAX_THREADS, the bound every `threads` config field has too."""
    from .config import MAX_THREADS

    if value is not None and value < 1:
        raise UserInputError(f"--threads is a number of CPU threads, 1 or more (not {value}); leave it out for the "
                             "default")
    if value is not None and value > MAX_THREADS:
        raise UserInputError(f"--threads {value} is more than {MAX_THREADS} CPU threads (llama.cpp aborts or stalls "
                             "starting that many); give the number of cores or leave it out for the default")
    return value


def threads_option(default: str) -> Any:
    """`--threads` for every command that takes it: 1 or more; left out, the command's `default`. 0 (or less) is
    one clear error, not a silent default: the defaults differ by job (llama.cpp: all cores up to 8; the
    sentence encoder: 2), so 'all cores' would be a third meaning, and torch refuses 0 threads."""
    return typer.Option(None, "--threads", callback=check_threads, help=f"CPU threads (default: {default})")


# llm.threads, the same for ask and eval (serve says "llama.cpp": it may start the engine too).
LlmThreadsOpt = threads_option("all cores, up to 8, for the gguf backend")


# flag name -> key in AssistantConfig, for every command that builds an assistant (ask, describe, serve, eval).
ASSISTANT_FLAGS = {
    "model": "llm.model", "backend": "llm.backend", "adapter": "llm.adapter", "base_url": "llm.base_url",
    "api_key": "llm.api_key", "api_mode": "llm.api_mode", "quantization": "llm.quantization",
    "device_map": "llm.device_map", "threads": "llm.threads",
    "max_new_tokens": "generation.max_new_tokens", "temperature": "generation.temperature",
    "top_p": "generation.top_p", "top_k": "generation.top_k", "repetition_penalty": "generation.repetition_penalty",
    "seed": "generation.seed", "expert": "vision.expert", "router": "vision.router",
    "knowledge": "knowledge.enabled", "knowledge_mode": "knowledge.mode", "case_memory": "llm.case_memory",
}
CaseMemoryOpt = typer.Option(None, "--case-memory/--no-case-memory",
                             help="vlm models: answer a question about an image the model was trained on from the "
                                  "remembered training case, which the answer names (default: off; it lowered VQA-RAD test open recall)")


def assistant_overrides(prefix: str = "", **flags: Any) -> dict[str, Any]:
    """Config overrides for the flags that were given (None = not given); prefix places the assistant inside a
    bigger config, e.g. "assistant." for serve and eval."""
    unknown = set(flags) - set(ASSISTANT_FLAGS)
    if unknown:
        raise ValueError(f"no config key for flag(s) {sorted(unknown)}")
    return {prefix + ASSISTANT_FLAGS[name]: value for name, value in flags.items() if value is not None}

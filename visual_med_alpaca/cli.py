"""`vmed`: one entry point, one subcommand per verb. It parses flags and calls the library, nothing more."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from .errors import BackendError, UserInputError
from .prompts import RESEARCH_NOTICE

app = typer.Typer(
    help="Visual Med-Alpaca: answer a medical question about an optional image. "
    f"{RESEARCH_NOTICE}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Options shared by every command that loads the assistant.
ConfigOpt = typer.Option(None, "--config", "-c", help="YAML config file (see configs/assistant.yaml)")
SetOpt = typer.Option(None, "--set", help="Override any config key: --set generation.top_k=20 (repeatable)")
# The language-model choice, the same for ask, serve and eval.
ModelOpt = typer.Option(None, "--model", "-m", help="default | path.gguf | HF folder or hub id | server model name")
BackendOpt = typer.Option(None, "--backend", help="auto | gguf | hf | openai")
AdapterOpt = typer.Option(None, "--adapter", help="LoRA adapter (.gguf for gguf, peft folder for hf); 'medical' = the "
                                                  "shipped adapter of the default model; 'none' = no adapter")
BaseUrlOpt = typer.Option(None, "--base-url", help="OpenAI-compatible server (openai backend), e.g. http://127.0.0.1:8080/v1")


def _overrides(**flags: Any) -> dict[str, Any]:
    return {key: value for key, value in flags.items() if value is not None}


def _assistant(config: Optional[Path], sets: Optional[list[str]], flags: dict[str, Any]):
    from .pipeline import Assistant

    return Assistant.from_config(config, sets=sets, **flags)


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question, in quotes"),
    image: Optional[Path] = typer.Option(None, "--image", "-i", help="PNG/JPEG/... picture, DICOM or NIfTI file"),
    expert: Optional[str] = typer.Option(None, "--expert", "-e", help="auto (router decides), none, or an expert name"),
    model: Optional[str] = ModelOpt,
    backend: Optional[str] = BackendOpt,
    adapter: Optional[str] = AdapterOpt,
    base_url: Optional[str] = BaseUrlOpt,
    api_key: Optional[str] = typer.Option(None, "--api-key", help="API key (default: $OPENAI_API_KEY); never printed"),
    api_mode: Optional[str] = typer.Option(None, "--api-mode", help="chat | completions (openai backend)"),
    quantization: Optional[str] = typer.Option(None, "--quantization", help="none | 8bit | 4bit (hf backend, CUDA only)"),
    device_map: Optional[str] = typer.Option(None, "--device-map", help="hf backend device map, e.g. auto"),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens"),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="0 = greedy"),
    top_p: Optional[float] = typer.Option(None, "--top-p"),
    top_k: Optional[int] = typer.Option(None, "--top-k"),
    repetition_penalty: Optional[float] = typer.Option(None, "--repetition-penalty"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    show_prompt: bool = typer.Option(False, "--show-prompt", help="Print the expert's text and the exact prompt first"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of streaming text"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Drop the research-only notice"),
    config: Optional[Path] = ConfigOpt,
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """Answer a medical QUESTION, about an image if one is given."""
    assistant = _assistant(config, sets, _overrides(**{
        "llm.model": model, "llm.backend": backend, "llm.adapter": adapter, "llm.base_url": base_url,
        "llm.api_key": api_key, "llm.api_mode": api_mode, "llm.quantization": quantization,
        "llm.device_map": device_map, "generation.max_new_tokens": max_new_tokens,
        "generation.temperature": temperature, "generation.top_p": top_p, "generation.top_k": top_k,
        "generation.repetition_penalty": repetition_penalty, "generation.seed": seed,
    }))
    stream = assistant.stream(question, image, expert)
    if show_prompt and not as_json:
        typer.secho(f"[expert: {stream.description.expert}]", fg="cyan")
        typer.echo(stream.description.text or "(no image text)")
        typer.secho("[prompt]", fg="cyan")
        typer.echo(stream.prompt, nl=False)
        typer.secho("[answer]", fg="cyan")
    if as_json:
        for _ in stream:
            pass
        payload = stream.result.to_dict()
        if quiet:
            payload.pop("notice")
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    for piece in stream:
        typer.echo(piece, nl=False)
        sys.stdout.flush()
    typer.echo()
    if not quiet:
        typer.secho(f"\n{RESEARCH_NOTICE}", dim=True)


@app.command()
def describe(
    image: Path = typer.Argument(..., help="Picture, DICOM or NIfTI file"),
    expert: Optional[str] = typer.Option(None, "--expert", "-e", help="auto (router decides), none, or an expert name"),
    router: Optional[str] = typer.Option(None, "--router", help="Router name"),
    as_json: bool = typer.Option(False, "--json"),
    config: Optional[Path] = ConfigOpt,
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """Run only the router and the visual expert on IMAGE and print the route and the expert's text."""
    assistant = _assistant(config, sets, _overrides(**{"vision.router": router}))
    description = assistant.describe(image, expert)
    if as_json:
        typer.echo(json.dumps(description.to_dict(), ensure_ascii=False, indent=2))
        return
    typer.secho(f"expert: {description.expert}", fg="cyan")
    if description.route:
        scores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(description.route.items(), key=lambda kv: -kv[1]))
        typer.echo(f"route: {scores}")
    typer.echo(description.text or "(no image text)")


# Verb groups; each concern adds its commands to these from its own `commands.py` module.
train_app = typer.Typer(help="Train models: LoRA / full fine-tune, captioner, router, radiology heads.", no_args_is_help=True)
data_app = typer.Typer(help="Build data: instruction sets, chart sets.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate on benchmarks and write metrics JSON.", no_args_is_help=True)
export_app = typer.Typer(help="Export models: merged weights, GGUF.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(data_app, name="data")
app.add_typer(eval_app, name="eval")
app.add_typer(export_app, name="export")

# Modules whose import registers commands on the groups above (imports stay light; heavy work is lazy).
COMMAND_MODULES = [
    # charts + router:
    "visual_med_alpaca.data.chart_commands",
    "visual_med_alpaca.router.commands",

    # radiology + DICOM:
    "visual_med_alpaca.train.radiology_commands",

    # training + export:
    "visual_med_alpaca.train.commands",

    # data pipeline:
    "visual_med_alpaca.data.commands",

    # evaluation:
    "visual_med_alpaca.eval.commands",

    # vision-language model:
    "visual_med_alpaca.vlm.commands",

    # serving (demo, serve):
    "visual_med_alpaca.serve.commands",

]


def _register_commands() -> None:
    import importlib

    for module in COMMAND_MODULES:
        importlib.import_module(module)


def main() -> None:
    """Console entry point: user errors exit 2, runtime failures 1, each as one line on stderr."""
    try:
        _register_commands()
        app()
    except UserInputError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except BackendError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    # Run as `python -m visual_med_alpaca.cli` this file is `__main__`, but command modules register on
    # `visual_med_alpaca.cli.app`: start from that module so their commands exist.
    from visual_med_alpaca.cli import main as package_main

    package_main()

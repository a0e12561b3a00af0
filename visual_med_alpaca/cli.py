"""`vmed`: one entry point, one subcommand per verb. It parses flags and calls the library, nothing more."""

from __future__ import annotations

import errno
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from .cli_options import (AdapterOpt, ApiKeyOpt, ApiModeOpt, BackendOpt, BaseUrlOpt, CaseMemoryOpt, ConfigOpt,
                          ExpertOpt, LlmThreadsOpt, ModelOpt, SetOpt, assistant_overrides)
from .errors import BackendError, UserInputError
from .prompts import RESEARCH_NOTICE

app = typer.Typer(
    help="Visual Med-Alpaca: answer a medical question about an optional image. "
    f"{RESEARCH_NOTICE}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _show_version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"vmed {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Visual Med-Alpaca: answer a medical question about an optional image."""


def _assistant(config: Optional[Path], sets: Optional[list[str]], flags: dict[str, Any]):
    from .pipeline import Assistant

    return Assistant.from_config(config, sets=sets, **flags)


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question, in quotes"),
    image: Optional[Path] = typer.Option(None, "--image", "-i", help="PNG/JPEG/... picture, DICOM or NIfTI file"),
    expert: Optional[str] = ExpertOpt,
    model: Optional[str] = ModelOpt,
    backend: Optional[str] = BackendOpt,
    adapter: Optional[str] = AdapterOpt,
    base_url: Optional[str] = BaseUrlOpt,
    api_key: Optional[str] = ApiKeyOpt,
    api_mode: Optional[str] = ApiModeOpt,
    quantization: Optional[str] = typer.Option(None, "--quantization", help="none | 8bit | 4bit (hf backend, CUDA only)"),
    device_map: Optional[str] = typer.Option(None, "--device-map", help="hf backend device map, e.g. auto"),
    threads: Optional[int] = LlmThreadsOpt,
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens"),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="0 = greedy"),
    top_p: Optional[float] = typer.Option(None, "--top-p"),
    top_k: Optional[int] = typer.Option(None, "--top-k"),
    repetition_penalty: Optional[float] = typer.Option(None, "--repetition-penalty"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    knowledge: Optional[bool] = typer.Option(None, "--knowledge/--no-knowledge",
                                             help="Answer from trusted sources (MedQuAD) and cite them (default: on)"),
    knowledge_mode: Optional[str] = typer.Option(None, "--knowledge-mode",
                                                 help="extractive (the best NIH answer, trimmed) | generative (the "
                                                      "language model answers from the passages)"),
    case_memory: Optional[bool] = CaseMemoryOpt,
    show_prompt: bool = typer.Option(False, "--show-prompt", help="Print the expert's text and the exact prompt first"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of streaming text"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Drop the research-only notice"),
    config: Optional[Path] = ConfigOpt,
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """Answer a medical QUESTION, about an image if one is given."""
    assistant = _assistant(config, sets, assistant_overrides(
        model=model, backend=backend, adapter=adapter, base_url=base_url, api_key=api_key, api_mode=api_mode,
        quantization=quantization, device_map=device_map, threads=threads, max_new_tokens=max_new_tokens, temperature=temperature,
        top_p=top_p, top_k=top_k, repetition_penalty=repetition_penalty, seed=seed, knowledge=knowledge,
        knowledge_mode=knowledge_mode, case_memory=case_memory))
    stream = assistant.stream(question, image, expert)
    if show_prompt and not as_json:
        typer.secho(f"[expert: {stream.description.expert}]", fg="cyan")
        typer.echo(stream.description.text or "(no image text)")
        if stream.consultation is not None:
            typer.secho(f"[knowledge: {len(stream.sources)} source(s)]", fg="cyan")
            for source in stream.sources:
                typer.echo(f"{source['relevance']:.3f}  {source['title']}  {source['url']}")
        typer.secho("[prompt]", fg="cyan")
        typer.echo(stream.prompt or "(none: this answer needs no language model)\n", nl=False)
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
    if stream.remembered is not None:  # always shown, -q too: the reader must know the model did not look
        typer.secho(f"[{stream.remembered.note()}]", fg="cyan")
    consultation = stream.consultation
    if consultation is not None and consultation.skipped and not quiet:  # after the answer: errors stay one line
        typer.secho(f"note: {consultation.note}", dim=True, err=True)
    if consultation is not None and consultation.hint and not quiet:  # e.g. the index lacks the names vectors
        typer.secho(f"note: {consultation.hint}", dim=True, err=True)
    if not quiet:
        typer.secho(f"\n{RESEARCH_NOTICE}", dim=True)


@app.command()
def describe(
    image: Path = typer.Argument(..., help="Picture, DICOM or NIfTI file"),
    expert: Optional[str] = ExpertOpt,
    router: Optional[str] = typer.Option(None, "--router", help="Router name"),
    as_json: bool = typer.Option(False, "--json"),
    config: Optional[Path] = ConfigOpt,
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """Run only the router and the visual expert on IMAGE and print the route and the expert's text."""
    assistant = _assistant(config, sets, assistant_overrides(router=router))
    description = assistant.describe(image, expert)
    if as_json:
        typer.echo(json.dumps(description.to_dict(), ensure_ascii=False, indent=2))
        return
    typer.secho(f"expert: {description.expert}", fg="cyan")
    if description.route:
        scores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(description.route.items(), key=lambda kv: -kv[1]))
        typer.echo(f"route: {scores}")
    typer.echo(description.text or "(no image text)")


def _group(help: str, *parts: typer.Typer) -> typer.Typer:
    """One verb group from the command sets of several concerns (each defines its own typer.Typer)."""
    group = typer.Typer(help=help, no_args_is_help=True)
    for part in parts:
        group.registered_commands.extend(part.registered_commands)
    return group


def _assemble() -> None:
    """Add every concern's commands (imports stay light; each command imports its heavy work lazily)."""
    from .data import chart_commands
    from .data import commands as data_commands
    from .eval import commands as eval_commands
    from .knowledge import commands as knowledge_commands
    from .router import commands as router_commands
    from .serve import commands as serve_commands
    from .train import commands as train_commands
    from .train import radiology_commands
    from .vlm import commands as vlm_commands

    app.add_typer(_group("Train models: LoRA / full fine-tune, captioner, router, radiology heads, VLM.",
                         train_commands.train_app, radiology_commands.train_app, router_commands.train_app,
                         vlm_commands.train_app), name="train")
    app.add_typer(_group("Build data: instruction sets, chart sets.", data_commands.data_app,
                         chart_commands.data_app), name="data")
    app.add_typer(_group("Evaluate on benchmarks and write metrics JSON.", eval_commands.eval_app,
                         chart_commands.eval_app), name="eval")
    app.add_typer(_group("Export models: merged weights, GGUF.", train_commands.export_app), name="export")
    app.registered_commands.extend(serve_commands.app.registered_commands)
    app.add_typer(serve_commands.engine_app, name="engine")
    app.add_typer(knowledge_commands.knowledge_app, name="knowledge")


_assemble()


# OS errors about a path that the user chose (commands make their output folders with mkdir(parents=True) in many
# places; these are what that raises when the path is unusable), reported like any other bad input. Besides the
# four that have their own class: a read-only file system (EROFS: a read-only mount, where a root user's chattr-free
# folder still refuses), a name too long (ENAMETOOLONG: raised even by Path.exists()), a symlink loop (ELOOP).
PATH_ERRORS = (FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)
PATH_ERRNOS = (errno.EROFS, errno.ENAMETOOLONG, errno.ELOOP)


def _path_error(exc: OSError) -> bool:
    return isinstance(exc, PATH_ERRORS) or (exc.errno in PATH_ERRNOS and exc.filename is not None)


INTERRUPTED = 130  # the shell's code for ctrl-C (128 + SIGINT)


# click's exceptions: click.exceptions, or typer's own copy of click (typer >= 0.29 vendors it as typer._click)
_CLICK_ERRORS = importlib.import_module(typer.BadParameter.__module__)


def main() -> None:
    """Console entry point: user errors (click's usage errors too) exit 2, runtime failures 1, each as one line on
    stderr."""
    if not getattr(sys.unraisablehook, "keeps_ctrl_c", False):
        sys.unraisablehook = _ctrl_c_not_lost(sys.unraisablehook)
    try:
        code = app(standalone_mode=False)  # click's own errors come here, to be one line each
        if code == INTERRUPTED:  # typer turns ctrl-C into Exit(130), which ended silently
            _interrupted()
        if isinstance(code, int) and code:  # typer.Exit(n)
            sys.exit(code)
    except _CLICK_ERRORS.UsageError as exc:  # a bad value, a missing argument, an unknown option: one line
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: typer printed its help already
            sys.exit(exc.exit_code)
        hint = f" (try '{exc.ctx.command_path} --help' for help)" if exc.ctx is not None else ""
        typer.secho(f"error: {exc.format_message()}{hint}", fg="red", err=True)
        sys.exit(exc.exit_code)
    except _CLICK_ERRORS.ClickException as exc:
        typer.secho(f"error: {exc.format_message()}", fg="red", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.secho("aborted", err=True)
        sys.exit(1)
    except UserInputError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except BackendError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
    except OSError as exc:  # a path given that cannot be used as asked: an --out that is a file, a read-only folder
        if exc.errno in NO_SPACE:
            _no_space(exc)
        if not _path_error(exc):
            raise
        where = f"cannot use {exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
        typer.secho(f"error: {where}", fg="red", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        _interrupted()


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # a full disk or quota: a runtime failure (exit 1), the input was fine


def _no_space(exc: OSError) -> None:
    """A full disk while writing a file or the output (`vmed ask --json > out.json`): one line, exit 1, no traceback.
    Standard output goes to /dev/null first, so what could not be written is not tried again (and reported) at exit."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured): nothing to silence
        pass
    typer.secho(f"error: cannot write {exc.filename or 'the output'}: {exc.strerror or exc}", fg="red", err=True)
    sys.exit(1)


def _ctrl_c_not_lost(hook):
    """An unraisablehook that does not lose ctrl-C. Python raises a ctrl-C's KeyboardInterrupt wherever the main thread
    is, and one raised inside a finalizer (matplotlib's weakref callbacks run many while charts are drawn) was only
    printed as "Exception ignored in ..." with a traceback, and the job ran on to its end. It is delivered again a
    moment later (from a timer thread: delivered at once, it would be raised inside this hook and lost again), in the
    command's own code, and ends the command like any ctrl-C; other exceptions go to `hook` as before."""
    import _thread
    import threading

    def unraisable(info) -> None:
        if info.exc_type is not None and issubclass(info.exc_type, KeyboardInterrupt):
            threading.Timer(0.01, _thread.interrupt_main).start()  # lands in a finalizer again: comes back here
        else:
            hook(info)

    unraisable.keeps_ctrl_c = True
    return unraisable


def _interrupted() -> None:
    """Ctrl-C: one line on a line of its own (a progress bar or a streamed answer may be half-way through one),
    saying that what was written stays: the long jobs (`vmed eval`, `eval charts`, `data make-charts`,
    `data synthesize`, `train ... --resume`) continue from it when run again."""
    typer.secho("\ninterrupted: what was written so far is kept (rerun the same command to resume a long job)",
                err=True)
    sys.exit(INTERRUPTED)


if __name__ == "__main__":
    main()

"""`vmed data ...`: the instruction-set pipeline, one subcommand per stage, all working in one directory
(default runs/data) so each stage finds the previous one's file. Every stage can be rerun to resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from ..cli_options import PATH_TEXT, ApiKeyOpt, ApiModeOpt, DataDirOpt

data_app = typer.Typer()

WorkdirOpt = typer.Option(Path("runs/data"), "--workdir", "-w", help="Directory holding every stage's files")
ConfigOpt = typer.Option(None, "--config", "-c", help="YAML recipe (see configs/data.yaml)")
SetOpt = typer.Option(None, "--set", help="Override a recipe key: --set filter.rouge_threshold=0.8 (repeatable)")
ProgressOpt = typer.Option(True, "--progress/--no-progress", help="Show a progress bar")


def _config(config: Optional[Path], sets: Optional[list[str]], flags: dict[str, Any]):
    from ..config import load_config
    from .config import DataConfig

    return load_config(DataConfig, config, flags, sets=sets)


def _show(payload: dict) -> None:
    typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))


def _written_by(workdir: Path, name: str, step: str) -> Path:
    """WORKDIR/NAME, which `vmed data STEP` writes: one error line naming that step when it is not there yet."""
    path = workdir / name
    if not path.exists():
        from ..errors import UserInputError

        raise UserInputError(f"{path} not found: run `vmed data {step}` first")
    return path


def _kept(workdir: Path) -> Path:
    """WORKDIR/kept.jsonl for `review` and `balance`; when a filter kept none (so wrote none), the error says so."""
    from .filter import nothing_kept

    why = nothing_kept(workdir / "kept.jsonl", workdir / "dropped.jsonl")
    if why:
        from ..errors import UserInputError

        raise UserInputError(why)
    return _written_by(workdir, "kept.jsonl", "filter")


@data_app.command("collect")
def collect_cmd(
    workdir: Path = WorkdirOpt,
    data_root: Optional[Path] = typer.Option(None, "--data-dir", "--data-root", help="Folder with the sources (default $VMED_DATA_DIR, else ../shared/data)"),
    sources: Optional[list[str]] = typer.Option(None, "--source", help="Only these readers (repeatable)"),
    paths: Optional[list[str]] = typer.Option(None, "--path", help="NAME=PATH for one source, e.g. medqa=train.jsonl"),
    config: Optional[Path] = ConfigOpt,
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """Read the sources into WORKDIR/questions.jsonl (id, source, instruction, input, reference answer)."""
    from ..errors import UserInputError
    from .collect import collect

    flags: dict[str, Any] = {"collect.data_root": str(data_root) if data_root else None, "collect.sources": sources}
    for item in paths or []:
        if "=" not in item:
            raise UserInputError(f"--path '{item}' must look like NAME=PATH")
        name, value = item.split("=", 1)
        flags[f"collect.paths.{name}"] = value
    cfg = _config(config, sets, flags).collect
    added = collect(cfg, workdir / "questions.jsonl", log=lambda m: typer.echo(m, err=True))
    typer.echo(f"{sum(added.values())} new records in {workdir / 'questions.jsonl'}")


def _synth_flags(**flags: Any) -> dict[str, Any]:
    return {f"synthesize.{key}": value for key, value in flags.items()}


@data_app.command("synthesize")
def synthesize_cmd(
    workdir: Path = WorkdirOpt,
    questions: Optional[Path] = typer.Option(None, "--input", help="Records to answer (default WORKDIR/questions.jsonl)"),
    out: Optional[Path] = typer.Option(None, "--out", **PATH_TEXT, help="Answers JSONL (default WORKDIR/synthesized.jsonl)"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1"),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model name the endpoint knows"),
    api_key: Optional[str] = ApiKeyOpt,
    api_mode: Optional[str] = ApiModeOpt,
    template: Optional[Path] = typer.Option(None, "--template", help="Prompt template file with {instruction} and {input_block}"),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens"),
    temperature: Optional[float] = typer.Option(None, "--temperature"),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", help="Requests in flight at once"),
    rpm: Optional[float] = typer.Option(None, "--rpm", help="Requests per minute limit (0 = none)"),
    max_retries: Optional[int] = typer.Option(None, "--max-retries"),
    backoff: Optional[float] = typer.Option(None, "--backoff", help="First retry wait in seconds; doubles each retry"),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds per request"),
    sample: Optional[int] = typer.Option(None, "--sample", help="Answer a seeded random sample of N records"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    regenerate: Optional[bool] = typer.Option(None, "--regenerate/--only-missing", help="Also answer records that have a reference answer"),
    progress: bool = ProgressOpt,
    config: Optional[Path] = ConfigOpt,
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """Answer records with an LLM endpoint, resumably (cache + append-only output); rerun to resume."""
    from .synthesize import synthesize

    cfg = _config(config, sets, _synth_flags(
        base_url=base_url, model=model, api_key=api_key, api_mode=api_mode, template=str(template) if template else None,
        max_tokens=max_tokens, temperature=temperature, concurrency=concurrency, requests_per_minute=rpm,
        max_retries=max_retries, backoff_s=backoff, timeout_s=timeout, sample=sample, seed=seed, regenerate=regenerate,
    )).synthesize
    out = out or workdir / "synthesized.jsonl"
    report = synthesize(questions or workdir / "questions.jsonl", out, cfg, cache_path=workdir / "synth_cache.sqlite",
                        progress=progress)
    _show({"out": str(out), **report.to_dict()})


@data_app.command("filter")
def filter_cmd(
    inputs: Optional[list[Path]] = typer.Argument(None, help="JSONL inputs, later ones win per id (default: questions + synthesized)"),
    workdir: Path = WorkdirOpt,
    progress: bool = ProgressOpt,
    config: Optional[Path] = ConfigOpt,
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """Split records into WORKDIR/kept.jsonl and WORKDIR/dropped.jsonl (each drop with its reason)."""
    from ..errors import UserInputError
    from .filter import filter_records

    cfg = _config(config, sets, {}).filter  # a bad recipe key is reported before a missing input
    if not inputs:
        inputs = [p for p in (workdir / "questions.jsonl", workdir / "synthesized.jsonl") if p.exists()]
        if not inputs:
            raise UserInputError(f"nothing to filter in {workdir}: run `vmed data collect` first")
    _show(filter_records(list(inputs), workdir / "kept.jsonl", workdir / "dropped.jsonl", cfg, progress))


@data_app.command("review")
def review_cmd(
    workdir: Path = WorkdirOpt,
    sample: Optional[int] = typer.Option(None, "--sample", min=1, help="Spot-check a seeded random sample of N kept records"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Accept / edit / reject kept records one by one (keys a e r s q); each decision is saved at once."""
    from .review import review

    _show(review(_kept(workdir), workdir / "reviews.jsonl", sample, seed))


@data_app.command("balance")
def balance_cmd(
    workdir: Path = WorkdirOpt,
    cap_per_source: Optional[int] = typer.Option(None, "--cap-per-source",
                                                 help="Max records of any one source without its own --cap (0: none)"),
    caps: Optional[list[str]] = typer.Option(None, "--cap", help="SOURCE=N for one source (0: none; repeatable)"),
    cap_per_topic: Optional[int] = typer.Option(None, "--cap-per-topic", help="Max records per (source, topic), 1 or more"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    config: Optional[Path] = ConfigOpt,
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """Apply review decisions, shuffle with a seed and cap per source/topic into WORKDIR/balanced.jsonl."""
    from ..errors import UserInputError
    from .balance import balance

    flags: dict[str, Any] = {"balance.default_cap_per_source": cap_per_source, "balance.cap_per_topic": cap_per_topic,
                             "balance.seed": seed}
    for item in caps or []:
        name, _, value = item.partition("=")
        if not name or not value.isdigit():
            raise UserInputError(f"--cap '{item}' must look like SOURCE=N, N a record count (0: none of SOURCE)")
        flags[f"balance.cap_per_source.{name}"] = int(value)
    cfg = _config(config, sets, flags).balance
    kept = _kept(workdir)
    _show(balance(kept, workdir / "balanced.jsonl", cfg, workdir / "reviews.jsonl"))


@data_app.command("export")
def export_cmd(
    workdir: Path = WorkdirOpt,
    out: Optional[Path] = typer.Option(None, "--out", **PATH_TEXT, help="Alpaca JSON (default WORKDIR/med_instruct.json)"),
) -> None:
    """Write the Alpaca JSON and the stats report (stats.json, stats.md, lengths.png) beside it."""
    from .balance import export

    balanced = _written_by(workdir, "balanced.jsonl", "balance")
    out = out or workdir / "med_instruct.json"
    stats = export(balanced, out, workdir)
    typer.echo(Path(out.with_name("stats.md")).read_text())
    typer.echo(f"{stats['exported']['records']} records -> {out}")


@data_app.command("caption-instruct")
def caption_instruct_cmd(
    medpix: Optional[Path] = typer.Option(None, "--medpix", help="MedPix 2.0 folder (default <data dir>/medpix2)"),
    data_dir: Optional[Path] = DataDirOpt,
    workdir: Path = WorkdirOpt,
    splits: list[str] = typer.Option(["train", "dev"], "--split", help="MedPix splits (test stays out by default)"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Endpoint for multi-turn conversations (none: descriptions only)"),
    model: Optional[str] = typer.Option(None, "--model", "-m"),
    api_key: Optional[str] = ApiKeyOpt,
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens"),
    concurrency: Optional[int] = typer.Option(None, "--concurrency"),
    sample: Optional[int] = typer.Option(None, "--sample", min=1, help="Conversations for a seeded sample of N images only"),
    seed: int = typer.Option(0, "--seed"),
    progress: bool = ProgressOpt,
    config: Optional[Path] = ConfigOpt,
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """LLaVA-Med style brief/detailed description instructions from MedPix captions (+ LLM conversations)."""
    from ..errors import UserInputError
    from .caption import caption_instruct

    from ..paths import data_dir as resolve_data_dir

    # the recipe first (it was read only with --base-url: a bad key was ignored, or came after the data checks)
    cfg = _config(config, sets, _synth_flags(base_url=base_url, model=model, api_key=api_key, max_tokens=max_tokens,
                                             concurrency=concurrency))
    medpix = medpix or resolve_data_dir(data_dir, "medpix2") / "medpix2"
    if not medpix.is_dir():
        raise UserInputError(f"MedPix folder not found: {medpix}")
    synth = cfg.synthesize if base_url else None
    _show(caption_instruct(medpix, workdir, list(splits), synth, seed, progress, conversation_sample=sample))

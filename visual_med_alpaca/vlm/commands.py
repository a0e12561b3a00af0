"""`vmed train vlm -c configs/vlm-cpu.yaml [--resume]`: both stages of the VLM curriculum;
`--export runs/X/STAGE/checkpoint-N --out FOLDER`: a bundle from a kept checkpoint (a candidate to compare);
`--memory FOLDER`: the bundle's case memory from the recipe's stage-2 questions (vlm/memory.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli_options import PATH_TEXT

train_app = typer.Typer()


@train_app.command("vlm")
def train_vlm_cmd(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="VLM recipe YAML (configs/vlm-cpu.yaml)"),
    sets: Optional[list[str]] = typer.Option(None, "--set", help="Override any recipe key: --set grid=2 (repeatable)"),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint of the unfinished stage"),
    export: Optional[str] = typer.Option(None, "--export", help="Do not train: write a bundle from these trained "
                                         "weights (a stage's checkpoint-N folder, a stage folder or a bundle)"),
    out: Optional[Path] = typer.Option(None, "--out", **PATH_TEXT, help="Where --export writes the bundle"),
    memory: Optional[Path] = typer.Option(None, "--memory", help="Do not train: write the case memory (the recipe's "
                                          "stage-2 questions, by image and question) into this bundle, with the "
                                          "recipe's bundle.case_memory settings (none: the bundle's own are kept)"),
):
    """LLaVA-style VLM in two stages: projector alignment on captions, then projector + LoRA on VQA-RAD train."""
    import json

    from ..config import load_config
    from ..errors import UserInputError
    from .bundle import bundle_target
    from .train import VLMTrainConfig, export_bundle, train_vlm

    if config is None:  # it said "invalid configuration: stages: Field required"
        raise UserInputError("give the VLM recipe with -c, e.g. -c configs/vlm-cpu.yaml (--export and --memory: the "
                             "recipe the weights were trained with)")
    cfg = load_config(VLMTrainConfig, config, sets=sets)
    if memory is not None:
        if export is not None or out is not None or resume:
            raise UserInputError("--memory takes a bundle folder alone (no --export, --out or --resume)")
        from .train import build_bundle_memory

        typer.echo(json.dumps(build_bundle_memory(cfg, memory), indent=2))
        return
    if export is not None or out is not None:
        if export is None or out is None or resume:
            raise UserInputError("--export needs --out (and no --resume)")
        bundle_target(out)  # before the language model loads
        typer.echo(json.dumps({"bundle": str(export_bundle(cfg, export, out))}))
        return
    summary = train_vlm(cfg, resume=resume, log=lambda line: typer.echo(line, err=True))
    stages = {k: {x: v[x] for x in ("steps", "tokens_per_s", "train_seconds", "final_train_loss", "dev_loss")}
              for k, v in summary["stages"].items()}
    typer.echo(json.dumps({"stages": stages, "peak_rss_mb": summary["peak_rss_mb"], "bundle": summary["bundle"]}, indent=2))

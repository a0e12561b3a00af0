"""`vmed train vlm -c configs/vlm-cpu.yaml [--resume]`: both stages of the VLM curriculum."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

train_app = typer.Typer()


@train_app.command("vlm")
def train_vlm_cmd(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="VLM recipe YAML (configs/vlm-cpu.yaml)"),
    sets: Optional[list[str]] = typer.Option(None, "--set", help="Override any recipe key: --set grid=2 (repeatable)"),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint of the unfinished stage"),
):
    """LLaVA-style VLM in two stages: projector alignment on captions, then projector + LoRA on VQA-RAD train."""
    import json

    from ..config import load_config
    from .train import VLMTrainConfig, train_vlm

    cfg = load_config(VLMTrainConfig, config, sets=sets)
    summary = train_vlm(cfg, resume=resume, log=lambda line: typer.echo(line, err=True))
    stages = {k: {x: v[x] for x in ("steps", "tokens_per_s", "train_seconds", "final_train_loss", "dev_loss")}
              for k, v in summary["stages"].items()}
    typer.echo(json.dumps({"stages": stages, "peak_rss_mb": summary["peak_rss_mb"], "bundle": summary["bundle"]}, indent=2))

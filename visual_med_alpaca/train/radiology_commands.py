"""`vmed train radiology` and `vmed train captioner` (imports stay light; the work is lazy)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

train_app = typer.Typer()


@train_app.command("radiology")
def train_radiology(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML recipe (configs/radiology_heads.yaml)"),
    sets: Optional[list[str]] = typer.Option(None, "--set", help="Override a recipe key: --set out_dir=runs/heads"),
) -> None:
    """Retrain the offline radiology heads (modality, plane, region) and print held-out accuracy."""
    from ..config import load_config
    from .radiology_heads import RadiologyHeadsConfig, train_heads

    cfg = load_config(RadiologyHeadsConfig, config, sets=sets)
    report = train_heads(cfg)
    for head, meta in report.items():
        accuracy = meta["held_out_accuracy"]
        shown = "n/a" if accuracy is None else f"{accuracy:.3f}"
        typer.echo(f"{head:9s} held-out accuracy {shown} on {meta['held_out_images']} images "
                   f"(trained on {meta['train_images']}, C={meta['C']})")
    typer.echo(f"heads written to {cfg.out_dir}")


@train_app.command("captioner")
def train_captioner_command(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML recipe (configs/captioner_medpix.yaml)"),
    sets: Optional[list[str]] = typer.Option(None, "--set", help="Override a recipe key: --set epochs=1"),
    model: Optional[str] = typer.Option(None, "--model", help="GIT checkpoint folder or hub id"),
    output_dir: Optional[str] = typer.Option(None, "--output-dir", "-o"),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in output_dir"),
) -> None:
    """Fine-tune a GIT captioner (Med-GIT) on image-caption pairs; run under `accelerate launch` for multi-GPU."""
    import json

    from ..config import load_config
    from .captioner import CaptionerTrainConfig, train_captioner

    cfg = load_config(CaptionerTrainConfig, config, {"model": model, "output_dir": output_dir}, sets=sets)
    result = train_captioner(cfg, resume=resume)
    if result:
        typer.echo(json.dumps(result, indent=2))

"""`vmed train router` (heavy imports stay inside the function)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli_options import PATH_TEXT

train_app = typer.Typer()


@train_app.command("router")
def train_router_command(
    data: Optional[Path] = typer.Option(None, "--data-dir", "--data", help="Data folder with vqa_rad/, medpix2/, pathvqa_test/, opencqa_charts_dev/ (default $VMED_DATA_DIR, else ../shared/data)"),
    out: Optional[Path] = typer.Option(None, "--out", **PATH_TEXT, help="Head file (default: the package's assets/router/head.npz)"),
    n_charts: int = typer.Option(150, "--n-charts", min=0, help="Synthetic charts of each generator (studio, plain) to add to the chart class"),
    test_fraction: float = typer.Option(0.25, "--test-fraction", min=0.05, max=0.5),
    per_source_limit: int = typer.Option(400, "--per-source-limit", min=10, help="At most this many images per dataset"),
    cache: Path = typer.Option(Path("runs/router"), "--cache", help="Feature cache (a rerun resumes from it)"),
    search: bool = typer.Option(False, "--search", help="Search the head's settings (C, class weights, `other` bias) by group CV again instead of the fixed ones"),
) -> None:
    """Retrain the image-type router head and print held-out accuracy and the confusion matrix."""
    from ..paths import data_dir
    from ..router.base import IMAGE_CLASSES
    from ..train.router import HEAD_PATH, train_router

    report = train_router(data_dir(data), out or HEAD_PATH, None, n_charts, test_fraction, per_source_limit, cache, search)
    typer.echo(f"held-out accuracy {report['held_out_accuracy']:.3f} on {report['test_images']} images "
               f"(trained on {report['train_images']}); the same expert as the true class for "
               f"{report['held_out_expert_accuracy']:.3f}")
    typer.echo("true \\ predicted  " + "  ".join(f"{c:>9}" for c in IMAGE_CLASSES))
    for name, row in zip(IMAGE_CLASSES, report["confusion_matrix_rows_true_cols_predicted"]):
        typer.echo(f"{name:>16}  " + "  ".join(f"{v:>9}" for v in row))

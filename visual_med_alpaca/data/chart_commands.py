"""`vmed data make-charts` and `vmed eval charts` (heavy imports stay inside the functions)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli_options import PATH_TEXT
# numpy, which .charts imports, is loaded by the CLI already; matplotlib only when drawing
from .charts import GENERATORS, STYLES_OF

data_app = typer.Typer()
eval_app = typer.Typer()


@data_app.command("make-charts")
def make_charts(
    out: Path = typer.Option(..., "--out", **PATH_TEXT, help="Folder for images/ and gold.jsonl"),
    n: int = typer.Option(200, "--n", min=1, help="Number of charts"),
    seed: int = typer.Option(0, "--seed", min=0, help="Same seed -> same charts; reruns resume"),
    generator: str = typer.Option("studio", "--generator", help=f"One of: {', '.join(GENERATORS)} (what each draws: "
                                  "docs/charts.md; all but the first two are development pools)"),
    styles: str = typer.Option("", "--styles", help="Only these styles, comma-separated, from the --generator's own (" +
                                "; ".join(f"{g}: {', '.join(s)}" for g, s in STYLES_OF.items()) + ")"),
) -> None:
    """Draw N random charts with matplotlib and write each with its gold DePlot table."""
    from .charts import make_chart_set

    only = tuple(s.strip() for s in styles.split(",") if s.strip())
    gold = make_chart_set(out, n, seed, generator=generator, styles=only)
    typer.echo(f"wrote {n} charts and {gold}")


@eval_app.command("charts")
def eval_charts(
    set_dir: Path = typer.Option(..., "--set", help="Any folder with a DePlot-format gold.jsonl (make-charts, chartqa_dev)"),
    expert: str = typer.Option("chart", "--expert", "-e", help="chart (offline) or deplot"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N charts"),
    split: str = typer.Option("all", "--split", help="all, dev or report (sha1 of the file stem: even = dev)"),
    only: Optional[list[str]] = typer.Option(None, "--only", help="Only these chart ids / file names (repeatable)"),
    out: Optional[Path] = typer.Option(None, "--out", **PATH_TEXT, help="Metrics JSON (default: SET/metrics_<expert>.json, "
                                       "or runs/eval_charts/<set>/ when SET is read-only)"),
    restart: bool = typer.Option(False, "--restart", help="Delete earlier predictions for --out first (a rerun "
                                 "otherwise skips the charts already predicted)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar"),
) -> None:
    """Report RMS-F1, RNSS, unread charts and seconds per chart, overall and per kind; a rerun resumes."""
    from ..eval.charts import evaluate_chart_set, format_metrics

    m = evaluate_chart_set(set_dir, expert, limit, out, split=split, only=only, resume=not restart,
                           progress=not quiet)
    for line in format_metrics(m):
        typer.echo(line)
    typer.echo(f"metrics: {m['metrics_file']}")

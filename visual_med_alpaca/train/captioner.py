"""Fine-tune a GIT captioner (Med-GIT) on radiology image-caption pairs, through accelerate.

Fixes the original script's defects: pad tokens are masked out of the loss (labels -100), the attention mask
is passed, a validation split is scored with caption metrics (BLEU-4, ROUGE-L, CIDEr), checkpoints are saved
every N steps and `--resume` continues from the last one, everything is seeded, and progress is shown.
Multi-GPU: `accelerate launch --config_file configs/accelerate/multi_gpu.yaml -m visual_med_alpaca.cli train
captioner ...`.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from ..config import Strict, dump_config
from ..errors import UserInputError


class CaptionData(Strict):
    kind: Literal["csv", "jsonl", "medpix"] = Field("medpix", description="csv: id,name,caption; jsonl: image,caption")
    captions: str | None = Field(None, description="CSV or JSONL file (csv/jsonl kinds)")
    images_dir: str | None = Field(None, description="folder the image names are relative to (csv/jsonl kinds)")
    medpix_dir: str = "../shared/data/medpix2"
    medpix_splits: list[str] = Field(["dev"], description="MedPix 2.0 splits to train on (test is for evaluation)")
    exclude_list: str | None = Field("../shared/data/medpix2/overlap_with_vqa_rad.tsv",
                                     description="TSV/text whose first column lists image names to leave out")
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="held-out share of the images for validation")
    limit: int | None = Field(None, ge=1, description="use only the first N pairs (smoke runs)")
    medpix_facts: bool = Field(False, description="medpix: start each caption with its modality, plane and location")


class CaptionerTrainConfig(Strict):
    model: str = Field("microsoft/git-base", description="GIT checkpoint: folder or hub id")
    output_dir: str = "runs/captioner"
    data: CaptionData = CaptionData()
    epochs: int = Field(3, ge=1)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    learning_rate: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(0, ge=0)
    max_caption_tokens: int = Field(64, ge=4)
    save_every: int = Field(200, ge=1, description="checkpoint every N optimizer steps")
    keep_checkpoints: int = Field(2, ge=1)
    eval_every: int | None = Field(None, ge=1, description="validate every N steps (default: each epoch)")
    num_beams: int = Field(1, ge=1, description="decoding for validation captions")
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    seed: int = 0


@dataclass
class Pair:
    image: Path
    caption: str


def _excluded(path: str | None) -> set[str]:
    if not path or not Path(path).exists():
        return set()
    names = set()
    for line in Path(path).read_text().splitlines()[1:]:
        if line.strip():
            names.add(Path(line.split("\t")[0].strip()).stem)
    return names


def load_pairs(data: CaptionData) -> list[Pair]:
    """Image-caption pairs from a ROCO-style CSV (id,name,caption), a JSONL file or MedPix 2.0."""
    exclude = _excluded(data.exclude_list)
    pairs: list[Pair] = []
    if data.kind == "medpix":
        root = Path(data.medpix_dir)
        for split in data.medpix_splits:
            listing = root / "splitted_dataset" / f"descriptions_{split}.jsonl"
            if not listing.exists():
                raise UserInputError(f"MedPix split file not found: {listing}")
            for line in listing.open():
                record = json.loads(line)
                caption = " ".join((record["Description"].get("Caption") or "").split())
                if caption and data.medpix_facts:
                    desc = record["Description"]
                    facts = [desc.get("Modality"), desc.get("Plane"), record.get("Location")]
                    caption = "; ".join(" ".join(str(f).split()) for f in facts if f) + ". " + caption
                path = root / "images" / f"{record['image']}.png"
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
            for number, line in enumerate(Path(data.captions).open(), 1):
                if line.strip():
                    try:
                        record = json.loads(line)
                        rows.append((record["image"], record["caption"]))
                    except (json.JSONDecodeError, KeyError):
                        raise UserInputError(f"{data.captions}:{number}: need a JSON object with image and caption") from None
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


def _checkpoints(output: Path) -> list[Path]:
    found = [p for p in output.glob("checkpoint-*") if p.is_dir() and (p / "progress.json").exists()]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def train_captioner(cfg: CaptionerTrainConfig, resume: bool = False) -> dict:
    """Train, validate, checkpoint; returns the final metrics (also written to output_dir/metrics.json)."""
    output = Path(cfg.output_dir)
    existing = _checkpoints(output)
    if existing and not resume:
        raise UserInputError(f"{output} already has checkpoints; pass --resume to continue, or pick a new output_dir")
    pairs = load_pairs(cfg.data)  # bad data fails here, before the heavy imports

    import torch
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, set_seed
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    from ..experts.medgit import load_captioner

    set_seed(cfg.seed)
    accelerator = Accelerator(gradient_accumulation_steps=cfg.grad_accum, mixed_precision=cfg.mixed_precision,
                              dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True))
    train_pairs, val_pairs = split_pairs(pairs, cfg.data.val_fraction, cfg.seed)
    if not train_pairs:
        raise UserInputError("the validation split took every image; lower data.val_fraction")
    processor, model = load_captioner(cfg.model)
    bos = model.config.bos_token_id if model.config.bos_token_id is not None else processor.tokenizer.cls_token_id
    eos = model.config.eos_token_id if model.config.eos_token_id is not None else processor.tokenizer.sep_token_id
    collate = CaptionCollator(processor, bos, eos, cfg.max_caption_tokens)
    loader = DataLoader(train_pairs, batch_size=cfg.batch_size, shuffle=True, collate_fn=collate,
                        generator=torch.Generator().manual_seed(cfg.seed))
    steps_per_epoch = math.ceil(len(loader) / cfg.grad_accum)
    total = cfg.max_steps or steps_per_epoch * cfg.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, cfg.warmup_steps, total)
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    step, history = 0, []
    if resume and existing:
        accelerator.load_state(str(existing[-1]))
        progress = json.loads((existing[-1] / "progress.json").read_text())
        step, history = progress["step"], progress["history"]
        accelerator.print(f"resumed from {existing[-1]} (step {step})")
    output.mkdir(parents=True, exist_ok=True)
    (output / "recipe.yaml").write_text(dump_config(cfg))

    def validate() -> dict:
        if not val_pairs:
            return {}
        from PIL import Image

        unwrapped = accelerator.unwrap_model(model).eval()
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

    def save_checkpoint() -> None:
        path = output / f"checkpoint-{step}"
        accelerator.save_state(str(path))
        if accelerator.is_main_process:
            (path / "progress.json").write_text(json.dumps({"step": step, "history": history}))
            for old in _checkpoints(output)[: -cfg.keep_checkpoints]:
                import shutil

                shutil.rmtree(old)

    bar = tqdm(total=total, initial=step, desc="captioner", unit="step", disable=not accelerator.is_local_main_process)
    model.train()
    epoch = step // steps_per_epoch
    metrics: dict = {}
    while step < total:
        # The same seeded shuffle per epoch, so a resumed run sees the batches an uninterrupted one would.
        loader.set_epoch(epoch)
        skip = (step - epoch * steps_per_epoch) * cfg.grad_accum
        batches = accelerator.skip_first_batches(loader, skip) if skip else loader
        for batch in batches:
            with accelerator.accumulate(model):
                loss = training_loss(model, batch)
                accelerator.backward(loss)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            if not accelerator.sync_gradients:
                continue
            step += 1
            history.append({"step": step, "loss": round(float(loss.detach()), 5)})
            bar.update(1)
            bar.set_postfix(loss=f"{history[-1]['loss']:.4f}")
            if cfg.eval_every and step % cfg.eval_every == 0:
                metrics = validate()
                history[-1]["val"] = metrics
            if step % cfg.save_every == 0:
                save_checkpoint()
            if step >= total:
                break
        epoch += 1
        if not cfg.eval_every and step < total:
            metrics = validate()
            history[-1]["val"] = metrics
    bar.close()
    metrics = validate()
    final = output / "final"
    if accelerator.is_main_process:
        accelerator.unwrap_model(model).save_pretrained(final)
        processor.save_pretrained(final)
        result = {"steps": step, "train_pairs": len(train_pairs), "val_pairs": len(val_pairs),
                  "first_loss": history[0]["loss"] if history else None,
                  "last_loss": history[-1]["loss"] if history else None, "val_metrics": metrics, "model": str(final)}
        (output / "metrics.json").write_text(json.dumps({**result, "history": history}, indent=2))
        return result
    return {}

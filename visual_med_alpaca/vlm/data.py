"""Training examples for the two stages, read through the project's one reader per source:
stage 1 = image-caption pairs (MedPix 2.0 dev, `train.captioner.load_pairs`), stage 2 = VQA-RAD train QA
(`data.sources.vqa_rad.vqa_rad_train_split`, with a by-image dev part held out). MedPix test, PathVQA test and
VQA-RAD test are never read here. ROCO captions have no images in shared data, so they cannot be used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UserInputError
from .model import CAPTION_QUESTION, build_vlm_prompt


@dataclass(frozen=True)
class Example:
    image: Path
    prompt: str
    answer: str
    kind: str = "caption"  # caption | closed | open


def caption_examples(root: Path, splits: list[str], facts: bool = True) -> list[Example]:
    from ..train.captioner import CaptionData, load_pairs

    if "test" in splits:
        raise UserInputError("MedPix 'test' is an evaluation split; train captions on dev (and train where present)")
    data = CaptionData(kind="medpix", medpix_dir=str(root / "medpix2"), medpix_splits=splits,
                       exclude_list=str(root / "medpix2" / "overlap_with_vqa_rad.tsv"), medpix_facts=facts)
    prompt = build_vlm_prompt(CAPTION_QUESTION)
    return [Example(p.image, prompt, p.caption) for p in load_pairs(data)]


def vqa_items(root: Path, dev_fraction: float, seed: int, dev_split: str = "image"):
    """(train, dev) VQA-RAD train items of a stage-2 recipe. dev_split 'image': dev = the held-out train images;
    'seen': those images' questions split by question (`vqa_rad_seen_split`): D-train joins train, dev = D-eval
    (questions about images trained on); 'seen-grouped': the same with VQA-RAD's paraphrase groups kept on one side
    (`vqa_rad_grouped_split`). Training and the case memory (`memory.py`) both read this."""
    from ..data.sources.vqa_rad import vqa_rad_grouped_split, vqa_rad_seen_split, vqa_rad_train_split

    train, dev = vqa_rad_train_split(root, dev_fraction, seed)
    if dev_split in ("seen", "seen-grouped"):
        split = vqa_rad_seen_split if dev_split == "seen" else vqa_rad_grouped_split
        d_train, dev, _ = split(root, dev_fraction, seed)
        train = train + d_train
    return train, dev


def vqa_examples(root: Path, dev_fraction: float, seed: int,
                 dev_split: str = "image") -> tuple[list[Example], list[Example]]:
    """(train, dev) training examples of `vqa_items`."""
    train, dev = vqa_items(root, dev_fraction, seed, dev_split)
    def convert(items):
        return [Example(i.image, build_vlm_prompt(i.question), i.reference, i.kind) for i in items]

    return convert(train), convert(dev)

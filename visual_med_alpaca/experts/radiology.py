"""Offline radiology expert: modality, plane/view and body region, each with a confidence, as one sentence.

It says only what can be known reliably about the *kind* of image, never findings or diagnoses. DICOM header
facts win over the pixels (and the sentence says so). Small logistic-regression heads on EfficientNet-Lite0
features make the pixel-based guesses (trained by `vmed train radiology`). With a captioner checkpoint
configured (`captioner: path or hub id`), the Med-GIT caption is used instead, optionally after these facts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserInputError
from ..features import LinearHead
from ..images import LoadedImage, too_small_to_classify
from ..paths import ASSETS

HEADS = ("modality", "plane", "region")
_REGION_WORDS = (
    (r"head|brain|skull|neuro|orbit|neck", "head"), (r"chest|thorax|lung|breast|heart|cardiac", "chest"),
    (r"spine|spinal|[lct]-?spine|sacrum", "spine"), (r"abdomen|abd|liver|kidney|pelvis|prostate|bladder", "abdomen or pelvis"),
    (r"knee|ankle|foot|hand|wrist|elbow|shoulder|hip|femur|leg|arm|extremity|limb", "limb"),
)
_VIEW_NAMES = {"PA": "frontal (PA)", "AP": "frontal (AP)", "LAT": "lateral", "LL": "lateral", "RL": "lateral",
               "LLD": "decubitus", "RLD": "decubitus"}


def _region_from_header(body_part: str) -> str:
    for pattern, region in _REGION_WORDS:
        if re.search(pattern, body_part.lower()):
            return region
    return body_part.lower()


def _phrase(value: str) -> str:
    return value.replace("abdomen/pelvis", "abdomen or pelvis").replace("frontal (PA/AP)", "frontal (PA or AP)")


class RadiologyExpert:
    name = "radiology"
    passes_options_to = "medgit"  # **captioner_options: base.check_options knows them by the medgit expert's names
    sets_options = ("model",)  # ... less `model`, which is `captioner` here

    def __init__(self, heads_dir: str | None = None, min_confidence: float = 0.5, captioner: str | None = None,
                 prefix_facts: bool = True, **captioner_options: Any):
        self.min_confidence = min_confidence
        self.prefix_facts = prefix_facts
        folder = Path(heads_dir) if heads_dir else ASSETS / "radiology"
        self.heads = {h: LinearHead(folder / f"{h}.npz", "retrain them with `vmed train radiology`")
                      for h in HEADS}
        self.captioner = None
        if captioner_options:  # a typo, or a captioner option with no captioner to take it, was silently ignored
            from .base import check_options

            check_options(RadiologyExpert, self.name, captioner_options)
            if not captioner:
                raise UserInputError(f"option(s) {', '.join(sorted(captioner_options))} in vision.expert_options."
                                     f"{self.name} are for its captioner, and no captioner is set (vision."
                                     f"expert_options.{self.name}.captioner: a GIT checkpoint folder or hub id)")
        if captioner:  # through the registry's cache: `--expert medgit` with the same model shares its weights
            from .base import load_expert

            self.captioner = load_expert("medgit", {"model": captioner, **captioner_options})

    def classify(self, images: list[LoadedImage]) -> list[dict[str, dict[str, float]]]:
        """Per image, per head: class -> probability (from the pixels only)."""
        from ..features import embeddings_of

        features = embeddings_of(images)
        per_head = {h: head.predict(features) for h, head in self.heads.items()}
        return [{h: per_head[h][i] for h in HEADS} for i in range(len(images))]

    def facts(self, image: LoadedImage) -> dict[str, tuple[str, float | None]]:
        """head -> (value, confidence); confidence None means it came from the file's header (DICOM or NIfTI)."""
        scores = self.classify([image])[0]
        chosen: dict[str, tuple[str, float | None]] = {}
        for head in HEADS:
            value, probability = max(scores[head].items(), key=lambda kv: kv[1])
            chosen[head] = (value, probability)
        header = image.facts
        if "modality" in header and header["modality"] not in ("other", "secondary capture"):
            chosen["modality"] = (header["modality"], None)
        if "plane" in header:
            chosen["plane"] = (header["plane"], None)
        elif "view" in header:
            chosen["plane"] = (_VIEW_NAMES.get(header["view"], header["view"]), None)
        if "body part" in header:
            chosen["region"] = (_region_from_header(header["body part"]), None)
        return chosen

    def sentence(self, facts: dict[str, tuple[str, float | None]], header: str = "DICOM") -> str:
        """`header`: the format whose header gave the facts without a confidence (DICOM, or NIfTI: its plane)."""
        sure = {h: _phrase(v) for h, (v, p) in facts.items() if p is None or p >= self.min_confidence}
        words = []
        if "plane" in sure:
            words.append(sure["plane"])
        words.append(f"{sure['modality']} image" if "modality" in sure else "radiology image")
        text = " ".join(words)
        text = text[0].upper() + text[1:]
        if "region" in sure:
            text += f" of the {sure['region']}"
        details = []
        for head in HEADS:
            value, probability = facts[head]
            if probability is None:
                details.append(f"{head} {_phrase(value)} from the {header} header")
            elif probability >= self.min_confidence:
                details.append(f"{head} {_phrase(value)} {probability:.2f}")
            else:
                details.append(f"{head} uncertain (best guess {_phrase(value)} {probability:.2f})")
        return f"{text}. ({'; '.join(details)}; only the image type is described, not findings.)"

    def describe(self, image: LoadedImage) -> str:
        too_small = too_small_to_classify(image)
        if too_small:  # said so, not guessed
            return too_small
        header = "NIfTI" if image.facts.get("format") == "NIfTI volume" else "DICOM"
        if self.captioner is None:
            return self.sentence(self.facts(image), header)
        caption = self.captioner.describe(image)
        if not self.prefix_facts:
            return caption
        facts = self.sentence(self.facts(image), header).split(" (")[0]
        return f"{facts} Caption: {caption}"

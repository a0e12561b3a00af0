"""Train the offline radiology heads: modality, plane and body region from EfficientNet-Lite0 features.

Labels come from real data: MedPix 2.0 `Descriptions.json` (Modality, Plane, Location) and VQA-RAD
(`image_organ`, plus the answers to its MODALITY / PLANE questions). The split is by image (synpic id):
held out are the MedPix *test* images and every VQA-RAD *test* image, so none of them is trained on.
Heads are scikit-learn logistic regressions saved as plain numbers (npz + json), never pickle.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import Field

from .. import paths
from ..config import Strict
from ..data.sources import medpix as medpix_source
from ..data.sources import vqa_rad as vqa_rad_source
from ..errors import UserInputError
from ..paths import ASSETS

HEADS = ("modality", "plane", "region")
HEAD_DIR = ASSETS / "radiology"

REGION_OF_LOCATION = {
    "Brain and Neuro": "head", "Head and Neck": "head", "Eye and Orbit": "head", "Ophthalmology": "head",
    "Nerve, central": "head", "Chest, Pulmonary": "chest", "Cardiovascular": "chest",
    "Gastrointestinal": "abdomen/pelvis", "Abdomen": "abdomen/pelvis", "Genitourinary": "abdomen/pelvis",
    "Spine": "spine",
}  # Musculoskeletal, Vascular, Generalized, ... mix regions: left unlabelled rather than guessed
REGION_OF_ORGAN = {"HEAD": "head", "CHEST": "chest", "ABD": "abdomen/pelvis"}
PLANE_OF_MEDPIX = {"Axial": "axial", "Transverse": "axial", "Coronal": "coronal", "Sagittal": "sagittal",
                   "AP": "frontal (PA/AP)", "PA": "frontal (PA/AP)", "Frontal": "frontal (PA/AP)", "Lateral": "lateral"}


class RadiologyHeadsConfig(Strict):
    data_dir: str | None = Field(None, description="data folder (default $VMED_DATA_DIR, else ../shared/data)")
    medpix_dir: str | None = Field(None, description="MedPix 2.0 folder (default <data_dir>/medpix2)")
    vqa_rad_dir: str | None = Field(None, description="VQA-RAD folder, hf_*.jsonl + images/ (default <data_dir>/vqa_rad)")
    out_dir: str = Field(str(HEAD_DIR), description="where the heads (npz + json) are written")
    cache: str = Field("runs/radiology/features.npz", description="feature cache, so a rerun skips the backbone")
    min_examples: int = Field(8, ge=1, description="classes with fewer training images are dropped")
    c_grid: list[float] = Field([0.003, 0.01, 0.03, 0.1, 0.3, 1.0], description="inverse regularisation, picked by CV")
    seed: int = 0


@dataclass
class Example:
    key: str  # synpic id: the unit of the split
    path: Path
    held_out: bool
    labels: dict[str, str] = field(default_factory=dict)


def _modality_from_text(text: str) -> str | None:
    t = text.lower()
    if re.search(r"\b(mri?|mra|flair|t1|t2|dwi|adc|gadolinium|diffusion)\b", t):
        return "MRI"
    if re.search(r"\b(ct|cta|computed tomography)\b", t):
        return "CT"
    if re.search(r"x-?ray|radiograph|plain film|\bfilm\b|\bcxr\b", t):
        return "X-ray"
    return None


def _plane_from_text(text: str) -> str | None:
    t = text.lower()
    for pattern, plane in ((r"axial|transverse", "axial"), (r"coronal", "coronal"), (r"sagg?ittal", "sagittal"),
                           (r"\bpa\b|\bap\b|postero-?anterior|antero-?posterior", "frontal (PA/AP)"),
                           (r"\blateral\b", "lateral")):
        if re.search(pattern, t):
            return plane
    return None


def _vqa_rad_labels(rows: list[dict]) -> dict[str, dict[str, str]]:
    """Per image: region from image_organ, modality/plane by majority vote of the relevant answers."""
    votes: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for row in rows:
        image, qtype = row["image"], row.get("question_type") or ""
        answer, question = str(row["answer"]).lower().strip(), row["question"].lower()
        if row.get("image_organ") in REGION_OF_ORGAN:
            votes[image]["region"][REGION_OF_ORGAN[row["image_organ"]]] += 1
        for head, reader in (("modality", _modality_from_text), ("plane", _plane_from_text)):
            if head.upper() not in qtype.upper():
                continue
            if answer in ("yes", "no"):
                # "is this an mri?" yes -> MRI; a "no" (or an either/or question) names nothing certain
                named = reader(question) if answer == "yes" and " or " not in question else None
            else:
                named = reader(answer)
            if named:
                votes[image][head][named] += 1
                if named == "frontal (PA/AP)":
                    votes[image]["modality"]["X-ray"] += 1  # a PA/AP film is a radiograph
    labels: dict[str, dict[str, str]] = {}
    for image, heads in votes.items():
        chosen = {}
        for head, counter in heads.items():
            (best, n), *rest = counter.most_common()
            if not rest or n > rest[0][1]:
                chosen[head] = best
        labels[image] = chosen
    return labels


def collect_examples(cfg: RadiologyHeadsConfig) -> list[Example]:
    medpix = Path(cfg.medpix_dir) if cfg.medpix_dir else paths.data_dir(cfg.data_dir, "medpix2") / "medpix2"
    vqa = (Path(cfg.vqa_rad_dir) if cfg.vqa_rad_dir
           else paths.data_dir(cfg.data_dir, vqa_rad_source.FOLDER) / vqa_rad_source.FOLDER)
    for needed in (medpix / "Descriptions.json", vqa / "hf_train.jsonl"):
        if not needed.exists():
            raise UserInputError(f"training data not found: {needed} (set medpix_dir / vqa_rad_dir)")
    test_rows = vqa_rad_source.vqa_rad_rows(vqa, "test")
    train_rows = vqa_rad_source.vqa_rad_rows(vqa, "train")
    vqa_test_images = {row["image"].rsplit(".", 1)[0] for row in test_rows}
    vqa_labels = _vqa_rad_labels(train_rows + test_rows)
    medpix_test = {record["image"] for record in medpix_source.read_descriptions(medpix, ["test"])}
    examples: dict[str, Example] = {}
    for record in medpix_source.read_descriptions(medpix):
        path = medpix_source.image_path(medpix, record)
        if not path.exists():
            continue
        key = record["image"].split("_", 1)[1]  # synpic id, shared with VQA-RAD
        desc = record["Description"]
        labels = {"modality": {"CT": "CT", "MR": "MRI"}[record["Type"]]}
        if desc.get("Plane") in PLANE_OF_MEDPIX:
            labels["plane"] = PLANE_OF_MEDPIX[desc["Plane"]]
        if record.get("Location") in REGION_OF_LOCATION:
            labels["region"] = REGION_OF_LOCATION[record["Location"]]
        held = record["image"] in medpix_test or key in vqa_test_images
        examples[key] = Example(key, path, held, labels)
    for image, labels in vqa_labels.items():
        key = image.rsplit(".", 1)[0]
        path = vqa / "images" / image
        if key in examples or not path.exists() or not labels:
            continue  # an image in both sets keeps its MedPix record (and its stricter split)
        examples[key] = Example(key, path, key in vqa_test_images, labels)
    return sorted(examples.values(), key=lambda e: e.key)


def embed_examples(examples: list[Example], cache: Path) -> np.ndarray:
    """Backbone features for every example, cached by image key so reruns are quick."""
    from PIL import Image
    from tqdm import tqdm

    from ..features import load_feature_cache, save_feature_cache, shared_features

    known = load_feature_cache(cache)
    missing = [e for e in examples if e.key not in known]
    backbone = shared_features() if missing else None
    for start in tqdm(range(0, len(missing), 16), desc="features", unit="batch", disable=not missing):
        batch = missing[start:start + 16]
        images = [Image.open(e.path).convert("RGB") for e in batch]
        for example, vector in zip(batch, backbone.embed(images)):
            known[example.key] = vector
    save_feature_cache(cache, known)
    return np.stack([known[e.key] for e in examples])


def fit_head(features: np.ndarray, labels: list[str], c_grid: list[float], seed: int):
    """Standardise, pick C by 5-fold CV on the training images only, fit a balanced logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, class_weight="balanced"))
    folds = min(5, min(Counter(labels).values()))
    search = GridSearchCV(pipe, {"logisticregression__C": c_grid}, cv=StratifiedKFold(folds, shuffle=True,
                          random_state=seed), n_jobs=1)
    search.fit(features, labels)
    return search.best_estimator_, search.best_params_["logisticregression__C"]


def save_head(pipe, out_dir: Path, head: str, meta: dict) -> None:
    scaler, clf = pipe.named_steps["standardscaler"], pipe.named_steps["logisticregression"]
    coef, intercept = clf.coef_, clf.intercept_
    if coef.shape[0] == 1:  # binary: sklearn keeps one row; store both so inference is one softmax
        coef, intercept = np.vstack([-coef[0] / 2, coef[0] / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    np.savez_compressed(out_dir / f"{head}.npz", mean=scaler.mean_.astype(np.float32),
                        scale=scaler.scale_.astype(np.float32), coef=coef.astype(np.float32),
                        intercept=intercept.astype(np.float32))
    (out_dir / f"{head}.json").write_text(json.dumps({"classes": list(map(str, clf.classes_)), **meta}, indent=2))


def train_heads(cfg: RadiologyHeadsConfig, hold_out: frozenset[str] = frozenset()) -> dict:
    """Collect labels, embed, fit one head per task, report held-out accuracy, write the heads.

    `hold_out`: more image keys (synpic ids) to keep out of training, e.g. a VQA-RAD dev split, so heads
    for an experiment on that split never saw its images (bench/vlm_closed_expert.py)."""
    examples = collect_examples(cfg)
    for example in examples:
        example.held_out = example.held_out or example.key in hold_out
    features = embed_examples(examples, Path(cfg.cache))
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {}
    for head in HEADS:
        rows = [i for i, e in enumerate(examples) if head in e.labels]
        counts = Counter(examples[i].labels[head] for i in rows if not examples[i].held_out)
        keep = {c for c, n in counts.items() if n >= cfg.min_examples}
        train = [i for i in rows if not examples[i].held_out and examples[i].labels[head] in keep]
        test = [i for i in rows if examples[i].held_out and examples[i].labels[head] in keep]
        y_train = [examples[i].labels[head] for i in train]
        pipe, best_c = fit_head(features[train], y_train, cfg.c_grid, cfg.seed)
        y_test = [examples[i].labels[head] for i in test]
        predicted = pipe.predict(features[test]) if test else []
        accuracy = float(np.mean([p == t for p, t in zip(predicted, y_test)])) if test else None
        per_class = {c: {"train": sum(y == c for y in y_train), "held_out": sum(y == c for y in y_test),
                         "held_out_correct": int(sum(p == t == c for p, t in zip(predicted, y_test)))}
                     for c in sorted(keep)}
        dropped = sorted(set(counts) - keep)
        meta = {"head": head, "backbone": f"efficientnet-lite0 (final + stage means, {features.shape[1]}-d)", "C": best_c,
                "train_images": len(train), "held_out_images": len(test), "held_out_accuracy": accuracy,
                "per_class": per_class, "dropped_classes (too few training images)": dropped}
        save_head(pipe, out_dir, head, meta)
        report[head] = meta
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    return report

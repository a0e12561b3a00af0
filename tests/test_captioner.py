"""Med-GIT captioner training (train/captioner.py): data loading, the pad/attention-mask fixes, metrics,
resume, and a tiny random GIT that overfits real MedPix images and reloads through the medgit expert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import shared_data
from helpers_radiology import MEDPIX_FEW, build_tiny_git

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.train.captioner import (CaptionCollator, CaptionData, CaptionerTrainConfig, Pair,
                                               caption_metrics, load_pairs, split_pairs, train_captioner,
                                               training_loss)

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_git(tmp_path_factory) -> Path:
    return build_tiny_git(tmp_path_factory.mktemp("tiny-git"))


@pytest.fixture(scope="module")
def few_pairs(tmp_path_factory) -> Path:
    """A JSONL caption file over four real MedPix 2.0 images."""
    images = shared_data("medpix2", "images")
    path = tmp_path_factory.mktemp("pairs") / "few.jsonl"
    path.write_text("".join(json.dumps({"image": str(images / name), "caption": caption}) + "\n"
                            for name, caption in MEDPIX_FEW.items()))
    return path


def _collate(tiny_git: Path):
    from visual_med_alpaca.experts.medgit import load_captioner

    processor, model = load_captioner(str(tiny_git))
    return CaptionCollator(processor, model.config.bos_token_id, model.config.eos_token_id, 32), model


def test_pads_are_masked_out_of_labels_and_loss(tiny_git, few_pairs):
    """Regression: the original script trained on pad tokens (labels = input_ids)."""
    collate, model = _collate(tiny_git)
    pairs = [Pair(Path(json.loads(line)["image"]), json.loads(line)["caption"]) for line in few_pairs.open()][:2]
    pairs[1].caption = "a much longer caption than the first one, so the first is padded"
    batch = collate(pairs)
    pad = batch["attention_mask"] == 0
    assert pad.any(), "the shorter caption must be padded"
    assert (batch["labels"][pad] == -100).all() and (batch["labels"][~pad] == batch["input_ids"][~pad]).all()
    model.eval()
    with torch.no_grad():
        padded = training_loss(model, batch)
        singles = [collate([p]) for p in pairs]
        counts = [int(s["attention_mask"].sum()) - 1 for s in singles]  # predicted tokens per caption
        single_losses = [float(training_loss(model, s)) for s in singles]
        expected = sum(loss * n for loss, n in zip(single_losses, counts)) / sum(counts)
        buggy = dict(batch, labels=batch["input_ids"])  # pads left in the labels
        assert abs(float(padded) - expected) < 1e-4
        assert abs(float(training_loss(model, buggy)) - expected) > 1e-3


def test_each_caption_is_bos_tokens_eos_cut_to_the_limit(tiny_git, few_pairs):
    """What the captioner learns from: [bos] caption [eos] per image (so it learns to stop), at most
    max_caption_tokens long, with the attention mask covering exactly those tokens."""
    collate, model = _collate(tiny_git)  # max_caption_tokens 32
    image = Path(json.loads(few_pairs.open().readline())["image"])
    batch = collate([Pair(image, "MRI"), Pair(image, "axial image of the brain " * 20)])
    tokenizer = collate.processor.tokenizer
    lengths = batch["attention_mask"].sum(1).tolist()
    assert lengths == [len(tokenizer("MRI", add_special_tokens=False).input_ids) + 2, 32]
    for row, n in zip(batch["input_ids"], lengths):
        assert row[0] == model.config.bos_token_id and row[n - 1] == model.config.eos_token_id
    assert (batch["attention_mask"][0, lengths[0]:] == 0).all() and (batch["labels"][0, lengths[0]:] == -100).all()


def test_csv_jsonl_and_medpix_sources(tmp_path):
    images = shared_data("medpix2", "images")
    names = list(MEDPIX_FEW)
    (tmp_path / "roco.csv").write_text("id,name,caption\n" + "".join(
        f"ROCO_{i},{n},\"{MEDPIX_FEW[n]}, with a comma\"\n" for i, n in enumerate(names)))
    csv_pairs = load_pairs(CaptionData(kind="csv", captions=str(tmp_path / "roco.csv"), images_dir=str(images)))
    assert [p.caption for p in csv_pairs][0] == "MRI Images, with a comma" and len(csv_pairs) == 4
    (tmp_path / "bad.csv").write_text("file,text\na,b\n")
    with pytest.raises(UserInputError, match="id,name,caption"):
        load_pairs(CaptionData(kind="csv", captions=str(tmp_path / "bad.csv")))
    (tmp_path / "missing.jsonl").write_text(json.dumps({"image": "nope.png", "caption": "c"}) + "\n")
    with pytest.raises(UserInputError, match="not found"):
        load_pairs(CaptionData(kind="jsonl", captions=str(tmp_path / "missing.jsonl")))
    medpix = shared_data("medpix2")
    dev = load_pairs(CaptionData(kind="medpix", medpix_dir=str(medpix), exclude_list=str(medpix / "overlap_with_vqa_rad.tsv")))
    overlap = {line.split("\t")[0] for line in (medpix / "overlap_with_vqa_rad.tsv").read_text().splitlines()[1:]}
    assert dev and not {p.image.stem for p in dev} & overlap
    train, val = split_pairs(dev, 0.1, seed=0)
    assert not {p.image for p in train} & {p.image for p in val} and len(val) >= 1


def test_caption_metrics():
    refs = ["axial ct of the chest shows a mass", "sagittal mri of the spine"]
    perfect = caption_metrics(refs, refs)
    assert perfect["bleu4"] == 1.0 and perfect["rougeL"] == 1.0 and perfect["cider"] > 1.0
    poor = caption_metrics(["normal", "spine"], refs)
    assert poor["bleu4"] < 0.1 and poor["rougeL"] < perfect["rougeL"] and poor["cider"] < perfect["cider"]


def _config(tiny_git: Path, few_pairs: Path, out: Path, **extra) -> CaptionerTrainConfig:
    data = {"kind": "jsonl", "captions": str(few_pairs), "val_fraction": 0.0, "exclude_list": None}
    settings = {"batch_size": 4, "max_caption_tokens": 24, **extra}
    return CaptionerTrainConfig(model=str(tiny_git), output_dir=str(out), data=data, **settings)


def test_resume_continues_exactly(tiny_git, few_pairs, tmp_path, monkeypatch):
    import visual_med_alpaca.train.captioner as captioner

    settings = {"max_steps": 4, "save_steps": 2, "batch_size": 2, "learning_rate": 1e-3}
    straight = train_captioner(_config(tiny_git, few_pairs, tmp_path / "a", **settings))
    calls = []

    def interrupted(model, batch):  # the run dies during step 3, after checkpoint-2
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return captioner.training_loss.__wrapped__(model, batch)

    interrupted.__wrapped__ = captioner.training_loss
    monkeypatch.setattr(captioner, "training_loss", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_captioner(_config(tiny_git, few_pairs, tmp_path / "b", **settings))
    monkeypatch.undo()
    assert (tmp_path / "b" / "checkpoint-2").is_dir()
    with pytest.raises(UserInputError, match="--resume"):
        train_captioner(_config(tiny_git, few_pairs, tmp_path / "b", **settings))
    resumed = train_captioner(_config(tiny_git, few_pairs, tmp_path / "b", **settings), resume=True)
    history = json.loads((tmp_path / "b" / "metrics.json").read_text())["history"]
    reference = json.loads((tmp_path / "a" / "metrics.json").read_text())["history"]
    assert [h["step"] for h in history] == [1, 2, 3, 4]
    assert [h["loss"] for h in history] == pytest.approx([h["loss"] for h in reference], abs=1e-4)
    assert resumed["last_loss"] == pytest.approx(straight["last_loss"], abs=1e-4)


@pytest.mark.slow
def test_tiny_git_overfits_real_medpix_and_reloads_through_expert(tiny_git, few_pairs, tmp_path):
    from visual_med_alpaca.experts.medgit import MedGitExpert
    from visual_med_alpaca.images import load_image

    result = train_captioner(_config(tiny_git, few_pairs, tmp_path / "run", max_steps=80, learning_rate=6e-3,
                                     save_steps=1000))
    assert result["last_loss"] <= 0.1 * result["first_loss"], result
    expert = MedGitExpert(model=result["model"], num_beams=2, max_new_tokens=24)
    images = [load_image(json.loads(line)["image"]) for line in few_pairs.open()]
    captions = expert.describe_batch(images)
    assert sum(c == t for c, t in zip(captions, MEDPIX_FEW.values())) >= 3, captions
    assert expert.describe(images[0]) == captions[0]  # batched and single decoding agree
    from visual_med_alpaca.experts.radiology import RadiologyExpert

    with_facts = RadiologyExpert(captioner=result["model"], num_beams=2, max_new_tokens=24).describe(images[0])
    assert with_facts.endswith(f"Caption: {captions[0]}") and " image" in with_facts.split("Caption:")[0]
    plain = RadiologyExpert(captioner=result["model"], prefix_facts=False, num_beams=2, max_new_tokens=24)
    assert plain.describe(images[0]) == captions[0]


def test_medgit_hub_id_offline_is_a_clear_error(monkeypatch):
    from visual_med_alpaca.experts.medgit import MedGitExpert

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserInputError, match="not in the Hugging Face cache"):
        MedGitExpert(model="cambridgeltl/med-git-base")
    with pytest.raises(UserInputError, match="not found"):
        MedGitExpert(model="./no/such/captioner")


@pytest.mark.timeout(15)
def test_captioner_not_cached_fails_at_once_without_hf_hub_offline(hub_not_offline):
    """`--expert medgit` and `vmed train captioner` with a hub id not on disk retried the hub (past this test's 15 s)
    on an offline machine without HF_HUB_OFFLINE; the id is read from the local HF cache only and fails at once."""
    from visual_med_alpaca.experts.medgit import load_captioner

    with pytest.raises(UserInputError, match=r"could not load captioner 'microsoft/git-base'.*not in the Hugging "
                                             r"Face cache.*hf download microsoft/git-base"):
        load_captioner("microsoft/git-base")


def test_cli_bad_recipe_inputs_are_clear_errors(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    result = subprocess.run(
        [sys.executable, "-m", "visual_med_alpaca.cli", "train", "captioner", "--set", "data.kind=csv",
         "--set", f"data.captions={tmp_path / 'nope.csv'}", "--output-dir", str(tmp_path / "out")],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "captions file not found" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "visual_med_alpaca.cli", "train", "radiology", "--set", f"medpix_dir={tmp_path}"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "training data not found" in result.stderr


def test_untested_transformers_is_refused_before_any_work(monkeypatch, tmp_path):
    import transformers

    monkeypatch.setattr(transformers, "__version__", "5.0.0")
    cfg = CaptionerTrainConfig(model="./no/such/captioner", output_dir=str(tmp_path / "run"),
                               data=CaptionData(kind="jsonl", captions=str(tmp_path / "missing.jsonl")))
    with pytest.raises(UserInputError, match=r"transformers >= 5\.24 \(found 5\.0\.0"):
        train_captioner(cfg)
    assert not (tmp_path / "run").exists()


def test_radiology_captioner_and_medgit_expert_share_one_loaded_model(tiny_git):
    """A radiology expert with a captioner and `--expert medgit` on the same checkpoint load its weights once."""
    from visual_med_alpaca.experts.base import load_expert
    from visual_med_alpaca.experts.radiology import RadiologyExpert

    radiology = RadiologyExpert(captioner=str(tiny_git), max_new_tokens=8)
    assert radiology.captioner is load_expert("medgit", {"model": str(tiny_git), "max_new_tokens": 8})
    assert RadiologyExpert(captioner=str(tiny_git), max_new_tokens=8).captioner is radiology.captioner

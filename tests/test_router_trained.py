"""The trained router: shipped head, sensible routes on unseen pictures, odd inputs, split by group."""

import numpy as np
import pytest
from PIL import Image

from conftest import EXAMPLES, shared_data
from visual_med_alpaca.features import FEATURE_DIM
from visual_med_alpaca.images import from_pil, load_image
from visual_med_alpaca.router import IMAGE_CLASSES, load_router


@pytest.fixture(scope="module")
def router():
    return load_router("trained")


def test_head_is_plain_arrays():
    from visual_med_alpaca.train.router import HEAD_PATH

    head = np.load(HEAD_PATH, allow_pickle=False)  # no pickle: raises if the file needed it
    assert head["coef"].shape == (len(IMAGE_CLASSES), FEATURE_DIM)
    assert HEAD_PATH.stat().st_size < 100_000


def test_routes_unseen_examples(router):
    # Neither example was in the training data.
    chart = router.classify(load_image(EXAMPLES / "bar_chart.png"))
    assert max(chart, key=chart.get) == "chart", chart
    ct = router.classify(load_image(EXAMPLES / "ct_slice.png"))
    assert max(ct, key=ct.get) == "radiology", ct


def test_routes_a_held_out_pathology_image(router):
    from visual_med_alpaca.train.router import in_test

    folder = shared_data("pathvqa_test", "images")
    held_out = next(p for p in sorted(folder.glob("*.jpg")) if in_test(f"pathvqa:{p.stem}", 0.25))
    scores = router.classify(load_image(held_out))
    assert max(scores, key=scores.get) == "pathology", scores


def test_odd_inputs_get_valid_scores(router, tmp_path):
    pictures = {
        "one.png": Image.new("RGB", (1, 1), "white"),
        "palette.png": Image.open(EXAMPLES / "bar_chart.png").convert("P"),
        "grey16.png": Image.fromarray(np.full((64, 64), 40000, np.uint16)),
        "cmyk.jpg": Image.new("CMYK", (80, 60), (0, 50, 100, 0)),
        "alpha.png": Image.new("RGBA", (80, 60), (255, 0, 0, 10)),
        "huge.png": Image.new("RGB", (3000, 2100), "grey"),
    }
    for name, picture in pictures.items():
        picture.save(tmp_path / name)
    Image.new("RGB", (40, 40)).save(tmp_path / "anim.gif", save_all=True, append_images=[Image.new("RGB", (40, 40), "white")])
    for path in sorted(tmp_path.iterdir()):
        scores = router.classify(load_image(path))
        assert set(scores) == set(IMAGE_CLASSES) and abs(sum(scores.values()) - 1) < 1e-3, path


def test_pipeline_routes_a_chart_to_the_chart_expert_and_doubt_to_none():
    from visual_med_alpaca.pipeline import Assistant

    assistant = Assistant()
    assert assistant.config.vision.router == "trained"
    description = assistant.describe(EXAMPLES / "bar_chart.png")
    assert description.expert == "chart" and "<0x0A>" in description.text
    doubtful = Assistant.from_config(None, **{"vision.min_confidence": 1.0}).describe(from_pil(Image.new("RGB", (50, 50))))
    assert doubtful.expert == "none" and "could not be determined" in doubtful.text


def test_split_keeps_each_group_on_one_side():
    from visual_med_alpaca.train.router import in_test

    groups = [f"synpic:{i}" for i in range(2000)]
    sides = [in_test(g, 0.25) for g in groups]
    assert sides == [in_test(g, 0.25) for g in groups]  # stable across calls and processes (sha1, no seed)
    assert 0.2 < np.mean(sides) < 0.3


def test_train_router_cli_refuses_a_missing_data_folder(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    run = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "train", "router", "--data", str(tmp_path / "nope"),
                          "--out", str(tmp_path / "head.npz")], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "data folder not found" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "head.npz").exists()


def test_tiny_photos_are_upscaled_before_cropping():
    """The 25x25 scikit-image faces used for the `other` class must crop without error."""
    import numpy as np
    from PIL import Image

    from visual_med_alpaca.train.router import _crops  # the cropper is the unit; collect() draws every class

    crops = _crops(Image.new("RGB", (25, 25), (120, 90, 60)), np.random.default_rng(0), 4)
    assert len(crops) == 4 and all(min(c.size) >= 32 for c in crops)


def test_offline_photo_sources_include_video_frames_and_faces():
    from visual_med_alpaca.train.router import _photos  # the photo source is the unit; collect() draws every class

    groups = [name for name, _ in _photos()]
    assert groups.count("gradio:world.mp4") == 3  # three frames of one video share a group
    assert sum(name.startswith("skimage:lfw") for name in groups) == 25


def test_head_settings_come_from_group_cv_and_can_favour_other():
    """Each `other` source lies along a feature direction of its own, so a source left out looks like nothing
    the head has seen: the plain fit under-rates `other` there, and the group CV picks a positive bias."""
    from visual_med_alpaca.train.router import OTHER_BIAS_GRID, select_head

    rng = np.random.default_rng(0)
    x, y, groups = [], [], []
    for cls in range(3):  # chart, radiology, pathology: one direction each, 80 single-image groups
        x.append(rng.normal(0, 0.5, (80, 16)) + 3 * np.eye(16)[cls])
        y += [cls] * 80
        groups += [f"{cls}:{i}" for i in range(80)]
    for g in range(10):  # other: 10 sources of 20 crops each
        x.append(rng.normal(0, 0.5, (20, 16)) + 3 * np.eye(16)[3 + g])
        y += [3] * 20
        groups += [f"other:{g}"] * 20
    settings = select_head(np.concatenate(x), np.array(y), np.array(groups), search=True)[1]
    assert settings["other_bias"] in OTHER_BIAS_GRID and settings["other_bias"] > 0, settings
    assert 0.9 < settings["cv_accuracy"] <= 1.0, settings


def test_a_head_for_other_features_is_a_clear_error(tmp_path):
    from visual_med_alpaca.errors import BackendError
    from visual_med_alpaca.router.trained import TrainedRouter

    n = len(IMAGE_CLASSES)
    np.savez(tmp_path / "head.npz", classes=np.array(IMAGE_CLASSES), mean=np.zeros(1280, np.float32),
             scale=np.ones(1280, np.float32), coef=np.zeros((n, 1280), np.float32), intercept=np.zeros(n, np.float32))
    with pytest.raises(BackendError, match="retrain it with `vmed train router`"):
        TrainedRouter(tmp_path / "head.npz")


def test_seed_project_samples_go_to_their_experts(router):
    """The seed project's own samples (never trained on): a colour bar chart, a black-and-white paper figure
    with markers and an inset, and a radiograph."""
    expected = {"bar.png": "chart", "plot.jpg": "chart", "radio.jpg": "radiology"}
    for name, cls in expected.items():
        scores = router.classify(load_image(shared_data("seed_samples", name)))
        assert max(scores, key=scores.get) == cls, (name, scores)


def test_paper_figures_are_black_and_white_charts():
    from visual_med_alpaca.train.router import _figure  # the figure drawer is the unit; collect() draws every class

    figure = np.asarray(_figure(np.random.default_rng(0)), np.int16)
    assert figure.shape[2] == 3 and np.abs(figure - figure.mean(axis=2, keepdims=True)).max() < 60  # no colour series
    assert (figure < 80).mean() > 0.005  # dark ink: axes, markers, lines


def test_train_router_checks_its_out_and_its_pictures_before_the_long_work(tmp_path):
    """An --out folder failed after minutes of embedding; a data folder without pictures drew the synthetic
    charts (a minute) before saying so."""
    from visual_med_alpaca.errors import UserInputError
    from visual_med_alpaca.train.router import train_router

    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(UserInputError, match="is a folder"):
        train_router(data, out=tmp_path, cache=tmp_path / "cache", n_charts=3)
    with pytest.raises(UserInputError, match="no radiology and no pathology pictures"):
        train_router(data, out=tmp_path / "head.npz", cache=tmp_path / "cache", n_charts=3)
    assert not (tmp_path / "cache" / "synthetic_charts").exists()


def test_collect_reads_each_data_folder_with_its_class_files_and_groups(tmp_path, monkeypatch):
    """The data folder's pictures, as collect lists them (one list of folders, DATA_PICTURES, also the one the
    missing-pictures check names): class, group and file, MedPix 2.0 images that VQA-RAD uses left out."""
    from visual_med_alpaca.train import router as train_router_module

    data = tmp_path / "data"
    files = {"vqa_rad/images": ["synpic100.jpg", "synpic200.jpg", "notes.txt"],
             "medpix2/images": ["CT_synpic300.png", "MRI_synpic100.png"],
             "pathvqa_test/images": ["test_0001.jpg"], "opencqa_charts_dev/chart_images": ["1234.png"]}
    for folder, names in files.items():
        (data / folder).mkdir(parents=True)
        for name in names:
            (data / folder / name).write_bytes(b"")
    (data / "medpix2" / "overlap_with_vqa_rad.tsv").write_text("image\tvqa_rad\nMRI_synpic100.png\tsynpic100.jpg\n")
    for name in ("_photos", "_scene", "_document", "_figure"):  # the drawn pictures are not this test's concern
        monkeypatch.setattr(train_router_module, name, (lambda *a: iter(())) if name == "_photos" else (lambda rng: None))
    items = [(c, g, p.relative_to(data).as_posix()) for c, g, p in train_router_module.collect(data, tmp_path / "none")
             if not isinstance(p, type(None))]
    assert items == [("radiology", "synpic:synpic100", "vqa_rad/images/synpic100.jpg"),
                     ("radiology", "synpic:synpic200", "vqa_rad/images/synpic200.jpg"),
                     ("radiology", "synpic:synpic300", "medpix2/images/CT_synpic300.png"),
                     ("pathology", "pathvqa:test_0001", "pathvqa_test/images/test_0001.jpg"),
                     ("chart", "opencqa:1234", "opencqa_charts_dev/chart_images/1234.png")]
    assert len(train_router_module.collect(data, tmp_path / "none", per_source_limit=1)) == 4 + 60 + 40 + 80


def test_pies_and_charts_in_matplotlibs_own_styles_reach_the_chart_expert(router, tmp_path):
    """The head's chart class holds the plain generator's charts (seed 1000) since session 55: before, 85% of its
    pies went to `other`, so `vmed ask --image` never read them. These are another seed's, never trained on."""
    from visual_med_alpaca.data.charts import make_chart_set
    from visual_med_alpaca.pipeline import Assistant

    make_chart_set(tmp_path, 8, seed=12, progress=False, generator="plain", styles=("pie",))
    pies = sorted((tmp_path / "images").iterdir())
    routes = [max(s, key=s.get) for s in (router.classify(load_image(p)) for p in pies)]
    assert routes.count("chart") >= 7, routes  # the previous head: 1 of these 8
    description = Assistant().describe(pies[0])
    assert description.expert == "chart" and "<0x0A>" in description.text

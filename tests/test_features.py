"""Image features: the written-out forward pass matches the library's, and stale caches are not mixed in."""

import numpy as np
from PIL import Image

from conftest import EXAMPLES
from visual_med_alpaca.features import FEATURE_DIM, load_feature_cache, save_feature_cache, shared_features


def test_embedding_is_the_library_final_map_then_stage_means():
    import torch

    extractor = shared_features()
    picture = Image.open(EXAMPLES / "ct_slice.png").convert("RGB")
    vector = extractor.embed([picture])[0]
    assert vector.shape == (FEATURE_DIM,)
    with torch.inference_mode():
        final = extractor.model.extract_features(torch.from_numpy(extractor.preprocess(picture)[None]))
    np.testing.assert_allclose(vector[:1280], final.mean(dim=(2, 3))[0].numpy(), atol=1e-4)
    assert np.abs(vector[1280:]).sum() > 0  # the stage means follow


def test_cache_with_another_width_is_ignored(tmp_path):
    path = tmp_path / "features.npz"
    save_feature_cache(path, {"a": np.ones(1280, np.float32)})  # written by the 1280-d layout
    assert load_feature_cache(path) == {}
    save_feature_cache(path, {"a": np.ones(FEATURE_DIM, np.float32)})
    assert list(load_feature_cache(path)) == ["a"]

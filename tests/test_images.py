import numpy as np
import pytest
from PIL import Image

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.images import MAX_SIDE, from_pil, load_image


def save(image: Image.Image, path, **kwargs):
    image.save(path, **kwargs)
    return path


@pytest.mark.parametrize("name", ["missing.png"])
def test_missing_file(tmp_path, name):
    with pytest.raises(UserInputError, match="not found"):
        load_image(tmp_path / name)


def test_directory_zero_byte_and_not_an_image(tmp_path):
    with pytest.raises(UserInputError, match="directory"):
        load_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(UserInputError, match="empty"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "notes.png").write_text("this is text, not a picture")
    with pytest.raises(UserInputError, match="not an image"):
        load_image(tmp_path / "notes.png")


def test_truncated_image(tmp_path):
    full = save(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)), tmp_path / "a.jpg")
    data = full.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserInputError, match="truncated or corrupt"):
        load_image(tmp_path / "cut.jpg")


def test_decompression_bomb_refused(tmp_path, monkeypatch):
    path = save(Image.new("RGB", (400, 400)), tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100 * 100)
    with pytest.raises(UserInputError, match="too large to decode safely"):
        load_image(path)


def test_modes_become_rgb(tmp_path):
    sixteen = save(Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)), tmp_path / "16.png")
    palette = save(Image.new("RGB", (10, 10), "red").convert("P"), tmp_path / "p.png")
    alpha = save(Image.new("RGBA", (10, 10), (255, 0, 0, 0)), tmp_path / "a.png")
    cmyk = save(Image.new("CMYK", (10, 10), (0, 255, 255, 0)), tmp_path / "c.jpg")
    tiny = save(Image.new("L", (1, 1), 128), tmp_path / "1.png")
    for path in (sixteen, palette, alpha, cmyk, tiny):
        loaded = load_image(path)
        assert loaded.image.mode == "RGB"
    assert load_image(alpha).image.getpixel((0, 0)) == (255, 255, 255)  # transparent -> white
    assert np.asarray(load_image(sixteen).image).std() > 10  # 16-bit range kept, not clipped


def test_animated_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (20, 20), c) for c in ("red", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    loaded = load_image(path)
    assert loaded.image.getpixel((0, 0))[0] > 200 and "first frame of 2" in loaded.notes[0]


def test_huge_image_downscaled():
    loaded = from_pil(Image.new("RGB", (MAX_SIDE * 2, 100)))
    assert max(loaded.image.size) == MAX_SIDE and "downscaled" in loaded.notes[0]

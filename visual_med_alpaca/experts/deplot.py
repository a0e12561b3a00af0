"""`deplot` expert: Google's DePlot (Pix2Struct) chart -> linearized table, through transformers.

Loads from a local folder or a hub id (default `google/deplot`, ~1.1 GB) read from the local Hugging Face cache
only: nothing is downloaded here (`hf download google/deplot` fetches it once, where there is network).
DePlot renders its prompt as a header onto the image; the font comes from a local file (DejaVu Sans
from matplotlib) instead of the hub default, so a local model works fully offline.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BackendError, UserInputError
from ..images import LoadedImage
from ..paths import local_or_cached

PROMPT = "Generate underlying data table of the figure below:"


def _local_font() -> str | None:
    try:
        import matplotlib

        font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        return str(font) if font.is_file() else None
    except ImportError:
        return None


def render_with_header(image, header: str, font_path: str | None):
    """Pix2Struct's VQA input: the prompt drawn above the picture, both scaled to one width (as the
    processor does, but with a local font: its default is fetched from the hub)."""
    from PIL import Image
    try:
        from transformers.models.pix2struct.image_processing_pix2struct import render_text
    except ImportError:  # that module needs torchvision; the PIL variant has the same function
        from transformers.models.pix2struct.image_processing_pil_pix2struct import render_text

    banner = render_text(header, font_path=font_path)
    width = max(banner.width, image.width)
    body_h, banner_h = int(image.height * width / image.width), int(banner.height * width / banner.width)
    canvas = Image.new("RGB", (width, body_h + banner_h), "white")
    canvas.paste(banner.resize((width, banner_h)), (0, 0))
    canvas.paste(image.convert("RGB").resize((width, body_h)), (0, banner_h))
    return canvas


class DePlotExpert:
    name = "deplot"

    def __init__(self, model: str = "google/deplot", max_new_tokens: int = 512, max_patches: int = 1024, device: str = "cpu"):
        from transformers import Pix2StructForConditionalGeneration, Pix2StructProcessor

        self.max_new_tokens, self.max_patches, self.device = max_new_tokens, max_patches, device
        source = local_or_cached(model, "DePlot")  # a folder, or a hub id from the local cache: nothing is downloaded
        try:
            self.processor = Pix2StructProcessor.from_pretrained(source)
            # The header is rendered here (local font), so the processor must not ask for header text: set on the
            # processor, since transformers 5.0 ignores a per-call `is_vqa` and 5.24 reads both.
            self.processor.image_processor.is_vqa = False
            self.model = Pix2StructForConditionalGeneration.from_pretrained(source).to(device).eval()
        except OSError as exc:
            raise UserInputError(
                f"could not load DePlot from '{model}' ({str(exc).splitlines()[0]}): a Pix2Struct DePlot folder "
                "(e.g. `hf download google/deplot --local-dir deplot`) goes in "
                "--set vision.expert_options.deplot.model=/path/to/deplot"
            ) from None
        self.font = _local_font()

    def describe(self, image: LoadedImage) -> str:
        import torch

        try:
            pixels = render_with_header(image.image, PROMPT, self.font)
        except OSError as exc:  # no local font and no hub
            raise BackendError(f"DePlot could not render its prompt header: {exc}") from None
        inputs = self.processor.image_processor(images=pixels, max_patches=self.max_patches, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        with torch.inference_mode():
            ids = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens)
        return self.processor.decode(ids[0], skip_special_tokens=True).strip()

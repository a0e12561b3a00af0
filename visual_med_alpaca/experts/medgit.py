"""Med-GIT radiology captioner: GIT (image encoder + text decoder) fine-tuned on radiology image-caption pairs.

Loads with transformers `AutoProcessor` + `AutoModelForCausalLM` from a local folder (e.g. the output of
`vmed train captioner`) or a hub id (`cambridgeltl/med-git-base`, `microsoft/git-base`) read from the local
Hugging Face cache only: nothing is downloaded here (`hf download microsoft/git-base` fetches one once).
"""

from __future__ import annotations


from ..errors import BackendError, UserInputError
from ..images import LoadedImage
from ..paths import local_or_cached


def load_captioner(model: str, device: str = "cpu"):
    """(processor, model) from a folder or a cached hub id; a hub id not cached is one clear user error, at once."""
    try:
        from transformers import AutoModelForCausalLM, AutoProcessor
    except ImportError:
        raise BackendError("the medgit expert needs transformers (pip install transformers)") from None
    source = local_or_cached(model, "captioner")  # a folder, or a hub id from the local cache: nothing is downloaded
    try:
        processor = AutoProcessor.from_pretrained(source)
        network = AutoModelForCausalLM.from_pretrained(source).to(device).eval()
    except OSError as exc:
        raise UserInputError(f"{model} is not a GIT captioner folder (processor + model): {exc}") from None
    return processor, network


class MedGitExpert:
    """Captions radiology images; greedy by default, beam search with num_beams > 1, batched."""

    name = "medgit"

    def __init__(self, model: str = "cambridgeltl/med-git-base", num_beams: int = 1, max_new_tokens: int = 50,
                 batch_size: int = 8, device: str = "cpu"):
        if num_beams < 1 or max_new_tokens < 1 or batch_size < 1:
            raise UserInputError("medgit options num_beams, max_new_tokens and batch_size must be >= 1")
        self.processor, self.model = load_captioner(model, device)
        self.device = device
        self.num_beams, self.max_new_tokens, self.batch_size = num_beams, max_new_tokens, batch_size

    def caption(self, images: list) -> list[str]:
        """PIL images -> captions, `batch_size` at a time."""
        import torch

        captions: list[str] = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = images[start:start + self.batch_size]
                pixels = self.processor(images=batch, return_tensors="pt").pixel_values.to(self.device)
                generated = self.model.generate(pixel_values=pixels, max_new_tokens=self.max_new_tokens,
                                                num_beams=self.num_beams, do_sample=False)
                captions += [c.strip() for c in self.processor.batch_decode(generated, skip_special_tokens=True)]
        return captions

    def describe_batch(self, images: list[LoadedImage]) -> list[str]:
        return self.caption([im.image for im in images])

    def describe(self, image: LoadedImage) -> str:
        return self.describe_batch([image])[0]

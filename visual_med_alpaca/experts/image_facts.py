"""Generic image facts that need no model: size, colour or greyscale, brightness and likely kind."""

from __future__ import annotations

from ..images import LoadedImage
from ..router.heuristic import colour_stats, scores_from_stats


class ImageFactsExpert:
    name = "image-facts"

    def describe(self, image: LoadedImage) -> str:
        stats = colour_stats(image)
        width, height = image.image.size
        tone = "greyscale" if stats["grey_fraction"] > 0.97 else "colour"
        brightness = "dark" if stats["brightness"] < 0.35 else "bright" if stats["brightness"] > 0.65 else "mid-tone"
        scores = scores_from_stats(stats)
        kind, score = max(scores.items(), key=lambda kv: kv[1])
        kinds = {"chart": "a chart or plot", "radiology": "a radiology image", "pathology": "a microscopy or pathology image", "other": "a photograph or other picture"}
        text = f"A {width}x{height} {tone} image, {brightness} overall; it looks like {kinds[kind]} (confidence {score:.2f})."
        if image.facts:
            text += " " + "; ".join(f"{k}: {v}" for k, v in image.facts.items()) + "."
        if image.notes:
            text += " Note: " + "; ".join(image.notes) + "."
        return text

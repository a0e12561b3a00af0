"""The case memory of a VLM bundle: the question-answer conversations its stage 2 trained on (VQA-RAD train of the
recipe, never test), each kept with its image's embedding (the bundle's own encoder, pooled) and its question's
embedding (all-MiniLM-L6-v2, the knowledge stage's sentence encoder, `knowledge/encoder.py`).

At answer time (`recall`): training cases whose image is the question's image or a near-duplicate (cosine >=
`image_min`), of the same form (yes/no or not, `closed.is_yes_no`), whose question is close enough (cosine >=
`yes_no_min` / `other_min`): the closest one is remembered. The bundle's `case_memory.use` says what the assistant
does with it: `answer` (the remembered answer is the answer) or `prompt` (the remembered question and answer go into
the model's prompt and the model answers). Either way the answer carries the case as its source; it never claims the
model looked. A new image (a user's own picture) matches nothing: the model answers as without a memory, and the
sentence encoder is not even loaded.

Why it exists: VQA-RAD's test questions ask about images of its train split (446 of 451), and the 270M model does
not memorise its training answers (docs/benchmarks.md, VLM rounds 6-8); an explicit memory can. It was expected to
help because test questions would rephrase train questions about the same image; they do not (VQA-RAD keeps a
question and its paraphrase in one split), and on test it lowered open recall 25.30 -> 19.34 (round 9), so it is off
by default (`llm.case_memory`). It ships in the bundle (`memory.npz`: arrays only, ~2 MB for 1,613 questions) because
it belongs to the data the bundle was trained on and needs nothing from shared data at answer time.
"""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ..closed import is_yes_no
from ..config import Strict
from ..errors import UserInputError

MEMORY = "memory.npz"
FORMAT = 1
_ARRAYS = ("format", "encoder", "grid", "sentence_model", "source", "center", "image_names", "image_vectors", "ids",
           "questions", "answers", "item_image", "yes_no", "question_vectors")


class MemorySettings(Strict):
    """How a bundle uses its memory (vlm.json `case_memory`). These defaults are cautious guesses, for a bundle and a
    recipe that name none (`--memory` keeps a bundle's own when the recipe names none); the shipped bundle's
    thresholds (0.93 / 0.52 / 0.51) were chosen on VQA-RAD train by leave-one-out (bench/vlm_case_memory_loo.py) and
    live in its recipe, configs/vlm-cpu-continue.yaml `bundle.case_memory`."""

    image_min: float = Field(0.95, gt=0.0, le=1.0, description="image cosine: same picture or a near-duplicate")
    yes_no_min: float = Field(0.9, gt=0.0, le=1.0, description="question cosine for a yes/no question")
    other_min: float = Field(0.9, gt=0.0, le=1.0, description="question cosine for any other question")
    use: Literal["answer", "prompt"] = Field("answer", description="answer: the remembered answer is the answer; "
                                             "prompt: the remembered Q/A goes into the model's prompt")


@dataclass(frozen=True)
class Case:
    """One remembered training conversation, and how closely it matched."""

    id: str
    question: str
    answer: str
    image: str
    image_similarity: float
    question_similarity: float
    source: str
    use: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def answer_text(self) -> str:
        """The remembered answer as the assistant says it (yes/no answers capitalised, as the model's are)."""
        text = self.answer.strip()
        return text.capitalize() if text.lower() in ("yes", "no") else text

    def context(self) -> str:
        """The remembered Q/A as a line of the model's prompt (`use: prompt`)."""
        return f"Asked before about this image: {self.question} Answer: {self.answer}"

    def note(self) -> str:
        """What a reader is told about where the answer came from."""
        how = ("Answered from memory, not by the model looking at the image" if self.use == "answer"
               else "The model answered with a remembered case in its prompt")
        return (f"{how}: the image matches {self.image} of {self.source} (image similarity "
                f"{self.image_similarity:.3f}), where \"{self.question}\" was answered \"{self.answer}\" "
                f"(question similarity {self.question_similarity:.2f}).")


def pooled_maps(maps, grid: int) -> np.ndarray:
    """(n, c, h, w) feature maps -> (n, grid*grid*c): average-pooled to grid x grid (the VLM's own pooling)."""
    from .encoders import pool_tokens

    return pool_tokens(maps, grid).reshape(maps.shape[0], -1).float().numpy()


def unit_vectors(pooled: np.ndarray, center: np.ndarray | None = None) -> np.ndarray:
    """Pooled maps minus `center` (the memory images' mean), L2-normalised."""
    if center is not None:
        pooled = pooled - center
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def yes_no_case(question: str, answer: str) -> bool:
    """A memory case's form: a yes/no question with a yes/no answer (anything else is 'other')."""
    return is_yes_no(question) and answer.strip().lower() in ("yes", "no")


class CaseMemory:
    """A bundle's remembered cases (`memory.npz`) and the settings it is used with."""

    def __init__(self, arrays: dict[str, np.ndarray], settings: MemorySettings, where: str = "memory"):
        self.settings = settings
        self.encoder = str(arrays["encoder"])
        self.grid = int(arrays["grid"])
        self.source = str(arrays["source"])
        self.center = arrays["center"].astype(np.float32)
        self.image_names = arrays["image_names"].tolist()
        self.images = arrays["image_vectors"].astype(np.float32)
        self.ids = arrays["ids"].tolist()
        self.questions = arrays["questions"].tolist()
        self.answers = arrays["answers"].tolist()
        self.item_image = arrays["item_image"].astype(np.int64)
        self.yes_no = arrays["yes_no"].astype(bool)
        self.question_vectors = arrays["question_vectors"].astype(np.float32)
        n = len(self.ids)
        if not (len(self.questions) == len(self.answers) == len(self.item_image) == len(self.yes_no) ==
                len(self.question_vectors) == n) or len(self.images) != len(self.image_names) or \
                (n and (self.item_image.min() < 0 or self.item_image.max() >= len(self.images))):
            raise UserInputError(f"{where} is inconsistent (its arrays disagree in length); rebuild it with "
                                 "`vmed train vlm -c RECIPE --memory BUNDLE`")
        self._sentences = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, folder: Path, meta: dict[str, Any]) -> CaseMemory | None:
        """The bundle's memory, or None when it has none; one error line when it does not fit the bundle."""
        path = Path(folder) / MEMORY
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                missing = [k for k in _ARRAYS if k not in stored.files]
                arrays = {k: stored[k] for k in _ARRAYS if k in stored.files}
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise UserInputError(f"{path} is not a case memory ({str(exc).splitlines()[0]})") from None
        if missing or int(arrays["format"]) != FORMAT:
            why = f"missing {', '.join(missing)}" if missing else f"format {int(arrays['format'])}"
            raise UserInputError(f"{path} is not a format-{FORMAT} case memory ({why}); rebuild it with "
                                 f"`vmed train vlm -c RECIPE --memory {folder}`")
        if str(arrays["encoder"]) != meta["encoder"]:
            raise UserInputError(f"{path} was built with the image encoder '{arrays['encoder']}' but the VLM uses "
                                 f"'{meta['encoder']}': rebuild it with `vmed train vlm -c RECIPE --memory {folder}`")
        from .bundle import memory_settings

        return cls(arrays, memory_settings(meta, Path(folder) / "vlm.json"), str(path))

    def vectors(self, maps) -> np.ndarray:
        """Image vectors of feature maps (the bundle encoder's), comparable with the remembered images'."""
        return unit_vectors(pooled_maps(maps, self.grid), self.center)

    def image_vectors(self, encoder, images: Iterable, batch_size: int = 16) -> np.ndarray:
        """`vectors` of many pictures (PIL images; a generator loads each as it is reached) through `encoder` (the
        bundle's, `encoders.load_encoder`), `batch_size` at a time: one batch of pictures and maps is held at once."""
        pictures = iter(images)
        chunks = []
        while batch := list(islice(pictures, batch_size)):
            chunks.append(self.vectors(encoder.feature_maps(batch)))
        return np.concatenate(chunks) if chunks else np.zeros((0, self.images.shape[1]), np.float32)

    def encode_questions(self, texts: list[str]) -> np.ndarray:
        """Question embeddings comparable with the remembered ones (the sentence encoder, loaded on first use)."""
        with self._lock:
            if self._sentences is None:
                from ..knowledge import encoder

                self._sentences = encoder.cached_encoder(threads=2)
        return self._sentences.encode(texts)

    def recall(self, question: str, vector: np.ndarray, exclude: str | None = None,
               question_vector: np.ndarray | None = None) -> Case | None:
        """The closest remembered case about this image (or a near-duplicate) and this kind of question, above
        the thresholds; None otherwise. `exclude`: a case id to leave out and `question_vector`: the question's
        embedding if known (leave-one-out over the memory itself, bench/vlm_case_memory_loo.py)."""
        s = self.settings
        image_sims = self.images @ vector.astype(np.float32)
        same = image_sims >= s.image_min
        if not same.any():
            return None
        yes_no = is_yes_no(question)
        candidates = np.flatnonzero(same[self.item_image] & (self.yes_no == yes_no))
        if exclude is not None:
            candidates = candidates[[self.ids[i] != exclude for i in candidates]]
        if not candidates.size:
            return None
        if question_vector is None:
            question_vector = self.encode_questions([question])[0]
        sims = self.question_vectors[candidates] @ question_vector.astype(np.float32)
        best = int(np.argmax(sims))
        if sims[best] < (s.yes_no_min if yes_no else s.other_min):
            return None
        i = int(candidates[best])
        return Case(self.ids[i], self.questions[i], self.answers[i], self.image_names[self.item_image[i]],
                    round(float(image_sims[self.item_image[i]]), 4), round(float(sims[best]), 4), self.source, s.use)


def build_memory(path: Path, items, encoder: str, grid: int, cache, source: str, sentences=None) -> dict[str, Any]:
    """Write `path` (a memory.npz) from VQA items (id, question, reference, image path): image vectors from the
    `cache` (a `FeatureCache` of `encoder`, filled here), question vectors from MiniLM. Returns a summary."""
    import torch

    from ..knowledge import encoder as sentence_encoder

    if not items:
        raise UserInputError("no training questions to remember (check the recipe's data)")
    images = list(dict.fromkeys(i.image for i in items))
    cache.fill(images)
    maps = torch.from_numpy(np.stack([cache.load(p) for p in images]))
    pooled = pooled_maps(maps, grid)  # pooled once: the centre and the vectors both come from it
    center = pooled.mean(axis=0)
    vectors = unit_vectors(pooled, center)
    sentences = sentences or sentence_encoder.cached_encoder(threads=2)
    questions = [i.question for i in items]
    index = {p: n for n, p in enumerate(images)}
    arrays = {
        "format": np.array(FORMAT), "encoder": np.array(encoder), "grid": np.array(grid),
        "sentence_model": np.array(sentence_encoder.MODEL_NAME), "source": np.array(source),
        "center": center.astype(np.float32), "image_names": np.array([p.name for p in images]),
        "image_vectors": vectors.astype(np.float16), "ids": np.array([i.id for i in items]),
        "questions": np.array(questions), "answers": np.array([i.reference for i in items]),
        "item_image": np.array([index[i.image] for i in items], dtype=np.int32),
        "yes_no": np.array([yes_no_case(i.question, i.reference) for i in items]),
        "question_vectors": sentences.encode(questions).astype(np.float16),
    }
    path = Path(path)
    partial = path.with_name(path.name + ".partial.npz")
    np.savez_compressed(partial, **arrays)
    partial.replace(path)
    return {"memory": str(path), "cases": len(items), "images": len(images), "bytes": path.stat().st_size}

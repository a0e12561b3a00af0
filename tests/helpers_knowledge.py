"""A tiny MedQuAD-shaped corpus and a stand-in sentence encoder for knowledge tests (no weights needed)."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import pytest

DOCS = {
    ("3_GHR_QA", "0000001", "GHR", "https://ghr.nlm.nih.gov/condition/noonan-syndrome", "Noonan syndrome"): [
        ("information", "What is (are) Noonan syndrome ?",
         "Noonan syndrome is a condition that affects many areas of the body. It is characterized by mildly unusual "
         "facial features, short stature, heart defects, bleeding problems, and skeletal malformations."),
        ("inheritance", "Is Noonan syndrome inherited ?",
         "Noonan syndrome is inherited in an autosomal dominant pattern, which means one copy of the altered gene "
         "in each cell is sufficient to cause the disorder."),
    ],
    ("4_MPlus_Health_Topics_QA", "0000002", "MPlusHealthTopics", "https://www.nlm.nih.gov/medlineplus/hairloss.html",
     "Hair Loss"): [
        ("information", "What is (are) Hair Loss ?",
         "You lose up to 100 hairs from your scalp every day. That's normal. Hair loss can be caused by genes, "
         "hormones, illness or medicines.\nTreatment for hair loss depends on the cause. Minoxidil and finasteride "
         "are medicines that can slow hair loss."),
        ("treatment", "What are the treatments for Hair Loss ?",
         "Minoxidil is a lotion rubbed on the scalp. Finasteride is a pill for men. Hair transplants are another option."),
    ],
    ("5_NIDDK_QA", "0000003", "NIDDK", "https://www.niddk.nih.gov/health-information/diabetes", "Diabetes"): [
        ("symptoms", "What are the symptoms of Diabetes ?",
         "Symptoms of diabetes include increased thirst and urination, increased hunger, fatigue, blurred vision, "
         "numbness or tingling in the feet or hands, and sores that do not heal."),
        ("treatment", "What are the treatments for Diabetes ?",
         "Diabetes is treated with healthy eating, physical activity, and medicines such as insulin or metformin."),
    ],
}


# <FocusAnnotations><Synonyms> per focus, as MedQuAD writes them (a repeat and the focus itself are read once / not at all)
SYNONYMS = {"Hair Loss": ("Alopecia", "Baldness", "alopecia", "Hair loss"), "Diabetes": ("DM", "Diabetes mellitus")}


def write_medquad(root: Path) -> Path:
    """A folder laid out like the shared MedQuAD (collection folders of one XML document per topic)."""
    for (folder, doc_id, source, url, focus), pairs in DOCS.items():
        qa = "".join(
            f'<QAPair pid="{i}"><Question qid="{doc_id}-{i}" qtype="{qtype}">{q}</Question><Answer>{a}</Answer></QAPair>'
            for i, (qtype, q, a) in enumerate(pairs, 1))
        qa += f'<QAPair pid="{len(pairs) + 1}"><Question qid="x" qtype="causes">What causes {focus} ?</Question><Answer></Answer></QAPair>'
        path = root / folder / f"{doc_id}.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'<?xml version="1.0" encoding="UTF-8"?><Document id="{doc_id}" source="{source}" url="{url}">'
                        f"<Focus>{focus}</Focus>{_annotations(focus)}<QAPairs>{qa}</QAPairs></Document>")
    return root


def _annotations(focus: str) -> str:
    if focus not in SYNONYMS:
        return ""
    names = "".join(f"<Synonym>{name}</Synonym>" for name in SYNONYMS[focus])
    return (f"<FocusAnnotations><UMLS><CUIs><CUI>C0000001</CUI></CUIs></UMLS><Synonyms>{names}</Synonyms>"
            "</FocusAnnotations>")


def hashed_bag_of_words(texts: list[str], *args, **kwargs) -> np.ndarray:
    """A deterministic stand-in for MiniLM: unit-length hashed bag of word stems (5 letters), 384-d."""
    out = np.zeros((len(texts), 384), np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"[a-z]+", text.lower()):
            if len(word) > 2:
                out[row, zlib.crc32(word[:5].encode()) % 384] += 1.0
        norm = np.linalg.norm(out[row])
        if norm:
            out[row] /= norm
    return out


class FakeEncoder:
    """Stands in for the ONNX MiniLM: same interface, hashed bag of words."""

    def __init__(self, folder, threads=None):
        if not (folder / "model.onnx").is_file():
            raise AssertionError(f"no exported encoder in {folder}")

    def encode(self, texts, max_tokens=128, batch_size=64):
        return hashed_bag_of_words(texts)


def fake_export(folder, source=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(b"stand-in")
    (folder / "tokenizer.json").write_text("{}")
    return folder


def use_fake_encoder(monkeypatch) -> None:
    import visual_med_alpaca.knowledge.encoder as encoder

    monkeypatch.setattr(encoder, "OnnxEncoder", FakeEncoder)
    monkeypatch.setattr(encoder, "export_onnx", fake_export)


@pytest.fixture(name="index")
def tiny_index(tmp_path: Path, monkeypatch):
    """Fixture `index`: the tiny MedQuAD built (keyword + question vectors, with the stand-in encoder) and opened."""
    from visual_med_alpaca.knowledge.corpus import medquad_passages
    from visual_med_alpaca.knowledge.index import BuildOptions, build_index, open_index

    use_fake_encoder(monkeypatch)
    build_index(tmp_path / "idx", list(medquad_passages(write_medquad(tmp_path / "medquad"))),
                BuildOptions(dense=True, dense_fields=("question",)))
    opened = open_index(tmp_path / "idx", need_dense=True)
    yield opened
    opened.close()

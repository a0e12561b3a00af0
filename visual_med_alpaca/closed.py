"""Closed (yes/no) questions: recognise them, and tell when nothing in the system looked at what they ask about.

The assistant answers a yes/no question with an answer that starts with yes or no (chosen by the language model's
option log-likelihood), except when an image was given and the question asks about something that no part of the
system examined (the radiology expert reports only modality, plane and region): then it says so, instead of letting
a text model invent a finding it never saw.
"""

from __future__ import annotations

import re

_AUXILIARIES = {"is", "are", "was", "were", "does", "do", "did", "can", "could", "has", "have", "had", "will",
                "would", "should", "may", "might", "shall", "must", "isn't", "aren't", "doesn't", "don't"}
_STOP = _AUXILIARIES | {
    "there", "this", "that", "these", "those", "it", "its", "the", "a", "an", "any", "some", "of", "in", "on", "at",
    "to", "with", "by", "for", "from", "as", "be", "been", "being", "and", "or", "not", "no", "yes", "here", "image",
    "images", "picture", "photo", "photograph", "scan", "study", "shown", "show", "shows", "seen", "see", "visible",
    "present", "taken", "patient", "patients", "patient's", "used", "using", "obtained", "acquired", "displayed",
    "depicted", "demonstrated", "type", "kind", "evidence", "what", "which", "you", "we", "i", "me", "my", "our",
    "please", "tell", "is", "one", "form", "made", "done", "performed", "appear", "appears", "look", "looks"}
# What image-type descriptions (radiology expert, DICOM header) report: the words of modality, plane and region.
TYPE_WORDS = {
    "ct", "cat", "mri", "mr", "magnetic", "resonance", "computed", "tomography", "x", "ray", "xray", "x-ray",
    "radiograph", "radiography", "plain", "film", "ultrasound", "sonogram", "sonography", "us", "pet", "nuclear",
    "mammogram", "mammography", "angiogram", "angiography", "fluoroscopy", "axial", "coronal", "sagittal",
    "transverse", "frontal", "lateral", "pa", "ap", "oblique", "plane", "view", "modality", "section", "slice",
    "head", "brain", "skull", "neck", "chest", "thorax", "thoracic", "abdomen", "abdominal", "pelvis", "pelvic",
    "spine", "spinal", "limb", "extremity", "cranial", "body", "region", "part", "organ", "system"}
# Words of the expert's own caveats that must not count as having looked for a finding.
_META = {"only", "described", "describe", "findings", "finding", "uncertain", "best", "guess", "header", "dicom",
         "confidence", "not", "from"}
_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")


def words(text: str) -> list[str]:
    """The lower-case words of `text` as the question rules read them ('x-ray', "patient's", '5')."""
    return _WORD.findall(text.lower())


def is_yes_no(question: str) -> bool:
    """'Is there a fracture?' yes; 'Is this CT or MRI?' no (a choice); 'What is shown?' no."""
    tokens = words(question)
    return bool(tokens) and tokens[0] in _AUXILIARIES and " or " not in f" {question.lower()} "


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in words(text) if w not in _STOP}


def examined(question: str, expert_text: str | None) -> bool:
    """Whether every thing the question asks about is something the image description reports on."""
    covered = {_stem(w) for w in TYPE_WORDS} | (content_words(expert_text or "") - _META)
    asked = content_words(question)
    return bool(asked) and asked <= covered


def not_examined_answer(expert: str, expert_text: str | None) -> str:
    """The honest reply when no part of the system looked for what a yes/no question asks about."""
    if expert == "none" or not expert_text:
        seen = "no visual expert described the image"
    else:
        seen = f"the {expert} expert only described it as: {expert_text.split(' (')[0].strip().rstrip('.')}"
    return (f"No finding of that kind is reported: nothing in this system examined the image for it ({seen}). "
            "This is not a negative result; a qualified reader must look at the image.")


# -- yes/no questions that ask only what the radiology expert classifies ------------------------------------------
# "Is this a CT?", "Is this an axial image?", "Was this MRI taken in the sagittal plane?": each word names a class
# of the expert's modality or plane head (class names as the heads and DICOM facts spell them). Region words are
# left out on purpose: "is the spine visible?" asks about presence, which a region classifier does not decide.
EXPERT_CLASS_WORDS: dict[str, dict[str, set[str]]] = {
    "modality": {
        "CT": {"ct", "cat", "computed", "tomography", "tomogram"},
        "MRI": {"mri", "mr", "magnetic", "resonance"},
        "X-ray": {"x", "ray", "xray", "x-ray", "radiograph", "radiography", "film", "plain"},
    },
    "plane": {
        "axial": {"axial", "transverse"},
        "coronal": {"coronal"},
        "sagittal": {"sagittal", "saggital"},
        "frontal (PA/AP)": {"pa", "ap", "frontal", "posteroanterior", "anteroposterior", "postero-anterior",
                            "antero-posterior", "posterior-anterior", "anterior-posterior"},
    },
}
# Words such a question may also hold without asking anything else.
NEUTRAL_WORDS = {"plane", "view", "modality", "section", "slice", "cut", "imaging", "technique", "method", "done",
                 "mode"}
_NEGATED = re.compile(r"\b(not|no|never|without)\b|n't\b")


def canonical_class(head: str, value: str) -> str:
    """The expert's value as a class name of EXPERT_CLASS_WORDS ('frontal (PA)' -> 'frontal (PA/AP)')."""
    if head == "modality" and value.startswith("X-ray"):
        return "X-ray"
    if head == "plane" and value.startswith("frontal"):
        return "frontal (PA/AP)"
    return value


def asked_classes(question: str) -> dict[str, str] | None:
    """head -> class when a yes/no question asks only which modality and/or plane the image is; else None."""
    if not is_yes_no(question) or _NEGATED.search(question.lower()):
        return None
    named: dict[str, str] = {}
    for word in content_words(question) - NEUTRAL_WORDS:
        hits = [(head, name) for head, classes in EXPERT_CLASS_WORDS.items()
                for name, class_words in classes.items() if word in class_words]
        if not hits:
            return None  # the question asks about something else too (contrast, a finding, a region, ...)
        for head, name in hits:
            if named.setdefault(head, name) != name:
                return None  # two classes of one head ("is this CT with MRI ...")
    return named or None


def expert_yes_no(question: str, facts: dict[str, tuple[str, float | None]], min_confidence: float,
                  modalities: tuple[str, ...] | None = None) -> str | None:
    """'yes' or 'no' when a yes/no question asks only which modality/plane the image is and the expert's
    classification decides it: every named class confidently matched -> yes, any confidently contradicted -> no.
    `facts`: head -> (value, probability), probability None for a DICOM header fact (certain). None otherwise.
    `modalities`: answer only for images whose modality the expert confidently puts among these (e.g. CT, MRI)."""
    named = asked_classes(question)
    if named is None:
        return None
    if modalities is not None:
        value, probability = facts.get("modality", (None, 0.0))
        if value is None or (probability is not None and probability < min_confidence) \
                or canonical_class("modality", value) not in modalities:
            return None
    verdicts = []
    for head, name in named.items():
        value, probability = facts.get(head, (None, 0.0))
        sure = value is not None and (probability is None or probability >= min_confidence)
        verdicts.append(canonical_class(head, value) == name if sure else None)
    if False in verdicts:
        return "no"
    if all(verdicts):
        return "yes"
    return None

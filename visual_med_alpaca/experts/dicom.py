"""Header facts of a DICOM (or NIfTI) file as one sentence, e.g. "CT of the head, axial, slice thickness 5 mm".

The facts are the PHI-free allow-list built by `medical_images.dicom_facts`; this expert only phrases them.
"""

from __future__ import annotations

from ..images import LoadedImage


def header_sentence(facts: dict[str, str], notes: list[str] | None = None) -> str | None:
    """Phrase allow-listed header facts; None when the file carried none."""
    if not facts:
        return None
    if facts.get("format") == "NIfTI volume":
        parts = [f"NIfTI volume of {facts['volume size']} voxels"]
        if "voxel size" in facts:
            parts.append(f"voxel size {facts['voxel size']}")
    else:
        head = facts.get("modality", "Medical image")
        head = head[0].upper() + head[1:]
        if "body part" in facts:
            head += f" of the {facts['body part']}"
        parts = [head]
        if "laterality" in facts:
            parts.append(f"{facts['laterality']} side")
        if "view" in facts:
            parts.append(f"{facts['view']} view")
        if "contrast" in facts:
            parts.append(f"contrast: {facts['contrast']}")
        for key in ("slice thickness", "pixel spacing"):
            if key in facts:
                parts.append(f"{key} {facts[key]}")
        if "study" in facts or "series" in facts:
            parts.append("described as '" + " / ".join(facts[k] for k in ("study", "series") if k in facts) + "'")
        patient = [f"{label} {facts['patient ' + label]}" for label in ("age", "sex") if "patient " + label in facts]
        if patient:
            parts.append("patient " + " and ".join(patient))
    if "plane" in facts:
        parts.insert(1, facts["plane"])
    sentence = ", ".join(parts) + "."
    if notes:
        sentence += " Note: " + "; ".join(notes) + "."
    return sentence


class DicomExpert:
    """Reads what the file says about itself; no model, no pixels."""

    name = "dicom"

    def describe(self, image: LoadedImage) -> str:
        return header_sentence(image.facts, image.notes) or (
            f"No header facts: the image is a {image.format} file, not DICOM or NIfTI.")

"""Shared helpers for the radiology/DICOM tests: real pydicom test files with PHI planted in them."""

from __future__ import annotations

from pathlib import Path

import pytest

# Every identifying tag gets a unique, greppable value that is valid for the tag's VR.
PLANTED = {
    "PatientName": "Zorbaname^Quillfirst",
    "PatientID": "PIDX778899",
    "OtherPatientIDs": "OPIDX445566",
    "PatientBirthDate": "19450317",
    "PatientAddress": "12 Plantedaddress Lane Gotham",
    "PatientTelephoneNumbers": "555-0199-4242",
    "PatientMotherBirthName": "Mothermaiden^Vexa",
    "AccessionNumber": "ACCX99821",
    "InstitutionName": "Plantedinstitute Kvarnholm",
    "InstitutionAddress": "77 Plantedclinic Road",
    "InstitutionalDepartmentName": "Plantedward Brisvane",
    "ReferringPhysicianName": "Refdoctor^Yarrow",
    "PerformingPhysicianName": "Perfdoctor^Xenia",
    "NameOfPhysiciansReadingStudy": "Readdoctor^Wystan",
    "OperatorsName": "Techoperator^Ulla",
    "RequestingPhysician": "Reqdoctor^Tobin",
    "StudyID": "STUDYX3141",
    "StationName": "STATIONX27",
    "DeviceSerialNumber": "SERIALX8080",
    "StudyDate": "20230419",
    "SeriesDate": "20230420",
    "AcquisitionDate": "20230421",
    "ContentDate": "20230422",
    "StudyTime": "101112",
    "PatientComments": "Plantedcomment Ulvetrask",
    "AdditionalPatientHistory": "Plantedhistory Ormsbyquay",
    "StudyInstanceUID": "1.2.826.0.1.3680043.99.777.1",
    "SeriesInstanceUID": "1.2.826.0.1.3680043.99.777.2",
}
# Free-text fields on the allow-list, deliberately polluted with identifying values.
POLLUTED = {
    "StudyDescription": "CT chest for Zorbaname",
    "SeriesDescription": "axial 20230419",
}


def planted_strings() -> list[str]:
    """Every string that must never appear in any output (names also split into their parts)."""
    found = []
    for value in PLANTED.values():
        found.append(value)
        found.extend(part for part in value.replace("^", " ").split() if len(part) >= 5)
    return sorted(set(found))


def dicom_file(name: str) -> Path:
    """A pydicom test file; the US/CR ones come from the optional `pydicom-data` package."""
    from pydicom.data import get_testdata_file

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"pydicom test file {name} not available (pip install pydicom-data)")
    return Path(path)


def plant_phi(source: Path, target: Path) -> Path:
    """Copy a real DICOM file with PHI written into every identifying tag."""
    import pydicom

    ds = pydicom.dcmread(source)
    for keyword, value in {**PLANTED, **POLLUTED}.items():
        setattr(ds, keyword, value)
    ds.save_as(target)
    return target


# Four real MedPix 2.0 dev images with short, distinct captions (none is shared with VQA-RAD).
MEDPIX_FEW = {
    "MPX2485_synpic24205.png": "MRI Images",
    "MPX2066_synpic26220.png": "Coronal MR T1",
    "MPX2066_synpic26222.png": "T2 Fat Sat MR",
    "MPX2022_synpic51768.png": "Inferior pole.",
}


def build_tiny_git(path: Path, seed: int = 0) -> Path:
    """A tiny random GIT (GitConfig) with a tiny CLIP image processor and the test tokenizer, saved like a
    user's checkpoint so AutoProcessor / AutoModelForCausalLM load it."""
    import torch
    from conftest import build_tokenizer
    from transformers import CLIPImageProcessor, GitConfig, GitForCausalLM, GitProcessor

    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    config = GitConfig(
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8},
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=128, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    GitForCausalLM(config).save_pretrained(path)
    GitProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(path)
    return path


def oversized_dicom(rows: int, columns: int) -> bytes:
    """A DICOM whose header claims `rows x columns` pixels (its pixel data is never decoded)."""
    import io

    import pydicom
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.Rows, ds.Columns = rows, columns
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


"""PHI guard: identifying values planted in every such tag of real DICOM files never reach the prompt,
the logs, the JSON output or the Python API, through any radiology-facing expert."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from conftest import REPO
from helpers_radiology import dicom_file, plant_phi, planted_strings

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.images import load_image
from visual_med_alpaca.pipeline import Assistant
from visual_med_alpaca.prompts import build_prompt

pytest.importorskip("pydicom")

FILES = ["CT_small.dcm", "MR_small.dcm", "J2K_pixelrep_mismatch.dcm", "examples_overlay.dcm", "US1_UNCR.dcm",
         "RG1_UNCR.dcm"]
EXPERTS_SEEING_DICOM = ["image-facts", "dicom", "radiology"]


def _assert_clean(text: str, where: str) -> None:
    leaked = [s for s in planted_strings() if s.lower() in text.lower()]
    assert not leaked, f"PHI leaked into {where}: {leaked}"


@pytest.mark.parametrize("name", FILES)
def test_phi_never_reaches_facts_prompt_api_or_logs(name, tmp_path, caplog, capfd):
    planted = plant_phi(dicom_file(name), tmp_path / "planted.dcm")
    caplog.set_level(logging.DEBUG)
    loaded = load_image(planted)
    assert loaded.facts, "the file should still give allow-listed facts"
    _assert_clean(json.dumps(loaded.facts) + " ".join(loaded.notes), "facts")
    assistant = Assistant()
    for expert in EXPERTS_SEEING_DICOM:
        description = assistant.describe(planted, expert)
        assert description.text
        _assert_clean(json.dumps(description.to_dict()), f"describe ({expert})")
        _assert_clean(build_prompt("What is shown?", description.text), f"prompt ({expert})")
    out, err = capfd.readouterr()
    _assert_clean(caplog.text + out + err, "logs/stdout/stderr")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=180)


@pytest.mark.slow
def test_phi_never_reaches_cli_json(tmp_path, tiny_llama_dir):
    planted = plant_phi(dicom_file("examples_overlay.dcm"), tmp_path / "planted.dcm")
    described = _cli("describe", str(planted), "--json", "--expert", "dicom")
    assert described.returncode == 0, described.stderr
    assert "MRI" in json.loads(described.stdout)["text"]
    _assert_clean(described.stdout + described.stderr, "vmed describe --json")
    asked = _cli("ask", "What is shown?", "--image", str(planted), "--json", "--model", str(tiny_llama_dir),
                 "--max-new-tokens", "4", "--expert", "radiology")
    assert asked.returncode == 0, asked.stderr
    payload = json.loads(asked.stdout)
    assert "MRI" in payload["prompt"]
    _assert_clean(asked.stdout + asked.stderr, "vmed ask --json")


def test_phi_never_reaches_error_messages(tmp_path):
    planted = plant_phi(dicom_file("CT_small.dcm"), tmp_path / "planted.dcm")
    data = planted.read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) - 4000])  # header intact, pixels cut short
    with pytest.raises(UserInputError) as caught:
        load_image(tmp_path / "cut.dcm")
    _assert_clean(str(caught.value), "the error message")
    result = _cli("describe", str(tmp_path / "cut.dcm"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    _assert_clean(result.stdout + result.stderr, "CLI error output")

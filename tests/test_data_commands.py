"""`vmed data` end to end through the CLI on tiny sources: collect → filter → balance → export, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO


def _vmed(*args, env=None):
    return subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "data", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=env)


def test_the_shipped_recipe_reads_the_data_folder_vmed_data_dir_names(tmp_path):
    """docs/data.md: `collect` reads --data-dir, else $VMED_DATA_DIR, else ../shared/data, with the recipe too
    (configs/data.yaml named ../shared/data itself, so `-c configs/data.yaml` ignored $VMED_DATA_DIR)."""
    import os

    data = tmp_path / "data" / "medical_meadow"
    data.mkdir(parents=True)
    (data / "medical_meadow_small.json").write_text(json.dumps(
        [{"instruction": "Answer this question truthfully", "input": "What is asthma?", "output": "An airway disease."}]))
    env = {**os.environ, "VMED_DATA_DIR": str(tmp_path / "data")}
    result = _vmed("collect", "-c", "configs/data.yaml", "--source", "medical_meadow", "--workdir",
                   str(tmp_path / "work"), env=env)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["source"] for line in (tmp_path / "work" / "questions.jsonl").read_text().splitlines()] \
        == ["medical_meadow"]


def test_no_llm_path_end_to_end(tmp_path):
    data = tmp_path / "data"
    (data / "medical_meadow").mkdir(parents=True)
    answers = {"What causes jaundice?": "A build-up of bilirubin, often from liver disease or blocked bile ducts.",
               "How is angina treated?": "With nitrates for attacks, and statins, aspirin and beta blockers to prevent them.",
               "What is asthma?": "A long-term disease in which the airways narrow and swell, causing wheeze and cough."}
    items = [{"instruction": "Answer this question truthfully", "input": q, "output": a} for q, a in answers.items()]
    items.append(dict(items[0]))  # an exact duplicate
    items.append({"instruction": "Answer this question truthfully", "input": "What is X?", "output": ""})
    (data / "medical_meadow" / "medical_meadow_small.json").write_text(json.dumps(items))
    work = tmp_path / "work"
    steps = [
        ("collect", "--data-root", str(data), "--source", "medical_meadow"),
        ("filter", "--no-progress"),
        ("balance", "--cap", "medical_meadow=2", "--seed", "1"),
        ("export",),
    ]
    for step in steps:
        result = _vmed(*step, "--workdir", str(work))
        assert result.returncode == 0, (step, result.stderr)
    exported = json.loads((work / "med_instruct.json").read_text())
    assert len(exported) == 2
    dropped = [json.loads(line) for line in (work / "dropped.jsonl").read_text().splitlines()]
    assert sorted(r["drop_reason"] for r in dropped) == ["empty", "near_duplicate"]
    stats = json.loads((work / "stats.json").read_text())
    assert stats["per_stage"]["collected"] == {"medical_meadow": 5}
    assert stats["per_stage"]["kept by filter"] == {"medical_meadow": 3}
    assert (work / "lengths.png").exists()


def test_bad_inputs_are_one_line_errors(tmp_path):
    cases = [
        ("filter", "--workdir", str(tmp_path)),
        ("collect", "--workdir", str(tmp_path), "--data-root", str(tmp_path / "none")),
        ("collect", "--workdir", str(tmp_path), "--source", "nosuch"),
        ("balance", "--workdir", str(tmp_path), "--set", "balance.sed=1"),
        ("synthesize", "--workdir", str(tmp_path), "--base-url", "http://127.0.0.1:9/v1"),
        ("filter", str(tmp_path), "--workdir", str(tmp_path / "f")),  # a folder for an input file
    ]
    for case in cases:
        result = _vmed(*case)
        assert result.returncode == 2, (case, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), (case, result.stderr)


def test_a_step_run_before_its_input_exists_names_the_step_to_run_first(tmp_path):
    for step, missing, earlier in (("review", "kept.jsonl", "filter"), ("balance", "kept.jsonl", "filter"),
                                   ("export", "balanced.jsonl", "balance")):
        result = _vmed(step, "--workdir", str(tmp_path))
        assert result.returncode == 2, (step, result.stderr)
        assert result.stderr.strip().splitlines() == [
            f"error: {tmp_path / missing} not found: run `vmed data {earlier}` first"], (step, result.stderr)


def test_a_bad_recipe_key_is_reported_before_any_data_check(tmp_path):
    """`data filter` on an empty workdir said "nothing to filter" for `--set filter.bogus=1`, and `caption-instruct`
    named the missing MedPix folder (its recipe was read only with --base-url): the recipe comes first everywhere."""
    missing = tmp_path / "no-data"
    for step in ("collect", "synthesize", "filter", "balance", "caption-instruct"):
        extra = ("--data-dir", str(missing)) if step in ("collect", "caption-instruct") else ()
        result = _vmed(step, "--workdir", str(tmp_path), *extra, "--set", "filter.bogus=1")
        assert result.returncode == 2, (step, result.stderr)
        assert result.stderr.strip().splitlines() == [
            "error: invalid configuration: filter.bogus: Extra inputs are not permitted"], (step, result.stderr)

"""Commands that had no test of their own, run as a user runs them (`python -m visual_med_alpaca.cli ...`), on
tiny models and real files: export merge / gguf-lora, train medical-data, eval report / judge; and what the
heuristic router and the image-facts expert say about real pictures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import EXAMPLES, REPO, shared_data

torch = pytest.importorskip("torch")


def vmed(*args, timeout=300, env=None):
    return subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env=env)


def one_line_error(result, code: int, fragment: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0], result.stderr


def random_lora(base: Path, out: Path, modules: list[str]) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base), LoraConfig(r=4, lora_alpha=8,
                                                                                   target_modules=modules))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.2)
    model.save_pretrained(out)


def test_export_merge_writes_a_model_that_answers_like_base_plus_adapter(tmp_path, tiny_llama_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    random_lora(tiny_llama_dir, tmp_path / "adapter", ["q_proj", "v_proj"])
    result = vmed("export", "merge", tmp_path / "adapter", "-o", tmp_path / "merged", "--base", tiny_llama_dir)
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "merged") in result.stdout
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged").eval()  # no peft needed to load it
    with_adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_llama_dir),
                                             str(tmp_path / "adapter")).eval()
    base = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    ids = AutoTokenizer.from_pretrained(tmp_path / "merged")("What treats pain?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, with_adapter(ids).logits, rtol=1e-4, atol=1e-4)
        assert not torch.allclose(merged(ids).logits, base(ids).logits, atol=1e-3)
    one_line_error(vmed("export", "merge", tmp_path / "nothing", "-o", tmp_path / "x"), 2, "neither a peft adapter folder")


def test_export_gguf_lora_writes_a_llama_cpp_adapter(tmp_path):
    gguf = pytest.importorskip("gguf")
    from test_train_export import tiny_gemma3

    base = tiny_gemma3(tmp_path / "base")
    random_lora(base, tmp_path / "adapter", ["q_proj", "down_proj"])
    out = tmp_path / "adapter.gguf"
    result = vmed("export", "gguf-lora", tmp_path / "adapter", "-o", out, "--base", base, "--dtype", "f32")
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    reader = gguf.GGUFReader(str(out))
    assert bytes(reader.fields["general.type"].parts[-1]).decode() == "adapter"
    assert {t.name for t in reader.tensors} == {f"blk.{i}.{n}.weight.lora_{p}" for i in (0, 1)
                                                 for n in ("attn_q", "ffn_down") for p in "ab"}
    assert all(t.tensor_type == gguf.GGMLQuantizationType.F32 for t in reader.tensors)
    one_line_error(vmed("export", "gguf-lora", tmp_path / "adapter", "-o", out, "--dtype", "q4"), 2, "f16 or f32")


def test_train_medical_data_writes_train_and_heldout_jsonl(tmp_path):
    shared = shared_data()
    result = vmed("train", "medical-data", "--data-dir", shared, "--out", tmp_path, "--medquad", 30,
                  "--mediqa-qa", 10, "--pubmedqa", 20, "--medical-meadow", 10, "--chatdoctor", 5)
    assert result.returncode == 0, result.stderr
    train = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    held = [json.loads(line) for line in (tmp_path / "heldout.jsonl").read_text().splitlines()]
    counts = {s: sum(r["source"] == s for r in train) for s in
              ("medquad", "mediqa_qa", "pubmedqa", "medical_meadow", "chatdoctor")}
    caps = {"medquad": 30, "mediqa_qa": 10, "pubmedqa": 20, "medical_meadow": 10, "chatdoctor": 5}
    assert all(0.8 * caps[s] <= counts[s] <= caps[s] for s in caps), counts  # capped, minus held-out duplicates
    assert f"train {len(train)}" in result.stdout and f"held-out {len(held)}" in result.stdout
    assert all(set(r) >= {"instruction", "input", "output"} and r["output"] for r in train)
    assert not {r["instruction"].lower() for r in held} & {r["instruction"].lower() for r in train}
    one_line_error(vmed("train", "medical-data", "--data-dir", tmp_path / "nowhere"), 2, "data folder not found")


def test_eval_report_command_writes_table_and_chart(tmp_path):
    run = tmp_path / "runs" / "vqa-rad"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({
        "benchmark": "vqa-rad", "subset": None, "n_scored": 451, "mode": "generate", "model": "gemma",
        "experts_used": {"radiology": 451}, "metrics": {"closed_accuracy": 48.5, "open_recall": 12.0}}))
    result = vmed("eval", "report", tmp_path / "runs", "-o", tmp_path / "report.md")
    assert result.returncode == 0, result.stderr
    assert "| vqa-rad | 451 | gemma | generate | radiology x451 | closed_accuracy | 48.50 |" in result.stdout
    assert result.stdout.split("wrote")[0].strip() in (tmp_path / "report.md").read_text()
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "empty").mkdir()
    one_line_error(vmed("eval", "report", tmp_path / "empty"), 2, "no metrics.json written by `vmed eval` found")


@pytest.mark.slow
def test_eval_judge_command_scores_answers_with_a_real_server(tmp_path, llama_server):
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "a", "kind": "open", "question": "What organ is shown?", "reference": "the liver",
         "prediction": "The liver."},
        {"id": "b", "kind": "open", "question": "Which side is the lesion on?", "reference": "left",
         "prediction": "It is on the right side."},
    ]))
    result = vmed("eval", "judge", predictions, "--base-url", llama_server.base_url, "--judge-model", "gemma",
                  "--limit", 2)
    # Gemma-270M (greedy) does not write the two scores the prompt asks for: the run is an error, its work kept
    assert result.returncode == 1 and result.stdout == "", result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: the judge (gemma @ ")
    assert "no scores in the asked format in any of 2 replies" in result.stderr and "Traceback" not in result.stderr
    judged = [json.loads(line) for line in (tmp_path / "judged.jsonl").read_text().splitlines()]
    assert [r["id"] for r in judged] == ["a", "b"] and all(r["judge_reply"] for r in judged)
    summary = json.loads((tmp_path / "judge_metrics.json").read_text())
    assert summary["n_judged"] == 2 and summary["n_parsed"] == 0 and summary["relative_score"] is None
    one_line_error(vmed("eval", "judge", tmp_path / "none.jsonl", "--base-url", llama_server.base_url), 2, "not found")


def _picture(kind: str, tmp_path: Path) -> Path:
    """Pathology-like pink/purple texture, a grey radiograph-like picture, a colour photo-like field."""
    rng = np.random.default_rng(0)
    if kind == "pathology":
        base = np.array([200, 120, 190], np.float32) + rng.normal(0, 25, (256, 256, 3))
        base[::7] = [120, 60, 150]
    elif kind == "radiology":
        grey = rng.normal(60, 40, (256, 256)).clip(0, 255)
        base = np.repeat(grey[..., None], 3, axis=2)
    else:
        base = np.zeros((256, 256, 3), np.float32) + [90, 140, 60] + rng.normal(0, 30, (256, 256, 3))
        base[:100] = [120, 170, 230]
    path = tmp_path / f"{kind}.png"
    Image.fromarray(base.clip(0, 255).astype(np.uint8)).save(path)
    return path


@pytest.mark.parametrize("picture, expected", [("bar_chart.png", "chart"), ("line_chart.png", "chart"),
                                               ("ct_slice.png", "radiology"), ("pathology", "pathology"),
                                               ("radiology", "radiology")])
def test_heuristic_router_routes_by_colour(picture, expected, tmp_path):
    from visual_med_alpaca.images import load_image
    from visual_med_alpaca.router import IMAGE_CLASSES, load_router

    path = EXAMPLES / picture if picture.endswith(".png") else _picture(picture, tmp_path)
    scores = load_router("heuristic").classify(load_image(path))
    assert set(scores) == set(IMAGE_CLASSES) and abs(sum(scores.values()) - 1) < 1e-3
    assert max(scores, key=scores.get) == expected, scores


def test_image_facts_describes_size_tone_brightness_and_kind(tmp_path):
    from visual_med_alpaca.experts import load_expert
    from visual_med_alpaca.images import load_image

    expert = load_expert("image-facts")
    ct = expert.describe(load_image(EXAMPLES / "ct_slice.png"))
    width, height = Image.open(EXAMPLES / "ct_slice.png").size
    assert ct.startswith(f"A {width}x{height} greyscale image") and "looks like a radiology image" in ct
    chart = expert.describe(load_image(EXAMPLES / "bar_chart.png"))
    assert " colour image, bright overall; it looks like a chart or plot (confidence " in chart
    Image.new("RGB", (5000, 40), (30, 30, 30)).save(tmp_path / "wide.png")
    wide = expert.describe(load_image(tmp_path / "wide.png"))
    assert "dark overall" in wide and "Note: downscaled from 5000x40" in wide

"""Trainer regression tests on a tiny LlamaConfig model: the failures seen in alpaca-lora and peers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, build_tiny_llama, shared_data

torch = pytest.importorskip("torch")

from visual_med_alpaca.config import load_config  # noqa: E402
from visual_med_alpaca.errors import UserInputError  # noqa: E402
from visual_med_alpaca.prompts import build_prompt  # noqa: E402
from visual_med_alpaca.train import sft  # noqa: E402
from visual_med_alpaca.train.config import TrainConfig  # noqa: E402
from visual_med_alpaca.train.trainer import train  # noqa: E402

RECORDS = [
    {"instruction": "What is diabetes?", "input": "", "output": "Diabetes is a disease of high blood sugar."},
    {"instruction": "What treats pain?", "input": "", "output": "Aspirin treats pain."},
    {"instruction": "Describe the image.", "input": "The chest X-ray shows clear lungs.", "output": "Clear lungs."},
    {"instruction": "What treats hair loss?", "input": "", "output": "Minoxidil and finasteride treat hair loss."},
]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def recipe(tmp_path: Path, model: Path, data: Path, **extra) -> TrainConfig:
    tree = {"model": str(model), "output_dir": str(tmp_path / "run"), "data": {"train": [str(data)], "val_fraction": 0.0},
            "batch_size": 4, "micro_batch_size": 2, "max_steps": 4, "learning_rate": 3e-3, "save_steps": 2,
            "eval_steps": 2, "threads": 1, "report_to": ["none"], "max_length": 96, "lora": {"r": 8, "alpha": 16, "dropout": 0.0}}
    tree.update(extra)
    return TrainConfig.model_validate(tree)


PRESETS = sorted({*(REPO / "configs").glob("*-lora*.yaml"), *(REPO / "configs").glob("*-full*.yaml")})


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_every_shipped_preset_validates(preset):
    assert len(PRESETS) >= 3
    cfg = load_config(TrainConfig, preset)
    assert cfg.batch_size % cfg.micro_batch_size == 0


def test_override_and_bad_key_are_reported():
    path = REPO / "configs" / "gemma-270m-med-lora-cpu.yaml"
    assert load_config(TrainConfig, path, {"learning_rate": 1e-5}).learning_rate == 1e-5
    with pytest.raises(UserInputError, match="learnin_rate"):
        load_config(TrainConfig, path, {"learnin_rate": 1e-5})


def test_training_data_is_alpaca_json_or_jsonl_and_a_bad_file_is_one_error(tmp_path):
    records = [{"instruction": "What is gout?", "input": "", "output": "A kind of arthritis."}]
    as_list, as_lines = tmp_path / "a.json", tmp_path / "a.jsonl"
    as_list.write_text(json.dumps(records))
    as_lines.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert sft.read_alpaca([as_list]) == sft.read_alpaca([as_lines]) == records
    as_list.write_text(json.dumps(records * 3)[:-10])  # cut short
    with pytest.raises(UserInputError, match="a.json is not valid JSON"):
        sft.read_alpaca([as_list])
    as_lines.write_text(json.dumps({"instruction": "no output"}) + "\n")
    with pytest.raises(UserInputError, match="record 0: needs 'instruction' and 'output'"):
        sft.read_alpaca([as_lines])
    # a file that is not UTF-8 was a UnicodeDecodeError traceback; "instruction": 5 / "output": null were trained
    # on as the text "5" / "None"
    as_lines.write_bytes('{"instruction": "caf\xe9", "output": "x"}\n'.encode("latin-1"))
    with pytest.raises(UserInputError, match="a.jsonl is not UTF-8 text"):
        sft.read_alpaca([as_lines])
    for record, field in (({"instruction": 5, "output": "x"}, "'instruction' must be text, not int"),
                          ({"instruction": "q", "output": None}, "'output' must be text, not NoneType")):
        as_lines.write_text(json.dumps(record) + "\n")
        with pytest.raises(UserInputError, match=f"record 0: {field}"):
            sft.read_alpaca([as_lines])
    as_lines.write_text(json.dumps({"instruction": "q", "input": None, "output": "x"}) + "\n")
    assert sft.read_alpaca([as_lines])[0]["output"] == "x"  # a null input is no input


def test_training_data_in_jsonl_is_read_once(tmp_path, monkeypatch):
    """read_alpaca read a JSONL file twice: as text (to tell JSON from JSONL), then again through read_jsonl. It
    parses the text it read; its errors are those of the test above."""
    records = [{"instruction": f"What is {n}?", "input": "", "output": f"{n}."} for n in ("gout", "asthma")]
    as_lines = tmp_path / "a.jsonl"
    as_lines.write_text("".join(json.dumps(r) + "\n" for r in records))
    opened, original = [], Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: opened.append(self.name) or original(self, *a, **k))
    assert sft.read_alpaca([as_lines]) == records
    assert opened == ["a.jsonl"]


def test_encode_masks_prompt_appends_eos_and_uses_the_inference_prompt(tiny_llama_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    ex = sft.encode(RECORDS[2], tok, 512)
    prompt_ids = tok(build_prompt(RECORDS[2]["instruction"], RECORDS[2]["input"]))["input_ids"]
    assert ex.input_ids[: len(prompt_ids)] == prompt_ids
    assert all(label == sft.IGNORE for label in ex.labels[: len(prompt_ids)])
    assert ex.labels[-1] == tok.eos_token_id and ex.input_ids[-1] == tok.eos_token_id
    cut = sft.encode(RECORDS[2], tok, len(prompt_ids) + 2)  # a cut answer must not learn to stop there
    assert tok.eos_token_id not in cut.input_ids[len(prompt_ids):]
    assert sft.encode(RECORDS[2], tok, 512, train_on_inputs=True).labels[0] != sft.IGNORE


def test_pads_never_count_in_the_loss(tiny_llama_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    short, long = sft.encode(RECORDS[1], tok, 96), sft.encode(RECORDS[2], tok, 96)
    with torch.no_grad():
        alone, n_alone = sft.summed_loss(model, sft.collate([short], tok))
        padded, n_both = sft.summed_loss(model, sft.collate([short, long], tok))
        other, n_other = sft.summed_loss(model, sft.collate([long], tok))
        full, _ = sft.summed_loss(model, sft.collate([short, long], tok), response_only=False)
    batch = sft.collate([short, long], tok)
    assert (batch["labels"][batch["attention_mask"] == 0] == sft.IGNORE).all()
    assert n_both == n_alone + n_other
    assert padded.item() == pytest.approx(alone.item() + other.item(), rel=1e-4)
    assert full.item() == pytest.approx(padded.item(), rel=1e-4)  # response-only logits change nothing


def test_length_grouping_keeps_padding_waste_low_and_is_a_function_of_the_epoch():
    import random

    lengths = [random.Random(i).randint(40, 400) for i in range(2000)]

    def waste(order: list[int]) -> float:
        batches = [order[i:i + 4] for i in range(0, len(order), 4)]
        real = sum(lengths[i] for b in batches for i in b)
        return 1 - real / sum(len(b) * max(lengths[i] for i in b) for b in batches)

    sampler = sft.length_grouped_sampler(lengths, 4, seed=0)
    first = list(sampler)
    assert sorted(first) == list(range(2000)) and list(sampler) == first  # same epoch, same order
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first and sorted(second) == list(range(2000))
    plain = random.Random(0).sample(range(2000), 2000)
    assert waste(first) < 0.10 < waste(plain)


def test_adapter_saved_not_empty_reloads_to_same_outputs_and_resume_continues(tmp_path, tiny_llama_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    data = write_jsonl(tmp_path / "d.jsonl", RECORDS * 4)
    cfg = recipe(tmp_path, tiny_llama_dir, data, max_steps=2)
    train(cfg, progress=False)
    with pytest.raises(UserInputError, match="--resume"):
        train(cfg, progress=False)
    metrics = train(cfg.model_copy(update={"max_steps": 4}), resume=True, progress=False)
    assert metrics["steps"] == 4 and len(metrics["train_loss"]) == 4
    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    lengths = [len(e) for e in sft.encode_all(RECORDS, tok, 96)]  # (one prompt fills 96 tokens: dropped)
    assert min(lengths) * 16 <= metrics["tokens"] <= max(lengths) * 16  # 4 steps x 4 sequences, real tokens
    assert metrics["tokens_per_s"] > 0 and 0 <= metrics["padding_waste"] < 0.5
    adapter = Path(cfg.output_dir) / "adapter"
    from safetensors.torch import load_file

    weights = load_file(adapter / "adapter_model.safetensors")
    assert weights and any(k.endswith("lora_B.weight") and v.abs().sum() > 0 for k, v in weights.items())
    assert (Path(cfg.output_dir) / "loss.png").stat().st_size > 0

    tuned = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    reloaded = PeftModel.from_pretrained(tuned, str(adapter)).eval()
    base = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    with torch.no_grad():
        assert not torch.allclose(reloaded(ids).logits, base(ids).logits)
        merged_dir = tmp_path / "merged"
        from visual_med_alpaca.train.export import merge

        merge(adapter, merged_dir, base=str(tiny_llama_dir))
        merged = AutoModelForCausalLM.from_pretrained(merged_dir).eval()
        torch.testing.assert_close(merged(ids).logits, reloaded(ids).logits, rtol=1e-4, atol=1e-4)
    assert (merged_dir / "tokenizer_config.json").is_file()


@pytest.mark.parametrize("mode", ["lora", "full"])
def test_resume_after_a_stop_gives_the_losses_of_an_uninterrupted_run(tmp_path, tiny_llama_dir, mode):
    """Train 6 steps straight; train 6 again but die in step 3 (after the checkpoint at 2, mid-epoch), resume: the
    per-step train and eval losses (data order, dropout RNG, optimizer and schedule state) match the uninterrupted
    run's."""
    data = write_jsonl(tmp_path / "d.jsonl", [dict(r, output=r["output"] + f" ({i})") for i, r in enumerate(RECORDS * 5)])
    settings = dict(max_steps=6, save_steps=2, eval_steps=3, learning_rate=3e-3, mode=mode,
                    lora={"r": 4, "alpha": 8, "dropout": 0.1})

    def cfg_for(out: str) -> TrainConfig:
        cfg = recipe(tmp_path, tiny_llama_dir, data, output_dir=str(tmp_path / out), **settings)
        return cfg.model_copy(update={"data": cfg.data.model_copy(update={"val_fraction": 0.2})})

    straight = train(cfg_for("a"), progress=False)

    from visual_med_alpaca.train import sft as sft_module

    calls = []
    real = sft_module.summed_loss

    def dies_in_step_three(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2 * 2 + 1:  # 2 steps x 2 micro-batches, then step 3
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    cfg = cfg_for("b")
    sft_module.summed_loss = dies_in_step_three
    try:
        with pytest.raises(KeyboardInterrupt):
            train(cfg, progress=False)
    finally:
        sft_module.summed_loss = real
    assert [p.name for p in (tmp_path / "b").glob("checkpoint-*")] == ["checkpoint-2"]
    resumed = train(cfg, resume=True, progress=False)
    assert [s for s, _ in resumed["train_loss"]] == [1, 2, 3, 4, 5, 6]
    assert [loss for _, loss in resumed["train_loss"]] == pytest.approx(
        [loss for _, loss in straight["train_loss"]], rel=1e-5, abs=1e-6)
    assert [loss for _, loss in resumed["eval_loss"]] == pytest.approx(
        [loss for _, loss in straight["eval_loss"]], rel=1e-5, abs=1e-6)
    assert len({round(loss, 6) for _, loss in straight["train_loss"]}) == 6  # the losses do move


def test_metrics_go_to_tensorboard_by_default_and_a_missing_tracker_is_a_clear_error(tmp_path, tiny_llama_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    data = write_jsonl(tmp_path / "d.jsonl", RECORDS * 2)
    cfg = recipe(tmp_path, tiny_llama_dir, data, max_steps=2, report_to=["tensorboard"])
    metrics = train(cfg, progress=False)
    events = list(Path(cfg.output_dir).rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event file"
    scalars = EventAccumulator(str(events[0].parent)).Reload()
    losses = [e.value for e in scalars.Scalars("train/loss")]
    assert losses == pytest.approx([loss for _, loss in metrics["train_loss"]], rel=1e-5)
    assert TrainConfig.model_fields["report_to"].default == ["tensorboard"]
    with pytest.raises(UserInputError, match="pip install wandb"):
        import importlib.util

        if importlib.util.find_spec("wandb"):
            pytest.skip("wandb is installed here")
        train(recipe(tmp_path, tiny_llama_dir, data, max_steps=1, report_to=["wandb"],
                     output_dir=str(tmp_path / "w")), progress=False)


def test_two_runs_on_one_output_folder_are_refused(tmp_path, tiny_llama_dir):
    import subprocess
    import sys

    data = write_jsonl(tmp_path / "d.jsonl", RECORDS * 2)
    cfg = recipe(tmp_path, tiny_llama_dir, data, max_steps=1)
    Path(cfg.output_dir).mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from filelock import FileLock; "
                               "lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); time.sleep(600)",
                               str(Path(cfg.output_dir) / "train.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserInputError, match="another training run is writing"):
            train(cfg, progress=False)
    finally:
        holder.kill()
        holder.wait()
    assert train(cfg, progress=False)["steps"] == 1


def test_eos_is_learned_so_generation_stops(tmp_path, tiny_llama_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    data = write_jsonl(tmp_path / "d.jsonl", [RECORDS[1]] * 16)
    cfg = recipe(tmp_path, tiny_llama_dir, data, max_steps=50, learning_rate=1e-2, micro_batch_size=4,
                 lora={"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": ["q_proj", "v_proj", "down_proj"]})
    train(cfg, progress=False)
    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_llama_dir),
                                      str(Path(cfg.output_dir) / "adapter")).eval()
    ids = tok(build_prompt(RECORDS[1]["instruction"]), return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=40, do_sample=False, pad_token_id=tok.pad_token_id)
    new = out[0, ids["input_ids"].shape[1]:].tolist()
    assert tok.eos_token_id in new and len(new) < 40
    assert tok.decode(new, skip_special_tokens=True).strip() == RECORDS[1]["output"]


def test_no_nan_with_bf16(tmp_path, tiny_llama_dir):
    data = write_jsonl(tmp_path / "d.jsonl", RECORDS * 2)
    metrics = train(recipe(tmp_path, tiny_llama_dir, data, max_steps=2, dtype="bfloat16"), progress=False)
    assert all(loss == loss and abs(loss) < 1e4 for _, loss in metrics["train_loss"])


def test_full_fine_tune_runs_and_saves_a_loadable_model(tmp_path, tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    data = write_jsonl(tmp_path / "d.jsonl", RECORDS * 2)
    cfg = recipe(tmp_path, tiny_llama_dir, data, mode="full", max_steps=2, learning_rate=1e-3)
    metrics = train(cfg, progress=False)
    assert metrics["steps"] == 2
    AutoModelForCausalLM.from_pretrained(Path(cfg.output_dir) / "model")


@pytest.mark.slow
def test_thirty_steps_on_64_real_examples_lower_the_loss(tmp_path):
    from visual_med_alpaca.train.medical_data import alpaca_questions

    records = alpaca_questions(shared_data("medical_meadow", "medical_meadow_small.json"), "medical_meadow", 80)[:64]
    data = write_jsonl(tmp_path / "real.jsonl", records)
    model = build_tiny_llama(tmp_path / "tiny", seed=1)
    cfg = recipe(tmp_path, model, data, max_steps=30, batch_size=8, micro_batch_size=8, learning_rate=3e-3,
                 max_length=192, mode="full")  # a random tiny model's frozen head leaves LoRA little room
    losses = [loss for _, loss in train(cfg, progress=False)["train_loss"]]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: x\ndata: {train: [nowhere.jsonl]}\nbatch_size: 6\nmicro_batch_size: 4\n")
    run = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "train", "lora", "-c", str(bad)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "multiple of micro_batch_size" in run.stderr
    assert "Traceback" not in run.stderr


def test_engine_takes_param_groups_each_with_its_own_learning_rate(tmp_path):
    from visual_med_alpaca.train.engine import EngineConfig, train as engine_train

    torch.manual_seed(0)
    model = torch.nn.ModuleDict({"fast": torch.nn.Linear(3, 1), "slow": torch.nn.Linear(3, 1)})
    before = {k: m.weight.detach().clone() for k, m in model.items()}
    loader = torch.utils.data.DataLoader(torch.randn(8, 3), batch_size=4)
    cfg = EngineConfig(output_dir=str(tmp_path / "run"), max_steps=1, learning_rate=1e-3,
                       lr_scheduler_type="constant", max_grad_norm=None, report_to=["none"])
    engine_train(model, loader, cfg, compute_loss=lambda m, x: (m["fast"](x) + m["slow"](x)).pow(2).mean(),
                 params=[{"params": list(model["fast"].parameters()), "lr": 0.1},
                         {"params": list(model["slow"].parameters())}], progress=False)
    # Adam's first step moves each weight by about its learning rate.
    fast = (model["fast"].weight.cpu() - before["fast"]).abs()  # the engine moved it to the GPU where there is one
    slow = (model["slow"].weight.cpu() - before["slow"]).abs()
    torch.testing.assert_close(fast, torch.full_like(fast, 0.1), rtol=0.01, atol=1e-4)
    torch.testing.assert_close(slow, torch.full_like(slow, 1e-3), rtol=0.01, atol=1e-6)


def test_keep_every_keeps_those_checkpoints_beyond_the_rotation(tmp_path):
    """Checkpoints at multiples of keep_every stay (candidates, e.g. one per epoch); the others rotate."""
    from visual_med_alpaca.train.engine import EngineConfig, checkpoints, train as engine_train

    model = torch.nn.Linear(3, 1)
    loader = torch.utils.data.DataLoader(torch.randn(8, 3), batch_size=4)
    cfg = EngineConfig(output_dir=str(tmp_path / "run"), max_steps=7, learning_rate=1e-3, save_steps=1,
                       save_total_limit=1, keep_every=3, max_grad_norm=None, report_to=["none"])
    engine_train(model, loader, cfg, compute_loss=lambda m, x: m(x).pow(2).mean(), progress=False)
    assert [p.name for p in checkpoints(tmp_path / "run")] == ["checkpoint-3", "checkpoint-6", "checkpoint-7"]
    engine_train(model, loader, cfg.model_copy(update={"output_dir": str(tmp_path / "plain"), "keep_every": None}),
                 compute_loss=lambda m, x: m(x).pow(2).mean(), progress=False)
    assert [p.name for p in checkpoints(tmp_path / "plain")] == ["checkpoint-7"]


def test_two_runs_in_one_process_may_use_different_mixed_precision(tmp_path):
    """accelerate keeps one precision per process; a second run with another one (a notebook, a sweep) still runs."""
    from visual_med_alpaca.train.engine import EngineConfig, train as engine_train

    loader = torch.utils.data.DataLoader(torch.randn(8, 3), batch_size=4)
    for precision in ("no", "bf16", "no"):
        cfg = EngineConfig(output_dir=str(tmp_path / precision / str(len(list(tmp_path.iterdir())))), max_steps=1,
                           learning_rate=1e-3, mixed_precision=precision, report_to=["none"])
        run = engine_train(torch.nn.Linear(3, 1), loader, cfg, compute_loss=lambda m, x: m(x).pow(2).mean(),
                           progress=False)
        assert run.steps == 1


def test_resume_with_another_model_shape_is_one_error_before_the_model_loads(tmp_path, capsys):
    """`vmed train lora --resume --set lora.r=8` on a run trained with r=4 failed loading the checkpoint with
    hundreds of 'size mismatch' lines, exit 1 (seen); a changed learning rate still resumes."""
    from visual_med_alpaca.config import dump_config
    from visual_med_alpaca.train.engine import STATE_FILE

    cfg = recipe(tmp_path, tmp_path / "no-model-loads", tmp_path / "no-data-read.jsonl")
    (tmp_path / "run" / "checkpoint-2").mkdir(parents=True)
    (tmp_path / "run" / "checkpoint-2" / STATE_FILE).write_text("{}")
    (tmp_path / "run" / "config.yaml").write_text(dump_config(cfg))
    assert load_config(TrainConfig, tmp_path / "run" / "config.yaml") == cfg  # the run's file loads back (export)
    wider = cfg.model_copy(update={"lora": cfg.lora.model_copy(update={"r": 16})})
    with pytest.raises(UserInputError, match=r"holds a run of another recipe \(lora changed\)"):
        train(wider, resume=True, progress=False)
    with pytest.raises(UserInputError, match="training data not found"):  # same shape: past the check
        train(cfg.model_copy(update={"learning_rate": 1e-3}), resume=True, progress=False)
    # ... and said: the README promises an uninterrupted run's losses only for the run's own recipe
    assert "resuming with other settings than the run's own config.yaml (learning_rate)" in capsys.readouterr().err
    with pytest.raises(UserInputError, match="training data not found"):
        train(cfg.model_copy(update={"threads": 1}), resume=True, progress=False)
    assert "resuming with other settings" not in capsys.readouterr().err  # threads shape no result


def test_an_output_dir_that_is_a_file_is_refused_before_the_model_loads(tmp_path):
    """It loaded the model (13 s for the default one), then 'cannot use PATH: File exists'."""
    (tmp_path / "run").write_text("a file")
    cfg = recipe(tmp_path, tmp_path / "no-model-loads", tmp_path / "no-data-read.jsonl")
    with pytest.raises(UserInputError, match="is a file"):
        train(cfg, progress=False)

"""The LLaVA-style VLM with tiny real-architecture language models: bundles saved to disk and loaded the way
`--model vlm:FOLDER` loads them, a tiny random HF LLaVA checkpoint (CLIP vision + Llama text) through the same
path a real LLaVA-Med v1.5 -hf checkpoint takes, the two-stage trainer with resume, and the refusals."""

import json
import shutil
import subprocess
import sys

import re

import pytest
import torch

from conftest import EXAMPLES, REPO, build_tokenizer, shared_data
from helpers_vlm import make_bundle, make_tiny_llava
from visual_med_alpaca.config import GenerationSettings, LLMConfig
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.images import load_image
from visual_med_alpaca.llm import load_language_model
from visual_med_alpaca.pipeline import Assistant

GREEDY = GenerationSettings(max_new_tokens=6, stop_on_repeat=False, repetition_penalty=1.0)


@pytest.fixture(scope="module")
def bundle(tiny_llama_dir, tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("vlm") / "bundle", tiny_llama_dir)


@pytest.fixture(scope="module")
def vlm_assistant(bundle):
    return Assistant.from_config(None, **{"llm.model": f"vlm:{bundle}", "generation.max_new_tokens": 6,
                                          "generation.repetition_penalty": 1.0})


def test_image_tokens_change_the_answer_distribution(vlm_assistant):
    """The picture reaches the language model: two images give different scores for the same prompt."""
    llm = vlm_assistant.llm
    prompt = llm.build_prompt("What is shown?", None, True)
    ct = llm.bind(load_image(EXAMPLES / "ct_slice.png")).score_continuations(prompt, [" yes"])
    chart = llm.bind(load_image(EXAMPLES / "bar_chart.png")).score_continuations(prompt, [" yes"])
    assert ct != pytest.approx(chart, abs=1e-4)
    assert "<image>" in prompt and llm.bind(None).count_tokens(prompt) < llm.bind(
        load_image(EXAMPLES / "ct_slice.png")).count_tokens(prompt)


def test_one_pass_yes_no_scores_equal_the_token_by_token_scores(vlm_assistant):
    """Single-token options are scored from one decoder pass; a multi-token option forces the general path."""
    bound = vlm_assistant.llm.bind(load_image(EXAMPLES / "ct_slice.png"))
    prompt = vlm_assistant.llm.build_prompt("Is this a CT?", None, True)
    fast = bound.score_continuations(prompt, [" yes", " no"])
    slow = bound.score_continuations(prompt, [" yes", " no", " yes no yes"])[:2]
    assert fast == pytest.approx(slow, abs=1e-4)


def test_assistant_answers_with_the_vlm_and_yes_no_starts_with_yes_or_no(vlm_assistant):
    answer = vlm_assistant.ask("Is there a fracture?", EXAMPLES / "ct_slice.png")
    assert answer.model.startswith("vlm:") and answer.expert == "none" and answer.expert_text is None
    assert re.match(r"(yes|no)\b", answer.answer.lower())
    assert "encode_image_s" in answer.timings and "yes_no_s" in answer.timings
    open_answer = vlm_assistant.ask("What organ is shown?", EXAMPLES / "ct_slice.png")
    assert open_answer.prompt.startswith("<image>\n") and "first_token_s" in open_answer.timings
    assert open_answer.timings["answer_tokens"] == 6  # the tokens generated (max_new_tokens), not the text re-tokenized


def test_yes_no_bias_from_the_bundle_moves_the_decision(bundle, tmp_path):
    """The answer records both options' log-probabilities; the bundle's yes_no_bias (log-odds added to 'yes')
    decides: a large positive bias always answers yes, a large negative one always no."""
    answers = {}
    for bias in (50.0, -50.0):
        folder = _bundle_with(bundle, tmp_path / f"bias{bias}", yes_no_bias=bias)
        assistant = Assistant.from_config(None, **{"llm.model": f"vlm:{folder}", "generation.max_new_tokens": 2})
        answers[bias] = assistant.ask("Is there a fracture?", EXAMPLES / "ct_slice.png")
    assert answers[50.0].answer.lower().startswith("yes") and answers[-50.0].answer.lower().startswith("no")
    assert set(answers[50.0].option_logprobs) == {"yes", "no"}
    assert answers[50.0].option_logprobs == pytest.approx(answers[-50.0].option_logprobs)  # the bias is not in them


def test_eval_records_the_yes_no_log_probabilities(bundle, tmp_path):
    """`vmed eval` keeps each yes/no answer's option log-probabilities (what bench/vlm_yes_no_bias.py reads)."""
    from visual_med_alpaca.closed import is_yes_no
    from visual_med_alpaca.eval.runner import EvalConfig, Evaluator

    config = EvalConfig.model_validate({
        "benchmark": "vqa-rad", "data_dir": str(shared_data()), "limit": 3, "out": str(tmp_path),
        "assistant": {"llm": {"model": f"vlm:{bundle}"}, "generation": {"max_new_tokens": 2}}})
    Evaluator(config, progress=False).run()
    records = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    decided = [r for r in records if is_yes_no(r["question"])]
    assert decided and all(set(r["option_logprobs"]) == {"yes", "no"} for r in decided)
    for r in decided:
        assert r["prediction"].lower().startswith(max(r["option_logprobs"], key=r["option_logprobs"].get))


def test_bundle_with_facts_puts_the_expert_text_in_open_prompts_only(bundle, tmp_path):
    """uses_facts: the router + expert describe the image and the VLM's prompt carries it ("Image facts: ...");
    facts_on_yes_no false keeps it out of yes/no questions (where it hurt on the dev set)."""
    folder = _bundle_with(bundle, tmp_path / "facts", uses_facts=True, facts_on_yes_no=False)
    assistant = Assistant.from_config(None, **{"llm.model": f"vlm:{folder}", "generation.max_new_tokens": 2})
    open_answer = assistant.ask("What organ is shown?", EXAMPLES / "ct_slice.png")
    assert open_answer.expert != "none" and f"Image facts: {open_answer.expert_text.strip()}" in open_answer.prompt
    closed = assistant.ask("Is there a fracture?", EXAMPLES / "ct_slice.png")
    assert "Image facts" not in closed.prompt and closed.option_logprobs
    assert closed.expert == "none" and "route_s" not in closed.timings  # no expert ran for a text it will not use


def test_expert_decides_modality_questions_about_ct_and_mri_images_only(bundle, tmp_path):
    """expert_yes_no ["CT", "MRI"]: "is this a CT?" about an image the radiology expert confidently calls CT or MRI
    gets the expert's answer whatever the model's log-odds say (a bias of -/+50 would force no/yes); other
    questions, and images the expert does not describe, keep the model's decision and run no expert."""
    folders = {b: _bundle_with(bundle, tmp_path / f"rule{b}", yes_no_bias=b, expert_yes_no=["CT", "MRI"])
               for b in (50.0, -50.0)}
    ask = {b: Assistant.from_config(None, **{"llm.model": f"vlm:{f}", "generation.max_new_tokens": 2}).ask
           for b, f in folders.items()}
    ct = ask[-50.0]("Is this a CT?", EXAMPLES / "ct_slice.png")
    assert ct.answer.lower().startswith("yes") and ct.expert == "radiology" and "expert_yes_no_s" in ct.timings
    assert "Image facts" not in ct.prompt and ct.option_logprobs  # the prompt is unchanged; the scores are kept
    assert ask[50.0]("Is this an MRI?", EXAMPLES / "ct_slice.png").answer.lower().startswith("no")
    fracture = ask[-50.0]("Is there a fracture?", EXAMPLES / "ct_slice.png")
    assert fracture.answer.lower().startswith("no") and fracture.expert == "none" and "route_s" not in fracture.timings
    chart = ask[-50.0]("Is this a CT?", EXAMPLES / "bar_chart.png")  # not a radiology image: the model decides
    assert chart.answer.lower().startswith("no") and chart.expert != "radiology"


def test_expert_does_not_decide_modality_questions_about_a_picture_too_small_to_classify(bundle, tmp_path):
    """A picture under images.MIN_CLASSIFY_SIDE is 'too small to tell its type' (the radiology expert's text), so
    its classification must not decide "is this a CT / an MRI?" either, with --expert radiology named: the model
    decides (a bias of -50 forces no). The expert's guess for a tiny grey picture used to answer yes to one."""
    from PIL import Image

    folder = _bundle_with(bundle, tmp_path / "tiny", yes_no_bias=-50.0, expert_yes_no=["CT", "MRI"])
    assistant = Assistant.from_config(None, **{"llm.model": f"vlm:{folder}", "generation.max_new_tokens": 2})
    tiny = Image.new("RGB", (8, 8), (128, 128, 128))
    for question in ("Is this a CT?", "Is this an MRI?"):
        answer = assistant.ask(question, tiny, expert="radiology")
        assert answer.answer.lower().startswith("no") and "expert_yes_no_s" not in answer.timings, answer


@pytest.mark.parametrize("value", [["PET"], "CT", [1], [["CT"]]])
def test_expert_yes_no_that_names_no_known_modality_is_refused(bundle, tmp_path, value):
    folder = _bundle_with(bundle, tmp_path / "badrule", expert_yes_no=value)
    with pytest.raises(UserInputError, match="expert_yes_no must be a list of modalities"):
        load_language_model(LLMConfig(model=f"vlm:{folder}"))


@pytest.mark.timeout(60)
def test_a_bundle_whose_language_model_is_not_cached_fails_at_once(bundle, tmp_path, hub_not_offline):
    """A bundle names its language model; a hub id there is read from the local HF cache only, like --model's, so a
    bundle copied to a machine without that model (and without network) is one error line, not a minute of retries."""
    folder = _bundle_with(bundle, tmp_path / "hubid", language_model="someone/not-cached")
    with pytest.raises(UserInputError, match="not in the Hugging Face cache.*hf download someone/not-cached"):
        load_language_model(LLMConfig(model=f"vlm:{folder}"))



@pytest.mark.timeout(60)
def test_a_bundle_whose_image_encoder_is_not_cached_fails_at_once(bundle, tmp_path, hub_not_offline):
    """A bundle's image encoder named by hub id (a CLIP/SigLIP tower) is read from the local HF cache only, like its
    language model: a bundle copied to a machine without it is one error line, not a minute of hub retries."""
    folder = _bundle_with(bundle, tmp_path / "hubenc", encoder="someone/not-cached-tower")
    with pytest.raises(UserInputError, match="not in the Hugging Face cache.*hf download someone/not-cached-tower"):
        load_language_model(LLMConfig(model=f"vlm:{folder}"))

def test_yes_no_bias_that_is_not_a_number_is_refused(bundle, tmp_path):
    folder = _bundle_with(bundle, tmp_path / "badbias", yes_no_bias="high")
    with pytest.raises(UserInputError, match="yes_no_bias must be a number"):
        load_language_model(LLMConfig(model=f"vlm:{folder}"))


def test_text_only_question_works_without_image(vlm_assistant):
    answer = vlm_assistant.ask("What treats hair loss?")
    assert "<image>" not in answer.prompt


def _bundle_with(bundle, folder, **changes):
    """A copy of the trained bundle whose vlm.json claims other shapes."""
    shutil.copytree(bundle, folder)
    meta = json.loads((folder / "vlm.json").read_text())
    (folder / "vlm.json").write_text(json.dumps({**meta, **changes}))
    return folder


def test_training_loss_is_the_cross_entropy_of_the_answer_tokens(tiny_llama_dir):
    """The VLM's training loss (the LM head applied only where an answer token is) equals the summed cross entropy
    of the full model's logits at the answer tokens, and it counts exactly those tokens."""
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from visual_med_alpaca.vlm.model import Projector, VisionLanguageModel, build_vlm_prompt

    torch.manual_seed(0)
    lm = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    vlm = VisionLanguageModel(lm, AutoTokenizer.from_pretrained(tiny_llama_dir), Projector(8, lm.config.hidden_size), 2)
    prompts, answers = [build_vlm_prompt("Is there a mass?"), build_vlm_prompt("What organ?")], ["no", "the liver"]
    features = torch.randn(2, 8, 4, 4)
    with torch.no_grad():
        loss, count = vlm(features, prompts, answers)
        inputs, mask, labels = vlm.embed(prompts, vlm.image_tokens(features), answers)
        logits = lm(inputs_embeds=inputs, attention_mask=mask).logits[:, :-1]
    targets = labels[:, 1:]
    keep = targets != -100
    assert count == keep.sum() and count > 0
    assert loss.item() == pytest.approx(F.cross_entropy(logits[keep], targets[keep], reduction="sum").item(), rel=1e-5)


def test_direct_lora_merge_equals_peft_merge(bundle, tmp_path):
    """`merge_adapter` (no peft) gives the weights peft's merge_and_unload gives, bit for bit; an adapter setting it
    does not reproduce (rsLoRA scaling) is left to peft."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from visual_med_alpaca.vlm.bundle import merge_adapter

    base = json.loads((bundle / "vlm.json").read_text())["language_model"]
    direct = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    assert merge_adapter(direct, bundle / "adapter")
    merged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32),
                                       str(bundle / "adapter")).merge_and_unload()
    theirs = merged.state_dict()
    changed = 0
    for name, tensor in direct.state_dict().items():
        assert torch.equal(tensor, theirs[name]), name
        changed += "proj" in name
    assert changed and not torch.equal(direct.state_dict()["model.layers.0.self_attn.q_proj.weight"],
                                       AutoModelForCausalLM.from_pretrained(base).state_dict()[
                                           "model.layers.0.self_attn.q_proj.weight"])
    rslora = tmp_path / "rslora"
    shutil.copytree(bundle / "adapter", rslora)
    settings = json.loads((rslora / "adapter_config.json").read_text())
    (rslora / "adapter_config.json").write_text(json.dumps({**settings, "use_rslora": True}))
    untouched = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    before = {k: v.clone() for k, v in untouched.state_dict().items()}
    assert not merge_adapter(untouched, rslora)
    assert all(torch.equal(before[k], v) for k, v in untouched.state_dict().items())


def test_bundle_for_another_language_model_is_refused(bundle, tmp_path, tiny_llama_dir):
    other = _bundle_with(bundle, tmp_path / "other", lm_width=640)
    with pytest.raises(UserInputError, match="mismatched projector/adapter"):
        load_language_model(LLMConfig(model=f"vlm:{other}"))


def test_projector_for_another_encoder_is_refused(bundle, tmp_path):
    other = _bundle_with(bundle, tmp_path / "enc", encoder_channels=768)
    with pytest.raises(UserInputError, match="mismatched projector"):
        load_language_model(LLMConfig(model=f"vlm:{other}"))


def test_adapter_for_another_model_is_refused(bundle, tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    other_lm = tmp_path / "lm"
    cfg = LlamaConfig.from_pretrained(json.loads((bundle / "vlm.json").read_text())["language_model"])
    cfg.num_hidden_layers = 1  # same width and vocabulary, but the adapter names a layer this model lacks
    LlamaForCausalLM(cfg).save_pretrained(other_lm)
    build_tokenizer().save_pretrained(other_lm)
    other = tmp_path / "b"
    shutil.copytree(bundle, other)
    meta = json.loads((other / "vlm.json").read_text())
    meta["language_model"] = str(other_lm)
    (other / "vlm.json").write_text(json.dumps(meta))
    model = None
    try:
        model = load_language_model(LLMConfig(model=f"vlm:{other}"))
    except UserInputError as exc:
        assert "adapter" in str(exc)
    assert model is None


def test_loading_a_vlm_prints_no_weight_loading_bar(bundle, capfd):
    """`--model vlm:default` printed transformers' "Loading weights" progress bar on stderr, --quiet or not; the
    loader turns transformers' own bar switch off while weights load and restores it after."""
    from transformers.utils import logging as hf_logging

    hf_logging.enable_progress_bar()
    capfd.readouterr()
    load_language_model(LLMConfig(model=f"vlm:{bundle}"))
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()


def test_missing_and_non_vlm_folders(tmp_path, tiny_llama_dir):
    with pytest.raises(UserInputError, match="VLM folder not found"):
        load_language_model(LLMConfig(model=f"vlm:{tmp_path / 'nope'}"))
    with pytest.raises(UserInputError, match="no vision tower"):
        load_language_model(LLMConfig(model=f"vlm:{tiny_llama_dir}"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserInputError, match="not a VLM folder"):
        load_language_model(LLMConfig(model=f"vlm:{empty}"))


def test_image_the_encoder_cannot_take(vlm_assistant, tmp_path):
    from PIL import Image

    strip = tmp_path / "strip.png"
    Image.new("RGB", (1500, 20), "white").save(strip)
    with pytest.raises(UserInputError, match="aspect ratio"):
        vlm_assistant.ask("What is shown?", strip)


# -- a Hugging Face LLaVA checkpoint -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_llava_dir(tmp_path_factory):
    return make_tiny_llava(tmp_path_factory.mktemp("llava") / "tiny-llava-hf")


def test_hf_llava_checkpoint_answers_through_the_assistant(tiny_llava_dir):
    assistant = Assistant.from_config(None, **{"llm.model": f"vlm:{tiny_llava_dir}", "generation.max_new_tokens": 5,
                                               "generation.repetition_penalty": 1.0})
    answer = assistant.ask("What organ is shown?", EXAMPLES / "ct_slice.png")
    assert answer.model == "llava:tiny-llava-hf"
    assert answer.prompt.startswith("USER: <image>\nWhat organ is shown?") and answer.prompt.endswith("ASSISTANT:")
    assert answer.timings["answer_tokens"] == 5  # the tokens generated (max_new_tokens), not the text re-tokenized
    closed = assistant.ask("Is this a CT image?", EXAMPLES / "ct_slice.png")
    assert re.match(r"(yes|no)\b", closed.answer.lower())
    llm = assistant.llm
    prompt = llm.build_prompt("What is shown?", None, True)
    a = llm.bind(load_image(EXAMPLES / "ct_slice.png")).score_continuations(prompt, ["Yes"])
    b = llm.bind(load_image(EXAMPLES / "bar_chart.png")).score_continuations(prompt, ["Yes"])
    assert a != pytest.approx(b, abs=1e-5)  # the pixels reach the language model


def test_llava_checkpoint_without_vision_tower_is_one_error_line(tiny_llama_dir):
    result = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "ask", "What is shown?", "--image",
                             str(EXAMPLES / "ct_slice.png"), "--model", f"vlm:{tiny_llama_dir}"],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "no vision tower" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


# -- training -------------------------------------------------------------------------------------------
def test_a_resume_of_nothing_or_of_another_recipe_is_one_error_before_anything_loads(tmp_path):
    """`vmed train vlm --resume` on an empty folder started a new run (`train lora` refuses), and a resume with
    another encoder grid, language model or LoRA shape was not checked (the lora recipe's check was not there)."""
    from visual_med_alpaca.config import dump_config, load_config
    from visual_med_alpaca.vlm.train import VLMTrainConfig, train_vlm

    cfg = load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu.yaml",
                      {"output_dir": str(tmp_path / "run"), "data_dir": str(tmp_path / "no-data")})
    with pytest.raises(UserInputError, match="resume: no training run in"):
        train_vlm(cfg, resume=True, log=lambda line: None)
    (tmp_path / "run" / cfg.stages[0].name).mkdir(parents=True)
    (tmp_path / "run" / "config.yaml").write_text(dump_config(cfg))
    with pytest.raises(UserInputError, match=r"holds a run of another recipe \(grid changed\)"):
        train_vlm(cfg.model_copy(update={"grid": cfg.grid + 1}), resume=True, log=lambda line: None)
    longer = cfg.model_copy(update={"stages": [s.model_copy(update={"max_steps": 99}) for s in cfg.stages]})
    lines = []
    with pytest.raises(UserInputError, match="no-data"):  # more steps: past the check, to the (missing) data
        train_vlm(longer, resume=True, log=lines.append)
    assert lines == ["resuming with other settings than the run's own config.yaml (stages): the losses will differ "
                     "from an uninterrupted run's"]


def test_two_stage_training_resumes_and_makes_a_loadable_bundle(tiny_llama_dir, tmp_path):
    shared_data("vqa_rad", "hf_train.jsonl")
    shared_data("medpix2", "splitted_dataset", "descriptions_dev.jsonl")
    from visual_med_alpaca.config import load_config
    from visual_med_alpaca.vlm.train import VLMTrainConfig, train_vlm

    def cfg(steps):
        return load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu.yaml", {
            "output_dir": str(tmp_path / "run"), "language_model": str(tiny_llama_dir), "grid": 2,
            "feature_cache": str(tmp_path / "cache"), "lora.target_modules": ["q_proj", "v_proj"], "save_every": 1,
            "threads": 2}, sets=[
            f"stages=[{{name: align, data: captions, max_steps: 2, batch_size: 4, micro_batch_size: 2, limit: 8}}, "
            f"{{name: instruct, data: vqa, train_lm: true, max_steps: {steps}, batch_size: 4, micro_batch_size: 2, "
            f"learning_rate: 0.01, limit: 8}}]"])

    first = train_vlm(cfg(2), log=lambda line: None)
    assert first["stages"]["instruct"]["steps"] == 2 and (tmp_path / "run" / "loss.png").is_file()
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["stages"]["align"]["tokens_per_s"] > 0
    assert (tmp_path / "run" / "instruct" / "checkpoint-2").is_dir()  # each stage is one engine run, own folder
    with pytest.raises(UserInputError, match="--resume"):
        train_vlm(cfg(2), log=lambda line: None)
    # A longer second stage: resumes from the saved step 2 of stage 2 (stage 1 is not rerun).
    (tmp_path / "run" / "instruct" / "done.json").unlink()
    lines = []
    second = train_vlm(cfg(4), resume=True, log=lines.append)
    assert any("align: already done" in line for line in lines)
    assert any("resumed at step 2/4" in line for line in lines)
    assert second["stages"]["instruct"]["steps"] == 4
    assert [tuple(x) for x in second["stages"]["instruct"]["history"]["train"][:2]] == \
        [tuple(x) for x in first["stages"]["instruct"]["history"]["train"]]
    llm = load_language_model(LLMConfig(model=f"vlm:{tmp_path / 'run' / 'vlm'}"))
    assert llm.uses_facts is False
    meta = json.loads((tmp_path / "run" / "vlm" / "vlm.json").read_text())
    assert meta["grid"] == 2 and "VQA-RAD train minus" in meta["trained_on"]["vqa"]

    # A continuation (configs/vlm-cpu-continue.yaml): a new stage that starts from the finished stage's weights.
    def cont(extra=""):
        return load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu-continue.yaml", {
            "output_dir": str(tmp_path / f"cont{len(extra)}"), "language_model": str(tiny_llama_dir), "grid": 2,
            "feature_cache": str(tmp_path / "cache"), "lora.target_modules": ["q_proj", "v_proj"], "threads": 2},
            sets=[f"stages=[{{name: more, data: vqa, train_lm: true, max_steps: 1, batch_size: 4, micro_batch_size: 2, "
                  f"learning_rate: 1.0e-12, limit: 8, init_from: {tmp_path / 'run' / 'instruct'}}}]", *extra.split()])

    lines = []
    train_vlm(cont(), log=lines.append)
    assert any("more: starts from" in line for line in lines)
    before, after = (torch.load(p / "weights.pt") for p in (tmp_path / "run" / "instruct", tmp_path / "cont0" / "more"))
    assert before.keys() == after.keys()
    for key in before:  # a 1e-12 learning rate: the step-0 weights were the finished stage's, not fresh ones
        torch.testing.assert_close(after[key], before[key], atol=1e-6, rtol=0)
    with pytest.raises(UserInputError, match="init_from: .* another model"):
        train_vlm(cont("lora.r=4"), log=lambda line: None)

    # Round 6 (configs/vlm-cpu-round6.yaml): a stage that starts from a bundle, as from the shipped one; its kept
    # checkpoints export as bundles with the recipe's prompt settings.
    from safetensors.torch import load_file

    from visual_med_alpaca.vlm.bundle import read_adapter
    from visual_med_alpaca.vlm.train import export_bundle

    def longer(grid=2):
        return load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu-round6.yaml", {
            "output_dir": str(tmp_path / f"r6-{grid}"), "language_model": str(tiny_llama_dir), "grid": grid,
            "feature_cache": str(tmp_path / "cache"), "lora.target_modules": ["q_proj", "v_proj"], "threads": 2,
            "save_every": 1}, sets=[
            f"stages=[{{name: longer, data: vqa, train_lm: true, max_steps: 2, batch_size: 4, micro_batch_size: 2, "
            f"learning_rate: 1.0e-12, limit: 8, init_from: {tmp_path / 'run' / 'vlm'}}}]"])

    lines = []
    train_vlm(longer(), log=lines.append)
    assert any("longer: starts from" in line for line in lines)
    started = torch.load(tmp_path / "r6-2" / "longer" / "weights.pt")
    bundle_projector = load_file(tmp_path / "run" / "vlm" / "projector.safetensors")
    _, lora = read_adapter(tmp_path / "run" / "vlm" / "adapter")
    assert len(lora) == sum("lora_A" in k for k in before) > 0 and started.keys() == before.keys()
    for key, value in bundle_projector.items():  # the bundle's fp16 values exactly (a 1e-12 learning rate)
        torch.testing.assert_close(started[f"projector.{key}"], value.float(), atol=1e-6, rtol=0)
    for module, pair in lora.items():
        for ab, value in pair.items():
            torch.testing.assert_close(started[f"lm.base_model.model.{module}.lora_{ab}.default.weight"],
                                       value.float(), atol=1e-6, rtol=0)
    for key in before:  # ... which are the trained fp32 weights rounded to fp16
        torch.testing.assert_close(started[key], before[key], atol=2e-3, rtol=1e-3)
    with pytest.raises(UserInputError, match="grid 2, this recipe has 3"):
        train_vlm(longer(grid=3), log=lambda line: None)
    # LoRA on more modules than the bundle has (configs/vlm-cpu-round6-mlp.yaml): refused unless the stage says
    # the new ones start fresh; then the bundle's tensors load and the new B matrices are 0 (step 0 = the bundle).
    def wider(new_lora):
        return load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu-round6-mlp.yaml", {
            "output_dir": str(tmp_path / f"mlp-{new_lora}"), "language_model": str(tiny_llama_dir), "grid": 2,
            "feature_cache": str(tmp_path / "cache"), "lora.target_modules": ["q_proj", "v_proj", "gate_proj"],
            "threads": 2}, sets=[
            f"stages=[{{name: wider, data: vqa, train_lm: true, max_steps: 1, batch_size: 4, micro_batch_size: 2, "
            f"learning_rate: 1.0e-12, limit: 8, init_from: {tmp_path / 'run' / 'vlm'}, init_new_lora: {new_lora}}}]"])

    with pytest.raises(UserInputError, match="another model"):
        train_vlm(wider("false"), log=lambda line: None)
    lines = []
    train_vlm(wider("true"), log=lines.append)
    assert any("wider: starts from" in line and "LoRA tensors fresh" in line for line in lines)
    widened = torch.load(tmp_path / "mlp-true" / "wider" / "weights.pt")
    gate_b = [k for k in widened if "gate_proj.lora_B" in k]
    assert gate_b and all(widened[k].abs().max() < 1e-9 for k in gate_b)
    for key in started:
        torch.testing.assert_close(widened[key], started[key], atol=1e-6, rtol=0)

    checkpoint = tmp_path / "r6-2" / "longer" / "checkpoint-1"
    exported = export_bundle(longer(), str(checkpoint), tmp_path / "cand1")
    meta = json.loads((exported / "vlm.json").read_text())
    assert meta["uses_facts"] is True and meta["facts_on_yes_no"] is False and meta["expert_yes_no"] == ["CT", "MRI"]
    assert meta["exported_from"] == str(checkpoint) and meta["yes_no_bias"] == 0.0
    for key, value in load_file(exported / "projector.safetensors").items():
        torch.testing.assert_close(value.float(), started[f"projector.{key}"], atol=1e-3, rtol=1e-3)
    llm = load_language_model(LLMConfig(model=f"vlm:{exported}"))
    assert llm.uses_facts is True and llm.expert_yes_no == ("CT", "MRI")
    # a checkpoint whose weights file was cut short, a weights.pt that is not one, a torch file of something else:
    # one error each (they were a SafetensorError / KeyError traceback after the model load)
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(checkpoint, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 4)
    (tmp_path / "not.pt").write_text("not a torch file")
    torch.save([1, 2], tmp_path / "list.pt")
    for source, message in ((broken, "model.safetensors cannot be read as trained weights"),
                            (tmp_path / "not.pt", "not.pt cannot be read as trained weights"),
                            (tmp_path / "list.pt", "holds no projector / LoRA tensors")):
        with pytest.raises(UserInputError, match=message):
            export_bundle(longer(), str(source), tmp_path / "cand2")
    assert not (tmp_path / "cand2").exists()


def _ddp_worker(rank, world, lm_dir, init_file, out_dir):
    """One of two CPU processes (gloo): the tiny VLM wrapped in DDP, as accelerate wraps it, one backward of the
    recipe's compute_loss on this rank's own batch; the projector's gradient is written for the parent."""
    import torch.distributed as dist
    from pathlib import Path
    from torch.nn.parallel import DistributedDataParallel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from visual_med_alpaca.vlm.data import Example
    from visual_med_alpaca.vlm.model import Projector, VisionLanguageModel, build_vlm_prompt
    from visual_med_alpaca.vlm.train import StageConfig, _summed_loss  # the loss the recipe hands the engine: the unit

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        lm = AutoModelForCausalLM.from_pretrained(lm_dir)
        lm.requires_grad_(False)
        vlm = VisionLanguageModel(lm, AutoTokenizer.from_pretrained(lm_dir), Projector(1280, lm.config.hidden_size), 2)
        model = DistributedDataParallel(vlm)
        examples = [Example(Path("x.png"), build_vlm_prompt("Is there a mass?"), ["no", "yes"][rank])] * 2
        features = torch.randn(2, 1280, 4, 4, generator=torch.Generator().manual_seed(rank))  # ranks differ
        _summed_loss(StageConfig(name="instruct", data="vqa"))(model, {"examples": examples, "features": features}).backward()
        torch.save([p.grad for p in vlm.projector.parameters()], Path(out_dir) / f"grad{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_vlm_loss_goes_through_the_ddp_wrapper_so_gradients_sync(tiny_llama_dir, tmp_path):
    """Two processes see different batches; after backward DDP must have averaged the gradients, so both hold
    the same. Calling the unwrapped module (as the recipe once did) skips DDP's hooks: the gradients differ."""
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(2, str(tiny_llama_dir), str(tmp_path / "pg"), str(tmp_path)), nprocs=2)
    first, second = (torch.load(tmp_path / f"grad{rank}.pt") for rank in (0, 1))
    assert all(g is not None and g.abs().sum() > 0 for g in first)
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b)


def test_dev_loss_script_loads_each_weights_into_the_model_as_built(tiny_llama_dir, tmp_path):
    """bench/vlm_dev_loss.py with several weights: LoRA tensors one of them lacks (--new-lora) keep the fresh
    init (B = 0), not the values of the weights measured before it, wherever it stands in the list."""
    sys.path.insert(0, str(REPO / "bench"))
    from vlm_dev_loss import load_weights

    from visual_med_alpaca.config import load_config
    from visual_med_alpaca.vlm.train import VLMTrainConfig, build_model, trainable_state

    cfg = load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu.yaml", {
        "output_dir": str(tmp_path / "run"), "language_model": str(tiny_llama_dir), "grid": 2,
        "lora.target_modules": ["q_proj", "v_proj", "gate_proj"], "threads": 2})
    vlm, _ = build_model(cfg)
    fresh = {key: value.detach().clone() for key, value in trainable_state(vlm).items()}
    full = {key: torch.full_like(value, 0.5) for key, value in fresh.items()}
    torch.save(full, tmp_path / "full.pt")
    torch.save({key: value for key, value in full.items() if "gate_proj.lora_" not in key}, tmp_path / "attention.pt")
    gate_b = [key for key in fresh if "gate_proj.lora_B" in key]
    q_b = [key for key in fresh if "q_proj.lora_B" in key]
    assert gate_b and q_b and all(fresh[key].abs().max() == 0 for key in gate_b)
    for name in ("full.pt", "attention.pt", "full.pt", "attention.pt"):
        load_weights(vlm, fresh, tmp_path / name, cfg, new_lora=True)
        now = trainable_state(vlm)
        assert all((now[key] == 0.5).all() for key in q_b)
        assert all((now[key] == (0.5 if name == "full.pt" else 0.0)).all() for key in gate_b), name
    with pytest.raises(UserInputError, match="another model"):  # without --new-lora: missing tensors are refused
        load_weights(vlm, fresh, tmp_path / "attention.pt", cfg, new_lora=False)


def test_recipes_validate():
    from visual_med_alpaca.config import load_config
    from visual_med_alpaca.vlm.train import VLMTrainConfig

    cpu = load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu.yaml")
    gpu = load_config(VLMTrainConfig, REPO / "configs" / "vlm-llava-med-gpu.yaml")
    assert [s.train_lm for s in cpu.stages] == [False, True] == [s.train_lm for s in gpu.stages]
    assert gpu.grid == 24 and gpu.mixed_precision == "bf16"
    more = load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu-continue.yaml")
    assert more.stages[0].init_from and more.stages[0].train_lm and more.lora == cpu.lora
    longer = load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu-round6.yaml")
    assert (REPO / longer.stages[0].init_from / "vlm.json").is_file() and longer.lora == cpu.lora  # the shipped bundle
    assert longer.keep_every == 100 and longer.bundle.uses_facts and longer.bundle.expert_yes_no == ["CT", "MRI"]
    assert longer.dev_split == "image"  # the default: dev = held-out images
    seen = load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu-round7.yaml")
    mlp = load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu-round6-mlp.yaml")
    assert seen.dev_split == "seen" and seen.lora == mlp.lora and seen.stages[0].init_new_lora


def test_caption_training_refuses_the_medpix_test_split(tmp_path):
    from visual_med_alpaca.vlm.data import caption_examples

    with pytest.raises(UserInputError, match="evaluation split"):
        caption_examples(tmp_path, ["dev", "test"])


@pytest.mark.parametrize("args", [[], ["--export", "nowhere", "--out", "x"], ["--memory", "nowhere"]])
def test_train_vlm_without_a_recipe_asks_for_one(args):
    """`vmed train vlm --export W --out B` without -c said 'invalid configuration: stages: Field required'."""
    result = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "train", "vlm", *args],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("error: give the VLM recipe with -c")
    assert len(result.stderr.strip().splitlines()) == 1


def test_train_vlm_command_bad_data_dir_is_one_error_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "train", "vlm", "-c",
                             str(REPO / "configs" / "vlm-cpu.yaml"), "--set", f"data_dir={tmp_path / 'none'}",
                             "--set", f"output_dir={tmp_path / 'out'}"],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 2 and result.stderr.strip().startswith("error: data folder not found")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [(["--export", "nowhere"], "--export needs --out"),
                                           (["--export", "nowhere", "--out"], "--export: nowhere not found"),
                                           (["--export", "nowhere", "--out", "keep"], "{tmp}/keep exists and is not a "
                                                                                     "VLM bundle"),
                                           (["--export", "nowhere", "--out", "file/x"], "cannot write a bundle to")])
def test_train_vlm_export_bad_input_is_one_error_line(tmp_path, args, message):
    """... and an --out that is not a new folder or a bundle is refused before anything loads: writing a bundle
    replaces the folder (`--out runs` deleted runs/)."""
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "results.json").write_text("{}")
    (tmp_path / "file").write_text("a file, not a folder")
    args = [*args[:-1], str(tmp_path / args[-1])] if args[-2:-1] == ["--out"] else args
    args = [*args, str(tmp_path / "x")] if args[-1] == "--out" else args
    message = message.format(tmp=tmp_path)
    result = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "train", "vlm", "-c",
                             str(REPO / "configs" / "vlm-cpu-round6.yaml"), *args],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 2 and result.stderr.strip().startswith(f"error: {message}")
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()
    assert (tmp_path / "keep" / "results.json").is_file()


def test_direct_lora_merge_of_an_empty_adapter_is_a_mismatch(tmp_path):
    """An adapter file with no LoRA tensors changes nothing and says so (it used to count as merged)."""
    from safetensors.torch import save_file

    from visual_med_alpaca.vlm.bundle import merge_adapter

    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4, "lora_alpha": 8}))
    save_file({}, str(tmp_path / "adapter_model.safetensors"))
    with pytest.raises(ValueError, match="no LoRA tensors"):
        merge_adapter(torch.nn.Linear(2, 2), tmp_path)

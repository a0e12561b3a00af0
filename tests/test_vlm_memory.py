"""The VLM's case memory (vlm/memory.py) as a user meets it: a question about an image the model was trained on,
asked another way, gets the remembered answer and says where it came from; a new image gets the model's answer,
unchanged; the thresholds are edges; `--no-case-memory` turns it off; a memory that does not fit is one error line.
Tiny fixtures: the tiny VLM bundle, three pictures, a hashed bag-of-words stand-in for MiniLM."""

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import EXAMPLES, REPO, shared_data
from helpers_knowledge import hashed_bag_of_words
from helpers_vlm import make_bundle
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.data.sources import Item
from visual_med_alpaca.pipeline import Assistant

CT, LINE = EXAMPLES / "ct_slice.png", EXAMPLES / "line_chart.png"


class Sentences:
    """The stand-in sentence encoder; counts the texts it embeds."""

    calls = 0

    def encode(self, texts, *args, **kwargs):
        Sentences.calls += len(texts)
        return hashed_bag_of_words(texts)


@pytest.fixture(autouse=True)
def fake_sentences(monkeypatch):
    import visual_med_alpaca.knowledge.encoder as encoder

    Sentences.calls = 0
    monkeypatch.setattr(encoder, "cached_encoder", lambda threads=None: Sentences())


def _picture(path, seed):
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random((64, 96, 3)) * 255).astype(np.uint8)).resize((192, 128)).save(path)
    return path


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    noise = _picture(tmp_path_factory.mktemp("pictures") / "noise.png", 0)
    return [Item("c1", "Is there a fracture?", "no", "closed", CT),
            Item("c2", "Which organ is shown in this image?", "brain", "open", CT),
            Item("c3", "Is the line going up?", "yes", "closed", LINE),
            Item("c4", "What quantity is plotted?", "sales", "open", LINE),
            Item("c5", "What is this picture?", "noise", "open", noise)]


@pytest.fixture(scope="module")
def remembering(tiny_llama_dir, tmp_path_factory, cases):
    """The tiny bundle with a memory of `cases` (thresholds: image 0.95, questions 0.45)."""
    from visual_med_alpaca.vlm.encoders import FeatureCache
    from visual_med_alpaca.vlm.memory import MEMORY, build_memory

    root = tmp_path_factory.mktemp("vlm-memory")
    folder = make_bundle(root / "bundle", tiny_llama_dir)
    build_memory(folder / MEMORY, cases, "efficientnet-lite0", 1, FeatureCache(root / "features", "efficientnet-lite0"),
                 "the test cases", sentences=Sentences())
    return _with(folder, root / "remembering", image_min=0.95, yes_no_min=0.45, other_min=0.45, use="answer")


def _with(bundle, folder, **settings):
    shutil.copytree(bundle, folder, dirs_exist_ok=True)
    meta = json.loads((folder / "vlm.json").read_text())
    (folder / "vlm.json").write_text(json.dumps({**meta, "case_memory": {**(meta.get("case_memory") or {}), **settings}}))
    return folder


def _assistant(folder, **extra):
    """The assistant on `folder` with the case memory turned on (it is off by default), unless `extra` says otherwise."""
    return Assistant.from_config(None, **{"llm.model": f"vlm:{folder}", "generation.max_new_tokens": 4,
                                          "generation.repetition_penalty": 1.0, "llm.case_memory": True, **extra})


def test_same_image_rephrased_question_gets_the_remembered_answer_and_says_so(remembering):
    answer = _assistant(remembering).ask("Is a fracture present?", CT)
    assert answer.answer == "No" and answer.prompt == "" and answer.option_logprobs is None
    assert answer.model.startswith("case-memory of vlm:")  # not presented as the model's own answer
    case = answer.remembered
    assert case["id"] == "c1" and case["question"] == "Is there a fracture?" and case["answer"] == "no"
    assert case["image"] == "ct_slice.png" and case["image_similarity"] > 0.99 and case["use"] == "answer"
    assert case["source"] == "the test cases"
    open_answer = _assistant(remembering).ask("Which organ is this?", CT)
    assert open_answer.answer == "brain" and open_answer.remembered["id"] == "c2"


def test_a_near_duplicate_of_a_remembered_image_is_the_same_image(remembering, tmp_path):
    """The picture a user has may be a resized JPEG of it."""
    image = Image.open(CT).convert("RGB")
    buffer = io.BytesIO()
    image.resize((image.width * 4 // 5, image.height * 4 // 5)).save(buffer, "JPEG", quality=75)
    (tmp_path / "copy.jpg").write_bytes(buffer.getvalue())
    answer = _assistant(remembering).ask("Is a fracture present?", tmp_path / "copy.jpg")
    assert answer.remembered["id"] == "c1" and 0.95 <= answer.remembered["image_similarity"] < 1.0


def test_a_new_image_gets_the_models_answer_unchanged(remembering):
    on, off = _assistant(remembering), _assistant(remembering, **{"llm.case_memory": False})
    for question in ("Is there a fracture?", "What is plotted?"):
        with_memory, without = on.ask(question, EXAMPLES / "bar_chart.png"), off.ask(question, EXAMPLES / "bar_chart.png")
        assert with_memory.remembered is None and with_memory.answer == without.answer
        assert with_memory.model == without.model and with_memory.prompt == without.prompt
    assert Sentences.calls == 0  # no remembered image matched: the question was never even embedded


def test_question_threshold_is_an_edge(remembering, tmp_path):
    found = _assistant(remembering).ask("Is a fracture present?", CT).remembered["question_similarity"]
    at = _with(remembering, tmp_path / "at", yes_no_min=found - 1e-4)
    above = _with(remembering, tmp_path / "above", yes_no_min=min(found + 1e-3, 1.0))
    assert _assistant(at).ask("Is a fracture present?", CT).remembered["id"] == "c1"
    answer = _assistant(above).ask("Is a fracture present?", CT)
    assert answer.remembered is None and answer.option_logprobs  # the model decided


def test_only_a_question_of_the_same_form_is_remembered(remembering):
    """A yes/no question never gets an open answer remembered for it, nor the reverse."""
    answer = _assistant(remembering).ask("Is this image showing an organ?", CT)  # close in words to c2, but yes/no
    assert answer.remembered is None or answer.remembered["id"] == "c1"
    other = _assistant(remembering).ask("Which fracture is there?", CT)  # close to c1's words, not yes/no
    assert other.remembered is None or other.remembered["id"] == "c2"


def test_an_answer_from_memory_runs_no_knowledge_lookup(remembering, monkeypatch):
    """Asked with the knowledge stage on (`ask(..., knowledge=True)`), an answer from memory consults nothing: its
    passages would be neither used nor cited. A question the memory does not answer still consults it."""
    from visual_med_alpaca.knowledge.stage import Consultation, KnowledgeStage

    asked = []
    monkeypatch.setattr(KnowledgeStage, "consult", lambda self, question: asked.append(question) or Consultation())
    assistant = _assistant(remembering)
    assert assistant.ask("Is a fracture present?", CT, knowledge=True).remembered["id"] == "c1" and asked == []
    assert assistant.ask("Is the bar tall?", EXAMPLES / "bar_chart.png", knowledge=True).remembered is None
    assert asked == ["Is the bar tall?"]


def test_memory_off_the_model_answers(remembering):
    answer = _assistant(remembering, **{"llm.case_memory": False}).ask("Is there a fracture?", CT)
    assert answer.remembered is None and answer.model.startswith("vlm:") and answer.option_logprobs


def test_memory_is_off_unless_asked_for(remembering):
    """Off by default (it lowered VQA-RAD test open recall): a remembered image still gets the model's own answer."""
    answer = Assistant.from_config(None, **{"llm.model": f"vlm:{remembering}", "generation.max_new_tokens": 4}).ask(
        "Is a fracture present?", CT)
    assert answer.remembered is None and answer.model.startswith("vlm:") and answer.option_logprobs


def test_prompt_use_gives_the_model_the_remembered_case(remembering, tmp_path):
    folder = _with(remembering, tmp_path / "prompt", use="prompt")
    answer = _assistant(folder).ask("Is a fracture present?", CT)
    assert "Asked before about this image: Is there a fracture? Answer: no" in answer.prompt
    assert answer.model.startswith("vlm:") and answer.option_logprobs and answer.remembered["use"] == "prompt"


def test_cli_json_carries_the_case_and_text_names_it(remembering):
    from typer.testing import CliRunner

    from visual_med_alpaca.cli import app

    args = ["ask", "Is a fracture present?", "--image", str(CT), "--model", f"vlm:{remembering}", "-q"]
    assert json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout)["remembered"] is None  # off by default
    args.append("--case-memory")
    payload = json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout)
    assert payload["answer"] == "No" and payload["remembered"]["id"] == "c1"
    text = CliRunner().invoke(app, args).stdout
    assert text.startswith("No\n") and "Answered from memory, not by the model looking at the image" in text
    off = CliRunner().invoke(app, [*args, "--json", "--no-case-memory"])
    assert json.loads(off.stdout)["remembered"] is None


def test_served_and_demo_answers_carry_the_case(remembering):
    """`vmed serve` puts the case in its x_visual_med_alpaca extension; the demo shows it in its sources panel."""
    import httpx
    from helpers_serve import ThreadServer, data_url

    from visual_med_alpaca.serve.api import ServeConfig, create_app
    from visual_med_alpaca.serve.demo import sources_markdown

    assistant = _assistant(remembering)
    message = [{"role": "user", "content": [{"type": "text", "text": "Is a fracture present?"},
                                            {"type": "image_url", "image_url": {"url": data_url(CT)}}]}]
    with ThreadServer(create_app(ServeConfig(), assistant)) as server:
        reply = httpx.post(f"{server.url}/v1/chat/completions", timeout=60,
                           json={"model": ServeConfig().model_name, "messages": message})
    body = reply.json()
    assert reply.status_code == 200, body
    assert body["choices"][0]["message"]["content"] == "No"
    assert body["x_visual_med_alpaca"]["remembered"]["id"] == "c1"
    panel = sources_markdown(assistant.stream("Is a fracture present?", CT))
    assert "Remembered case" in panel and "not by the model looking at the image" in panel


def test_eval_records_which_answers_were_remembered(tmp_path, tiny_llama_dir):
    """`vmed eval` marks each remembered answer and counts them (here the memory holds the very questions asked)."""
    from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_train_split
    from visual_med_alpaca.eval.runner import EvalConfig, Evaluator
    from visual_med_alpaca.vlm.encoders import FeatureCache
    from visual_med_alpaca.vlm.memory import MEMORY, build_memory

    asked = vqa_rad_train_split(shared_data())[1][:3]
    folder = make_bundle(tmp_path / "bundle", tiny_llama_dir)
    build_memory(folder / MEMORY, asked, "efficientnet-lite0", 1, FeatureCache(tmp_path / "f", "efficientnet-lite0"),
                 "three questions", sentences=Sentences())
    config = EvalConfig.model_validate({
        "benchmark": "vqa-rad", "subset": "train-dev", "data_dir": str(shared_data()), "limit": 3,
        "out": str(tmp_path / "run"), "assistant": {"llm": {"model": f"vlm:{folder}", "case_memory": True}, "generation": {"max_new_tokens": 2}}})
    result = Evaluator(config, progress=False).run()
    records = [json.loads(line) for line in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    assert [r["remembered"]["id"] for r in records] == [i.id for i in asked] and result["n_remembered"] == 3
    assert all(r["prediction"].lower() == i.reference.lower() for r, i in zip(records, asked))


def test_build_memory_remembers_exactly_the_recipes_stage_2_questions(remembering, tmp_path):
    from visual_med_alpaca.config import load_config
    from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_train_split
    from visual_med_alpaca.vlm.memory import CaseMemory
    from visual_med_alpaca.vlm.train import VLMTrainConfig, build_bundle_memory

    folder = _with(remembering, tmp_path / "b")
    cfg = load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu.yaml", {"data_dir": str(shared_data()),
                                                               "feature_cache": str(tmp_path / "features")})
    cfg.stages[-1].limit = 4
    summary = build_bundle_memory(cfg, folder)
    memory = CaseMemory.load(folder, json.loads((folder / "vlm.json").read_text()))
    trained = [i.id for i in vqa_rad_train_split(shared_data())[0][:4]]
    assert summary["cases"] == 4 and memory.ids == trained and "VQA-RAD train" in memory.source
    with pytest.raises(UserInputError, match="encoder"):
        build_bundle_memory(cfg.model_copy(update={"encoder": "some/clip"}), folder)


def test_a_memory_rebuilt_with_a_recipe_naming_no_thresholds_keeps_the_bundles_own(remembering, tmp_path):
    """`--memory` with configs/vlm-cpu.yaml (no `bundle.case_memory`) keeps the thresholds the bundle has (the shipped
    ones were chosen by leave-one-out), not the cautious defaults; a recipe that names them writes its own."""
    from visual_med_alpaca.config import load_config
    from visual_med_alpaca.vlm.memory import CaseMemory, MemorySettings
    from visual_med_alpaca.vlm.train import VLMTrainConfig, build_bundle_memory

    kept = {"image_min": 0.97, "yes_no_min": 0.6, "other_min": 0.7, "use": "prompt"}  # the bundle's own
    folder = _with(remembering, tmp_path / "b", **kept)
    where = {"data_dir": str(shared_data()), "feature_cache": str(tmp_path / "features")}
    cfg = load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu.yaml", where)
    cfg.stages[-1].limit = 2
    assert cfg.bundle.case_memory is None and build_bundle_memory(cfg, folder)["case_memory"] == kept
    meta = json.loads((folder / "vlm.json").read_text())
    assert meta["case_memory"] == kept and CaseMemory.load(folder, meta).settings.model_dump() == kept
    named = load_config(VLMTrainConfig, REPO / "configs" / "vlm-cpu-continue.yaml", where)
    named.stages[-1].limit = 2
    build_bundle_memory(named, folder)
    assert json.loads((folder / "vlm.json").read_text())["case_memory"] == named.bundle.case_memory.model_dump()
    bare = _with(remembering, tmp_path / "bare")
    (bare / "vlm.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "case_memory"}))
    assert build_bundle_memory(cfg, bare)["case_memory"] == MemorySettings().model_dump()  # neither names any


def test_image_vectors_of_many_pictures_are_each_pictures_own(remembering):
    """Batch by batch (a generator's pictures loaded as they are reached): the vectors one picture at a time gives."""
    from visual_med_alpaca.images import load_image
    from visual_med_alpaca.vlm.encoders import load_encoder
    from visual_med_alpaca.vlm.memory import CaseMemory

    memory = CaseMemory.load(remembering, json.loads((remembering / "vlm.json").read_text()))
    encoder, paths = load_encoder("efficientnet-lite0"), [CT, LINE, EXAMPLES / "bar_chart.png"]
    many = memory.image_vectors(encoder, (load_image(p).image for p in paths), batch_size=2)
    one = np.concatenate([memory.vectors(encoder.feature_maps([load_image(p).image])) for p in paths])
    assert many.shape == (3, memory.images.shape[1]) and np.allclose(many, one, atol=1e-5)
    assert memory.image_vectors(encoder, []).shape == (0, memory.images.shape[1])


def test_a_memory_that_does_not_fit_is_one_error_line(remembering, tmp_path):
    from visual_med_alpaca.vlm.memory import MEMORY

    wrong = _with(remembering, tmp_path / "wrong")
    meta = json.loads((wrong / "vlm.json").read_text())
    with np.load(wrong / MEMORY) as stored:
        arrays = dict(stored)
    np.savez(wrong / MEMORY, **{**arrays, "encoder": np.array("openai/clip-vit-base-patch32")})
    with pytest.raises(UserInputError, match="image encoder"):
        _assistant(wrong).llm
    bad = _with(remembering, tmp_path / "bad", image_min=2)
    with pytest.raises(UserInputError, match="case_memory.image_min"):
        _assistant(bad).llm
    (wrong / MEMORY).write_bytes(b"not a memory")
    with pytest.raises(UserInputError, match="not a case memory"):
        _assistant(wrong).llm
    assert meta["case_memory"]["use"] == "answer"


def test_the_shipped_memory_remembers_only_what_the_shipped_vlm_trained_on():
    """assets/vlm/default/memory.npz: VQA-RAD train minus the dev images, every question once; no test question."""
    from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_train_split
    from visual_med_alpaca.eval.benchmarks.vqa import load_vqa_rad
    from visual_med_alpaca.vlm.bundle import DEFAULT_BUNDLE, read_meta
    from visual_med_alpaca.vlm.memory import CaseMemory

    memory = CaseMemory.load(DEFAULT_BUNDLE, read_meta(DEFAULT_BUNDLE))
    train, dev = vqa_rad_train_split(shared_data())
    assert memory.ids == [i.id for i in train] and memory.answers == [i.reference for i in train]
    assert not set(memory.ids) & {i.id for i in dev + load_vqa_rad(shared_data())}
    assert memory.encoder == "efficientnet-lite0" and memory.settings.use == "answer"


def test_case_memory_asked_of_a_bundle_without_one_is_one_error_line(tiny_llama_dir, tmp_path):
    """`--case-memory` on a bundle that has no memory.npz does not silently answer without it: one error line that
    says how to build it."""
    folder = make_bundle(tmp_path / "bundle", tiny_llama_dir)
    with pytest.raises(UserInputError, match="no case memory.*--memory"):
        _assistant(folder).llm
    assert _assistant(folder, **{"llm.case_memory": False}).llm.memory is None


def test_a_memory_of_another_format_says_which_format_it_is(remembering, tmp_path):
    """Not 'missing format' when the format is there but another one (a memory written by a newer version)."""
    from visual_med_alpaca.vlm.memory import FORMAT, MEMORY

    newer = _with(remembering, tmp_path / "newer")
    with np.load(newer / MEMORY) as stored:
        arrays = dict(stored)
    np.savez(newer / MEMORY, **{**arrays, "format": np.array(FORMAT + 1)})
    with pytest.raises(UserInputError, match=f"format {FORMAT + 1}") as refused:
        _assistant(newer).llm
    assert "missing" not in str(refused.value)
    del arrays["questions"]
    np.savez(newer / MEMORY, **arrays)
    with pytest.raises(UserInputError, match="missing questions"):
        _assistant(newer).llm


def test_a_resumed_eval_with_other_case_memory_settings_is_refused(tmp_path, tiny_llama_dir):
    """The bundle's case_memory settings (thresholds, answer or prompt) shape the answers as much as the flag: a run
    folder written with one `use` is not resumed with another (answers of both kinds would be mixed)."""
    from visual_med_alpaca.data.sources.vqa_rad import vqa_rad_train_split
    from visual_med_alpaca.eval.runner import EvalConfig, Evaluator
    from visual_med_alpaca.vlm.encoders import FeatureCache
    from visual_med_alpaca.vlm.memory import MEMORY, build_memory

    asked = vqa_rad_train_split(shared_data())[1][:2]
    folder = make_bundle(tmp_path / "bundle", tiny_llama_dir)
    build_memory(folder / MEMORY, asked, "efficientnet-lite0", 1, FeatureCache(tmp_path / "f", "efficientnet-lite0"),
                 "two questions", sentences=Sentences())
    def use(how):
        meta = json.loads((folder / "vlm.json").read_text())
        (folder / "vlm.json").write_text(json.dumps({**meta, "case_memory": {"image_min": 0.95, "use": how}}))

    use("answer")

    def run(limit):
        return Evaluator(EvalConfig.model_validate({
            "benchmark": "vqa-rad", "subset": "train-dev", "data_dir": str(shared_data()), "limit": limit,
            "out": str(tmp_path / "run"), "assistant": {"llm": {"model": f"vlm:{folder}", "case_memory": True},
                                                         "generation": {"max_new_tokens": 2}}}), progress=False).run()

    assert run(1)["n_remembered"] == 1
    use("prompt")
    with pytest.raises(UserInputError, match="different setup"):
        run(2)
    use("answer")
    assert run(2)["n_remembered"] == 2  # the same settings again: resumed


def test_case_memory_asked_of_a_model_without_one_is_one_error_line(tmp_path):
    """--case-memory is never silently ignored: the GGUF default and a LLaVA checkpoint have no memory."""
    from visual_med_alpaca.config import LLMConfig
    from visual_med_alpaca.llm.base import load_language_model

    with pytest.raises(UserInputError, match="applies to vlm: models"):
        load_language_model(LLMConfig(model="default", case_memory=True))
    (tmp_path / "llava").mkdir()
    (tmp_path / "llava" / "config.json").write_text(json.dumps({"model_type": "llava", "vision_config": {}}))
    with pytest.raises(UserInputError, match="LLaVA checkpoint, which has no case memory"):
        load_language_model(LLMConfig(model=f"vlm:{tmp_path / 'llava'}", case_memory=True))

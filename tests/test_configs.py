"""Every YAML recipe under configs/ loads, as it is, into the typed config of the command its first line names
(offline, no model or data loaded): a recipe that a renamed or retyped key broke fails here, not in a user's run."""

from __future__ import annotations

import importlib

import pytest
import yaml
from conftest import REPO

from visual_med_alpaca.config import load_config

# recipe (a glob under configs/) -> the config class its command validates it with
RECIPES = {
    "assistant.yaml": "visual_med_alpaca.config:AssistantConfig",
    "serve.yaml": "visual_med_alpaca.serve.api:ServeConfig",
    "demo.yaml": "visual_med_alpaca.serve.demo:DemoConfig",
    "data.yaml": "visual_med_alpaca.data.config:DataConfig",
    "eval/*.yaml": "visual_med_alpaca.eval.runner:EvalConfig",
    "gemma-270m-med-lora-cpu.yaml": "visual_med_alpaca.train.config:TrainConfig",
    "med-alpaca-7b-*.yaml": "visual_med_alpaca.train.config:TrainConfig",
    "radiology_heads.yaml": "visual_med_alpaca.train.radiology_heads:RadiologyHeadsConfig",
    "captioner_medpix.yaml": "visual_med_alpaca.train.captioner:CaptionerTrainConfig",
    "vlm-*.yaml": "visual_med_alpaca.vlm.train:VLMTrainConfig",
}
CONFIGS = REPO / "configs"


def _class(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def _recipes():
    return [(pattern, recipe) for pattern in RECIPES for recipe in sorted(CONFIGS.glob(pattern))]


def test_every_recipe_has_a_config_class():
    covered = {recipe for _, recipe in _recipes()} | set(CONFIGS.glob("accelerate/*.yaml"))
    assert sorted(p.relative_to(CONFIGS).as_posix() for p in set(CONFIGS.rglob("*.yaml")) - covered) == []
    assert all(list(CONFIGS.glob(pattern)) for pattern in RECIPES)  # no pattern left without a recipe


@pytest.mark.parametrize("pattern,recipe", _recipes(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_each_recipe_loads_into_its_config(pattern, recipe):
    config = load_config(_class(RECIPES[pattern]), recipe)
    assert config.model_dump()


@pytest.mark.parametrize("recipe", sorted(CONFIGS.glob("accelerate/*.yaml")), ids=lambda p: p.name)
def test_accelerate_configs_are_accelerate_mappings(recipe):
    """`accelerate launch --config_file` files (accelerate's own format, not the package's)."""
    tree = yaml.safe_load(recipe.read_text())
    assert tree["compute_environment"] == "LOCAL_MACHINE" and "distributed_type" in tree


def test_a_recipe_with_a_misspelt_or_mistyped_key_is_refused(tmp_path):
    """What the tests above would catch: a key the config does not have, a value of the wrong type."""
    from visual_med_alpaca.errors import UserInputError

    text = (CONFIGS / "assistant.yaml").read_text()
    for bad, message in ((text + "\nlmm: {model: x}\n", "lmm"), (text + "\ngeneration: {max_new_tokens: many}\n",
                                                                 "max_new_tokens")):
        (tmp_path / "bad.yaml").write_text(bad)
        with pytest.raises(UserInputError, match=message):
            load_config(_class(RECIPES["assistant.yaml"]), tmp_path / "bad.yaml")


def test_the_demo_recipe_offers_every_model_the_plain_demo_offers():
    """`vmed demo --config configs/demo.yaml` adds choices to plain `vmed demo`'s list; it does not drop the medical
    LoRA that docs/training.md says is in the demo's model list."""
    from visual_med_alpaca.serve.demo import DemoConfig

    recipe = load_config(DemoConfig, CONFIGS / "demo.yaml")
    offered = [choice.llm.model_dump() for choice in recipe.models]
    assert [c.llm.model_dump() for c in DemoConfig().models if c.llm.model_dump() not in offered] == []

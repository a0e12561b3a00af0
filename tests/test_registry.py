"""Every plug-in registry: each line names a class that exists, and an unknown name is one error listing the choices."""

import pytest

from visual_med_alpaca.data.sources import SOURCES, load_source
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.experts.base import EXPERTS, check_expert_choice, load_expert
from visual_med_alpaca.knowledge.stores.base import STORES, load_store
from visual_med_alpaca.llm.base import BACKENDS
from visual_med_alpaca.registry import load_class
from visual_med_alpaca.router.base import ROUTERS, load_router

REGISTRIES = {"backend": BACKENDS, "router": ROUTERS, "expert": EXPERTS, "source": SOURCES, "knowledge store": STORES}


@pytest.mark.parametrize("what", sorted(REGISTRIES))
def test_every_registry_line_names_a_class_that_exists(what):
    for name, target in REGISTRIES[what].items():  # a typo in a registry line fails here, not in a user's session
        cls = load_class(REGISTRIES[what], name, what)
        assert isinstance(cls, type) and target.endswith(":" + cls.__name__)


@pytest.mark.parametrize("load, what, choices", [
    (load_source, "source", SOURCES), (load_router, "router", ROUTERS), (load_store, "knowledge store", STORES),
    (load_expert, "expert", EXPERTS),
])
def test_an_unknown_name_is_one_error_listing_the_choices(load, what, choices):
    with pytest.raises(UserInputError) as caught:
        load("no-such-name")
    assert str(caught.value) == f"unknown {what} 'no-such-name'; choose one of: {', '.join(choices)}"


def test_the_expert_choice_also_offers_auto_and_none():
    assert check_expert_choice("auto") == "auto" and check_expert_choice("none") == "none"
    with pytest.raises(UserInputError, match=r"choose one of: auto, none, image-facts"):
        check_expert_choice("nope")
    with pytest.raises(UserInputError, match="unknown expert 'auto'"):  # the pipeline resolves auto, no class does
        load_expert("auto")


def test_an_unknown_expert_option_is_one_clear_error():
    """`--set vision.expert_options.chart.bogus=1` was ChartExpert's TypeError traceback at the first image; the
    expert's own keyword names are the options (radiology's **options are its captioner's: tests/test_radiology.py)."""
    from visual_med_alpaca.errors import UserInputError
    from visual_med_alpaca.experts.base import load_expert

    with pytest.raises(UserInputError, match="unknown option.s. bogus in vision.expert_options.chart; the chart "
                                             "expert takes: threads"):
        load_expert("chart", {"bogus": 1})
    with pytest.raises(UserInputError, match="unknown option.s. x in vision.expert_options.image-facts; the "
                                             "image-facts expert takes: none"):
        load_expert("image-facts", {"x": 1})

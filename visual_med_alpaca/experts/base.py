"""The visual-expert protocol and registry: each expert turns an image into text for the prompt.

Adding an expert = one new file with a class that has `name` and `describe`, plus one line in EXPERTS.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ..errors import UserInputError
from ..images import LoadedImage
from ..registry import check_choice, load_class


@runtime_checkable
class Expert(Protocol):
    name: str

    def describe(self, image: LoadedImage) -> str: ...


# name -> "module:Class"; imported only when used, so a missing optional dependency hurts only its expert.
EXPERTS: dict[str, str] = {
    "image-facts": "visual_med_alpaca.experts.image_facts:ImageFactsExpert",
    # charts:
    "chart": "visual_med_alpaca.experts.chart:ChartExpert",
    "deplot": "visual_med_alpaca.experts.deplot:DePlotExpert",

    # radiology:
    "dicom": "visual_med_alpaca.experts.dicom:DicomExpert",
    "radiology": "visual_med_alpaca.experts.radiology:RadiologyExpert",
    "medgit": "visual_med_alpaca.experts.medgit:MedGitExpert",

}

_loaded: dict[tuple[str, str], Expert] = {}


def check_expert_choice(name: str) -> str:
    """'auto' (the router decides), 'none' or an expert's name; anything else is one clear error, with or without
    an image to describe (a question without one used to ignore a misspelt --expert)."""
    return check_choice(EXPERTS, name, "expert", extra=("auto", "none"))


def load_expert(name: str, options: dict[str, Any] | None = None) -> Expert:
    """Experts load once per process (per options) and are reused."""
    key = (name, repr(sorted((options or {}).items())))
    if key not in _loaded:  # 'auto' and 'none' are choices the pipeline resolves, not experts
        expert = load_class(EXPERTS, name, "expert")
        check_options(expert, name, options or {})
        _loaded[key] = expert(**(options or {}))
    return _loaded[key]


def check_options(expert: type, name: str, options: dict[str, Any]) -> None:
    """`vision.expert_options.NAME` keys the expert takes: an unknown one (a typo) was a TypeError traceback."""
    accepted = option_names(expert)
    if accepted is None:
        return
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise UserInputError(f"unknown option(s) {', '.join(unknown)} in vision.expert_options.{name}; the "
                             f"{name} expert takes: {', '.join(accepted) or 'none'}")


def option_names(expert: type) -> list[str] | None:
    """The option names an expert takes: its keyword names. One taking **options that it passes on to another
    expert names that one in `passes_options_to` (radiology: its captioner, medgit) and takes its names too, less
    those it sets itself (`sets_options`: the captioner's `model` is radiology's `captioner`); None (any name) for
    **options that go nowhere known."""
    import inspect

    parameters = inspect.signature(expert).parameters.values()
    names = [p.name for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        target = getattr(expert, "passes_options_to", None)
        passed_on = option_names(load_class(EXPERTS, target, "expert")) if target else None
        if passed_on is None:
            return None
        names += [n for n in passed_on if n not in names and n not in getattr(expert, "sets_options", ())]
    return names

"""The one plug-in lookup behind every registry (backends, routers, experts, data sources, knowledge stores).

A registry is a plain dict `name -> "module:Class"`; the module is imported only when its name is asked for, so a
missing optional dependency hurts only its own plug-in. Written here because no library does this three-line job.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import UserInputError


def check_choice(registry: Mapping[str, str], name: str, what: str, extra: Iterable[str] = ()) -> str:
    """`name` if it is in `registry` (or one of `extra`, choices resolved elsewhere), else one clear error."""
    choices = [*extra, *registry]
    if name not in choices:
        raise UserInputError(f"unknown {what} '{name}'; choose one of: {', '.join(choices)}")
    return name


def load_class(registry: Mapping[str, str], name: str, what: str) -> Any:
    """The class `registry[name]` names, imported now; an unknown name is one clear error listing the choices."""
    module_name, class_name = registry[check_choice(registry, name, what)].split(":")
    return getattr(importlib.import_module(module_name), class_name)

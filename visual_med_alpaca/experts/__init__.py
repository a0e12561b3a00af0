"""Visual experts: image -> text for the prompt, one file each (see base.py)."""

from .base import EXPERTS, Expert, check_expert_choice, load_expert

__all__ = ["EXPERTS", "Expert", "check_expert_choice", "load_expert"]

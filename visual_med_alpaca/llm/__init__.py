"""Language-model backends behind one protocol (see base.py); pick one by name with `load_language_model`."""

from .base import BACKENDS, Generation, LanguageModel, StopFilter, generate_stream, load_language_model

__all__ = ["BACKENDS", "Generation", "LanguageModel", "StopFilter", "generate_stream", "load_language_model"]

"""Visual Med-Alpaca: an offline-first biomedical assistant that answers a question about an optional image.

Research use only: not medical advice and not for clinical use.
"""

__version__ = "0.1.0"


def __getattr__(name):  # lazy, so `import visual_med_alpaca` stays light
    if name in ("Assistant", "Answer", "Description"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)


__all__ = ["Assistant", "Answer", "Description", "__version__"]

"""Visual Med-Alpaca: an offline-first biomedical assistant that answers a question about an optional image.

Research use only: not medical advice and not for clinical use.
"""

DISTRIBUTION = "visual-med-alpaca"  # pyproject.toml's [project] name


def __getattr__(name):  # lazy, so `import visual_med_alpaca` stays light
    if name in ("Assistant", "Answer", "Description"):
        from . import pipeline

        return getattr(pipeline, name)
    if name == "__version__":
        return _version()
    raise AttributeError(name)


def _version() -> str:
    """pyproject.toml's version, the one place it is written. A source tree (a checkout, or PYTHONPATH=checkout) reads
    its own pyproject.toml, so a bumped version shows before any reinstall (an editable install's metadata keeps the
    version it was installed with, and this project runs worktrees over main's editable install); an installed copy,
    with no pyproject.toml beside it, reads the distribution's metadata, which pip copied from it."""
    from pathlib import Path

    try:
        import tomllib  # Python 3.11+; on 3.10 the metadata alone

        project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
        if project.get("name") == DISTRIBUTION:
            return project["version"]
    except (ImportError, OSError, ValueError, KeyError):
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # neither a source tree nor installed (e.g. a copied package folder)
        return "0+unknown"


__all__ = ["Assistant", "Answer", "Description", "__version__"]

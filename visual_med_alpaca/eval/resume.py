"""The one resume mechanism of long evaluations (`vmed eval <benchmark>` in runner.py, `vmed eval charts` in
charts.py): a predictions JSONL file where every finished item is appended and flushed at once, a run file that
records the setup which wrote it, and a lock for the one writer.

A rerun with the same setup skips the items already in the predictions file (an interrupted run loses at most the
item in flight); a rerun with another setup is refused (one error line naming what changed) instead of mixing the
two setups' predictions; `restart` deletes the earlier predictions first.
"""

from __future__ import annotations

import contextlib
import json
import platform
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..data.store import exclusive, read_jsonl, repair_torn_tail
from ..errors import UserInputError


def read_predictions(path: Path, repair: bool = False) -> list[dict]:
    """Finished records. A half-written last line (the run was killed mid-write) is ignored, and with
    `repair` (only the file's one writer does that) cut off the file so appending starts clean."""
    if not path.is_file():
        return []
    if repair:
        repair_torn_tail(path)
    return list(read_jsonl(path))


def check_same_setup(out: Path, run_file: Path, has_predictions: bool, identity: dict[str, Any], keys: Sequence[str],
                     details: dict[str, Any]) -> None:
    """Refuse predictions written by another setup (any of `keys` of `identity` changed; `out`: the --out the
    message names), or by one that left no run file to tell (e.g. `vmed eval charts` before it resumed); then
    record this setup (with `details`, e.g. the whole config) in `run_file`. `identity` is plain JSON, as the run
    file holds it. `has_predictions`: the predictions file holds a finished record."""
    if has_predictions:
        if not run_file.is_file():
            raise UserInputError(f"{out} holds predictions without a record of the setup that wrote them "
                                 f"({run_file.name} is missing: an earlier version's run?); use another --out or "
                                 "--restart to start over")
        before = json.loads(run_file.read_text()).get("identity", {})
        changed = [k for k in keys if before.get(k) != identity.get(k)]
        if changed:
            raise UserInputError(
                f"{out} holds predictions from a different setup ({', '.join(changed)} changed); "
                "use another --out or --restart to start over"
            )
    run_file.write_text(json.dumps({
        "identity": identity, **details, "python": platform.python_version(),
        "machine": platform.machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=2))


@contextlib.contextmanager
def resumable(out: Path, predictions: Path, run_file: Path, identity: dict[str, Any], keys: Sequence[str],
              details: dict[str, Any], busy: str, restart: bool = False
              ) -> Iterator[tuple[list[dict], Callable[[dict], None]]]:
    """Hold the lock beside `run_file` (a second writer gets `busy` at once), delete the earlier predictions when
    `restart`, refuse another setup's predictions, cut a torn last line; yield the finished records and
    `append(record)`, which writes one record and flushes it (the file is opened at the first record, so a run
    that fails before its first item leaves no predictions file)."""
    predictions.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(run_file.with_suffix(".lock"), busy), contextlib.ExitStack() as files:
        if restart:
            predictions.unlink(missing_ok=True)
        done = read_predictions(predictions)  # read once; the torn tail is cut only once this setup may append
        check_same_setup(out, run_file, bool(done), identity, keys, details)
        repair_torn_tail(predictions)
        handle = None

        def append(record: dict) -> None:
            nonlocal handle
            if handle is None:
                handle = files.enter_context(predictions.open("a", encoding="utf-8"))
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()

        yield done, append

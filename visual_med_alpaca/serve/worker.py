"""One model, many clients: a bounded FIFO of generation jobs, run one at a time by a single thread.

Language models are not thread-safe (a llama.cpp context, a transformers `generate`), so every request
goes through this worker in arrival order. The asyncio side awaits the job's events without blocking the
event loop; a full queue is refused at once (HTTP 429) instead of piling up.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..config import GenerationSettings
from ..errors import BackendError, UserInputError
from ..images import LoadedImage
from ..pipeline import Assistant

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """Every queue slot is taken; the client should retry later."""


class RequestTimeout(Exception):
    """The request did not finish within the server's per-request time limit."""


class ShuttingDown(Exception):
    """The server stopped before the job ran."""


@dataclass
class Usage:
    prompt_tokens: int | None
    completion_tokens: int | None


@dataclass
class Job:
    """One question. Events: ("start", AnswerStream), ("text", str), ("done", (Answer, Usage)), ("error", exc)."""

    question: str
    image: LoadedImage | None
    expert: str | None
    settings: GenerationSettings
    timeout_s: float
    loop: asyncio.AbstractEventLoop
    deadline: float = 0.0
    events: asyncio.Queue = field(default_factory=asyncio.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout_s

    def emit(self, kind: str, value: Any = None) -> None:
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, (kind, value))
        except RuntimeError:  # the event loop is closed: nobody is listening any more
            self.cancelled.set()

    async def next_event(self) -> tuple[str, Any]:
        """The next event, or a timeout error once the deadline has passed (the job is then cancelled)."""
        remaining = self.deadline - time.monotonic()
        try:
            return await asyncio.wait_for(self.events.get(), max(remaining, 0.0))
        except asyncio.TimeoutError:
            self.cancelled.set()
            return "error", RequestTimeout(f"the request did not finish within {self.timeout_s:g} s")


class GenerationWorker:
    def __init__(self, assistant: Assistant, max_queue: int):
        self.assistant = assistant
        self.max_queue = max_queue
        self.busy = False
        self.service_s: float | None = None  # moving average of one job's time, for admission decisions
        self._started = 0.0
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=max_queue)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vmed-generation", daemon=True)

    @property
    def queued(self) -> int:
        return self._jobs.qsize()

    @property
    def full(self) -> bool:
        return self._jobs.full()

    def job_s(self) -> float:
        """A job's expected time: the recent average, or at least how long the running one has taken so far."""
        running = time.monotonic() - self._started if self.busy else 0.0
        return max(self.service_s or 0.0, running)

    def expected_wait_s(self) -> float:
        """Seconds a new job would wait before it starts (0 while nothing is known)."""
        return (self.queued + self.busy) * self.job_s()

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: Job) -> None:
        if self._stopping.is_set():
            raise ShuttingDown("the server is shutting down")
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            raise QueueFull(f"the server is busy: all {self.max_queue} queue slots are taken; retry later") from None

    def stop(self, timeout: float = 10.0) -> None:
        """Refuse waiting jobs, let the running one notice, and end the thread."""
        self._stopping.set()
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.cancelled.set()
                job.emit("error", ShuttingDown("the server is shutting down"))
        self._jobs.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None or self._stopping.is_set():
                if job is not None:
                    job.emit("error", ShuttingDown("the server is shutting down"))
                return
            if job.cancelled.is_set():
                continue  # its client already gave up or timed out while it waited
            started = self._started = time.monotonic()
            self.busy = True
            try:
                self._run(job)
            except Exception as exc:  # noqa: BLE001 - reported to the client, the worker lives on
                if not isinstance(exc, (UserInputError, BackendError)):
                    log.exception("generation failed")
                job.emit("error", exc)
            finally:
                self.busy = False
                took = time.monotonic() - started
                self.service_s = took if self.service_s is None else 0.7 * self.service_s + 0.3 * took

    def _run(self, job: Job) -> None:
        stream = self.assistant.stream(job.question, job.image, job.expert, job.settings)
        job.emit("start", stream)
        pieces = iter(stream)
        try:
            for piece in pieces:
                if job.cancelled.is_set() or self._stopping.is_set():
                    return
                if time.monotonic() > job.deadline:
                    job.emit("error", RequestTimeout(f"the request did not finish within {job.timeout_s:g} s"))
                    return
                job.emit("text", piece)
        finally:
            pieces.close()  # stops the backend's generation at once
        result = stream.result
        if result is None:
            return
        llm = self.assistant.llm
        prompt_tokens = llm.count_tokens(stream.prompt)
        completion_tokens = None
        if prompt_tokens is not None:
            completion_tokens = llm.count_tokens(result.answer) - llm.count_tokens("") if result.answer else 0
        job.emit("done", (result, Usage(prompt_tokens, completion_tokens)))

"""One model, many clients: a bounded FIFO of generation jobs, run by `concurrency` threads in arrival order.

In-process language models are not thread-safe (a llama.cpp context, a transformers `generate`): they get
one thread, so requests run one at a time. With a batching engine (llama-server, see llm/engine.py) each
thread streams one request from it and the engine decodes them together in one batch. The asyncio side
awaits the job's events without blocking the event loop; a full queue is refused at once (HTTP 429) instead
of piling up.
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
from ..pipeline import AnswerStream, Assistant

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
    def __init__(self, assistant: Assistant, max_queue: int, concurrency: int = 1):
        self.assistant = assistant
        self.max_queue = max_queue
        self.concurrency = concurrency
        self.service_s: float | None = None  # moving average of one job's time, for admission decisions
        self._running: dict[int, float] = {}  # thread id -> when its job started
        self._jobs: queue.Queue[Job] = queue.Queue(maxsize=max_queue)
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._loop, name=f"vmed-generation-{i}", daemon=True)
                         for i in range(concurrency)]

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    @property
    def queued(self) -> int:
        return self._jobs.qsize()

    @property
    def full(self) -> bool:
        return self._jobs.full()

    def job_s(self) -> float:
        """A job's expected time: the recent average, or at least how long the oldest running one has taken."""
        started = list(self._running.values())
        running = time.monotonic() - min(started) if started else 0.0
        return max(self.service_s or 0.0, running)

    def expected_wait_s(self) -> float:
        """Seconds a new job would wait before it starts (0 while nothing is known or a thread is free)."""
        ahead = self.queued + self.running - self.concurrency + 1  # jobs that must finish before ours starts
        if ahead <= 0:
            return 0.0
        return -(-ahead // self.concurrency) * self.job_s()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> None:
        if self._stopping.is_set():
            raise ShuttingDown("the server is shutting down")
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            raise QueueFull(f"the server is busy: all {self.max_queue} queue slots are taken; retry later") from None

    def stop(self, timeout: float = 10.0) -> None:
        """Refuse waiting jobs, let the running ones notice, and end the threads."""
        self._stopping.set()
        self._refuse_waiting()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(deadline - time.monotonic(), 0.0))
        self._refuse_waiting()  # one submitted while stopping

    def _refuse_waiting(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            job.cancelled.set()
            job.emit("error", ShuttingDown("the server is shutting down"))

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self._jobs.get(timeout=0.2)
            except queue.Empty:
                continue
            if self._stopping.is_set():
                job.emit("error", ShuttingDown("the server is shutting down"))
                return
            if job.cancelled.is_set():
                continue  # its client already gave up or timed out while it waited
            me = threading.get_ident()
            started = self._running[me] = time.monotonic()
            try:
                self._run(job)
            except Exception as exc:  # noqa: BLE001 - reported to the client, the worker lives on
                if not isinstance(exc, (UserInputError, BackendError)):
                    log.exception("generation failed")
                job.emit("error", exc)
            finally:
                self._running.pop(me, None)
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
        job.emit("done", (result, self._usage(stream)))

    def _usage(self, stream: AnswerStream) -> Usage:
        """Token counts for the reply, reusing the pipeline's counts: with a batching engine every count is an
        HTTP call (/tokenize), so the prompt and the answer are each counted once per request."""
        llm = self.assistant.llm
        prompt_tokens = stream.prompt_tokens if stream.prompt_tokens is not None else llm.count_tokens(stream.prompt)
        if prompt_tokens is None:  # the backend has no tokenizer here (an OpenAI-compatible server's own) and the
            return Usage(None, None)  # server reported no usage: nothing is known
        if not stream.prompt:  # answered with no prompt built (the knowledge stage's answer or note, a remembered
            prompt_tokens = 0  # case): nothing was prompted, not the BOS token an empty text counts
        counted = stream.answer_tokens  # the answer without the sources footer (which the model did not write)
        if counted is None:  # answered without the model (knowledge stage): not counted yet
            counted = self.assistant.answer_tokens(stream.answer_text)
        if counted is None:  # a server's prompt count without its answer's: no usage rather than a made-up 0
            return Usage(None, None)
        return Usage(prompt_tokens, counted)

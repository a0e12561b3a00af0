"""Helpers for the serving tests: a real uvicorn server in a thread, a gate to hold the model, data URLs."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path

from conftest import free_port


class ThreadServer:
    """uvicorn serving `app` on 127.0.0.1 from a background thread (the same server `vmed serve` runs)."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)


class GatedLLM:
    """Wraps a real language model; generation waits until the test opens the gate.

    This makes 'the worker is busy' a fact the test controls instead of a race against the clock.
    """

    def __init__(self, llm):
        self.llm = llm
        self.name = llm.name
        self.context_length = llm.context_length
        self.gate = threading.Event()

    def count_tokens(self, text: str):
        return self.llm.count_tokens(text)

    def stream(self, prompt, settings):
        self.gate.wait(30)
        yield from self.llm.stream(prompt, settings)


def data_url(path_or_bytes: Path | bytes, mime: str = "image/png") -> str:
    raw = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return f"data:{mime};base64,{base64.b64encode(raw).decode()}"


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.02)

"""Helpers for the serving tests: a real uvicorn server in a thread, a scripted OpenAI-compatible server, a gate
to hold the model, data URLs."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class ThreadServer:
    """uvicorn serving `app` on 127.0.0.1 from a background thread (the same server `vmed serve` runs). It binds port
    0 itself (no port picked here and bound later, which another process could take in between); `port` and `url`
    are known once it has started (`with ThreadServer(app) as srv`)."""

    def __init__(self, app):
        import uvicorn

        self.port: int | None = None
        self.url = ""
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)


class ScriptedServer:
    """An OpenAI-compatible server on 127.0.0.1 whose answers the test writes. The first responses follow
    `failures` (HTTP codes with an OpenAI error body), then it answers `reply` (default "answer to <prompt
    length>"): one JSON body, or server-sent events in `pieces` when the request asks for a stream, cut at the
    request's `stop` sequences as a real server does (and, with `stream_options.include_usage`, a last event with
    `usage`: 10 prompt and 3 completion tokens, as the JSON body says; `report_usage=False`: a server that never sends
    usage in a stream). `bodies` holds every request body, in order."""

    def __init__(self, failures=(), reply: str | None = None, pieces: int = 4, report_usage: bool = True):
        self.failures = list(failures)
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                if outer.failures:
                    code = outer.failures.pop(0)
                    self._send(code, {"error": {"message": f"scripted {code}"}})
                    return
                chat = self.path.endswith("/chat/completions")
                prompt = body["messages"][0]["content"] if chat else body["prompt"]
                text = reply if reply is not None else f"answer to {len(prompt)}"
                cuts = [text.find(stop) for stop in body.get("stop") or () if stop in text]
                text = text[:min(cuts)] if cuts else text
                if not body.get("stream"):
                    message = {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
                    self._send(200, {"id": "x", "object": "chat.completion" if chat else "text_completion",
                                     "created": 0, "model": body["model"],
                                     "choices": [{"index": 0, "finish_reason": "stop", **message}],
                                     "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                size = max(1, -(-len(text) // pieces))
                for start in range(0, len(text), size):
                    piece = text[start:start + size]
                    choice = {"index": 0, "finish_reason": None,
                              **({"delta": {"content": piece}} if chat else {"text": piece, "logprobs": None})}
                    chunk = {"id": "x", "object": "chat.completion.chunk" if chat else "text_completion",
                             "created": 0, "model": body["model"], "choices": [choice]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                if report_usage and (body.get("stream_options") or {}).get("include_usage"):  # as OpenAI: a last chunk
                    usage = {"id": "x", "object": "chat.completion.chunk" if chat else "text_completion", "created": 0,
                             "model": body["model"], "choices": [],
                             "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}}
                    self.wfile.write(f"data: {json.dumps(usage)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

            def _send(self, code: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def requests(self) -> int:
        return len(self.bodies)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class GatedLLM:
    """Wraps a real language model; generation waits until the test opens the gate.

    This makes 'the worker is busy' a fact the test controls instead of a race against the clock.
    """

    def __init__(self, llm):
        self.llm = llm
        self.name = llm.name
        self.context_length = llm.context_length
        self.gate = threading.Event()

    def count_tokens(self, text: str, special: bool = True):
        return self.llm.count_tokens(text, special)

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

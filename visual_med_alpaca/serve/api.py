"""`vmed serve`: an OpenAI-compatible chat-completions API around one `Assistant`.

The official `openai` client works unchanged: `content` may be a string or a list of `text` and
`image_url` parts (base64 data URLs; http(s) only with `allow_remote_images`, see remote.py). The visual
expert's text, the route and the exact prompt come back in the extension field `x_visual_med_alpaca`.
Errors use OpenAI's JSON shape `{"error": {"message", "type", "param", "code"}}` (schema.py).

Layout: `ServeConfig`; `Reply`, the one place where response bodies are built; the dependencies (API key
via `HTTPBearer`, admission/429, the size-limited body); the `APIRouter` with the endpoints; `create_app`,
which wires them to one `GenerationWorker` (worker.py).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, ValidationError, field_validator, model_validator
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import AssistantConfig, Strict
from ..errors import BackendError, UserInputError
from ..images import load_image_bytes
from ..llm.engine import EngineConfig
from ..paths import read_text_file
from ..pipeline import Answer, Assistant, AnswerStream
from ..prompts import RESEARCH_NOTICE
from .remote import decode_data_url, fetch_image
from .schema import APIError, ChatRequest, validation_error, as_api_error, question_and_image_url
from .worker import GenerationWorker, Job, QueueFull, RequestTimeout, ShuttingDown, Usage

EXTENSION = "x_visual_med_alpaca"
NOTICE_HEADER = "X-Research-Notice"
DRAIN_LIMIT = 256 * 2**20  # an oversized body is read and dropped up to this size, so the client sees the 413


class ServeConfig(Strict):
    """Everything `vmed serve` needs: where to listen, the limits, and the assistant it serves."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    model_name: str = Field("visual-med-alpaca", description="the model id clients send and /v1/models lists")
    max_queue: int = Field(8, ge=1, description="requests waiting for the model; more get HTTP 429")
    max_body_bytes: int = Field(20 * 2**20, ge=1024, description="largest request body (base64 images included)")
    max_image_pixels: int = Field(40_000_000, ge=1, description="largest image (width x height) decoded")
    max_tokens: int = Field(1024, ge=1, description="largest max_tokens a request may ask for")
    request_timeout_s: float = Field(120.0, gt=0, description="per request, queue wait included")
    api_key_file: Path | None = Field(None, description="file with one accepted bearer token per line")
    allow_remote_images: bool = Field(False, description="let image_url be an http(s) URL the server fetches")
    remote_image_domains: list[str] = Field(default_factory=list, description="with allow_remote_images: only these "
                                            "domains (and their subdomains); empty = any public host")
    remote_image_networks: list[str] = Field(default_factory=list, description="with allow_remote_images: private "
                                             "networks (CIDR, e.g. 10.1.2.0/24) that may be fetched from anyway")
    assistant: AssistantConfig = AssistantConfig()
    engine: EngineConfig = EngineConfig()

    @field_validator("remote_image_networks")
    @classmethod
    def _networks(cls, networks: list[str]) -> list[str]:
        """A CIDR that is not one was a 500 at the first remote image (remote.py parses them per request)."""
        import ipaddress

        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"'{network}' is not a network in CIDR form, e.g. 10.1.2.0/24") from None
        return networks

    @field_validator("remote_image_domains")
    @classmethod
    def _domains(cls, domains: list[str]) -> list[str]:
        """A domain is a host name: 'https://example.org/' would match no host, and refuse every image silently."""
        for domain in domains:
            if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?", domain):
                raise ValueError(f"'{domain}' is not a domain name, e.g. example.org")
        return domains

    @model_validator(mode="after")
    def _remote_needs_allow(self):
        if (self.remote_image_domains or self.remote_image_networks) and not self.allow_remote_images:
            raise ValueError("remote image domains / networks are given but remote images are off: add "
                             "--allow-remote-images (allow_remote_images: true)")
        return self


# -- responses: the one place where response bodies are built --------------------------------------
class Reply:
    """OpenAI's response objects for one request, plus the `x_visual_med_alpaca` extension."""

    def __init__(self, model: str, stream: AnswerStream, max_tokens: int, llm_name: str):
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = model
        self.max_tokens = max_tokens
        self.generated = stream.generated  # a fixed answer (knowledge, declined, remembered) is never cut short
        self.extension = {
            "expert": stream.description.expert, "expert_text": stream.description.text,
            "route": stream.description.route, "prompt": stream.prompt, "llm": llm_name,
            "notice": RESEARCH_NOTICE,
            # the knowledge stage's ranked passages: id, title, url, score, relevance, text
            "sources": stream.sources,
            "knowledge_note": stream.consultation.notes() if stream.consultation else None,
            # a VLM's case memory: the remembered training case the answer (or its prompt) came from
            "remembered": stream.remembered.to_dict() if stream.remembered is not None else None,
        }

    def finish_reason(self, usage: Usage) -> str:
        done = usage.completion_tokens
        return "length" if self.generated and done is not None and done >= self.max_tokens else "stop"

    @staticmethod
    def usage(usage: Usage) -> dict[str, int] | None:
        if usage.prompt_tokens is None:
            return None
        return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.prompt_tokens + usage.completion_tokens}

    def completion(self, answer: Answer, usage: Usage) -> dict[str, Any]:
        extension = {**self.extension, "timings": answer.timings}
        return {
            "id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer},
                         "finish_reason": self.finish_reason(usage), "logprobs": None}],
            "usage": self.usage(usage), EXTENSION: extension,
        }

    def _chunk_head(self) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model}

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None, extension: bool = False) -> dict[str, Any]:
        body = {**self._chunk_head(),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}
        if extension:
            body[EXTENSION] = self.extension
        return body

    def usage_chunk(self, usage: Usage) -> dict[str, Any]:
        return {**self._chunk_head(), "choices": [], "usage": self.usage(usage)}


def model_card(state: ServerState) -> dict[str, Any]:
    return {"id": state.config.model_name, "object": "model", "created": state.created, "owned_by": "visual-med-alpaca"}


# -- state and dependencies -------------------------------------------------------------------------
@dataclass
class ServerState:
    config: ServeConfig
    assistant: Assistant
    worker: GenerationWorker
    keys: list[str] | None
    created: int


def read_api_keys(path: Path) -> list[str]:
    text = read_text_file(path, "API key file")
    keys = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not keys:
        raise UserInputError(f"API key file {path} holds no key (one per line)")
    return keys


def server_state(request: Request) -> ServerState:
    return request.app.state.vmed


_bearer = HTTPBearer(auto_error=False)  # a missing key is answered in OpenAI's shape below, not FastAPI's


def require_key(state: ServerState = Depends(server_state),
                credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """With --api-key-file: `Authorization: Bearer <key>` must hold an accepted key (constant-time compare)."""
    if state.keys is None:
        return
    token = credentials.credentials.strip() if credentials else ""
    if not any(hmac.compare_digest(token.encode(), k.encode()) for k in state.keys):
        raise APIError(401, "missing or invalid API key (send Authorization: Bearer <key>)", code="invalid_api_key")


def admit(state: ServerState = Depends(server_state)) -> None:
    """429 when the queue is full, or when it is so long that the answer would come too late. Runs before
    the body is read, so a busy server stays cheap to ask."""
    worker, limit = state.worker, state.config.request_timeout_s
    if worker.full:
        raise QueueFull(f"the server is busy: all {worker.max_queue} queue slots are taken; retry later")
    wait = worker.expected_wait_s()
    if wait > 0 and wait + worker.job_s() > limit:
        raise QueueFull(f"the server is busy: the expected wait ({wait:.0f} s) would exceed the "
                        f"{limit:g} s time limit; retry later")


async def limited_body(request: Request, state: ServerState = Depends(server_state)) -> bytes:
    """The request body, at most `max_body_bytes`. A larger one is read to its end and dropped (up to
    DRAIN_LIMIT) before the 413 goes out: a server that answers mid-upload gets its connection reset and
    the client never sees the reason."""
    limit = state.config.max_body_bytes
    too_large = APIError(413, f"the request body is larger than {limit:,} bytes", code="request_too_large")
    declared = request.headers.get("content-length", "")
    oversized = declared.isdigit() and int(declared) > limit
    body = bytearray()
    received = 0
    async for block in request.stream():
        received += len(block)
        oversized = oversized or received > limit
        if not oversized:
            body += block
        elif received > DRAIN_LIMIT:
            break  # not worth reading on: the connection is closed with the answer
    if oversized:
        raise too_large
    return bytes(body)


async def request_image(url: str, config: ServeConfig):
    """The `image_url` of a request as a `LoadedImage`, through the one image guard of images.py."""
    if url.startswith("data:"):
        data = decode_data_url(url)
    elif url.startswith(("http://", "https://")):
        if not config.allow_remote_images:
            raise APIError(400, "remote image URLs are disabled on this server: send the image as a base64 "
                           "data URL (or start the server with --allow-remote-images)", param="image_url")
        data = await fetch_image(url, config.max_body_bytes, config.remote_image_domains, config.remote_image_networks)
    else:
        raise APIError(400, "image_url must be a base64 data URL (or an http(s) URL)", param="image_url")
    try:
        return await run_in_threadpool(load_image_bytes, data, config.max_image_pixels, "image_url")
    except UserInputError as exc:
        error = as_api_error(exc)
        raise APIError(error.status, error.message, param="image_url", code=error.code) from None


# -- endpoints --------------------------------------------------------------------------------------
router = APIRouter()


@router.get("/healthz")
async def healthz(state: ServerState = Depends(server_state)):
    worker = state.worker
    return {"status": "ok", "model": state.config.model_name, "llm": state.assistant.llm.name, "busy": worker.busy,
            "running": worker.running, "concurrency": worker.concurrency, "queued": worker.queued,
            "max_queue": worker.max_queue, "notice": RESEARCH_NOTICE}


@router.get("/v1/models", dependencies=[Depends(require_key)])
async def models(state: ServerState = Depends(server_state)):
    return {"object": "list", "data": [model_card(state)]}


@router.get("/v1/models/{model_id}", dependencies=[Depends(require_key)])
async def model(model_id: str, state: ServerState = Depends(server_state)):
    if model_id != state.config.model_name:
        raise APIError(404, f"the model '{model_id}' does not exist", param="model", code="model_not_found")
    return model_card(state)


@router.post("/v1/chat/completions", dependencies=[Depends(require_key), Depends(admit)])
async def chat_completions(body: bytes = Depends(limited_body), state: ServerState = Depends(server_state)):
    config, assistant, worker = state.config, state.assistant, state.worker
    try:
        chat = ChatRequest.model_validate_json(body)
    except ValidationError as exc:
        raise validation_error(exc) from None
    if chat.model != config.model_name:
        raise APIError(404, f"the model '{chat.model}' does not exist; this server has '{config.model_name}'",
                       param="model", code="model_not_found")
    max_tokens = chat.max_completion_tokens or chat.max_tokens
    if max_tokens is not None and max_tokens > config.max_tokens:
        raise APIError(400, f"max_tokens is {max_tokens}; this server allows at most {config.max_tokens}",
                       param="max_tokens")
    question, image_url = question_and_image_url(chat.messages)
    image = await request_image(image_url, config) if image_url is not None else None
    updates = {"max_new_tokens": max_tokens, "temperature": chat.temperature, "top_p": chat.top_p, "seed": chat.seed}
    settings = assistant.config.generation.model_copy(update={k: v for k, v in updates.items() if v is not None})
    job = Job(question, image, chat.expert, settings, config.request_timeout_s, asyncio.get_running_loop())
    admit(state)  # again: decoding the image took time
    worker.submit(job)
    kind, value = await job.next_event()
    if kind == "error":
        job.cancelled.set()
        raise as_api_error(value)
    reply = Reply(config.model_name, value, settings.max_new_tokens, assistant.llm.name)
    if chat.stream:
        include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
        return EventSourceResponse(stream_events(job, reply, include_usage), ping=15)
    return await collect(job, reply)


async def collect(job: Job, reply: Reply):
    try:
        while True:
            kind, value = await job.next_event()
            if kind == "error":
                raise as_api_error(value)
            if kind == "done":
                answer, usage = value
                return reply.completion(answer, usage)
    finally:
        job.cancelled.set()  # a no-op when done; stops the worker when the client left or time ran out


async def stream_events(job: Job, reply: Reply, include_usage: bool) -> AsyncIterator[dict[str, str]]:
    try:
        yield {"data": json.dumps(reply.chunk({"role": "assistant", "content": ""}, extension=True))}
        while True:
            kind, value = await job.next_event()
            if kind == "text":
                yield {"data": json.dumps(reply.chunk({"content": value}))}
            elif kind == "done":
                answer, usage = value
                yield {"data": json.dumps(reply.chunk({}, finish_reason=reply.finish_reason(usage)))}
                if include_usage:
                    yield {"data": json.dumps(reply.usage_chunk(usage))}
                break
            elif kind == "error":
                yield {"data": json.dumps(as_api_error(value).body())}
                break
        yield {"data": "[DONE]"}
    finally:
        job.cancelled.set()  # the client disconnected or the stream ended: free the worker (and the engine slot)


# -- the app ----------------------------------------------------------------------------------------
class NoticeHeader:
    """ASGI middleware: every HTTP response carries the research-only notice as a header."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_notice(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (NOTICE_HEADER.lower().encode(), RESEARCH_NOTICE.encode())]
            await send(message)

        await self.app(scope, receive, send_with_notice)


def error_response(exc: BaseException) -> JSONResponse:
    error = as_api_error(exc)
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    if error.status in (429, 503):
        headers["Retry-After"] = "1"
    if error.code == "request_too_large":
        headers["Connection"] = "close"
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


async def _any_error(_request, exc: Exception):
    return error_response(exc)


async def _http_error(_request, exc: StarletteHTTPException):
    kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
    return error_response(APIError(exc.status_code, str(exc.detail), kind))


async def _validation(_request, exc: RequestValidationError):
    return error_response(APIError(400, f"invalid request: {exc.errors()[0]['msg']}"))


def create_app(config: ServeConfig, assistant: Assistant | None = None, concurrency: int = 1):
    """The FastAPI app; the model loads once at startup. `concurrency` worker threads run generations: 1 for
    an in-process model, the engine's slots when generation goes to a batching engine (llm/engine.py)."""
    assistant = assistant or Assistant(config.assistant)
    keys = read_api_keys(config.api_key_file) if config.api_key_file else None
    worker = GenerationWorker(assistant, config.max_queue, concurrency)

    @asynccontextmanager
    async def lifespan(_app):
        await run_in_threadpool(lambda: assistant.llm)  # load before the first request, not during it
        worker.start()
        yield
        await run_in_threadpool(worker.stop)

    app = FastAPI(title="Visual Med-Alpaca API", description=RESEARCH_NOTICE, lifespan=lifespan)
    app.add_middleware(NoticeHeader)
    app.state.vmed = ServerState(config, assistant, worker, keys, int(time.time()))
    app.state.worker = worker
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation)
    for known in (APIError, UserInputError, BackendError, QueueFull, ShuttingDown, RequestTimeout):
        app.add_exception_handler(known, _any_error)
    app.add_exception_handler(Exception, _any_error)  # anything else: a bare 500, logged with its traceback
    app.include_router(router)
    return app

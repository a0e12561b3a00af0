"""`vmed serve`: an OpenAI-compatible chat-completions API around one `Assistant`.

The official `openai` client works unchanged: `content` may be a string or a list of `text` and
`image_url` parts (base64 data URLs; http(s) only with `allow_remote_images`). The visual expert's text,
the route and the exact prompt come back in the extension field `x_visual_med_alpaca`. Errors use
OpenAI's JSON shape `{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import io
import json
import logging
import re
import tempfile
import time
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import AssistantConfig, Strict
from ..errors import BackendError, UserInputError
from ..images import MAX_SIDE, LoadedImage, from_pil, load_image
from ..pipeline import Assistant, validate_question
from ..prompts import RESEARCH_NOTICE
from .worker import GenerationWorker, Job, QueueFull, RequestTimeout, ShuttingDown

log = logging.getLogger(__name__)

EXTENSION = "x_visual_med_alpaca"
NOTICE_HEADER = "X-Research-Notice"


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
    assistant: AssistantConfig = AssistantConfig()


# -- errors -----------------------------------------------------------------------------------------
class APIError(Exception):
    """An error answered as OpenAI's error object with an HTTP status."""

    def __init__(self, status: int, message: str, type: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def as_api_error(exc: BaseException) -> APIError:
    """Map every failure to the status a client can act on; unexpected ones become a bare 500."""
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, UserInputError):
        return APIError(400, str(exc))
    if isinstance(exc, QueueFull):
        return APIError(429, str(exc), "requests", code="rate_limit_exceeded")
    if isinstance(exc, RequestTimeout):
        return APIError(504, str(exc), "server_error", code="timeout")
    if isinstance(exc, ShuttingDown):
        return APIError(503, str(exc), "server_error", code="shutting_down")
    if isinstance(exc, BackendError):
        return APIError(502, str(exc), "server_error", code="backend_error")
    log.error("internal error", exc_info=exc)
    return APIError(500, "internal server error (see the server log)", "server_error")


# -- request schema ---------------------------------------------------------------------------------
class _Schema(BaseModel):
    # Strict: "5" is not a number and "true" is not a boolean, as with OpenAI. Unknown OpenAI fields
    # (user, stop, presence_penalty, ...) are accepted and ignored.
    model_config = ConfigDict(strict=True, extra="ignore")


class TextPart(_Schema):
    type: Literal["text"]
    text: str


class ImageURL(_Schema):
    url: str
    detail: str | None = None


class ImagePart(_Schema):
    type: Literal["image_url"]
    image_url: ImageURL


Part = Annotated[Union[TextPart, ImagePart], Field(discriminator="type")]


class Message(_Schema):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[Part] | None = None


class StreamOptions(_Schema):
    include_usage: bool = False


class ChatRequest(_Schema):
    model: str
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    seed: int | None = None
    n: int = Field(1, ge=1, le=1, description="one answer per request")
    expert: str | None = Field(None, description="extension: auto | none | an expert name")


_UNION_BRANCH = re.compile(r"^(str|int|float|bool|none|list\[.*\]|tagged-union\[.*\])$")


def _param(loc: tuple) -> str:
    """('messages', 0, 'content', 'str') -> 'messages.0.content' (union branch labels dropped)."""
    parts: list[str] = []
    for item in loc:
        item = str(item)
        if _UNION_BRANCH.match(item) or (parts and parts[-1] == item):
            continue
        parts.append(item)
    return ".".join(parts)


def _validation_error(exc: ValidationError) -> APIError:
    """The deepest problem, named by its field path; a union's alternatives are listed together."""
    errors = exc.errors()
    if errors[0]["type"] == "json_invalid":
        return APIError(400, "the request body is not valid JSON")
    deepest = max(errors, key=lambda e: len(e["loc"]))
    param = _param(deepest["loc"])
    messages = dict.fromkeys(e["msg"] for e in errors if _param(e["loc"]) == param)
    where = param or "body"
    return APIError(400, f"invalid request: {where}: {' / '.join(messages)}", param=param or None)


def question_and_image_url(messages: list[Message]) -> tuple[str, str | None]:
    """The last user message is the question; its image, or else the latest earlier one, is the image.

    The Alpaca prompt has no chat history, so earlier turns only contribute their image.
    """
    users = [(i, m) for i, m in enumerate(messages) if m.role == "user"]
    if not users:
        raise APIError(400, "messages must contain a user message", param="messages")
    index, last = users[-1]
    if isinstance(last.content, str) or last.content is None:
        question = last.content or ""
    else:
        question = "\n".join(p.text for p in last.content if isinstance(p, TextPart))
    image_url = None
    for i, message in reversed(users):
        parts = [p for p in message.content or [] if isinstance(p, ImagePart)] if isinstance(message.content, list) else []
        if len(parts) > 1:
            raise APIError(400, "one image per message is supported", param=f"messages.{i}.content")
        if parts:
            image_url = parts[0].image_url.url
            break
    try:
        question = validate_question(question)
    except UserInputError as exc:
        raise APIError(400, str(exc), param=f"messages.{index}.content") from None
    return question, image_url


# -- images -----------------------------------------------------------------------------------------
def decode_data_url(url: str) -> bytes:
    header, comma, data = url.partition(",")
    if not comma or not header.endswith(";base64"):
        raise APIError(400, "image_url data URLs must be base64: data:image/png;base64,...", param="image_url")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise APIError(400, "image_url is not valid base64", param="image_url") from None


async def fetch_image(url: str, max_bytes: int) -> bytes:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=True, max_redirects=3) as client:
            async with client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise APIError(400, f"could not fetch image_url (HTTP {response.status_code})", param="image_url")
                data = bytearray()
                async for block in response.aiter_bytes():
                    data += block
                    if len(data) > max_bytes:
                        raise APIError(413, f"the image at image_url is larger than {max_bytes:,} bytes",
                                       param="image_url", code="image_too_large")
                return bytes(data)
    except httpx.HTTPError as exc:
        raise APIError(400, f"could not fetch image_url: {type(exc).__name__}", param="image_url") from None


def image_from_bytes(data: bytes, max_pixels: int) -> LoadedImage:
    """Decode a picture or DICOM file sent in a request, refusing anything over `max_pixels` before decoding."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise APIError(400, "the image is empty (0 bytes)", param="image_url")
    if data[128:132] == b"DICM":
        with tempfile.NamedTemporaryFile(suffix=".dcm") as handle:
            handle.write(data)
            handle.flush()
            try:
                loaded = load_image(handle.name)
            except UserInputError as exc:
                raise APIError(400, str(exc).replace(handle.name, "the DICOM image"), param="image_url") from None
        loaded.source = "<request>"
        return loaded
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                pixels = opened.width * opened.height
                if pixels > max_pixels:
                    raise APIError(413, f"the image is too large ({opened.width}x{opened.height} = {pixels:,} pixels; "
                                   f"the limit is {max_pixels:,})", param="image_url", code="image_too_large")
                if opened.format == "JPEG":
                    opened.draft("RGB", (MAX_SIDE, MAX_SIDE))
                opened.load()
                return from_pil(opened, source="<request>")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise APIError(413, "the image is too large to decode safely", param="image_url", code="image_too_large") from None
    except UnidentifiedImageError:
        raise APIError(400, "image_url does not hold an image (PNG, JPEG, GIF, BMP, TIFF, WebP or DICOM)",
                       param="image_url") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise APIError(400, f"the image could not be decoded (truncated or corrupt?): {exc}", param="image_url") from None


# -- the app ----------------------------------------------------------------------------------------
def read_api_keys(path: Path) -> list[str]:
    if not path.is_file():
        raise UserInputError(f"API key file not found: {path}")
    keys = [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    if not keys:
        raise UserInputError(f"API key file {path} holds no key (one per line)")
    return keys


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


def create_app(config: ServeConfig, assistant: Assistant | None = None):
    """The FastAPI app; the model loads once at startup and one worker thread runs every generation."""
    assistant = assistant or Assistant(config.assistant)
    keys = read_api_keys(config.api_key_file) if config.api_key_file else None
    worker = GenerationWorker(assistant, config.max_queue)
    created = int(time.time())

    @asynccontextmanager
    async def lifespan(_app):
        await run_in_threadpool(lambda: assistant.llm)  # load before the first request, not during it
        worker.start()
        yield
        await run_in_threadpool(worker.stop)

    app = FastAPI(title="Visual Med-Alpaca API", description=RESEARCH_NOTICE, lifespan=lifespan)
    app.add_middleware(NoticeHeader)
    app.state.worker = worker

    def error_response(exc: BaseException) -> JSONResponse:
        error = as_api_error(exc)
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
        if error.status in (429, 503):
            headers["Retry-After"] = "1"
        return JSONResponse(error.body(), status_code=error.status, headers=headers)

    @app.exception_handler(APIError)
    async def _api_error(_request, exc: APIError):
        return error_response(exc)

    @app.exception_handler(UserInputError)
    @app.exception_handler(BackendError)
    @app.exception_handler(QueueFull)
    @app.exception_handler(ShuttingDown)
    async def _known_error(_request, exc: Exception):
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request, exc: StarletteHTTPException):
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return error_response(APIError(exc.status_code, str(exc.detail), kind))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request, exc: RequestValidationError):
        return error_response(APIError(400, f"invalid request: {exc.errors()[0]['msg']}"))

    @app.exception_handler(Exception)
    async def _unexpected(_request, exc: Exception):
        return error_response(exc)

    def authorize(request: Request) -> None:
        if keys is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not any(hmac.compare_digest(token.strip(), k) for k in keys):
            raise APIError(401, "missing or invalid API key (send Authorization: Bearer <key>)",
                           code="invalid_api_key")

    async def read_body(request: Request) -> bytes:
        limit = config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise APIError(413, f"the request body is larger than {limit:,} bytes", code="request_too_large")
        body = bytearray()
        async for block in request.stream():
            body += block
            if len(body) > limit:
                raise APIError(413, f"the request body is larger than {limit:,} bytes", code="request_too_large")
        return bytes(body)

    def refuse_when_busy() -> None:
        """429 when the queue is full, or when the queue is so long that the answer would come too late."""
        if worker.full:
            raise QueueFull(f"the server is busy: all {worker.max_queue} queue slots are taken; retry later")
        wait = worker.expected_wait_s()
        if wait > 0 and wait + worker.job_s() > config.request_timeout_s:
            raise QueueFull(f"the server is busy: the expected wait ({wait:.0f} s) would exceed the "
                            f"{config.request_timeout_s:g} s time limit; retry later")

    def model_card() -> dict[str, Any]:
        return {"id": config.model_name, "object": "model", "created": created, "owned_by": "visual-med-alpaca"}

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok", "model": config.model_name, "llm": assistant.llm.name, "busy": worker.busy,
                "queued": worker.queued, "max_queue": worker.max_queue, "notice": RESEARCH_NOTICE}

    @app.get("/v1/models")
    async def models(request: Request):
        authorize(request)
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{model_id}")
    async def model(model_id: str, request: Request):
        authorize(request)
        if model_id != config.model_name:
            raise APIError(404, f"the model '{model_id}' does not exist", param="model", code="model_not_found")
        return model_card()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        authorize(request)
        refuse_when_busy()  # before reading and decoding the body, so a busy server stays cheap to ask
        try:
            chat = ChatRequest.model_validate_json(await read_body(request))
        except ValidationError as exc:
            raise _validation_error(exc) from None
        if chat.model != config.model_name:
            raise APIError(404, f"the model '{chat.model}' does not exist; this server has '{config.model_name}'",
                           param="model", code="model_not_found")
        max_tokens = chat.max_completion_tokens or chat.max_tokens
        if max_tokens is not None and max_tokens > config.max_tokens:
            raise APIError(400, f"max_tokens is {max_tokens}; this server allows at most {config.max_tokens}",
                           param="max_tokens")
        question, image_url = question_and_image_url(chat.messages)
        image = None
        if image_url is not None:
            if image_url.startswith("data:"):
                data = decode_data_url(image_url)
            elif image_url.startswith(("http://", "https://")):
                if not config.allow_remote_images:
                    raise APIError(400, "remote image URLs are disabled on this server: send the image as a base64 "
                                   "data URL (or start the server with --allow-remote-images)", param="image_url")
                data = await fetch_image(image_url, config.max_body_bytes)
            else:
                raise APIError(400, "image_url must be a base64 data URL (or an http(s) URL)", param="image_url")
            image = await run_in_threadpool(image_from_bytes, data, config.max_image_pixels)
        updates = {"max_new_tokens": max_tokens, "temperature": chat.temperature, "top_p": chat.top_p,
                   "seed": chat.seed}
        settings = assistant.config.generation.model_copy(update={k: v for k, v in updates.items() if v is not None})
        job = Job(question, image, chat.expert, settings, config.request_timeout_s, asyncio.get_running_loop())
        refuse_when_busy()
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
            job.cancelled.set()  # the client disconnected or the stream ended: free the worker

    return app


class Reply:
    """Builds OpenAI's response objects for one request."""

    def __init__(self, model: str, stream, max_tokens: int, llm_name: str):
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = model
        self.max_tokens = max_tokens
        self.extension = {
            "expert": stream.description.expert, "expert_text": stream.description.text,
            "route": stream.description.route, "prompt": stream.prompt, "llm": llm_name,
            "notice": RESEARCH_NOTICE,
            # the knowledge stage's ranked passages: id, title, url, score, relevance, text
            "sources": stream.sources,
            "knowledge_note": stream.consultation.note if stream.consultation else None,
        }

    def finish_reason(self, usage) -> str:
        done = usage.completion_tokens
        return "length" if done is not None and done >= self.max_tokens else "stop"

    @staticmethod
    def usage(usage) -> dict[str, int] | None:
        if usage.prompt_tokens is None:
            return None
        return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.prompt_tokens + usage.completion_tokens}

    def completion(self, answer, usage) -> dict[str, Any]:
        extension = {**self.extension, "timings": answer.timings}
        return {
            "id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer},
                         "finish_reason": self.finish_reason(usage), "logprobs": None}],
            "usage": self.usage(usage), EXTENSION: extension,
        }

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None, extension: bool = False) -> dict[str, Any]:
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}
        if extension:
            body[EXTENSION] = self.extension
        return body

    def usage_chunk(self, usage) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [], "usage": self.usage(usage)}

"""The API's contract: OpenAI's request schema (validated strictly), its error object, and how a chat becomes
one question and one image. No FastAPI here: the router (api.py) uses these."""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import SEED_MAX
from ..errors import BackendError, EngineUnavailable, UserInputError
from ..images import ImageTooLarge
from ..pipeline import validate_question
from .worker import QueueFull, RequestTimeout, ShuttingDown

log = logging.getLogger(__name__)


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
    if isinstance(exc, ImageTooLarge):
        return APIError(413, str(exc), param="image_url", code="image_too_large")
    if isinstance(exc, UserInputError):
        return APIError(400, str(exc))
    if isinstance(exc, QueueFull):
        return APIError(429, str(exc), "requests", code="rate_limit_exceeded")
    if isinstance(exc, RequestTimeout):
        return APIError(504, str(exc), "server_error", code="timeout")
    if isinstance(exc, EngineUnavailable):
        return APIError(503, str(exc), "server_error", code="engine_unavailable")
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
    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False)  # JSON's NaN / Infinity: not numbers


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
    seed: int | None = Field(None, ge=0, le=SEED_MAX)
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


def validation_error(exc: ValidationError) -> APIError:
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

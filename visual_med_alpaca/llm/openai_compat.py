"""Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp's server): chat or completions, streamed.

The API key comes from the config/flag or OPENAI_API_KEY and is never printed or logged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit

from ..config import GenerationSettings, LLMConfig
from ..errors import BackendError, UserInputError
from ..prompts import stop_sequences
from .base import Generation

LOCAL_PLACEHOLDER_KEY = "no-key-needed"  # local servers accept any key; the client insists on one
# The OpenAI API takes at most 4 stop sequences (some compatible servers too): the likeliest 4 are sent
# (prompts.stop_sequences' order) and generate_stream's filter cuts at the rest as the text arrives.
MAX_SERVER_STOPS = 4


def resolve_endpoint(base_url: str | None, api_key) -> tuple[str, str]:
    """Server URL and key from the config, else OPENAI_BASE_URL / OPENAI_API_KEY; local servers need no key."""
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    try:  # a malformed URL (`http://[::1`, a bad port) was an httpx InvalidURL traceback when the client was made
        parts = urlsplit(base_url)
        parts.port  # parsed on access: a bad port raises here
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserInputError(f"the server URL {base_url!r} is not an http(s) URL, e.g. http://127.0.0.1:8080/v1")
    key = api_key.get_secret_value() if api_key else os.environ.get("OPENAI_API_KEY")
    if not key:
        if "api.openai.com" in base_url:
            raise UserInputError("the OpenAI API needs a key: set OPENAI_API_KEY or pass --api-key")
        key = LOCAL_PLACEHOLDER_KEY
    return base_url, key


class OpenAICompatModel:
    context_length = None

    def __init__(self, client, model: str, mode: str, base_url: str):
        self.client = client
        self.model = model
        self.mode = mode
        self.name = f"{model} @ {base_url}"
        # Sampling knobs the OpenAI API lacks; local servers (llama.cpp, vLLM) read them from the body,
        # api.openai.com rejects unknown fields, so they are sent only elsewhere.
        self.send_extras = "api.openai.com" not in base_url

    @classmethod
    def from_config(cls, config: LLMConfig) -> OpenAICompatModel:
        import openai

        base_url, key = resolve_endpoint(config.base_url, config.api_key)
        model = config.model if config.model != "default" else "default"
        client = openai.OpenAI(base_url=base_url, api_key=key, timeout=config.timeout_s, max_retries=1)
        return cls(client, model, config.api_mode, base_url)

    def count_tokens(self, text: str, special: bool = True) -> None:
        return None  # the server owns the tokenizer; it reports overlong prompts itself

    def stream(self, prompt: str, settings: GenerationSettings) -> Generation:
        """`tokens` and `prompt_tokens`: the completion and prompt tokens the server reports at the end of the stream
        (None when it reports none)."""
        return Generation(lambda out: self._generate(prompt, settings, out))

    def _generate(self, prompt: str, settings: GenerationSettings, out: Generation) -> Iterator[str]:
        import openai

        common = dict(
            model=self.model, max_tokens=settings.max_new_tokens, temperature=settings.temperature,
            top_p=settings.top_p, seed=settings.seed, stream=True, stream_options={"include_usage": True},
            stop=stop_sequences(settings.stop)[:MAX_SERVER_STOPS],
        )
        if self.send_extras:
            common["extra_body"] = {
                "top_k": settings.top_k,
                "repeat_penalty": settings.repetition_penalty,  # llama.cpp
                "repetition_penalty": settings.repetition_penalty,  # vLLM
            }
        try:
            if self.mode == "chat":
                response = self.client.chat.completions.create(
                    messages=[{"role": "user", "content": prompt}], **common
                )
                for chunk in response:
                    out.tokens = reported_tokens(chunk, "completion_tokens", out.tokens)
                    out.prompt_tokens = reported_tokens(chunk, "prompt_tokens", out.prompt_tokens)
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
            else:
                response = self.client.completions.create(prompt=prompt, **common)
                for chunk in response:
                    out.tokens = reported_tokens(chunk, "completion_tokens", out.tokens)
                    out.prompt_tokens = reported_tokens(chunk, "prompt_tokens", out.prompt_tokens)
                    if chunk.choices and chunk.choices[0].text:
                        yield chunk.choices[0].text
        except openai.APIConnectionError:
            raise BackendError(f"cannot reach the OpenAI-compatible server at {self.client.base_url}") from None
        except openai.AuthenticationError:
            raise BackendError("the server rejected the API key (401)") from None
        except openai.NotFoundError:
            raise UserInputError(f"the server does not know model '{self.model}' or this endpoint (404)") from None
        except openai.BadRequestError as exc:
            raise UserInputError(f"the server refused the request: {_message(exc)}") from None
        except openai.APIStatusError as exc:
            raise BackendError(f"the server failed ({exc.status_code}): {_message(exc)}") from None


def reported_tokens(chunk, field: str, known: int | None) -> int | None:
    """The tokens a streamed chunk's `usage` reports in `field` ("completion_tokens", "prompt_tokens"; the last
    chunk's, where the server sends one: OpenAI with `stream_options.include_usage`, llama.cpp's server always), else
    what was known before it."""
    usage = getattr(chunk, "usage", None)
    tokens = getattr(usage, field, None)
    return tokens if isinstance(tokens, int) else known


def _message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error", {}).get("message") or body)[:300]
    return str(exc)[:300]

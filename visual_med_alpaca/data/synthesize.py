"""Stage 2: answer instruction records with any OpenAI-compatible endpoint, self-instruct style.

Crash safety: each answer goes first into the response cache (SQLite, keyed by model + prompt), then into
the append-only output JSONL (fsync per record). A rerun skips ids already in the output and answers from
the cache what was paid for but not yet written, so a kill at any point loses nothing and duplicates nothing.
Transient failures (429, 5xx, timeouts, refused connections) are retried with exponential backoff; when an
item still fails the run stops cleanly and says how to resume.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sqlite3
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import BackendError, UserInputError
from ..llm.openai_compat import resolve_endpoint
from ..paths import ASSETS, read_text_file
from .config import SynthesizeConfig
from .store import JsonlStore, read_records

DEFAULT_TEMPLATE = ASSETS / "data" / "self_instruct.txt"
RETRYABLE_STATUS = {408, 409, 425, 429}


def load_template(path: Path | None) -> str:
    path = Path(path or DEFAULT_TEMPLATE)
    text = read_text_file(path, "prompt template")
    if "{instruction}" not in text:
        raise UserInputError(f"prompt template {path} must contain {{instruction}}")
    return text


def render(template: str, record: dict) -> str:
    """Plain replacement (not str.format) so braces elsewhere in an edited template are harmless."""
    input_block = f"\n\nInput:\n{record['input']}" if record.get("input") else ""
    return template.replace("{instruction}", record["instruction"]).replace("{input_block}", input_block) \
        .replace("{input}", record.get("input", ""))


class ResponseCache:
    """(model, prompt) -> response; SQLite commits each entry, so a crash never loses a paid answer."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, response TEXT)")
        self.db.commit()

    @staticmethod
    def key(model: str, prompt: str) -> str:
        return hashlib.sha256(f"{model}\0{prompt}".encode()).hexdigest()

    def get(self, model: str, prompt: str) -> dict | None:
        row = self.db.execute("SELECT response FROM responses WHERE key = ?", (self.key(model, prompt),)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, model: str, prompt: str, response: dict) -> None:
        self.db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?)",
                        (self.key(model, prompt), model, json.dumps(response)))
        self.db.commit()

    def close(self) -> None:
        self.db.close()


class RateLimiter:
    """Spaces request starts at least 60/rpm seconds apart across all workers."""

    def __init__(self, requests_per_minute: float):
        self.interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self.next_start = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            start = max(self.next_start, now)
            self.next_start = start + self.interval
        await asyncio.sleep(start - now)


@dataclass
class SynthesisReport:
    selected: int = 0
    already_done: int = 0
    generated: int = 0
    from_cache: int = 0
    failed: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def items_per_s(self) -> float:
        return self.generated / self.seconds if self.seconds else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "items_per_s": round(self.items_per_s, 3), "tokens_per_s": round(self.tokens_per_s, 2)}


def select_records(questions: Path, config: SynthesizeConfig) -> list[dict]:
    """Records without an answer (all with `regenerate`), optionally a seeded random sample of them."""
    records = [r for r in read_records(questions) if config.regenerate or not r["output"].strip()]
    if config.sample is not None and config.sample < len(records):
        records = random.Random(config.seed).sample(records, config.sample)
    return records


class _EndpointDown(Exception):
    pass


def _retryable(exc: Exception) -> str | None:
    """A short reason if `exc` is worth retrying, else None."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection refused or dropped"
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500 or exc.status_code in RETRYABLE_STATUS:
            return f"HTTP {exc.status_code}"
    return None


def _client(config: SynthesizeConfig):
    import openai

    base_url, key = resolve_endpoint(config.base_url, config.api_key)
    # Retries are ours (visible, with backoff and a report), so the client's own are off.
    return openai.AsyncOpenAI(base_url=base_url, api_key=key, timeout=config.timeout_s, max_retries=0), base_url


async def _call(client, config: SynthesizeConfig, prompt: str) -> dict:
    common = dict(model=config.model, max_tokens=config.max_tokens, temperature=config.temperature)
    if config.api_mode == "chat":
        response = await client.chat.completions.create(messages=[{"role": "user", "content": prompt}], **common)
        choice = response.choices[0]
        text = choice.message.content or ""
    else:
        response = await client.completions.create(prompt=prompt, **common)
        choice = response.choices[0]
        text = choice.text or ""
    usage = response.usage
    return {"text": text.strip(), "finish_reason": choice.finish_reason,
            "prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
            "completion_tokens": getattr(usage, "completion_tokens", 0) or 0}


async def _run(records: list[dict], store: JsonlStore, cache: ResponseCache, config: SynthesizeConfig,
               report: SynthesisReport, errors: JsonlStore, progress: bool, template_text: str | None) -> None:
    import openai
    from tqdm import tqdm

    template = template_text or load_template(config.template)
    client, base_url = _client(config)
    limiter = RateLimiter(config.requests_per_minute)
    queue: asyncio.Queue = asyncio.Queue()
    for record in records:
        queue.put_nowait(record)
    bar = tqdm(total=len(records), unit="item", file=sys.stderr, disable=not progress, dynamic_ncols=True,
               desc="synthesize")

    def note(message: str) -> None:
        bar.write(message, file=sys.stderr)

    def save(record: dict, response: dict, cached: bool) -> None:
        out = {**record, "output": response["text"], "answer_source": f"model:{config.model}",
               "finish_reason": response.get("finish_reason"),
               "usage": {k: response.get(k, 0) for k in ("prompt_tokens", "completion_tokens")}}
        if record.get("output"):
            out["reference_output"] = record["output"]
        store.append(out)
        if cached:
            report.from_cache += 1
        else:
            report.generated += 1
            report.prompt_tokens += response.get("prompt_tokens", 0)
            report.completion_tokens += response.get("completion_tokens", 0)
        bar.update(1)
        bar.set_postfix(tok_in=report.prompt_tokens, tok_out=report.completion_tokens, cached=report.from_cache)

    async def answer(prompt: str) -> dict:
        for attempt in range(config.max_retries + 1):
            await limiter.wait()
            try:
                return await _call(client, config, prompt)
            except openai.APIError as exc:
                reason = _retryable(exc)
                if reason is None:
                    raise
                if attempt == config.max_retries:
                    raise _EndpointDown(f"{reason} after {config.max_retries} retries") from None
                delay = min(config.max_backoff_s, config.backoff_s * 2 ** attempt) * random.uniform(0.5, 1.0)
                retry_after = getattr(getattr(exc, "response", None), "headers", {}).get("retry-after")
                if retry_after and retry_after.replace(".", "", 1).isdigit():
                    delay = max(delay, float(retry_after))
                report.retries += 1
                note(f"retry {attempt + 1}/{config.max_retries} in {delay:.1f}s: {reason} ({base_url})")
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def worker() -> None:
        while not queue.empty():
            record = queue.get_nowait()
            prompt = render(template, record)
            cached = cache.get(config.model, prompt)
            if cached is not None:
                save(record, cached, cached=True)
                continue
            try:
                response = await answer(prompt)
            except openai.AuthenticationError:
                raise BackendError("the endpoint rejected the API key (401)") from None
            except openai.NotFoundError:
                raise UserInputError(f"the endpoint does not know model '{config.model}' (404)") from None
            except openai.APIStatusError as exc:  # a bad request for this one item: log it and go on
                report.failed += 1
                errors.append({"id": record["id"], "error": f"HTTP {exc.status_code}: {str(exc)[:300]}"})
                note(f"skip {record['id']}: HTTP {exc.status_code}")
                bar.update(1)
                continue
            cache.put(config.model, prompt, response)
            save(record, response, cached=False)

    started = time.monotonic()
    tasks = [asyncio.create_task(worker()) for _ in range(min(config.concurrency, max(1, len(records))))]
    try:
        await asyncio.gather(*tasks)
    except _EndpointDown as exc:
        raise BackendError(
            f"endpoint {base_url} failed: {exc}; {len(store.ids)} records are saved in {store.path}; "
            "rerun the same command to resume"
        ) from None
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        report.seconds = time.monotonic() - started
        bar.close()
        await client.close()


def synthesize(questions: Path, out: Path, config: SynthesizeConfig, cache_path: Path | None = None,
               progress: bool = True) -> SynthesisReport:
    """Answer the selected records of `questions` into `out` (resumable); returns what happened."""
    return synthesize_records(select_records(questions, config), out, config, cache_path, progress)


def synthesize_records(records: list[dict], out: Path, config: SynthesizeConfig, cache_path: Path | None = None,
                       progress: bool = True, template_text: str | None = None) -> SynthesisReport:
    """Ask the endpoint for each record not yet in `out` (resumable); `template_text` overrides the template."""
    report = SynthesisReport(selected=len(records))
    cache = ResponseCache(cache_path or out.with_name("synth_cache.sqlite"))
    store = JsonlStore(out)
    errors = JsonlStore(out.with_name(out.stem + ".errors.jsonl"))
    todo = [r for r in records if r["id"] not in store]
    report.already_done = len(records) - len(todo)
    try:
        if todo:
            asyncio.run(_run(todo, store, cache, config, report, errors, progress, template_text))
    finally:
        store.close()
        errors.close()
        cache.close()
    return report

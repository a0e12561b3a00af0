"""`vmed serve` (OpenAI-compatible HTTP API) and `vmed demo` (Gradio web page). Heavy imports stay lazy."""

from __future__ import annotations

import os

from pathlib import Path
from typing import Any, Optional

import typer

from ..cli_options import AdapterOpt, BackendOpt, BaseUrlOpt, ModelOpt, SetOpt, assistant_overrides
from ..errors import UserInputError
from ..prompts import RESEARCH_NOTICE

app = typer.Typer()


def _load(cls_path: str, config: Optional[Path], sets: Optional[list[str]], flags: dict[str, Any], env_prefix: str):
    import importlib

    from ..config import load_config

    module, name = cls_path.split(":")
    return load_config(getattr(importlib.import_module(module), name), config, flags, env_prefix=env_prefix, sets=sets)


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1: this machine only)"),
    port: Optional[int] = typer.Option(None, "--port", help="Port (default 8000)"),
    model: Optional[str] = ModelOpt,
    backend: Optional[str] = BackendOpt,
    adapter: Optional[str] = AdapterOpt,
    base_url: Optional[str] = BaseUrlOpt,
    expert: Optional[str] = typer.Option(None, "--expert", "-e", help="Default expert: auto | none | a name"),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for llama.cpp (default: all cores, up to 8)"),
    model_name: Optional[str] = typer.Option(None, "--model-name", help="Model id clients send (default visual-med-alpaca)"),
    max_queue: Optional[int] = typer.Option(None, "--max-queue", help="Requests that may wait; more get HTTP 429 (default 8)"),
    max_body_mb: Optional[float] = typer.Option(None, "--max-body-mb", help="Largest request body in MiB (default 20)"),
    max_image_pixels: Optional[int] = typer.Option(None, "--max-image-pixels", help="Largest image, width x height (default 40M)"),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="Largest max_tokens a request may ask for (default 1024)"),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", help="max_tokens when a request sets none"),
    request_timeout: Optional[float] = typer.Option(None, "--request-timeout", help="Seconds per request, queue wait included (default 120)"),
    api_key_file: Optional[Path] = typer.Option(None, "--api-key-file", help="Require a bearer token: one accepted key per line"),
    allow_remote_images: Optional[bool] = typer.Option(None, "--allow-remote-images/--no-remote-images", help="Let image_url be an http(s) URL the server fetches (off by default)"),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (see configs/serve.yaml)"),
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """Serve the assistant as an OpenAI-compatible API: POST /v1/chat/completions, GET /v1/models, GET /healthz."""
    serve_config = _load("visual_med_alpaca.serve.api:ServeConfig", config, sets, {
        "host": host, "port": port, "model_name": model_name, "max_queue": max_queue,
        "max_body_bytes": int(max_body_mb * 2**20) if max_body_mb is not None else None,
        "max_image_pixels": max_image_pixels, "max_tokens": max_tokens, "request_timeout_s": request_timeout,
        "api_key_file": api_key_file, "allow_remote_images": allow_remote_images,
        **assistant_overrides("assistant.", model=model, backend=backend, adapter=adapter, base_url=base_url,
                              threads=threads, expert=expert, max_new_tokens=max_new_tokens),
    }, env_prefix="VMED_SERVE_")
    import uvicorn

    from ..pipeline import Assistant
    from .api import create_app

    typer.secho(f"{RESEARCH_NOTICE}\nloading the model ...", err=True, dim=True)
    assistant = Assistant(serve_config.assistant)
    assistant.llm  # a missing or broken model fails here, as one line, before the server starts
    app_ = create_app(serve_config, assistant)
    typer.secho(f"serving on http://{serve_config.host}:{serve_config.port}/v1", err=True, dim=True)
    uvicorn.run(app_, host=serve_config.host, port=serve_config.port, log_level=log_level)


@app.command()
def demo(
    host: Optional[str] = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1: this machine only)"),
    port: Optional[int] = typer.Option(None, "--port", help="Port (default 7860)"),
    share: Optional[bool] = typer.Option(None, "--share/--no-share", help="Public gradio.live link (default off)"),
    model: Optional[list[str]] = typer.Option(None, "--model", "-m", help="Offer this model (path.gguf, HF folder, ...) instead of the configured list; repeatable"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Pre-filled base URL of the OpenAI-compatible endpoint choice"),
    expert: Optional[str] = typer.Option(None, "--expert", "-e", help="auto | none | an expert name"),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for llama.cpp models (default: all cores, up to 8)"),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens"),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="0 = greedy"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (see configs/demo.yaml)"),
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """Open the web demo: upload an image, ask a question, watch the answer stream, see the expert and prompt."""
    flags: dict[str, Any] = {
        "host": host, "port": port, "share": share, "endpoint_base_url": base_url,
        **assistant_overrides(expert=expert, max_new_tokens=max_new_tokens, temperature=temperature),
    }
    if model:
        flags["models"] = [{"label": name, "llm": {"model": name}} for name in model]
    demo_config = _load("visual_med_alpaca.serve.demo:DemoConfig", config, sets, flags, env_prefix="VMED_DEMO_")
    if threads is not None:
        for choice in demo_config.models:
            choice.llm.threads = threads
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from .demo import DemoModels, build_demo

    models = DemoModels(demo_config)
    typer.secho(f"{RESEARCH_NOTICE}\nloading '{models.labels[0]}' ...", err=True, dim=True)
    models.get(models.labels[0])
    page = build_demo(demo_config, models)
    try:
        page.launch(server_name=demo_config.host, server_port=demo_config.port, share=demo_config.share,
                    max_file_size=int(demo_config.max_file_mb * 2**20), show_error=True)
    except OSError as exc:  # e.g. the port is taken
        raise UserInputError(f"cannot serve the demo on {demo_config.host}:{demo_config.port}: {exc}") from None

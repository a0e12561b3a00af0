"""`vmed serve` (OpenAI-compatible HTTP API) and `vmed demo` (Gradio web page). Heavy imports stay lazy."""

from __future__ import annotations

import os

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from ..cli_options import (AdapterOpt, BackendOpt, BaseUrlOpt, CaseMemoryOpt, ExpertOpt, LlmUrlOpt, ModelOpt,
                           SetOpt, assistant_overrides, threads_option)
from ..errors import BackendError, UserInputError
from ..prompts import RESEARCH_NOTICE

if TYPE_CHECKING:
    from ..config import AssistantConfig

app = typer.Typer()


def _load(cls_path: str, config: Optional[Path], sets: Optional[list[str]], flags: dict[str, Any], env_prefix: str):
    import importlib

    from ..config import load_config

    module, name = cls_path.split(":")
    return load_config(getattr(importlib.import_module(module), name), config, flags, env_prefix=env_prefix, sets=sets)


LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's


def _log_level(value: str) -> str:
    """--log-level checked when parsed: a bogus one was uvicorn's KeyError traceback after the model had loaded."""
    if value.lower() not in LOG_LEVELS:
        raise typer.BadParameter(f"'{value}' is not one of: {', '.join(LOG_LEVELS)}")
    return value.lower()


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1: this machine only)"),
    port: Optional[int] = typer.Option(None, "--port", help="Port (default 8000)"),
    model: Optional[str] = ModelOpt,
    backend: Optional[str] = BackendOpt,
    adapter: Optional[str] = AdapterOpt,
    base_url: Optional[str] = BaseUrlOpt,
    expert: Optional[str] = typer.Option(None, "--expert", "-e", help="Default expert: auto | none | a name"),
    threads: Optional[int] = threads_option("all cores, up to 8, for llama.cpp"),
    case_memory: Optional[bool] = CaseMemoryOpt,
    model_name: Optional[str] = typer.Option(None, "--model-name", help="Model id clients send (default visual-med-alpaca)"),
    max_queue: Optional[int] = typer.Option(None, "--max-queue", help="Requests that may wait; more get HTTP 429 (default 8)"),
    max_body_mb: Optional[float] = typer.Option(None, "--max-body-mb", min=0.001, help="Largest request body in MiB (default 20)"),
    max_image_pixels: Optional[int] = typer.Option(None, "--max-image-pixels", help="Largest image, width x height (default 40M)"),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="Largest max_tokens a request may ask for (default 1024)"),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", help="max_tokens when a request sets none"),
    request_timeout: Optional[float] = typer.Option(None, "--request-timeout", help="Seconds per request, queue wait included (default 120)"),
    api_key_file: Optional[Path] = typer.Option(None, "--api-key-file", help="Require a bearer token: one accepted key per line"),
    allow_remote_images: Optional[bool] = typer.Option(None, "--allow-remote-images/--no-remote-images", help="Let image_url be an http(s) URL the server fetches (off by default; public addresses only)"),
    remote_image_domain: Optional[list[str]] = typer.Option(None, "--remote-image-domain", help="With --allow-remote-images: fetch only from this domain and its subdomains; repeatable"),
    engine: Optional[str] = typer.Option(None, "--engine", help="auto | llama-server | none: where generation runs (default auto: llama-server when built and the model is GGUF)"),
    parallel: Optional[int] = typer.Option(None, "--parallel", help="Requests generated together by the engine (default 8)"),
    llm_url: Optional[str] = LlmUrlOpt,
    engine_port: Optional[int] = typer.Option(None, "--engine-port", help="Port of the started llama-server on 127.0.0.1 (default: a free one)"),
    log_level: str = typer.Option("info", "--log-level", callback=_log_level,
                                  help="uvicorn log level: critical | error | warning | info | debug | trace"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (see configs/serve.yaml)"),
    sets: Optional[list[str]] = SetOpt,
) -> None:
    """Serve the assistant as an OpenAI-compatible API: POST /v1/chat/completions, GET /v1/models, GET /healthz."""
    serve_config = _load("visual_med_alpaca.serve.api:ServeConfig", config, sets, {
        "host": host, "port": port, "model_name": model_name, "max_queue": max_queue,
        "max_body_bytes": int(max_body_mb * 2**20) if max_body_mb is not None else None,
        "max_image_pixels": max_image_pixels, "max_tokens": max_tokens, "request_timeout_s": request_timeout,
        "api_key_file": api_key_file, "allow_remote_images": allow_remote_images,
        "remote_image_domains": remote_image_domain or None,
        "engine.kind": engine, "engine.parallel": parallel, "engine.url": llm_url, "engine.port": engine_port,
        **assistant_overrides("assistant.", model=model, backend=backend, adapter=adapter, base_url=base_url,
                              threads=threads, expert=expert, max_new_tokens=max_new_tokens, case_memory=case_memory),
    }, env_prefix="VMED_SERVE_")
    import uvicorn

    from ..llm.base import check_model_exists
    from ..llm.engine import open_engine
    from ..pipeline import Assistant
    from .api import create_app, read_api_keys

    if serve_config.api_key_file is not None:  # a missing or empty key file: one line before the engine and model
        read_api_keys(serve_config.api_key_file)
    address_is_free(serve_config.host, serve_config.port)

    def note(message: str) -> None:
        typer.secho(message, err=True, dim=True)

    server: list[uvicorn.Server] = []

    def start_engine():
        # Starts llama-server (or connects to --llm-url); a missing binary/model or a taken port is one line here.
        return open_engine(serve_config.engine, serve_config.assistant.llm, echo=note,
                           on_give_up=lambda: setattr(server[0], "should_exit", True) if server else None)

    if serve_config.engine.url:  # only a probe of the running engine: one that does not answer is one line
        generation = start_engine()
        note(f"{RESEARCH_NOTICE}\nloading the model ...")
    else:
        check_model_exists(serve_config.assistant.llm)  # a missing model or adapter: one line, before any note
        note(f"{RESEARCH_NOTICE}\nloading the model ...")
        generation = start_engine()
    try:
        assistant_config = serve_config.assistant
        if generation is not None and generation.server is not None:  # llama-server shares these cores
            assistant_config = ocr_beside_engine(assistant_config)
        assistant = Assistant(assistant_config, llm=generation.model if generation else None)
        assistant.llm  # a missing or broken model fails here, as one line, before the server starts
        concurrency = serve_config.engine.parallel if generation else 1
        app_ = create_app(serve_config, assistant, concurrency=concurrency)
        note(f"generation: {assistant.llm.name}; serving on http://{serve_config.host}:{serve_config.port}/v1")
        server.append(uvicorn.Server(uvicorn.Config(app_, host=serve_config.host, port=serve_config.port,
                                                    log_level=log_level)))
        server[0].run()
    finally:
        if generation is not None:
            generation.close()
    if generation is not None and generation.server is not None and generation.server.gave_up:
        raise BackendError(f"the llama-server engine died {generation.server.restarts + 1} times; the server stopped "
                           f"(log: {generation.server.log_path})")


def address_is_free(host: str, port: int) -> None:
    """A port another server holds (or a host that is not this machine's) is refused now, as one line, not after
    the model has loaded (port 0: any free one)."""
    import errno

    from ..llm.engine import bind_error

    failed = bind_error(host, port) if port else None
    if failed is not None:
        reason = failed.strerror or str(failed)
        hint = "choose another --port" if failed.errno == errno.EADDRINUSE else "check --host"
        raise UserInputError(f"cannot serve on {host}:{port}: {reason[:1].lower() + reason[1:]}; {hint}")


def ocr_beside_engine(config: AssistantConfig) -> AssistantConfig:
    """The chart expert's OCR with one ONNX Runtime thread while llama-server decodes on the same machine, unless
    the config sets `vision.expert_options.chart.threads`. With two, ORT's second thread spins between ops and
    the engine's threads wait at their barriers while the OCR holds a core: at 8 clients (half bar charts)
    one thread gave first token p95 6.4 s instead of 8.1-9.4 s, and 0.65-0.68 instead of 0.51-0.52 answered
    requests/s (docs/benchmarks.md, issue 16). Alone (one request at a time, no engine) two threads stay faster."""
    chart = config.vision.expert_options.get("chart", {})
    if "threads" in chart:
        return config
    options = {**config.vision.expert_options, "chart": {**chart, "threads": 1}}
    return config.model_copy(update={"vision": config.vision.model_copy(update={"expert_options": options})})


engine_app = typer.Typer(help="The batching engine (llama.cpp's llama-server) behind `vmed serve` and `vmed eval -j N`.",
                         no_args_is_help=True)


@engine_app.command("build")
def engine_build(
    source: Optional[Path] = typer.Option(None, "--source", help="llama-cpp-python sdist (.tar.gz) or a llama.cpp source folder (default: pip downloads the installed version's sdist)"),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, help="Parallel compile jobs (default: all cores)"),
    openmp: bool = typer.Option(True, "--openmp/--no-openmp", help="--no-openmp: ggml's own thread pool instead of OpenMP, the better build for one client at a time (one stream 1.19x against 0.94x raw llama.cpp, measured on 2 cores); no faster batched (docs/serving.md)"),
    build_dir: Optional[Path] = typer.Option(None, "--build-dir", help="Keep cmake's build folder here: a later build with other flags recompiles only what changed (default: a temporary folder)"),
    force: bool = typer.Option(False, "--force", help="Build again even if this version is built"),
) -> None:
    """Compile llama-server from the llama.cpp sources of the installed llama-cpp-python (cmake, a C++ compiler).

    One build is installed at a time; building the other kind (--openmp / --no-openmp) replaces it."""
    from ..llm.engine import BUILDS, build_llama_server, built_binary, links_openmp

    if source is not None and not source.exists():
        raise UserInputError(f"--source not found: {source}")
    installed = built_binary()
    if installed.is_file() and not force and links_openmp(installed) == openmp:
        typer.echo(f"already built ({BUILDS[openmp]}): {installed} (--force builds it again)")
        return
    path = build_llama_server(source, jobs, echo=lambda m: typer.secho(m, err=True, dim=True), openmp=openmp,
                              build_dir=build_dir)
    typer.echo(f"built {path} ({BUILDS[openmp]})")


@engine_app.command("quantize")
def engine_quantize(
    weights: str = typer.Argument(..., help="Q4_0 | Q8_0"),
    model: Optional[str] = typer.Option("default", "--model", "-m", help="GGUF model (default: the embedded one)"),
    threads: Optional[int] = threads_option("all cores"),
) -> None:
    """Requantize a GGUF model for the engine, once, into the cache (what engine.weights=Q4_0|Q8_0 uses); print its path."""
    from ..config import LLMConfig
    from ..llm.engine import gguf_model_path, requantized

    found = gguf_model_path(LLMConfig(model=model))
    if found is None:
        raise UserInputError(f"not a GGUF model: {model}")
    typer.echo(str(requantized(found[0], weights, threads)))


ServeConfigOpt = typer.Option(None, "--config", "-c", help="YAML config of `vmed serve` (its engine.binary)")


def _serve_binary(config: Optional[Path], sets: Optional[list[str]]) -> tuple[Path, str]:
    """The llama-server `vmed serve` with this config would start, and where it comes from."""
    from ..llm.engine import MISSING, locate_llama_server

    explicit = _load("visual_med_alpaca.serve.api:ServeConfig", config, sets, {}, env_prefix="VMED_SERVE_").engine.binary
    found = locate_llama_server(explicit)
    if found is None:
        raise UserInputError(MISSING)
    return found


@engine_app.command("where")
def engine_where(config: Optional[Path] = ServeConfigOpt, sets: Optional[list[str]] = SetOpt) -> None:
    """Print the llama-server that `vmed serve` would start, or say how to get one."""
    typer.echo(str(_serve_binary(config, sets)[0]))


@engine_app.command("status")
def engine_status(config: Optional[Path] = ServeConfigOpt, sets: Optional[list[str]] = SetOpt) -> None:
    """Which llama-server `vmed serve` would start, where it comes from, which build it is (OpenMP or not) and
    where its logs go."""
    from ..llm.engine import BUILDS, KEEP_LOGS, links_openmp, logs_dir

    path, origin = _serve_binary(config, sets)
    typer.echo(f"llama-server: {path}\nfrom: {origin}\nbuild: {BUILDS[links_openmp(path)]}\n"
               f"logs: {logs_dir()} (llama-server-<pid>-<random>.log, one per engine started; the newest {KEEP_LOGS} kept, and those of vmed processes still running)")


@app.command()
def demo(
    host: Optional[str] = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1: this machine only)"),
    port: Optional[int] = typer.Option(None, "--port", help="Port (default 7860)"),
    share: Optional[bool] = typer.Option(None, "--share/--no-share", help="Public gradio.live link (default off)"),
    model: Optional[list[str]] = typer.Option(None, "--model", "-m", help="Offer this model (path.gguf, HF folder, ...) instead of the configured list; repeatable"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Pre-filled base URL of the OpenAI-compatible endpoint choice"),
    expert: Optional[str] = ExpertOpt,
    threads: Optional[int] = threads_option("all cores, up to 8, for llama.cpp models"),
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
    from ..llm.base import check_model_exists
    from .demo import DemoModels, build_demo

    address_is_free(demo_config.host, demo_config.port)
    models = DemoModels(demo_config)
    if models.labels[0] in models.choices:
        check_model_exists(models.choices[models.labels[0]])
    typer.secho(f"{RESEARCH_NOTICE}\nloading '{models.labels[0]}' ...", err=True, dim=True)
    models.get(models.labels[0])
    page = build_demo(demo_config, models)
    try:
        page.launch(server_name=demo_config.host, server_port=demo_config.port, share=demo_config.share,
                    max_file_size=int(demo_config.max_file_mb * 2**20), show_error=True)
    except OSError as exc:  # e.g. the port is taken
        raise UserInputError(f"cannot serve the demo on {demo_config.host}:{demo_config.port}: {exc}") from None

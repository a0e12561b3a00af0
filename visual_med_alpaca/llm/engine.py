"""The batching engine: llama.cpp's own HTTP server (`llama-server`) decodes many requests in one batch.

`vmed serve` and `vmed eval --concurrency N` hand generation to it instead of running one request at a time
in-process. It is llama.cpp's server (parallel slots, continuous batching), not a scheduler written here.
Either this module starts it (and restarts it if it dies), or `engine.url` points at one already running
(llama-server or vLLM on a bigger machine). `vmed engine build` compiles it from the llama.cpp sources that
the installed llama-cpp-python's source package vendors, so the engine and the in-process backend are the
same llama.cpp version.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import httpx
from pydantic import Field

from ..config import GenerationSettings, LLMConfig, Strict
from ..errors import BackendError, EngineUnavailable, UserInputError
from ..paths import cache_dir
from ..prompts import stop_sequences
from .gguf import is_gguf
from .base import Generation
from .openai_compat import OpenAICompatModel, reported_tokens, resolve_endpoint

log = logging.getLogger(__name__)

BINARY_ENV = "VMED_LLAMA_SERVER"
# The build flags of the README's llama-cpp-python install (portable AVX2 kernels), no web UI, no downloads.
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=OFF", "-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_TOOLS=ON", "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_OPENSSL=OFF",
)


class EngineConfig(Strict):
    """Where generation runs when many requests come at once."""

    kind: Literal["auto", "llama-server", "none"] = Field(
        "auto", description="llama-server: start llama.cpp's batching server (GGUF models); none: in-process, one "
                            "request at a time; auto: llama-server when the model is GGUF and the binary is found")
    url: str | None = Field(None, description="base URL (…/v1) of an engine already running; nothing is started")
    parallel: int = Field(8, ge=1, le=256, description="sequences decoded together (llama-server slots)")
    binary: str | None = Field(None, description=f"llama-server path (default: ${BINARY_ENV}, `vmed engine build`'s, PATH)")
    port: int = Field(0, ge=0, le=65535, description="port of the started engine on 127.0.0.1 (0 = any free one)")
    startup_timeout_s: float = Field(120.0, gt=0)
    max_restarts: int = Field(3, ge=0, description="restarts after the engine dies, before giving up")
    args: list[str] = Field(default_factory=list, description="more llama-server flags, after the ones set here (a "
                                                               "flag given twice takes the later value), e.g. "
                                                               "['-t', '1', '--poll', '0']")
    weights: Literal["as-is", "Q4_0", "Q8_0"] = Field(
        "as-is", description="as-is: the GGUF as given; Q4_0 / Q8_0: the engine (and its yes/no scorer) use the "
                             "model requantized once into the cache (`vmed engine quantize`): ggml's batched path "
                             "covers these types, not K-quants (docs/benchmarks.md, issue 16)")


# -- requantizing the model for the engine ---------------------------------------------------------
QUANT_TYPES = {"Q4_0": 2, "Q8_0": 7}  # llama.cpp's LLAMA_FTYPE_MOSTLY_* numbers


def requantized(model: Path, weights: str, threads: int | None = None) -> Path:
    """`model` (a GGUF file) requantized to `weights`, written once into the cache and reused.

    Made with llama-cpp-python's own `llama_model_quantize` (requantizing allowed: a K-quant's rounding stays in
    the weights). Written to a `.partial` file and renamed, so an interrupted run leaves nothing half-made and
    simply starts again; a stamp records the source (path, size, mtime) and the llama.cpp version, so a changed
    source is requantized; the result must be a GGUF file."""
    if weights == "as-is":  # engine.weights' default: nothing to make (the error listed as-is as a choice)
        raise UserInputError(f"'as-is' needs no requantizing (the engine uses the GGUF as given); choose "
                             f"{' or '.join(QUANT_TYPES)}")
    if weights not in QUANT_TYPES:
        raise UserInputError(f"unknown engine weights '{weights}'; choose one of: {', '.join(QUANT_TYPES)}")
    if not model.is_file():
        raise UserInputError(f"GGUF model file not found: {model}")
    stat = model.stat()
    source = f"{model.resolve()} {stat.st_size} {stat.st_mtime_ns} {weights} llama-cpp-python {llama_cpp_version()}"
    target = cache_dir("engine", "models") / f"{model.stem}.{weights.lower()}.gguf"
    stamp = target.with_name(target.name + ".source")
    if target.is_file() and stamp.is_file() and stamp.read_text() == source and _is_gguf(target):
        return target
    if not _is_gguf(model):
        raise UserInputError(f"{model} is not a GGUF file")
    import llama_cpp

    partial = target.with_name(target.name + ".partial")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANT_TYPES[weights]
    params.allow_requantize = True
    params.nthread = threads or 0
    code = llama_cpp.llama_model_quantize(str(model).encode(), str(partial).encode(), params)
    if code != 0 or not _is_gguf(partial):
        partial.unlink(missing_ok=True)
        raise BackendError(f"requantizing {model.name} to {weights} failed (llama_model_quantize returned {code})")
    stamp.unlink(missing_ok=True)
    partial.replace(target)  # atomic: a half-written file never takes the target's name
    stamp.write_text(source)
    return target


def _is_gguf(path: Path) -> bool:
    """A whole GGUF file: the magic and more than a header (a half-written one is rebuilt)."""
    return is_gguf(path) and path.stat().st_size > 1024


# -- finding and building the binary ---------------------------------------------------------------
def llama_cpp_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama-cpp-python")
    except PackageNotFoundError:
        raise UserInputError("llama-cpp-python is not installed (pip install llama-cpp-python)") from None


def built_binary() -> Path:
    """Where `vmed engine build` puts llama-server: one per llama-cpp-python version."""
    return cache_dir("engine") / f"llama-server-{llama_cpp_version()}"


def find_llama_server(explicit: str | None = None) -> Path | None:
    """The llama-server to run: `explicit` > $VMED_LLAMA_SERVER > `vmed engine build`'s > `llama-server` on PATH."""
    found = locate_llama_server(explicit)
    return found[0] if found else None


def locate_llama_server(explicit: str | None = None) -> tuple[Path, str] | None:
    """`find_llama_server`'s binary and where it came from (engine.binary, $VMED_LLAMA_SERVER, the build, PATH)."""
    for candidate, origin in ((explicit, "engine.binary"), (os.environ.get(BINARY_ENV), f"${BINARY_ENV}")):
        if candidate:
            path = Path(candidate).expanduser()
            if not (path.is_file() and os.access(path, os.X_OK)):
                raise UserInputError(f"llama-server not found or not executable: {candidate}")
            return path, origin
    built = built_binary()
    if built.is_file():
        return built, "`vmed engine build`"
    on_path = shutil.which("llama-server")
    return (Path(on_path), "PATH") if on_path else None


MISSING = ("llama-server (the batching engine) is not built: run `vmed engine build` (compiles llama.cpp's "
           f"server, a few minutes), or set ${BINARY_ENV} / engine.binary to one")


# The build for one client at a time: without OpenMP, ggml's own thread pool synchronises the ops. Measured
# (docs/benchmarks.md, issue 16, fourth round): one stream 59.4 against 47.7 tokens/s in the quiet pair (1.19x
# against 0.94x in-process llama.cpp), 39.6 against 37.7 through `vmed serve`; batched no faster (8 streams
# -3 to -5%, full VQA-RAD at 8 items -2%), so the default build keeps OpenMP.
BUILDS = {True: "with OpenMP (the default: for batches of several requests)", False: "without OpenMP (for one client at a time)"}


def cmake_configure_command(source: Path, build: Path, openmp: bool = True) -> list[str]:
    """The cmake call that configures llama-server's build (the flags of `vmed engine build`)."""
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    return ["cmake", "-S", str(source), "-B", str(build), *generator, *CMAKE_FLAGS,
            f"-DGGML_OPENMP={'ON' if openmp else 'OFF'}"]


def build_llama_server(source: Path | None = None, jobs: int | None = None, echo: Callable[[str], None] = print,
                       openmp: bool = True, build_dir: Path | None = None) -> Path:
    """Compile llama-server from the llama.cpp sources vendored in llama-cpp-python's sdist (same version).

    `source` may be that sdist (.tar.gz) or an unpacked llama.cpp folder; by default pip downloads the sdist of
    the installed version. Needs cmake and a C++ compiler. `openmp=False` builds ggml without OpenMP (see
    BUILDS). `build_dir` keeps cmake's build folder (and an unpacked sdist, beside it in `<build_dir>.src`),
    so a later build with other flags recompiles only what they change; by default it is a temporary folder."""
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise UserInputError(f"building llama-server needs `{tool}` (apt-get install cmake g++)")
    target = built_binary()
    with tempfile.TemporaryDirectory(prefix="build-", dir=cache_dir("engine")) as tmp:
        work = Path(tmp)
        if source is None:
            version = llama_cpp_version()
            echo(f"downloading the llama-cpp-python {version} source package ...")
            _run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                  f"llama-cpp-python=={version}", "-d", str(work)], "pip download")
            source = next(work.glob("llama_cpp_python-*.tar.gz"), None)
            if source is None:
                raise BackendError("pip did not download the llama-cpp-python source package")
        source = Path(source).expanduser()
        build = Path(build_dir).expanduser().resolve() if build_dir else work / "build"
        if source.is_file():
            echo(f"unpacking {source.name} ...")
            unpacked = build.with_name(build.name + ".src") if build_dir else work / "src"
            source = _unpack_llama_cpp(source, unpacked)
        if not (source / "tools" / "server").is_dir():
            raise UserInputError(f"{source} is not a llama.cpp source folder (no tools/server)")
        echo(f"configuring llama.cpp (cmake), {BUILDS[openmp]} ...")
        _run(cmake_configure_command(source, build, openmp), "cmake configure")
        jobs = jobs or os.cpu_count() or 1
        echo(f"compiling llama-server with {jobs} jobs (a few minutes) ...")
        _run(["cmake", "--build", str(build), "--target", "llama-server", "-j", str(jobs)], "cmake build")
        binary = build / "bin" / "llama-server"
        if not binary.is_file():
            raise BackendError(f"the build finished without {binary}")
        if links_openmp(binary) != openmp:
            raise BackendError(f"the build in {build} did not give a llama-server {BUILDS[openmp]}")
        partial = target.with_suffix(".partial")
        shutil.copy2(binary, partial)
        partial.chmod(0o755)
        partial.replace(target)  # atomic: an interrupted build never leaves a half binary behind
    return target


def links_openmp(binary: Path) -> bool:
    """Whether a llama-server was built with OpenMP: its dynamic section names libgomp (GCC's OpenMP runtime)
    or libomp (LLVM's). Read from the file itself, so it holds for any binary, built here or not."""
    try:
        data = binary.read_bytes()
    except OSError:
        raise UserInputError(f"cannot read {binary}") from None
    return b"libgomp.so" in data or b"libomp.so" in data


def _unpack_llama_cpp(sdist: Path, dest: Path) -> Path:
    """Only the vendored llama.cpp tree of the sdist (the rest is the Python binding). The tree of this sdist,
    also when `dest` (a kept --build-dir's) holds another version's from an earlier build."""
    try:
        with tarfile.open(sdist) as archive:
            # <top>/vendor/llama.cpp/... only: some sdists also carry git metadata under .git/modules/vendor/llama.cpp
            members = [m for m in archive.getmembers() if m.name.split("/")[1:3] == ["vendor", "llama.cpp"]]
            if not members:
                raise UserInputError(f"{sdist} holds no vendor/llama.cpp folder")
            archive.extractall(dest, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UserInputError(f"cannot unpack {sdist}: not a readable source archive ({type(exc).__name__})") from None
    top = members[0].name.split("/")[0]
    return dest / top / "vendor" / "llama.cpp"


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stdout.strip().splitlines()[-15:])
        raise BackendError(f"{what} failed (exit {result.returncode}):\n{tail}")


# -- the client: a LanguageModel that generates through the engine -----------------------------------
class EngineModel(OpenAICompatModel):
    """Generation through a batching engine's OpenAI completions endpoint; thread-safe, so many requests
    can be in flight at once. Tokens are counted by the engine's /tokenize (llama-server) when it has one."""

    def __init__(self, base_url: str, name: str, context_length: int | None = None, timeout_s: float = 600.0):
        import openai

        base_url = resolve_endpoint(base_url, None)[0]  # a malformed --llm-url: one line, not httpx's InvalidURL
        client = openai.OpenAI(base_url=base_url, api_key="no-key-needed", timeout=timeout_s, max_retries=0)
        model = _served_model(base_url)
        super().__init__(client, model, "completions", base_url)
        self.name = name
        self.context_length = context_length
        self.root = base_url.rstrip("/").removesuffix("/v1")
        self._http = httpx.Client(timeout=30.0)
        self._can_tokenize = True

    def count_tokens(self, text: str, special: bool = True) -> int | None:
        if not self._can_tokenize:
            return None
        try:  # the same count as the gguf backend: BOS added (unless special=False), special tokens not parsed
            response = self._http.post(f"{self.root}/tokenize",
                                       json={"content": text, "add_special": special, "parse_special": False})
        except httpx.HTTPError:
            raise EngineUnavailable(f"the generation engine at {self.root} is not answering") from None
        if response.status_code == 404:  # vLLM and others: the tokenizer is theirs, usage stays null
            self._can_tokenize = False
            return None
        if response.status_code != 200:
            raise BackendError(f"the engine's /tokenize failed (HTTP {response.status_code})")
        return len(response.json()["tokens"])

    def _generate(self, prompt: str, settings: GenerationSettings, out: Generation) -> Iterator[str]:
        """The engine's stream (`stream` from OpenAICompatModel); `out.tokens`: llama-server's usage at the end."""
        import openai

        extras = {"top_k": settings.top_k, "repeat_penalty": settings.repetition_penalty,
                  "repetition_penalty": settings.repetition_penalty}
        try:
            response = self.client.completions.create(
                model=self.model, prompt=prompt, max_tokens=settings.max_new_tokens,
                temperature=settings.temperature, top_p=settings.top_p, seed=settings.seed,
                stop=stop_sequences(settings.stop), stream=True, stream_options={"include_usage": True},
                extra_body=extras)
        except openai.APIConnectionError:
            raise EngineUnavailable(f"the generation engine at {self.root} is not answering") from None
        except openai.APIStatusError as exc:
            if exc.status_code == 503:
                raise EngineUnavailable(f"the generation engine is busy or loading (503)") from None
            raise BackendError(f"the generation engine failed ({exc.status_code})") from None
        try:  # closing the response (also when the caller stops early) ends the engine's work on it
            for chunk in response:
                out.tokens = reported_tokens(chunk, "completion_tokens", out.tokens)
                if chunk.choices and chunk.choices[0].text:
                    yield chunk.choices[0].text
        except (openai.APIConnectionError, httpx.HTTPError):
            raise EngineUnavailable("the generation engine stopped while answering") from None
        finally:
            response.close()

    def close(self) -> None:
        self._http.close()
        self.client.close()


class ScoringEngineModel(EngineModel):
    """An engine for a GGUF model, plus the in-process model's option scoring (yes/no questions by
    log-likelihood): llama-server returns no prompt log-probabilities, so the same GGUF is loaded in-process
    on first use and scores one question at a time, exactly as the `gguf` backend does."""

    def __init__(self, *args, llm_config: LLMConfig, **kwargs):
        super().__init__(*args, **kwargs)
        self._llm_config = llm_config
        self._scorer = None
        self._scoring = threading.Lock()

    def score_continuations(self, prompt: str, continuations: list[str]) -> list[float]:
        from .gguf import GGUFModel

        with self._scoring:
            if self._scorer is None:
                self._scorer = GGUFModel.from_config(self._llm_config)
            return self._scorer.score_continuations(prompt, continuations)


def _served_model(base_url: str) -> str:
    """The model id the engine serves (vLLM insists on it; llama-server accepts any)."""
    try:
        data = httpx.get(base_url.rstrip("/") + "/models", timeout=10.0).json()["data"]
        return data[0]["id"]
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
        raise BackendError(f"no generation engine answers at {base_url} (GET /models failed)") from None


# -- the process: start, watch, restart, stop -------------------------------------------------------
def gguf_model_path(config: LLMConfig) -> tuple[Path, Path | None, str] | None:
    """(model, adapter, label) when the config names a GGUF model, else None."""
    from .base import resolve_backend, strip_backend_prefix
    from .default_model import DEFAULT_MODEL_LABEL, default_gguf_path
    from .gguf import adapter_path

    if resolve_backend(config) != "gguf":
        return None
    model = strip_backend_prefix(config.model)
    if model == "default":
        return default_gguf_path(), adapter_path(config.adapter), DEFAULT_MODEL_LABEL
    path = Path(model).expanduser()
    if not path.is_file():
        raise UserInputError(f"GGUF model file not found: {model}")
    return path, adapter_path(config.adapter), path.name


def bind_error(host: str, port: int) -> OSError | None:
    """Why a server could not bind (host, port) now (EADDRINUSE, an unknown host, ...), or None when it could:
    SO_REUSEADDR as llama-server and uvicorn set it, so a port a dead predecessor left in TIME_WAIT counts as
    free, and one another process listens on does not."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        with socket.socket(family) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        return exc
    return None


# What llama-server logs once its HTTP socket is bound: "llama_server: listening on http://H:P" (the build here),
# "main: HTTP server is listening, hostname: H, port: P, ..." or "... listening on http://H:P - starting ..." (older).
_LISTENING = re.compile(rb"listening(?:, hostname: \S+, port: | on https?://[^\s/]*:)(\d+)")


def _die_with_parent() -> None:
    """In the child: Linux sends it SIGTERM when `vmed` exits by any path (uvicorn re-raises SIGTERM after
    its graceful shutdown, so Python's `finally` does not always run; a kill -9 never runs it)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


KEEP_LOGS = 10  # llama-server logs kept in the cache (one per engine started), newest first, + those still running


def logs_dir() -> Path:
    """Where the started engines' logs go: `llama-server-<pid of vmed>-<random>.log`, the newest KEEP_LOGS kept (and
    those of `vmed` processes still running)."""
    return cache_dir("engine", "logs")


def _process_runs(log: Path) -> bool:
    """Whether the `vmed` process named in a log's name still runs (its engine may still write to the log)."""
    pid = log.name.removeprefix("llama-server-").removesuffix(".log").split("-")[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # PermissionError (another user's process) is a running one too
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        pass
    return True


def _prune_logs(own: Path) -> None:
    """Remove all but the newest KEEP_LOGS logs (this process's counts as one of them); never the log of a `vmed`
    process still running (a long-idle `vmed serve`: its engine may still die, and the log says why)."""
    def modified(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:  # removed meanwhile by another process pruning
            return 0.0

    others = sorted((path for path in logs_dir().glob("llama-server-*.log") if path != own and not _process_runs(path)),
                    key=modified, reverse=True)
    for path in others[KEEP_LOGS - 1:]:
        path.unlink(missing_ok=True)


class LlamaServer:
    """One llama-server process on 127.0.0.1: started, health-checked, watched and restarted if it dies."""

    host = "127.0.0.1"

    def __init__(self, binary: Path, model: Path, *, adapter: Path | None, n_ctx: int, threads: int | None,
                 parallel: int, port: int = 0, startup_timeout_s: float = 120.0, max_restarts: int = 3,
                 on_give_up: Callable[[], None] | None = None, args: list[str] | tuple[str, ...] = ()):
        self.binary, self.model, self.adapter = binary, model, adapter
        self.args = list(args)
        self.n_ctx, self.parallel = n_ctx, parallel
        self.threads = threads or min(os.cpu_count() or 1, 8)
        self.port = port
        self.startup_timeout_s = startup_timeout_s
        self.max_restarts = max_restarts
        self.on_give_up = on_give_up
        self.restarts = 0
        self.gave_up = False
        self.process: subprocess.Popen | None = None
        # its own log (a restart appends to it): the port is read from there, so no other engine may write to it,
        # not one of this process nor one of another whose pid is the same (containers sharing the cache)
        self.log_path = logs_dir() / f"llama-server-{os.getpid()}-{secrets.token_hex(4)}.log"
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._log_start = 0  # where the last start's lines begin in the log

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        # Each slot gets its own n_ctx of KV cache. Full-size sliding-window cache and no flash attention are
        # what the in-process backend (llama-cpp-python) uses: the same prompt then gives the same logits.
        command = [str(self.binary), "-m", str(self.model), "--host", self.host, "--port", str(self.port),
                   "-np", str(self.parallel), "-c", str(self.n_ctx * self.parallel), "--no-kv-unified",
                   "--swa-full", "-fa", "off",
                   "-t", str(self.threads), "-tb", str(self.threads), "--no-webui", "--slots", "--metrics"]
        if self.adapter is not None:
            command += ["--lora", str(self.adapter)]
        return command + self.args

    def start(self) -> LlamaServer:
        """Start and wait until it answers /health; a failure is one BackendError naming the cause."""
        _prune_logs(self.log_path)
        with self._lock:
            self._launch()
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="vmed-engine-watch", daemon=True)
            self._watcher.start()
        return self

    def _launch(self) -> None:
        """Port 0 (the first start without engine.port): llama-server binds a free port itself and logs it, so no
        port is picked here and bound there later, when another process may have taken it. A restart reuses the
        port the first start got: clients hold that URL."""
        if self.port and bind_error(self.host, self.port):  # the configured one, or the same after a restart
            raise BackendError(f"cannot start llama-server: port {self.port} on {self.host} is taken "
                               "(choose another with --engine-port or engine.port)")
        with self.log_path.open("ab") as log_file:
            # the log is appended to (an earlier start, or an earlier process with this pid): read this start's only
            log_start = self._log_start = log_file.tell()
            self.process = subprocess.Popen(self.command(), stdout=log_file, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            if self.process.poll() is not None:
                raise BackendError(f"llama-server failed to start (exit {self.process.returncode}): {self._log_tail()}")
            self.port = self.port or self._logged_port(log_start)
            try:
                if self.port and httpx.get(f"http://{self.host}:{self.port}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self._kill()
                raise BackendError(f"llama-server did not become ready within {self.startup_timeout_s:g} s: "
                                   f"{self._log_tail()}")
            time.sleep(0.1)

    def _log_since(self, start: int) -> bytes | None:
        """The log from byte `start` on (what one start wrote); None when it cannot be read."""
        try:
            with self.log_path.open("rb") as log_file:
                log_file.seek(start)
                return log_file.read()
        except OSError:
            return None

    def _logged_port(self, start: int) -> int:
        """The port llama-server says it bound, in the log from byte `start` on; 0 until it says so."""
        found = _LISTENING.search(self._log_since(start) or b"")
        return int(found.group(1)) if found else 0

    def _log_tail(self, lines: int = 3) -> str:
        """The last start's error lines (else its last lines), from the byte where that start began."""
        logged = self._log_since(self._log_start)
        if logged is None:
            return "(no log)"
        text = logged.decode(errors="replace").strip().splitlines()
        useful = [line for line in text if any(w in line.lower() for w in ("error", "failed", "unable", "couldn"))]
        return " | ".join((useful or text)[-lines:]) + f" (log: {self.log_path})"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _watch(self) -> None:
        """Restart the engine when it dies; after `max_restarts` give up (the server then exits cleanly)."""
        while not self._stopping.wait(0.5):
            if self.alive():
                continue
            with self._lock:
                if self._stopping.is_set() or self.alive():
                    continue
                code = self.process.returncode if self.process else None
                if self.restarts >= self.max_restarts:
                    log.error("llama-server died (exit %s) after %d restarts; giving up", code, self.restarts)
                    self.gave_up = True
                    if self.on_give_up:
                        self.on_give_up()
                    return
                self.restarts += 1
                log.error("llama-server died (exit %s); restart %d of %d", code, self.restarts, self.max_restarts)
                try:
                    self._launch()
                except BackendError as exc:
                    log.error("%s", exc)

    def _kill(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            self._kill()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(5)


class Engine:
    """What `vmed serve` / `vmed eval` use: a started llama-server or a given URL, as a `LanguageModel`."""

    def __init__(self, model: EngineModel, server: LlamaServer | None):
        self.model = model
        self.server = server

    def close(self) -> None:
        self.model.close()
        if self.server is not None:
            self.server.stop()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_engine(engine: EngineConfig, llm: LLMConfig, parallel: int | None = None,
                on_give_up: Callable[[], None] | None = None, echo: Callable[[str], None] | None = None) -> Engine | None:
    """The engine the config asks for, started and ready; None when generation stays in-process."""
    parallel = parallel or engine.parallel
    if engine.url:
        model = EngineModel(engine.url, f"{llm.model} @ {engine.url}", timeout_s=llm.timeout_s)
        return Engine(model, None)
    if engine.kind == "none":
        return None
    gguf = gguf_model_path(llm)
    if gguf is None:
        if engine.kind == "llama-server":
            raise UserInputError("the llama-server engine serves GGUF models only; use --engine none for this model")
        return None
    binary = find_llama_server(engine.binary)
    if binary is None:
        if engine.kind == "llama-server":
            raise UserInputError(MISSING)
        if echo:
            echo(f"note: {MISSING}; answering one request at a time")
        return None
    model_path, adapter, label = gguf
    if engine.weights != "as-is":
        if echo:
            echo(f"requantizing {model_path.name} to {engine.weights} for the engine (once) ...")
        model_path = requantized(model_path, engine.weights, llm.threads)
        label = f"{label} as {engine.weights}"
    server = LlamaServer(binary, model_path, adapter=adapter, n_ctx=llm.n_ctx, threads=llm.threads,
                         parallel=parallel, port=engine.port, startup_timeout_s=engine.startup_timeout_s,
                         max_restarts=engine.max_restarts, on_give_up=on_give_up, args=engine.args).start()
    try:
        name = f"{label}{' + ' + adapter.name if adapter else ''} on llama-server ({parallel} slots)"
        from .base import strip_backend_prefix

        scorer_config = llm.model_copy(update={"model": str(model_path) if engine.weights != "as-is"
                                               else strip_backend_prefix(llm.model)})
        model = ScoringEngineModel(server.url, name, context_length=llm.n_ctx, timeout_s=llm.timeout_s,
                                   llm_config=scorer_config)
        return Engine(model, server)
    except BaseException:
        server.stop()
        raise

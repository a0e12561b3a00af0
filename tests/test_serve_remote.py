"""`--allow-remote-images` without a server-side request forgery hole: loopback, private and link-local
addresses are refused after DNS resolution and on every redirect, before any connection is made; an
operator may allow a domain list and named private networks. Plus the 413 for an oversized body."""

from __future__ import annotations

import http.server
import threading

import httpx
import pytest
from conftest import EXAMPLES
from helpers_serve import ThreadServer

from visual_med_alpaca.config import AssistantConfig, GenerationSettings, LLMConfig
from visual_med_alpaca.pipeline import Assistant
from visual_med_alpaca.serve.api import ServeConfig, create_app
from visual_med_alpaca.serve.remote import refusal

MODEL = "visual-med-alpaca"


@pytest.mark.parametrize("address, refused", [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("10.1.2.3", "private"), ("192.168.0.4", "private"), ("172.16.5.5", "private"), ("fd00::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("100.64.0.1", "non-public"),
    ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"), ("8.8.8.8", None), ("2606:4700:4700::1111", None),
])
def test_which_addresses_are_refused(address, refused):
    reason = refusal(address)
    assert (reason is None) if refused is None else (refused in reason)


def test_an_allowed_network_is_fetched_from():
    import ipaddress

    assert refusal("10.1.2.3", [ipaddress.ip_network("10.1.2.0/24")]) is None
    assert "private" in refusal("10.1.3.3", [ipaddress.ip_network("10.1.2.0/24")])


class Files:
    """A local HTTP server that serves examples/ and redirects /to?<url>; it records every request it got."""

    def __init__(self, host: str = "127.0.0.1"):
        seen = self.seen = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(EXAMPLES), **kwargs)

            def do_GET(self):  # noqa: N802
                seen.append(self.path)
                if self.path.startswith("/to?"):
                    self.send_response(302)
                    self.send_header("Location", self.path[4:])
                    self.end_headers()
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def files():
    server = Files()
    yield server
    server.close()


@pytest.fixture(scope="module")
def tiny_assistant(tiny_llama_dir):
    config = AssistantConfig(llm=LLMConfig(backend="hf", model=str(tiny_llama_dir)),
                             generation=GenerationSettings(max_new_tokens=2, stop_on_repeat=False))
    return Assistant(config)


def ask_about(srv, image_url: str) -> httpx.Response:
    return httpx.post(srv.url + "/v1/chat/completions", timeout=30, json={"model": MODEL, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What does this chart show?"},
                                     {"type": "image_url", "image_url": {"url": image_url}}]}]})


def _refused(response: httpx.Response, words: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "image_url_refused" and error["param"] == "image_url"
    assert words in error["message"]


def test_loopback_is_refused_before_connecting(tiny_assistant, files):
    with ThreadServer(create_app(ServeConfig(allow_remote_images=True), tiny_assistant)) as srv:
        before = len(files.seen)
        _refused(ask_about(srv, files.url("/bar_chart.png")), "127.0.0.1 is a loopback address")
        # a host name is checked on the addresses it resolves to, not on its spelling
        _refused(ask_about(srv, files.url("/bar_chart.png", host="localhost")), "localhost resolves to")
        # cloud metadata (link-local): refused without a connection attempt
        _refused(ask_about(srv, "http://169.254.169.254/latest/meta-data/"), "link-local")
        assert len(files.seen) == before  # the local server never saw a request


def test_every_redirect_is_checked(tiny_assistant, files):
    other = Files(host="127.0.0.2")  # a second loopback address the operator did not allow
    try:
        config = ServeConfig(allow_remote_images=True, remote_image_networks=["127.0.0.1/32"])
        with ThreadServer(create_app(config, tiny_assistant)) as srv:
            assert ask_about(srv, files.url("/bar_chart.png")).status_code == 200  # the allowed network works
            hop = files.url("/to?" + other.url("/bar_chart.png", host="127.0.0.2"))
            _refused(ask_about(srv, hop), "127.0.0.2 is a loopback address")
            assert other.seen == []  # refused at the redirect, before connecting
            metadata = files.url("/to?http://169.254.169.254/latest/meta-data/")
            _refused(ask_about(srv, metadata), "link-local")
            followed = files.url("/to?" + files.url("/bar_chart.png"))  # an allowed redirect is followed
            assert ask_about(srv, followed).status_code == 200
    finally:
        other.close()


def test_domain_allow_list(tiny_assistant, files):
    config = ServeConfig(allow_remote_images=True, remote_image_domains=["localhost"],
                         remote_image_networks=["127.0.0.0/8", "::1/128"])
    with ThreadServer(create_app(config, tiny_assistant)) as srv:
        assert ask_about(srv, files.url("/bar_chart.png", host="localhost")).status_code == 200
        _refused(ask_about(srv, files.url("/bar_chart.png")), "127.0.0.1 is not in this server's allowed domains")
        hop = files.url("/to?" + files.url("/bar_chart.png"), host="localhost")
        _refused(ask_about(srv, hop), "not in this server's allowed domains")


def test_oversized_body_is_answered_413_not_reset(tiny_assistant):
    """21 MiB against the default 20 MiB limit: the client gets the JSON error, not a reset connection."""
    with ThreadServer(create_app(ServeConfig(), tiny_assistant)) as srv:
        big = b'{"model": "visual-med-alpaca", "messages": [{"role": "user", "content": "' + b"x" * (21 * 2**20) + b'"}]}'
        response = httpx.post(srv.url + "/v1/chat/completions", content=big, timeout=60,
                              headers={"Content-Type": "application/json"})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request_too_large"
        chunked = httpx.post(srv.url + "/v1/chat/completions", timeout=60,  # no Content-Length: counted as it comes
                             content=(big[i:i + 2**20] for i in range(0, len(big), 2**20)))
        assert chunked.status_code == 413
        ok = httpx.post(srv.url + "/v1/chat/completions", timeout=60,
                        json={"model": MODEL, "messages": [{"role": "user", "content": "What is aspirin?"}]})
        assert ok.status_code == 200  # the server is fine afterwards

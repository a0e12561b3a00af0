"""An `image_url` into image bytes: base64 data URLs, and (only with --allow-remote-images) http(s) fetches
that cannot be turned against the server's own network.

Server-side request forgery guard: every host name is resolved and every address it resolves to must be a
public one (not loopback, private, link-local such as cloud metadata 169.254.169.254, shared, reserved or
multicast) unless the operator allowed its network; the check runs in the connection itself (httpcore's
network backend), on the addresses actually dialled, so a DNS answer that changes between check and
connect cannot slip through, and it runs again for every redirect, each hop also checked against the
optional domain allow-list. httpx's redirect following is not used because it would skip those checks.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import socket
from collections.abc import Iterable

from .schema import APIError

REDIRECTS = (301, 302, 303, 307, 308)


def decode_data_url(url: str) -> bytes:
    header, comma, data = url.partition(",")
    if not comma or not header.endswith(";base64"):
        raise APIError(400, "image_url data URLs must be base64: data:image/png;base64,...", param="image_url")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise APIError(400, "image_url is not valid base64", param="image_url") from None


class RefusedAddress(Exception):
    """A host resolved to an address the server must not fetch from."""


def refusal(address: str, allowed_networks: Iterable[ipaddress._BaseNetwork] = ()) -> str | None:
    """Why the server must not connect to `address`, or None when it may."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allowed_networks):
        return None
    if ip.is_global and not ip.is_multicast:
        return None
    kind = ("loopback" if ip.is_loopback else "unspecified" if ip.is_unspecified else "link-local" if ip.is_link_local else "private" if ip.is_private
            else "multicast" if ip.is_multicast else "non-public")
    return f"{ip} is a {kind} address"


def _guarded_backend(allowed_networks: list):
    import httpcore

    class PublicAddressesOnly(httpcore.AsyncNetworkBackend):
        """Resolves the host itself, refuses it if any address is not allowed, then dials a checked address."""

        def __init__(self) -> None:
            self.inner = httpcore.AnyIOBackend()

        async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except socket.gaierror:
                raise RefusedAddress(f"the host {host} could not be resolved") from None
            addresses = list(dict.fromkeys(info[4][0] for info in infos))
            for address in addresses:
                reason = refusal(address, allowed_networks)
                if reason:
                    raise RefusedAddress(f"{host} resolves to {reason}")
            failure: Exception | None = None
            for address in addresses:  # every one was checked above; dial them in the resolver's order
                try:
                    return await self.inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                        socket_options=socket_options)
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                    failure = exc
            raise failure or httpcore.ConnectError(f"no address for {host}")

        async def connect_unix_socket(self, path, timeout=None, socket_options=None):
            raise RefusedAddress("unix sockets are not fetched")

        async def sleep(self, seconds: float) -> None:
            await self.inner.sleep(seconds)

    return PublicAddressesOnly()


def _domain_allowed(host: str, domains: list[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (d.lower().strip(".") for d in domains))


async def fetch_image(url: str, max_bytes: int, domains: list[str] | None = None, networks: list[str] | None = None,
                      max_redirects: int = 3, timeout_s: float = 10.0) -> bytes:
    """GET an image over http(s), at most `max_bytes`, refusing non-public addresses and other domains."""
    import httpcore
    import httpx

    allowed = [ipaddress.ip_network(n, strict=False) for n in networks or []]
    timeouts = {"connect": timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s}
    headers = [(b"Accept-Encoding", b"identity"), (b"User-Agent", b"visual-med-alpaca")]
    try:
        async with httpcore.AsyncConnectionPool(network_backend=_guarded_backend(allowed), retries=0) as pool:
            for _ in range(max_redirects + 1):
                target = httpx.URL(url)
                if target.scheme not in ("http", "https") or not target.host:
                    raise APIError(400, "image_url must be an http(s) URL (also after a redirect)", param="image_url")
                if domains and not _domain_allowed(target.host, domains):
                    raise APIError(400, f"image_url host {target.host} is not in this server's allowed domains",
                                   param="image_url", code="image_url_refused")
                async with pool.stream("GET", str(target), headers=headers,
                                       extensions={"timeout": timeouts}) as response:
                    if response.status in REDIRECTS:
                        location = dict((k.lower(), v) for k, v in response.headers).get(b"location")
                        if not location:
                            raise APIError(400, "image_url redirected without a Location", param="image_url")
                        url = str(target.join(location.decode("latin-1")))
                        continue
                    if response.status != 200:
                        raise APIError(400, f"could not fetch image_url (HTTP {response.status})", param="image_url")
                    data = bytearray()
                    async for block in response.aiter_stream():
                        data += block
                        if len(data) > max_bytes:
                            raise APIError(413, f"the image at image_url is larger than {max_bytes:,} bytes",
                                           param="image_url", code="image_too_large")
                    return bytes(data)
            raise APIError(400, f"image_url redirected more than {max_redirects} times", param="image_url")
    except RefusedAddress as exc:
        raise APIError(400, f"image_url refused: {exc}; this server fetches only public addresses",
                       param="image_url", code="image_url_refused") from None
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError, httpx.InvalidURL) as exc:
        raise APIError(400, f"could not fetch image_url: {type(exc).__name__}", param="image_url") from None

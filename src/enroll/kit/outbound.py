"""Calls Enroll makes to other parties' HTTP endpoints (asynchronous eligibility checks, device
commands): the endpoint policy and one signed POST.

Every call is signed as the Standard Webhooks spec says (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``, with the workspace's signing secret), bounded in time as a whole, and
refuses non-public addresses unless the deployment allows them (``webhook_allow_private``),
and cloud metadata addresses always. Each connection goes to the address that was resolved
and checked for it (GuardedBackend), so a name cannot pass the check and then resolve inward.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
import orjson
from standardwebhooks import Webhook

from enroll import __version__

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class Unreachable(Exception):
    """No usable answer this time (network, timeout, oversize answer): retry later."""


def scheme_refusal(url: str, *, allow_private: bool) -> str | None:
    if allow_private or urlsplit(url).scheme == "https":
        return None
    return "the endpoint must use https:// (plain http is refused)"


# Cloud metadata services hand out credentials: refused always, ENROLL_WEBHOOK_ALLOW_PRIVATE
# or not (AWS, ECS tasks, AWS over IPv6, Alibaba; GCP by name as well as by address).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address in the last 32 bits
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a network's own translator
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo):
    a packet to it can reach them, so they are judged too."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    found = [ip.ipv4_mapped] if ip.ipv4_mapped else []
    if ip in _IPV4_COMPATIBLE or ip in _NAT64:
        found.append(low32)
    if ip.sixtofour:
        found.append(ip.sixtofour)
    if ip.teredo:
        found.extend(ip.teredo)  # (server, client)
    return found


def _not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not ip.is_global or ip.is_multicast


def ip_refusal(address: str, *, allow_private: bool) -> str | None:
    """Why connecting to ``address`` is refused: a cloud metadata service (always), or unless
    ``allow_private``, an address that is not public or embeds one that is not."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    inner = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else []
    if ip in METADATA_ADDRESSES or any(v4 in METADATA_ADDRESSES for v4 in inner):
        return "a cloud metadata address"
    if allow_private:
        return None
    if _not_public(ip) or any(_not_public(v4) for v4 in inner) or ip in _NAT64_LOCAL:
        return "not a public address"
    return None


def _host_refusal(host: str) -> str | None:
    if host.lower().rstrip(".") in METADATA_HOSTS:
        return f"the endpoint's host {host!r} is a cloud metadata address"
    return None


async def _resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to now (an IP literal: itself); Unreachable if none."""
    try:  # the system resolver in a thread (not the event loop's own, uvloop's under uvicorn)
        infos = await asyncio.to_thread(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # UnicodeError: a label IDNA cannot encode
        raise Unreachable(f"cannot resolve {host!r}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _addresses_refusal(host: str, addresses: list[str], *, allow_private: bool) -> str | None:
    for address in addresses:
        refused = ip_refusal(address, allow_private=allow_private)
        if refused:
            shown = "" if address == host.strip("[]") else f" ({address})"
            return f"the endpoint's host {host!r}{shown} is {refused}"
    return None


async def address_refusal(url: str, *, allow_private: bool) -> str | None:
    """Refuse endpoints on loopback, private, link-local and other non-public addresses (and
    cloud metadata addresses always), by name and by what the name resolves to now.

    A failure to resolve raises Unreachable (retried). This answers whether a URL may be saved;
    a call checks the address it connects to itself (GuardedBackend), resolving once.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    refused = _host_refusal(host)
    if refused:
        return refused
    addresses = await _resolve(host, parts.port or 443)
    return _addresses_refusal(host, addresses, allow_private=allow_private)


async def refusal(url: str, *, allow_private: bool) -> str | None:
    """Why a call to ``url`` is refused (not https, or a non-public address), or None. Raises
    Unreachable when the host does not resolve."""
    return scheme_refusal(url, allow_private=allow_private) or await address_refusal(
        url, allow_private=allow_private
    )


class Refused(Unreachable):
    """The endpoint's address is refused (a subclass so a caller that does not tell them apart
    still treats it as a failed call; callers record it as a refusal, not retried)."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens each connection to an address it resolved and checked itself, once: a name that
    answers the check with a public address cannot then send the connection inward (DNS
    rebinding). httpcore still sends the name as Host and TLS SNI, and verifies the
    certificate against it."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        refused = _host_refusal(host)
        try:
            addresses = [] if refused else await _resolve(host, port)
        except Unreachable as exc:
            raise httpcore.ConnectError(str(exc)) from None
        refused = refused or _addresses_refusal(host, addresses, allow_private=self.allow_private)
        if refused:
            raise Refused(refused)
        failure: Exception | None = None
        for address in addresses:  # each one checked above
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # _resolve returns at least one address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("unix sockets are not endpoints")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connections opened by GuardedBackend (no proxies: a proxy
    would resolve the name itself)."""

    def __init__(self, *, allow_private: bool, limits: httpx.Limits = httpx.Limits()) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow_private=allow_private),
        )


def client(
    *, allow_private: bool, timeout_seconds: float, limits: httpx.Limits = httpx.Limits()
) -> httpx.AsyncClient:
    """An HTTP client for other parties' endpoints: guarded connections, no redirects, nothing
    taken from the environment."""
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_private=allow_private, limits=limits),
        timeout=timeout_seconds,
        follow_redirects=False,
        trust_env=False,
    )


def signed_headers(
    *, secret: str, message_id: str, at: datetime, body: str, also: Sequence[str] = ()
) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` (sent as is, UTF-8). ``also``: more secrets
    to sign with (a rotation's old one): the header then lists a signature per secret."""
    at = at.astimezone(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(
            Webhook(key).sign(message_id, at, body) for key in (secret, *also)
        ),
    }


async def post_signed(
    url: str,
    *,
    body: dict[str, Any],
    secret: str,
    message_id: str,
    timeout_seconds: float,
    now: datetime,
    max_answer_bytes: int,
    allow_private: bool = False,
) -> tuple[int, bytes]:
    """POST ``body`` as signed JSON within ``timeout_seconds`` in all and return the status and
    the answer; raises Refused for a refused address, Unreachable when there is no answer (or
    it is over ``max_answer_bytes``). Redirects are not followed."""
    text = orjson.dumps(body).decode()
    headers = signed_headers(secret=secret, message_id=message_id, at=now, body=text)
    async with client(allow_private=allow_private, timeout_seconds=timeout_seconds) as http:
        answer = await post(
            http,
            url,
            content=text.encode(),
            headers=headers,
            timeout_seconds=timeout_seconds,
            max_answer_bytes=max_answer_bytes,
        )
    return answer.status, answer.content


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content: bytes  # at most max_answer_bytes (the rest unread when truncated)
    headers: httpx.Headers


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    timeout_seconds: float,
    max_answer_bytes: int,
    truncate: bool = False,
) -> Answer:
    """POST JSON ``content`` through ``client`` (made by ``client()``, so its connections are
    guarded) within ``timeout_seconds`` in all; raises Refused for a refused address,
    Unreachable when there is no answer. An answer over ``max_answer_bytes`` raises too, unless
    ``truncate``: then only that much of it is read. Redirects are not followed."""
    headers = headers | {"content-type": "application/json", "user-agent": f"Enroll/{__version__}"}
    try:
        # httpx's timeout bounds each phase (connect, each read); this bounds the whole call.
        async with (
            asyncio.timeout(timeout_seconds),
            client.stream(
                "POST", url, content=content, headers=headers, follow_redirects=False
            ) as response,
        ):
            read = bytearray()
            async for chunk in response.aiter_bytes():
                read += chunk
                if len(read) > max_answer_bytes:
                    if not truncate:
                        raise Unreachable(f"the endpoint's answer is over {max_answer_bytes} bytes")
                    del read[max_answer_bytes:]
                    break
    except TimeoutError:
        raise Unreachable(f"no answer within {timeout_seconds:g} s") from None
    except httpx.HTTPError as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
    return Answer(response.status_code, bytes(read), response.headers)

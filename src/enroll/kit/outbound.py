"""Calls Enroll makes to other parties' HTTP endpoints (asynchronous eligibility checks, device
commands): the endpoint policy and one signed POST.

Every call is signed as the Standard Webhooks spec says (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``, with the workspace's signing secret), bounded in time as a whole, and
refuses non-public addresses unless the deployment allows them (``webhook_allow_private``).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

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


def http_url(url: str) -> str:
    """Validate the shape of an endpoint URL (for a Pydantic validator: raises ValueError)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValueError("Not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("Must be an https:// (or http://) URL.")
    if not host:
        raise ValueError("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise ValueError("Must not carry credentials (the URL is readable by API clients).")
    if any(c.isspace() for c in url):
        raise ValueError("Must not contain whitespace.")
    return url


def scheme_refusal(url: str, *, allow_private: bool) -> str | None:
    if allow_private or urlsplit(url).scheme == "https":
        return None
    return "the endpoint must use https:// (plain http is refused)"


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def address_refusal(url: str, *, allow_private: bool) -> str | None:
    """Refuse endpoints on loopback, private, link-local and other non-public addresses.

    Resolves the host (a failure to resolve raises Unreachable: retried). The call
    resolves it again, so a name that changes its answer in between is not caught here.
    """
    if allow_private:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or 443, type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise Unreachable(f"cannot resolve {host!r}: {exc}") from None
    if any(_not_public(str(info[4][0])) for info in infos):
        return f"the endpoint's host {host!r} is not a public address"
    return None


async def refusal(url: str, *, allow_private: bool) -> str | None:
    """Why a call to ``url`` is refused (not https, or a non-public address), or None. Raises
    Unreachable when the host does not resolve."""
    return scheme_refusal(url, allow_private=allow_private) or await address_refusal(
        url, allow_private=allow_private
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
) -> tuple[int, bytes]:
    """POST ``body`` as signed JSON within ``timeout_seconds`` in all and return the status and
    the answer; raises Unreachable when there is none (or it is over ``max_answer_bytes``).
    Redirects are not followed."""
    text = orjson.dumps(body).decode()
    headers = signed_headers(secret=secret, message_id=message_id, at=now, body=text)
    async with httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False) as client:
        answer = await post(
            client,
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
    """POST JSON ``content`` through ``client`` within ``timeout_seconds`` in all; raises
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

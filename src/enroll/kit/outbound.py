"""Calls Enroll makes to other parties' HTTP endpoints (asynchronous eligibility checks, device
commands): the endpoint policy and one signed POST.

Every call is signed as the Standard Webhooks spec says (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``, with the workspace's signing secret), bounded in time as a whole, and
refuses non-public addresses unless the deployment allows them (``webhook_allow_private``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from standardwebhooks import Webhook

from enroll import __version__


class Unreachable(Exception):
    """No usable answer this time (network, timeout, oversize answer): retry later."""


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


def signed_headers(*, secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` (sent as is, UTF-8)."""
    at = at.astimezone(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
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
    headers |= {"content-type": "application/json", "user-agent": f"Enroll/{__version__}"}
    try:
        # httpx's timeout bounds each phase (connect, each read); this bounds the whole call.
        async with asyncio.timeout(timeout_seconds):
            async with (
                httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False) as client,
                client.stream("POST", url, content=text.encode(), headers=headers) as response,
            ):
                content = bytearray()
                async for chunk in response.aiter_bytes():
                    content += chunk
                    if len(content) > max_answer_bytes:
                        raise Unreachable(f"the endpoint's answer is over {max_answer_bytes} bytes")
    except TimeoutError:
        raise Unreachable(f"no answer within {timeout_seconds:g} s") from None
    except httpx.HTTPError as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
    return response.status_code, bytes(content)

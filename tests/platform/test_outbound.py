"""The guard on every call Enroll makes to other parties' URLs (webhooks, asynchronous checks,
device commands): which addresses are refused, and that the connection goes to the address
that was checked (a name resolved once, so it cannot answer the check with a public address
and the connection with an inward one).

The resolver is stubbed by name through ``socket.getaddrinfo``, the function both the check and
the HTTP client end in; every other name resolves as usual.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from enroll.context import AppContext
from enroll.event import service as events
from enroll.kit import outbound
from tests.support.http_endpoint import Checker, Received
from tests.support.server import Tenant

PUBLIC = "93.184.215.14"  # public-looking; this machine cannot reach it


class Resolver:
    """``name`` resolves to each of ``answers`` in turn (the last one from then on, or from the
    first again when ``cycle``)."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, name: str, *answers: str, cycle: bool = False
    ) -> None:
        self.name, self.answers, self.calls = name, answers, 0
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if (host.decode() if isinstance(host, bytes) else host) != name:  # anyio: IDNA bytes
                return real(host, port, *args, **kwargs)
            n = self.calls % len(answers) if cycle else min(self.calls, len(answers) - 1)
            address = answers[n]
            self.calls += 1
            if ":" in address:
                return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, int(port), 0, 0))]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class Listener:
    """A TCP port on 127.0.0.1 that counts the connections made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def listener() -> Iterator[Listener]:
    it = Listener()
    yield it
    it.close()


async def _post(url: str, **kwargs: Any) -> tuple[int, bytes]:
    return await outbound.post_signed(
        url,
        body={"hello": "world"},
        secret=outbound.new_secret(),
        message_id="msg_1",
        timeout_seconds=3,
        now=datetime.now(UTC),
        max_answer_bytes=10_000,
        **kwargs,
    )


# --- the address rules ----------------------------------------------------------------------

# (address, refused unless private addresses are allowed, refused always)
ADDRESSES = [
    ("8.8.8.8", False, False),
    ("2606:4700:4700::1111", False, False),
    ("64:ff9b::808:808", False, False),  # NAT64 of a public address
    ("2002:808:808::1", False, False),  # 6to4 of a public address
    ("127.0.0.1", True, False),
    ("10.1.2.3", True, False),
    ("::1", True, False),
    ("fe80::1", True, False),
    ("fc00::1", True, False),
    # IPv6 forms that embed an IPv4 loopback or private address
    ("::127.0.0.1", True, False),
    ("::10.0.0.1", True, False),
    ("::ffff:127.0.0.1", True, False),
    ("::ffff:192.168.1.1", True, False),
    ("64:ff9b::7f00:1", True, False),
    ("64:ff9b::a00:1", True, False),
    ("64:ff9b:1::a00:1", True, False),
    ("2002:7f00:1::", True, False),
    ("2002:c0a8:101::1", True, False),
    ("2001::1", True, False),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", True, False),  # Teredo, client 127.0.0.1
    # cloud metadata services, in every form
    ("169.254.169.254", True, True),
    ("169.254.170.2", True, True),
    ("fd00:ec2::254", True, True),
    ("100.100.100.200", True, True),
    ("::ffff:169.254.169.254", True, True),
    ("::169.254.169.254", True, True),
    ("64:ff9b::a9fe:a9fe", True, True),
    ("2002:a9fe:a9fe::1", True, True),
]


@pytest.mark.parametrize(("address", "private", "always"), ADDRESSES)
def test_address_rules(address: str, private: bool, always: bool) -> None:
    assert bool(outbound.ip_refusal(address, allow_private=False)) == private
    assert bool(outbound.ip_refusal(address, allow_private=True)) == always


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal./computeMetadata/v1/",
        "http://[fd00:ec2::254]/latest/meta-data",
        "http://100.100.100.200/latest/meta-data",
        "http://[::ffff:169.254.169.254]/latest/meta-data",
    ],
)
def test_metadata_urls_are_refused_even_where_private_addresses_are_allowed(url: str) -> None:
    refusal = asyncio.run(outbound.refusal(url, allow_private=True))
    assert refusal and "metadata" in refusal


def test_a_metadata_name_is_refused_at_the_connection_too(listener: Listener) -> None:
    with pytest.raises(outbound.Refused, match="metadata"):
        asyncio.run(_post(f"http://metadata.google.internal:{listener.port}/x", allow_private=True))
    assert listener.accepted == 0


# --- resolved once, connected to what was checked ---------------------------------------------


def test_a_name_that_rebinds_after_the_check_is_not_followed(
    monkeypatch: pytest.MonkeyPatch, listener: Listener
) -> None:
    """DNS rebinding: the check sees a public address, the next answer is 127.0.0.1. The call
    must not end up connected to 127.0.0.1."""
    resolver = Resolver(monkeypatch, "rebind.example", PUBLIC, "127.0.0.1")
    url = f"https://rebind.example:{listener.port}/hook"
    assert asyncio.run(outbound.refusal(url, allow_private=False)) is None  # the check passes
    with pytest.raises(outbound.Unreachable):  # refused (outbound.Refused), or no answer
        asyncio.run(_post(url))
    assert listener.accepted == 0
    assert resolver.calls == 2  # the check's, and the call's own (the address it connects to)


def test_the_call_connects_to_the_address_it_checked(
    monkeypatch: pytest.MonkeyPatch, listener: Listener
) -> None:
    """One resolution per call: the checked answer is the address connected to."""
    resolver = Resolver(monkeypatch, "rebind.example", "127.0.0.1", PUBLIC)
    with pytest.raises(outbound.Refused, match="not a public address"):
        asyncio.run(_post(f"https://rebind.example:{listener.port}/hook"))
    assert (listener.accepted, resolver.calls) == (0, 1)


def test_the_name_stays_the_host_header(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connected to the resolved address, the request still names the host (Host header; TLS
    would send it as SNI and verify the certificate against it)."""
    checker = Checker()
    try:
        secret = outbound.new_secret()
        url = checker.route(secret, lambda _r, _n: (200, {"ok": True}))
        resolver = Resolver(monkeypatch, "hooks.pinned.test", "127.0.0.1")
        named = url.replace("127.0.0.1", "hooks.pinned.test")
        status, _ = asyncio.run(
            outbound.post_signed(
                named,
                body={"a": 1},
                secret=secret,
                message_id="msg_2",
                timeout_seconds=3,
                now=datetime.now(UTC),
                max_answer_bytes=1000,
                allow_private=True,
            )
        )
        assert status == 200 and resolver.calls == 1
        (got,) = checker.received(url)
        assert isinstance(got, Received) and got.verified
        assert got.headers["host"] == f"hooks.pinned.test:{checker.port}"
    finally:
        checker.close()


def test_webhook_deliveries_connect_only_to_checked_addresses(
    monkeypatch: pytest.MonkeyPatch, listener: Listener, tenant: Tenant
) -> None:
    """Through the worker of the shared server (private addresses refused): a name answering
    public, 127.0.0.1, public, ... passes the save check, and no delivery attempt reaches
    127.0.0.1 (before, the second attempt's check saw the public answer and its connection
    the inward one)."""
    Resolver(monkeypatch, "rebind.example", PUBLIC, "127.0.0.1", cycle=True)
    r = tenant.client.post(
        "/v1/webhookEndpoints", json={"url": f"https://rebind.example:{listener.port}/hook"}
    )
    assert r.status_code == 201, r.text
    hook = r.json()["id"]

    async def write_event(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            await events.record(
                session,
                workspace_id=tenant.id,
                occurred_at=ctx.clock.now(),
                events=[events.NewEvent(type="enrollment.updated", data={"n": 1})],
            )

    tenant.server.database.run(write_event)
    tenant.server.drain()  # the default schedule: at once, then 5 s later
    with tenant.server.clock_shifted(timedelta(seconds=10)):
        tenant.server.drain()
    r = tenant.client.get(f"/v1/webhookEndpoints/{hook}/deliveries")
    attempts = [a for d in r.json()["data"] for a in d["attempts"]]
    assert len(attempts) >= 2, attempts
    assert listener.accepted == 0
    assert all(a["statusCode"] is None and a["error"] for a in attempts)
    errors = [a["error"] for a in attempts]
    assert any("not a public address" in e for e in errors), errors
    # Its retries would go on in later drains of the shared server, without this resolver.
    assert tenant.client.delete(f"/v1/webhookEndpoints/{hook}").status_code == 204


# --- URLs refused when saved ----------------------------------------------------------------


def test_device_command_url_with_credentials_is_refused(tenant: Tenant) -> None:
    workflow = {
        "enrollmentActions": [
            {
                "sequence": 1,
                "type": "device_command",
                "installationMethods": ["bring_your_own"],
                "assetOwnerships": ["customer"],
            }
        ],
        "deviceCommandUrl": "https://user:password@devices.example.com/commands",
    }
    r = tenant.client.post(
        "/v1/programInstances",
        json={
            "programSlug": "core-test-program",
            "slug": "creds-in-url",
            "name": "I",
            "status": "active",
            "setupWorkflow": workflow,
        },
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    (error,) = r.json()["errors"]
    assert error["field"].endswith("deviceCommandUrl") and "credentials" in error["message"]

"""The size limit (``ENROLL_MAX_DOCUMENT_BYTES``), on a server with a small one: a file over
it answers 413 ``document_too_large``; a body that cannot fit is refused by its
Content-Length before any of it is read, and a body without one as soon as it has passed
the limit, so an upload never sits whole in memory. Nothing is left behind."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from enroll.api.documents import FORM_SLACK
from tests.document.files import marker, pdf, upload
from tests.document.support import objects, rows
from tests.support.server import Database, Server, Tenant, make_tenant, start_server

LIMIT = 4096


@pytest.fixture(scope="module")
def small(database: Database, platform_key: str) -> Iterator[Server]:
    srv = start_server(database, max_document_bytes=LIMIT)
    yield srv
    srv.stop()


@pytest.fixture
def owner(small: Server) -> Iterator[Tenant]:
    t = make_tenant(small, "Small")
    yield t
    t.client.close()


def _left_nothing(server: Server, tenant: Tenant, enrollment_id: str) -> None:
    assert tenant.client.get(f"/v1/enrollments/{enrollment_id}/documents").json()["data"] == []
    assert rows(server, tenant.id) == []
    assert objects(server, tenant.id) == {}


def _too_large(body: dict[str, object]) -> None:
    assert body["code"] == "document_too_large", body
    assert body["status"] == 413 and body["maxBytes"] == LIMIT


def test_a_file_over_the_limit_is_refused(small: Server, owner: Tenant) -> None:
    enrollment_id = owner.enroll(owner.instance()["id"])["id"]
    fits = pdf(marker())
    fits += b"%" * (LIMIT - len(fits))
    assert upload(owner.client, enrollment_id, fits).status_code == 201
    over = pdf(marker()) + b"%" * LIMIT
    r = upload(owner.client, enrollment_id, over)
    assert r.status_code == 413, r.text
    _too_large(r.json())
    assert len(rows(small, owner.id)) == len(objects(small, owner.id)) == 1


def _exchange(server: Server, head: str, body: bytes) -> tuple[bytes, bytes]:
    """Send a request's head and this much of its body over a socket, never the rest, and
    read the answer: one that comes proves the server did not wait for the rest."""
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=20) as conn:
        conn.sendall(head.encode() + body)
        answer = b""
        while not (b"\r\n\r\n" in answer and answer.rstrip().endswith(b"}")):
            piece = conn.recv(65536)
            if not piece:
                break
            answer += piece
    status, _, rest = answer.partition(b"\r\n\r\n")
    return status, rest


def _head(server: Server, tenant: Tenant, enrollment_id: str, length: str) -> str:
    return (
        f"POST /v1/enrollments/{enrollment_id}/documents HTTP/1.1\r\n"
        f"Host: {urlsplit(server.base_url).netloc}\r\n"
        f"Authorization: Bearer {tenant.key}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"{length}\r\n\r\n"
    )


def test_a_body_declared_too_large_is_refused_before_it_is_read(
    small: Server, owner: Tenant
) -> None:
    """A gigabyte announced, none of it sent: the answer comes at once."""
    enrollment_id = owner.enroll(owner.instance()["id"])["id"]
    head = _head(small, owner, enrollment_id, f"Content-Length: {10**9}")
    status, body = _exchange(small, head, b"")
    assert status.startswith(b"HTTP/1.1 413"), status
    assert b'"code":"document_too_large"' in body, body
    _left_nothing(small, owner, enrollment_id)


def test_a_streamed_body_is_refused_once_past_the_limit(small: Server, owner: Tenant) -> None:
    """No Content-Length (chunked): counted as it arrives, and refused once past the limit
    while the rest has not even been sent."""
    enrollment_id = owner.enroll(owner.instance()["id"])["id"]
    form = (
        b'--b\r\nContent-Disposition: form-data; name="type"\r\n\r\nPAY_STUB\r\n'
        b'--b\r\nContent-Disposition: form-data; name="issuedAt"\r\n\r\n2026-01-01\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'
        b"%PDF-1.4\n" + b"%" * (LIMIT + FORM_SLACK)
    )
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part)
        for part in (form[i : i + 8192] for i in range(0, len(form), 8192))
    )  # and never the last, empty chunk: the body has not ended
    head = _head(small, owner, enrollment_id, "Transfer-Encoding: chunked")
    status, body = _exchange(small, head, chunks)
    assert status.startswith(b"HTTP/1.1 413"), status
    assert b'"code":"document_too_large"' in body, body
    _left_nothing(small, owner, enrollment_id)

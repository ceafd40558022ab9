"""Failures leave no object behind, on both databases: a transaction that fails at its
commit after the document's object was written removes the object as it rolls back; and
what is left anyway (a process that died in between, a deleted enrollment) is removed by the
orphan sweeper, a job queued once an hour, once it is older than the grace period."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from enroll.context import AppContext
from enroll.document import service as documents
from enroll.document import sweeper
from enroll.document.service import Target, Upload
from enroll.kit.clock import system_clock
from enroll.storage.files import FileStorage
from tests.document.files import marker, pdf, upload
from tests.document.support import objects, rows
from tests.support.server import Server, Tenant

# A constraint checked only at COMMIT, violated: the commit itself fails (on both databases).
DEFERRED = [
    "CREATE TEMP TABLE commit_parent (id INTEGER PRIMARY KEY)",
    "CREATE TEMP TABLE commit_child (parent_id INTEGER"
    " REFERENCES commit_parent (id) DEFERRABLE INITIALLY DEFERRED)",
    "INSERT INTO commit_child (parent_id) VALUES (1)",
]


def test_a_failed_commit_removes_the_object_it_wrote(server: Server, tenant: Tenant) -> None:
    enrollment = tenant.enroll(tenant.instance()["id"])
    ctx = server.ctx
    file = Upload("pay.pdf", pdf(marker()))

    async def scenario() -> str:
        staged = await documents.stage(
            storage=ctx.storage,
            vault=ctx.vault,
            target=Target(tenant.id, enrollment["id"], enrollment["customerId"]),
            owner="applicant",
            type_="PAY_STUB",
            issued_at=date(2026, 1, 1),
            upload=file,
            sha256=await documents.digest(file),
            max_bytes=ctx.settings.max_document_bytes,
            now=ctx.clock.now(),
        )
        key = staged.document.storage_key
        assert await ctx.storage.get(key)  # the object is there before the row
        with pytest.raises(IntegrityError):  # raised by the COMMIT
            async with ctx.db.transaction() as session:
                _, created = await documents.record(session, storage=ctx.storage, staged=staged)
                assert created
                for statement in DEFERRED:
                    await session.execute(text(statement))
        return key

    assert server.on_loop(scenario()).startswith(f"documents/{tenant.id}/doc_")
    assert objects(server, tenant.id) == {}
    assert rows(server, tenant.id) == []


def test_a_concurrent_copy_wins_and_the_staged_object_goes(server: Server, tenant: Tenant) -> None:
    """Two uploads of the same bytes staged at once: the second row meets the first's (the
    unique key), answers that document, and its own object is removed."""
    enrollment = tenant.enroll(tenant.instance()["id"])
    ctx = server.ctx
    file = Upload("pay.pdf", pdf(marker()))

    async def scenario() -> tuple[list[bool], list[str]]:
        target = Target(tenant.id, enrollment["id"], enrollment["customerId"])
        sha256 = await documents.digest(file)
        staged = [
            await documents.stage(
                storage=ctx.storage,
                vault=ctx.vault,
                target=target,
                owner="applicant",
                type_="PAY_STUB",
                issued_at=date(2026, 1, 1),
                upload=file,
                sha256=sha256,
                max_bytes=ctx.settings.max_document_bytes,
                now=ctx.clock.now(),
            )
            for _ in range(2)
        ]
        outcomes = []
        for one in staged:
            async with ctx.db.transaction() as session:
                document, created = await documents.record(session, storage=ctx.storage, staged=one)
            outcomes.append((document.id, created))
        return [c for _, c in outcomes], [d for d, _ in outcomes]

    created, ids = server.on_loop(scenario())
    assert created == [True, False] and ids[0] == ids[1]
    assert list(objects(server, tenant.id)) == [f"documents/{tenant.id}/{ids[0]}"]


def test_a_failed_storage_write_leaves_no_row(server: Server, tenant: Tenant) -> None:
    """The file back end's root made unwritable: 503, no row, no object."""
    storage = server.ctx.storage
    assert isinstance(storage, FileStorage)
    enrollment_id = tenant.enroll(tenant.instance()["id"])["id"]
    blocker = storage.root / "documents" / tenant.id
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"")  # a file where the workspace's folder would go
    try:
        r = upload(tenant.client, enrollment_id, pdf(marker()))
    finally:
        blocker.unlink()
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "storage_unavailable"
    assert rows(server, tenant.id) == []
    assert objects(server, tenant.id) == {}


def test_the_sweeper_job_removes_old_objects_no_document_names(
    server: Server, tenant: Tenant
) -> None:
    ctx = server.ctx
    enrollment = tenant.enroll(tenant.instance()["id"])
    kept = upload(tenant.client, enrollment["id"], pdf(marker())).json()
    orphan = f"documents/{tenant.id}/doc_orphan"
    server.on_loop(ctx.storage.put(orphan, b"EV1 left by a process that died"))
    # A deleted enrollment's documents go with it; their objects stay until swept.
    gone = tenant.enroll(tenant.instance()["id"])
    dropped = upload(tenant.client, gone["id"], pdf(marker())).json()
    assert tenant.client.delete(f"/v1/enrollments/{gone['id']}").status_code in (200, 204)
    assert len(objects(server, tenant.id)) == 3

    async def queue(c: AppContext) -> tuple[bool, bool]:
        return await sweeper.schedule(c), await sweeper.schedule(c)

    # Half past an hour (either side of now), so the two calls fall in the same hour.
    half_past = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    with frozen(server, half_past):
        assert server.on_loop(queue(ctx)) == (True, False)  # one sweep an hour, however many ask
        server.drain()  # within the grace period: an upload may still be under way
    assert len(objects(server, tenant.id)) == 3

    with frozen(server, half_past + timedelta(hours=2)):
        assert server.on_loop(queue(ctx)) == (True, False)  # the next hour's
        assert server.drain() >= 1
    assert list(objects(server, tenant.id)) == [f"documents/{tenant.id}/{kept['id']}"]
    assert dropped["id"] != kept["id"]
    got = tenant.client.get(f"/v1/enrollments/{enrollment['id']}/documents/{kept['id']}/content")
    assert got.status_code == 200


@dataclass(frozen=True)
class Frozen:
    at: datetime

    def now(self) -> datetime:
        return self.at


@contextlib.contextmanager
def frozen(server: Server, at: datetime) -> Iterator[None]:
    """The server's injected clock stopped at ``at`` meanwhile."""
    server.ctx.clock = Frozen(at)
    try:
        yield
    finally:
        server.ctx.clock = system_clock

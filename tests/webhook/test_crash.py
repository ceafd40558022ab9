"""A worker killed mid-delivery (PostgreSQL, two worker processes): every committed event reaches
every subscribed endpoint at least once, first received in event order, and nothing written by
a rolled-back transaction is ever sent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from enroll.auth.scopes import WORKSPACE_SCOPES
from enroll.context import AppContext
from enroll.event import service as events
from enroll.kit import outbound
from enroll.models import Event
from enroll.webhook import service as webhooks
from enroll.webhook.schemas import WebhookEndpointCreate
from enroll.workspace import service as workspaces
from tests.support.http_endpoint import Checker, Received
from tests.support.server import PG_URL, Database, fresh_database
from tests.support.worker_processes import SHORT_LEASES, Workers

BEFORE, DURING = 300, 300  # events committed before the workers start, and while they run

pytestmark = pytest.mark.skipif(not PG_URL, reason="several workers share endpoints on PostgreSQL")


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    db = fresh_database("postgresql", tmp_path)
    yield db
    db.drop()


def slow_ok(_: Received, __: int) -> tuple[int, Any]:
    time.sleep(0.003)  # deliveries are in flight when the worker dies
    return 200, {}


async def _setup(ctx: AppContext, urls: list[str], secret: str) -> str:
    async with ctx.db.transaction() as session:
        workspace, _ = await workspaces.create_workspace(session, name="Webhook crash")
        for url in urls:
            await webhooks.create(
                session,
                workspace_id=workspace.id,
                body=WebhookEndpointCreate(url=url, secret=secret),
                scopes=WORKSPACE_SCOPES,
                allow_private=True,
                now=ctx.clock.now(),
            )
    return workspace.id


async def _write(ctx: AppContext, workspace_id: str, start: int, count: int) -> None:
    """``count`` events, five to a transaction, with a rolled-back transaction now and then."""
    for first in range(start, start + count, 5):
        async with ctx.db.transaction() as session:
            await events.record(
                session,
                workspace_id=workspace_id,
                occurred_at=ctx.clock.now(),
                events=[
                    events.NewEvent(type="enrollment.updated", data={"n": n})
                    for n in range(first, first + 5)
                ],
            )
        if first % 50 == 0:
            try:
                async with ctx.db.transaction() as session:
                    await events.record(
                        session,
                        workspace_id=workspace_id,
                        occurred_at=ctx.clock.now(),
                        events=[events.NewEvent(type="enrollment.updated", data={"ghost": True})],
                    )
                    raise RuntimeError("rolled back")
            except RuntimeError:
                pass


async def _event_ids(ctx: AppContext, workspace_id: str) -> list[str]:
    async with ctx.db.transaction(write=False) as session:
        rows = await session.scalars(
            select(Event.id)
            .where(Event.workspace_id == workspace_id)
            .order_by(Event.txid, Event.seq)
        )
        return list(rows.all())


def first_receipts(received: list[Received]) -> list[str]:
    seen: dict[str, None] = {}
    for r in received:
        seen.setdefault(r.headers["webhook-id"], None)
    return list(seen)


def test_a_worker_killed_mid_delivery_loses_nothing(pg: Database, tmp_path: Path) -> None:
    receiver = Checker()
    secret = outbound.new_secret()
    urls = [receiver.route(secret, slow_ok), receiver.route(secret, slow_ok)]
    workspace_id = pg.run(lambda ctx: _setup(ctx, urls, secret))
    pg.run(lambda ctx: _write(ctx, workspace_id, 0, BEFORE))

    def delivered() -> int:
        return min(len(first_receipts(receiver.received(url))) for url in urls)

    workers = Workers(pg.url, tmp_path, 2, **SHORT_LEASES)
    try:
        deadline = time.monotonic() + 300
        while delivered() < BEFORE // 3:
            assert time.monotonic() < deadline, ("no progress", workers.logs())
            time.sleep(0.05)  # the subject: worker processes delivering, and one killed
        workers.kill(0)  # mid-delivery: its endpoint waits out the lease
        killed_at = delivered()
        pg.run(lambda ctx: _write(ctx, workspace_id, BEFORE, DURING))
        workers.restart(0)
        while delivered() < BEFORE + DURING:
            assert time.monotonic() < deadline, (delivered(), workers.logs())
            assert workers.alive(), ("a worker died", workers.logs())
            time.sleep(0.2)  # the restarted process takes over after the lease, in real time
    finally:
        workers.stop()
        receiver.close()
    assert workers.stopped_cleanly(), workers.logs()
    assert killed_at < BEFORE + DURING
    committed = pg.run(lambda ctx: _event_ids(ctx, workspace_id))
    assert len(committed) == BEFORE + DURING
    for url in urls:
        received = receiver.received(url)
        assert all(r.verified for r in received)
        assert not [r for r in received if r.json["data"].get("ghost")]
        assert first_receipts(received) == committed  # each at least once, first in order

"""Queries of webhook endpoints and deliveries. Every one is scoped by workspace, except the
worker's (``queue_deliveries`` here, the rest in delivery_repository.py), which serve every
workspace."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.ids import new_id
from enroll.kit.repository import WorkspaceRepository
from enroll.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from enroll.models.webhook import webhook_delivery_table
from enroll.webhook import event_types

endpoints = WorkspaceRepository(WebhookEndpoint, not_found="No webhook endpoint {id!r}.")
deliveries = WorkspaceRepository(WebhookDelivery, not_found="No webhook delivery {id!r}.")


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    await session.delete(endpoint)
    await session.flush()


def list_endpoints(*, workspace_id: str, enabled: bool | None) -> Select[WebhookEndpoint]:
    return endpoints.search(workspace_id, enabled=enabled)


def list_deliveries(
    *, workspace_id: str, endpoint_id: str, status: str | None, event_type: str | None
) -> Select[WebhookDelivery]:
    return deliveries.search(workspace_id, status=status, event_type=event_type).where(
        WebhookDelivery.endpoint_id == endpoint_id
    )


async def attempts_of(
    session: AsyncSession, delivery_ids: list[str]
) -> dict[str, list[WebhookAttempt]]:
    found: dict[str, list[WebhookAttempt]] = {d: [] for d in delivery_ids}
    if delivery_ids:
        rows = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
        )
        for attempt in rows:
            found[attempt.delivery_id].append(attempt)
    return found


async def feed_head(session: AsyncSession, *, workspace_id: str) -> tuple[int, int]:
    """The (txid, seq) of the workspace's newest event, (0, 0) when it has none."""
    row = (
        await session.execute(
            select(Event.txid, Event.seq)
            .where(Event.workspace_id == workspace_id)
            .order_by(Event.txid.desc(), Event.seq.desc())
            .limit(1)
        )
    ).first()
    return (int(row.txid), int(row.seq)) if row else (0, 0)


def replay_period(
    *, workspace_id: str, since: datetime, until: datetime | None, head: tuple[int, int]
) -> list[ColumnElement[bool]]:
    """The workspace's events that occurred in [since, until), up to the feed's ``head``."""
    period = [
        Event.workspace_id == workspace_id,
        Event.occurred_at >= since,
        tuple_(Event.txid, Event.seq) <= tuple_(*head),
    ]
    if until is not None:
        period.append(Event.occurred_at < until)
    return period


async def events_in(
    session: AsyncSession,
    period: list[ColumnElement[bool]],
    *,
    after: tuple[int, int],
    limit: int,
) -> Sequence[Any]:
    """The next events of ``period`` (``replay_period``) after the position ``after`` (``id``,
    ``type``, ``txid``, ``seq``), in feed order."""
    return (
        await session.execute(
            select(Event.id, Event.type, Event.txid, Event.seq)
            .where(*period, tuple_(Event.txid, Event.seq) > tuple_(*after))
            .order_by(Event.txid, Event.seq)
            .limit(limit)
        )
    ).all()


class EndpointRef(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def workspace_id(self) -> str: ...


class Subscriber(EndpointRef, Protocol):
    @property
    def event_types(self) -> list[str]: ...


async def queue_deliveries(
    session: AsyncSession, endpoint: Subscriber, found: Sequence[Any], now: datetime
) -> int:
    """Write a pending delivery to ``endpoint`` for each of the feed's rows ``found`` (``id``,
    ``type``, ``txid``, ``seq``) that it subscribes to; how many."""
    rows = [
        delivery_row(endpoint, r.id, r.type, r.txid, r.seq, now)
        for r in found
        if event_types.subscribed(endpoint.event_types, r.type)
    ]
    if rows:
        await insert_deliveries(session, rows)
    return len(rows)


async def insert_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert deliveries (``delivery_row``'s) in one executemany."""
    await session.execute(insert(webhook_delivery_table), rows)


def delivery_row(
    endpoint: EndpointRef,
    event_id: str,
    event_type: str,
    txid: int,
    seq: int,
    now: datetime,
    delivery_id: str | None = None,
) -> dict[str, Any]:
    """A new pending delivery of one event to ``endpoint``, due now, for a plain Core insert."""
    return {
        "id": delivery_id or new_id(),
        "workspace_id": endpoint.workspace_id,
        "endpoint_id": endpoint.id,
        "event_id": event_id,
        "event_type": event_type,
        "event_txid": txid,
        "event_seq": seq,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_status_code": None,
        "last_error": None,
        "delivered_at": None,
        "created_at": now,
        "updated_at": now,
    }

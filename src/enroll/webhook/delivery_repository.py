"""Queries of the worker's webhook delivery (delivery.py): the lease on an endpoint's row, its
cursor in the event feed, its due deliveries, and the record of the attempts. Every write to
an endpoint is the lease holder's only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.event import repository as events
from enroll.models import Event, WebhookDelivery, WebhookEndpoint
from enroll.models.webhook import webhook_attempt_table, webhook_delivery_table
from enroll.workflows.queues import DeliveryStatus

_ATTEMPT_INSERT = insert(webhook_attempt_table)
_DELIVERY_UPDATE = (
    update(webhook_delivery_table)
    .where(webhook_delivery_table.c.id == bindparam("d_id"))
    .values(
        status=bindparam("d_status"),
        attempts=bindparam("d_attempts"),
        next_attempt_at=bindparam("d_next"),
        last_status_code=bindparam("d_code"),
        last_error=bindparam("d_error"),
        delivered_at=bindparam("d_delivered"),
        updated_at=bindparam("d_now"),
    )
)


def _ours(endpoint_id: str, worker: str) -> Any:
    return and_(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.locked_by == worker)


async def claim(
    session: AsyncSession, *, worker: str, now: datetime, lease: datetime, limit: int
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Lease up to ``limit`` enabled endpoints with something to do (a due delivery, or settled
    events past their cursor) to ``worker`` (FOR UPDATE SKIP LOCKED: concurrent workers lease
    different endpoints); the leased rows, as they are now."""
    below = await events.horizon(session)
    due = exists().where(
        WebhookDelivery.endpoint_id == WebhookEndpoint.id,
        WebhookDelivery.status == DeliveryStatus.PENDING,
        WebhookDelivery.next_attempt_at <= now,
    )
    fresh = exists().where(
        Event.workspace_id == WebhookEndpoint.workspace_id,
        tuple_(Event.txid, Event.seq)
        > tuple_(WebhookEndpoint.cursor_txid, WebhookEndpoint.cursor_seq),
        events.settled(below),
    )
    ids = (
        select(WebhookEndpoint.id)
        .where(
            WebhookEndpoint.enabled.is_(True),
            or_(WebhookEndpoint.locked_until.is_(None), WebhookEndpoint.locked_until < now),
            or_(due, fresh),
        )
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookEndpoint)
        .scalar_subquery()
    )
    return (
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(ids))
            .values(locked_by=worker, locked_until=lease)
            .returning(
                WebhookEndpoint.id,
                WebhookEndpoint.workspace_id,
                WebhookEndpoint.url,
                WebhookEndpoint.event_types,
                WebhookEndpoint.secret,
                WebhookEndpoint.previous_secret,
                WebhookEndpoint.previous_secret_expires_at,
                WebhookEndpoint.cursor_txid,
                WebhookEndpoint.cursor_seq,
            )
            .execution_options(synchronize_session=False)
        )
    ).all()


async def endpoint(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint | None:
    """The endpoint whose lease the worker holds (in whichever workspace), from the session's
    identity map when it holds it."""
    return await session.get(WebhookEndpoint, endpoint_id)


async def release(session: AsyncSession, *, endpoint_id: str, worker: str) -> None:
    await session.execute(
        update(WebhookEndpoint)
        .where(_ours(endpoint_id, worker))
        .values(locked_by=None, locked_until=None)
        .execution_options(synchronize_session=False)
    )


async def events_after(
    session: AsyncSession, *, workspace_id: str, cursor: tuple[int, int], limit: int
) -> Sequence[Row[str, str, int, int]]:
    """The next settled events of the workspace's feed after ``cursor`` (``id``, ``type``,
    ``txid``, ``seq``), in feed order."""
    below = await events.horizon(session)
    return (
        await session.execute(
            select(Event.id, Event.type, Event.txid, Event.seq)
            .where(
                Event.workspace_id == workspace_id,
                tuple_(Event.txid, Event.seq) > tuple_(*cursor),
                events.settled(below),
            )
            .order_by(Event.txid, Event.seq)
            .limit(limit)
        )
    ).all()


async def move_cursor(
    session: AsyncSession,
    *,
    endpoint_id: str,
    worker: str,
    cursor: tuple[int, int],
    lease: datetime,
) -> bool:
    """Move the endpoint's cursor and extend the lease; False when the lease is not
    ``worker``'s any more."""
    txid, seq = cursor
    moved = await session.execute(
        update(WebhookEndpoint)
        .where(_ours(endpoint_id, worker))
        .values(cursor_txid=txid, cursor_seq=seq, locked_until=lease)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


async def pending(
    session: AsyncSession, *, endpoint_id: str, limit: int
) -> Sequence[Row[str, int, datetime | None, Event]]:
    """The endpoint's pending deliveries (``id``, ``attempts``, ``next_attempt_at``, and the
    ``Event``), from the head of its queue, in order."""
    return (
        await session.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.attempts,
                WebhookDelivery.next_attempt_at,
                Event,
            )
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.status == DeliveryStatus.PENDING,
            )
            .order_by(
                WebhookDelivery.created_at,
                WebhookDelivery.event_txid,
                WebhookDelivery.event_seq,
                WebhookDelivery.id,
            )
            .limit(limit)
        )
    ).all()


async def hold(
    session: AsyncSession,
    *,
    endpoint_id: str,
    worker: str,
    failing_at: datetime | None,
    lease: datetime,
) -> Row[datetime | None] | None:
    """Extend the lease, and note whether the endpoint is failing (``failing_at``: when its
    latest attempt failed; None, it succeeded). The row's failing_since afterwards (the row's,
    not the one read at the claim: a person may have changed the endpoint since); None when
    the lease is not ``worker``'s any more."""
    held = (
        await session.execute(
            update(WebhookEndpoint)
            .where(_ours(endpoint_id, worker))
            .values(
                failing_since=None
                if failing_at is None
                else func.coalesce(
                    WebhookEndpoint.failing_since,
                    literal(failing_at, WebhookEndpoint.failing_since.type),
                ),
                locked_until=lease,
            )
            .returning(WebhookEndpoint.failing_since)
            .execution_options(synchronize_session=False)
        )
    ).all()
    return held[0] if len(held) == 1 else None


async def record_attempts(
    session: AsyncSession, attempts: list[dict[str, Any]], changes: list[dict[str, Any]]
) -> None:
    """Insert the attempts (rows of webhook_attempt) and update their deliveries (``changes``:
    the parameters of ``_DELIVERY_UPDATE``), each in one executemany."""
    await session.execute(_ATTEMPT_INSERT, attempts)
    await session.execute(_DELIVERY_UPDATE, changes)

"""Webhook endpoints: creating, changing, rotating secrets, and queueing deliveries by hand
(test, replay, retry). Delivering is delivery.py's, in the worker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.db import Database
from enroll.errors import FieldError, Forbidden, Unprocessable
from enroll.event import service as events
from enroll.ids import new_id
from enroll.kit import outbound
from enroll.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from enroll.webhook import event_types, repository
from enroll.webhook.errors import DeliverySucceeded, UrlRefused
from enroll.webhook.schemas import (
    Replay,
    RotateSecret,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
)
from enroll.workflows.queues import DeliveryStatus

REPLAY_SLICE = 1000


async def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse, with a 422, a URL the delivery would refuse: not https, or a host that is (or
    resolves to) a loopback, private, link-local or metadata address. A name that does not
    resolve now is let through: delivery checks again, every time."""
    try:
        refusal = await outbound.refusal(url, allow_private=allow_private)
    except outbound.Unreachable:
        refusal = None
    if refusal:
        raise UrlRefused(
            "The endpoint URL is refused.",
            errors=[FieldError(field="url", message=refusal)],
        )


def check_readable(patterns: Iterable[str], scopes: Set[str]) -> None:
    """Refuse (403) sending a key's endpoint events whose data the key could not read."""
    missing = sorted(s.value for s in event_types.read_scopes(patterns) if s.value not in scopes)
    if missing:
        raise Forbidden(
            f"Receiving these event types requires the scope {', '.join(missing)}, "
            "which reads the data they carry (docs/webhooks.md)."
        )


async def get(session: AsyncSession, *, workspace_id: str, endpoint_id: str) -> WebhookEndpoint:
    return await repository.endpoints.require(session, workspace_id=workspace_id, id=endpoint_id)


async def create(
    session: AsyncSession,
    *,
    workspace_id: str,
    body: WebhookEndpointCreate,
    scopes: Set[str],
    allow_private: bool,
    now: datetime,
) -> WebhookEndpoint:
    """A new endpoint receives the events written from now on: its cursor starts at the feed's
    head (an event of a transaction still running then was caused before it existed)."""
    check_readable(body.event_types, scopes)
    await check_url(body.url, allow_private=allow_private)
    txid, seq = await repository.feed_head(session, workspace_id=workspace_id)
    endpoint = WebhookEndpoint(
        id=new_id(),
        workspace_id=workspace_id,
        url=body.url,
        description=body.description,
        event_types=body.event_types,
        enabled=body.enabled,
        secret=body.secret or outbound.new_secret(),
        previous_secret=None,
        previous_secret_expires_at=None,
        disabled_reason=None,
        failing_since=None,
        cursor_txid=txid,
        cursor_seq=seq,
        locked_by=None,
        locked_until=None,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def update(
    session: AsyncSession,
    *,
    workspace_id: str,
    endpoint_id: str,
    body: WebhookEndpointUpdate,
    scopes: Set[str],
    allow_private: bool,
    now: datetime,
) -> WebhookEndpoint:
    changes = body.changes()
    endpoint = await get(session, workspace_id=workspace_id, endpoint_id=endpoint_id)
    if "url" in changes or "event_types" in changes:  # where the data goes, or which data
        check_readable(changes.get("event_types", endpoint.event_types), scopes)
    if "url" in changes:
        await check_url(changes["url"], allow_private=allow_private)
    for name, value in changes.items():
        setattr(endpoint, name, value)
    if changes.get("enabled"):  # enabled again by a person: start afresh
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    endpoint.updated_at = now
    await session.flush()
    return endpoint


async def delete(session: AsyncSession, *, workspace_id: str, endpoint_id: str) -> None:
    endpoint = await get(session, workspace_id=workspace_id, endpoint_id=endpoint_id)
    await repository.delete_endpoint(session, endpoint)


async def rotate_secret(
    session: AsyncSession,
    *,
    workspace_id: str,
    endpoint_id: str,
    body: RotateSecret,
    default_overlap_seconds: float,
    now: datetime,
) -> WebhookEndpoint:
    """A new secret signs from now on; the current one signs too for the overlap, so receivers
    can switch without missing a delivery."""
    endpoint = await get(session, workspace_id=workspace_id, endpoint_id=endpoint_id)
    overlap = body.overlap_seconds if body.overlap_seconds is not None else default_overlap_seconds
    endpoint.previous_secret = endpoint.secret if overlap > 0 else None
    endpoint.previous_secret_expires_at = now + timedelta(seconds=overlap) if overlap else None
    endpoint.secret = body.secret or outbound.new_secret()
    endpoint.updated_at = now
    await session.flush()
    return endpoint


async def send_test(
    session: AsyncSession, *, workspace_id: str, endpoint_id: str, now: datetime
) -> WebhookDelivery:
    """A ``webhook.test`` event, delivered to this endpoint only (the feed never delivers it)."""
    endpoint = await get(session, workspace_id=workspace_id, endpoint_id=endpoint_id)
    event = Event(
        id=new_id(),
        workspace_id=workspace_id,
        type=event_types.WEBHOOK_TEST,
        version=events.ENVELOPE_VERSION,
        occurred_at=now,
        subject_id=endpoint.id,
        data={"endpointId": endpoint.id, "message": "A test event from Enroll."},
    )
    session.add(event)
    await session.flush()
    await session.refresh(event, ["txid"])  # the database's default
    delivery_id = new_id()
    await repository.insert_deliveries(
        session,
        [
            repository.delivery_row(
                endpoint, event.id, event.type, event.txid, event.seq, now, delivery_id
            )
        ],
    )
    delivery = await repository.deliveries.get(session, workspace_id=workspace_id, id=delivery_id)
    assert delivery is not None
    return delivery


@dataclass(frozen=True, slots=True)
class _Target:
    """The endpoint a replay queues for, as it was when the replay began."""

    id: str
    workspace_id: str
    event_types: list[str]


# Called in the transaction of a replay's last slice with the number queued (Idempotency-Key).
Finish = Callable[[AsyncSession, int], Awaitable[None]]


async def replay(
    db: Database,
    *,
    workspace_id: str,
    endpoint_id: str,
    body: Replay,
    scopes: Set[str],
    now: datetime,
    finish: Finish | None = None,
) -> int:
    """Queue the endpoint's subscribed events of a period again, in event order, behind what it
    has queued already. Only events it would receive now are sent (its current eventTypes).

    Slice by slice, each in a short transaction of its own: a period of a million events in
    one transaction would hold back every workspace's feed while it runs. The period ends at
    the feed's head when the replay begins. A replay interrupted half-way has queued part of
    the period; deliveries are at least once, so the client simply replays again."""
    if body.until is not None and body.until <= body.since:
        raise Unprocessable(
            "until must be after since.",
            errors=[FieldError(field="until", message="Must be after since.")],
        )
    async with db.transaction(write=False) as session:
        found = await get(session, workspace_id=workspace_id, endpoint_id=endpoint_id)
        check_readable(found.event_types, scopes)
        target = _Target(found.id, found.workspace_id, list(found.event_types))
        head = await repository.feed_head(session, workspace_id=workspace_id)
    period = repository.replay_period(
        workspace_id=workspace_id, since=body.since, until=body.until, head=head
    )
    queued, after = 0, (-1, -1)
    while True:
        async with db.transaction() as session:
            await get(session, workspace_id=workspace_id, endpoint_id=endpoint_id)  # not deleted
            rows = await repository.events_in(session, period, after=after, limit=REPLAY_SLICE)
            queued += await repository.queue_deliveries(session, target, rows, now)
            last = len(rows) < REPLAY_SLICE
            if last and finish is not None:
                await finish(session, queued)
        if last:
            return queued
        after = (rows[-1].txid, rows[-1].seq)


async def get_delivery(
    session: AsyncSession, *, workspace_id: str, delivery_id: str, for_update: bool = False
) -> WebhookDelivery:
    return await repository.deliveries.require(
        session, workspace_id=workspace_id, id=delivery_id, for_update=for_update
    )


async def retry(
    session: AsyncSession,
    *,
    workspace_id: str,
    delivery_id: str,
    scopes: Set[str],
    now: datetime,
) -> WebhookDelivery:
    """Attempt a delivery again now: a failed one gets one more attempt (its schedule is spent),
    a pending one is brought forward."""
    delivery = await get_delivery(
        session, workspace_id=workspace_id, delivery_id=delivery_id, for_update=True
    )
    check_readable([delivery.event_type], scopes)
    if delivery.status == DeliveryStatus.SUCCEEDED:
        raise DeliverySucceeded("The delivery succeeded already.")
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.updated_at = now
    await session.flush()
    return delivery


async def attempts_of(
    session: AsyncSession, deliveries: list[WebhookDelivery]
) -> dict[str, list[WebhookAttempt]]:
    return await repository.attempts_of(session, [d.id for d in deliveries])

"""Delivering events to webhook endpoints: the worker's side.

Each endpoint is served by one worker at a time, under a lease on its row (so any number of
workers share the endpoints, and each endpoint gets its events in order). Serving an endpoint:

1. *Queue*: read the settled events after its cursor (event/repository.py: on PostgreSQL,
   nothing can still commit behind them), write a delivery for each it subscribes to, and move
   the cursor, in one transaction. Events of a rolled-back transaction never exist, so are
   never sent.
2. *Send*: POST the pending deliveries in order, outside any transaction, signed as the
   Standard Webhooks spec says; stop at the first failure (later events wait behind it).
3. *Record*: the attempts and the deliveries' outcomes in one transaction: success, or the
   next attempt on the retry schedule (``Retry-After`` honoured on 429 and 503), or failed
   when the schedule is spent. 410 Gone, or failing for ``webhook_disable_after_seconds``,
   disables the endpoint with a ``webhook_endpoint.disabled`` event.

A worker killed between 2 and 3 has sent what it did not record: after its lease another
worker sends those again (at least once; ``webhook-id`` is the event id, for receivers to
deduplicate).

The SQL of all this is delivery_repository.py's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from enroll.context import AppContext
from enroll.event import service as events
from enroll.ids import new_id
from enroll.kit import outbound
from enroll.kit.background import LeaseLost, jitter
from enroll.models import Event
from enroll.webhook import delivery_repository as leases
from enroll.webhook import event_types, repository
from enroll.webhook.schemas import WebhookEndpointOut
from enroll.workflows.queues import DeliveryStatus

log = logging.getLogger("enroll.webhooks")
QUEUE_BATCH = 1000  # events read from the feed per transaction
SEND_BATCH = 100  # deliveries sent between two recording transactions
EXCERPT_CHARS = 500
MAX_RETRY_AFTER_SECONDS = 86400.0


@dataclass(slots=True)
class Leased:
    """An endpoint this worker holds the lease of, as it was when claimed."""

    id: str
    workspace_id: str
    url: str
    event_types: list[str]
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    cursor_txid: int
    cursor_seq: int
    renewed: float = field(default_factory=time.monotonic)  # when the lease was last extended


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery_id: str
    attempts: int  # including this one
    at: datetime
    status_code: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None
    retry_after: float | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Deliverer:
    def __init__(self, ctx: AppContext, *, name: str) -> None:
        self.ctx = ctx
        self.name = name
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:  # one pool of keep-alive connections for every endpoint
            self._client = outbound.client(
                allow_private=self.ctx.settings.webhook_allow_private,
                timeout_seconds=self.ctx.settings.webhook_timeout_seconds,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run_once(self, limit: int) -> int:
        """Serve up to ``limit`` endpoints that have something to do, at once; the work done
        (events queued and deliveries attempted). An endpoint whose first pending delivery
        waits for its next attempt while later ones are due is claimed and does nothing: 0,
        so the worker waits for its next poll instead of claiming it again at once."""
        leased = await self._claim(limit)
        return sum(await asyncio.gather(*(self._serve(endpoint) for endpoint in leased)))

    # --- leases -----------------------------------------------------------------------------

    async def _claim(self, limit: int) -> list[Leased]:
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            rows = await leases.claim(
                session, worker=self.name, now=now, lease=self._lease(now), limit=limit
            )
        return [Leased(**row._mapping) for row in rows]

    async def _release(self, endpoint: Leased) -> None:
        try:
            async with self.ctx.db.transaction() as session:
                await leases.release(session, endpoint_id=endpoint.id, worker=self.name)
        except Exception:  # else it waits out its lease
            log.exception("could not release webhook endpoint %s", endpoint.id)

    # --- serving one endpoint ---------------------------------------------------------------

    async def _serve(self, endpoint: Leased) -> int:
        """Queue, send and record in rounds, for up to half the lease; every write extends the
        lease, and sending stops to record before half of it has gone. The work done."""
        half_lease = self.ctx.settings.job_lease_seconds / 2
        give_back = time.monotonic() + half_lease
        work = 0
        try:
            while time.monotonic() < give_back:
                while time.monotonic() < give_back:
                    queued = await self._queue(endpoint)
                    work += queued
                    if queued < QUEUE_BATCH:
                        break
                batch = await self._due(endpoint)
                if not batch:
                    return work
                outcomes: list[Outcome] = []
                for delivery_id, attempts, event in batch:
                    outcome = await self._attempt(endpoint, delivery_id, attempts, event)
                    outcomes.append(outcome)
                    if not outcome.ok or time.monotonic() - endpoint.renewed > half_lease:
                        break
                work += len(outcomes)
                if not await self._record(endpoint, outcomes) or not outcomes[-1].ok:
                    return work  # disabled, or the head of the queue waits for its next attempt
        except LeaseLost:
            log.info("webhook endpoint %s: lease lost (deleted, or taken over)", endpoint.id)
        except Exception:
            log.exception("webhook endpoint %s", endpoint.id)
        finally:
            await self._release(endpoint)
        return work

    async def _queue(self, endpoint: Leased) -> int:
        """Write deliveries for the next settled events of the feed; how many events read."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            rows = await leases.events_after(
                session,
                workspace_id=endpoint.workspace_id,
                cursor=(endpoint.cursor_txid, endpoint.cursor_seq),
                limit=QUEUE_BATCH,
            )
            if not rows:
                return 0
            await repository.queue_deliveries(session, endpoint, rows, now)
            last = rows[-1]
            if not await leases.move_cursor(
                session,
                endpoint_id=endpoint.id,
                worker=self.name,
                cursor=(last.txid, last.seq),
                lease=self._lease(now),
            ):
                raise LeaseLost(endpoint.id)  # another worker serves it now: undo
        endpoint.cursor_txid, endpoint.cursor_seq = last.txid, last.seq
        endpoint.renewed = time.monotonic()
        return len(rows)

    def _lease(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.ctx.settings.job_lease_seconds)

    async def _due(self, endpoint: Leased) -> list[tuple[str, int, Event]]:
        """The pending deliveries from the head of the queue that are due now, in order."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction(write=False) as session:
            rows = await leases.pending(session, endpoint_id=endpoint.id, limit=SEND_BATCH)
        due: list[tuple[str, int, Event]] = []
        for delivery_id, attempts, next_attempt_at, event in rows:
            if next_attempt_at is not None and next_attempt_at > now:
                break  # in order: what follows waits behind it
            due.append((delivery_id, attempts, event))
        return due

    async def _attempt(
        self, endpoint: Leased, delivery_id: str, attempts: int, event: Event
    ) -> Outcome:
        settings = self.ctx.settings
        now = self.ctx.clock.now()
        body = orjson.dumps(events.envelope(event)).decode()
        also = (
            [endpoint.previous_secret]
            if endpoint.previous_secret
            and endpoint.previous_secret_expires_at is not None
            and endpoint.previous_secret_expires_at > now
            else []
        )
        headers = outbound.signed_headers(
            secret=endpoint.secret, message_id=event.id, at=now, body=body, also=also
        )
        started = time.perf_counter()
        status: int | None = None
        excerpt = error = None
        retry_after: float | None = None
        # The address is checked as the client connects (outbound.GuardedBackend), once.
        refused = outbound.scheme_refusal(
            endpoint.url, allow_private=settings.webhook_allow_private
        )
        try:
            if refused:
                raise outbound.Refused(refused)
            answer = await outbound.post(
                self.client,
                endpoint.url,
                content=body.encode(),
                headers=headers,
                timeout_seconds=settings.webhook_timeout_seconds,
                max_answer_bytes=EXCERPT_CHARS * 4,
                truncate=True,
            )
            status = answer.status
            excerpt = answer.content.decode("utf-8", "replace")[:EXCERPT_CHARS] or None
            if status in (429, 503):
                retry_after = _retry_after(answer.headers.get("retry-after"), now)
        except outbound.Refused as exc:
            error = f"refused: {exc}"[:500]
        except outbound.Unreachable as exc:
            error = str(exc)[:500]
        latency = round((time.perf_counter() - started) * 1000)
        if error is None and not 200 <= (status or 0) < 300:
            error = f"HTTP {status}"
        return Outcome(delivery_id, attempts + 1, now, status, latency, excerpt, error, retry_after)

    async def _record(self, endpoint: Leased, outcomes: list[Outcome]) -> bool:
        """Write the attempts and what follows from them; False when the endpoint was disabled
        (or the lease lost)."""
        settings = self.ctx.settings
        now = self.ctx.clock.now()
        attempts, changes = _written(endpoint, outcomes, settings.webhook_retry_delays, now)
        last = outcomes[-1]
        async with self.ctx.db.transaction() as session:
            held = await leases.hold(
                session,
                endpoint_id=endpoint.id,
                worker=self.name,
                failing_at=None if last.ok else last.at,
                lease=self._lease(now),
            )
            if held is None:
                raise LeaseLost(endpoint.id)
            failing_since = held.failing_since
            await leases.record_attempts(session, attempts, changes)
            disable = None
            if last.status_code == 410:
                disable = "The endpoint answered 410 Gone."
            elif failing_since is not None and (now - failing_since).total_seconds() >= (
                settings.webhook_disable_after_seconds
            ):
                disable = f"Every delivery failed since {failing_since.isoformat()}."
            if disable is not None:
                await _disable(session, endpoint.id, reason=disable, now=now)
        endpoint.renewed = time.monotonic()
        return disable is None


def _written(
    endpoint: Leased, outcomes: list[Outcome], delays: list[float], now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The attempts' rows, and their deliveries' changes: succeeded, or the next attempt on
    the retry schedule (``Retry-After`` honoured), or failed when the schedule is spent."""
    attempts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for o in outcomes:
        attempts.append(
            {
                "id": new_id(),
                "delivery_id": o.delivery_id,
                "workspace_id": endpoint.workspace_id,
                "attempted_at": o.at,
                "status_code": o.status_code,
                "latency_ms": o.latency_ms,
                "response_excerpt": o.excerpt,
                "error": o.error,
            }
        )
        status, next_at = DeliveryStatus.SUCCEEDED, None
        if not o.ok:
            if o.attempts >= len(delays):
                status = DeliveryStatus.FAILED
            else:
                status = DeliveryStatus.PENDING
                wait = delays[o.attempts] * jitter(0.9, 1.1)
                if o.retry_after is not None:
                    wait = o.retry_after
                next_at = o.at + timedelta(seconds=wait)
        changes.append(
            {
                "d_id": o.delivery_id,
                "d_status": status,
                "d_attempts": o.attempts,
                "d_next": next_at,
                "d_code": o.status_code,
                "d_error": o.error,
                "d_delivered": o.at if o.ok else None,
                "d_now": now,
            }
        )
    return attempts, changes


async def _disable(session: Any, endpoint_id: str, *, reason: str, now: datetime) -> None:
    row = await leases.endpoint(session, endpoint_id)
    assert row is not None  # leases.hold updated it in this transaction
    row.enabled = False
    row.disabled_reason = reason
    row.updated_at = now
    await session.flush()
    log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
    await events.record(
        session,
        workspace_id=row.workspace_id,
        occurred_at=now,
        events=[
            events.NewEvent(
                type=event_types.ENDPOINT_DISABLED,
                data={
                    "object": WebhookEndpointOut.of(row).model_dump(mode="json", by_alias=True),
                    "reason": reason,
                },
                subject_id=endpoint_id,
            )
        ],
    )


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), capped at a day."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)

"""Idempotency-Key handling per the IETF draft (draft-ietf-httpapi-idempotency-key-header).

A key is claimed in its own short transaction (visible to concurrent requests at once). The
request then runs in its transaction, which also stores the successful response on the claim,
so "the change happened" and "the response is stored" commit together. A request that fails
releases its claim, so the client may retry with the same key.

Every door runs its work through ``begin`` and the ``Guard`` it returns (REST's route class,
the webhook replay, the import upload, GraphQL mutations), so this rule lives here only:

    outcome = await begin(ctx, scope=..., key=..., fingerprint=...)
    if isinstance(outcome, Response):
        return outcome                      # the first request's answer, replayed
    async with outcome as guard:            # leaving without complete() releases the key
        async with ctx.db.transaction() as session:
            ...                             # the work
            await guard.complete(session, response)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from enroll.db import Database
from enroll.idempotency import repository
from enroll.idempotency.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
)
from enroll.models import IdempotencyRecord
from enroll.workflows.queues import KeyStatus

if TYPE_CHECKING:
    from enroll.context import AppContext

REPLAYED_HEADER = "Idempotent-Replayed"
# 1-255 visible ASCII characters (inner spaces allowed): what an HTTP header carries unchanged.
KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
_KEPT_HEADERS = ("content-type", "location")


@dataclass(frozen=True, slots=True)
class Claim:
    record_id: str


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path}?{query}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    headers = dict(record.response_headers or {})
    headers[REPLAYED_HEADER] = "true"
    return Response(
        content=record.response_body or b"",
        status_code=record.response_status or 200,
        headers=headers,
    )


async def _claim(
    db: Database, *, scope: str, key: str, fingerprint: str, now: datetime, ttl: timedelta
) -> Claim | Response:
    """Claim ``key`` for this request, or answer as the draft says when it is taken."""
    if not re.fullmatch(KEY_PATTERN, key):
        raise InvalidIdempotencyKey("Idempotency-Key must be 1-255 printable ASCII characters.")
    for _ in range(3):
        try:
            async with db.transaction() as session:
                existing = await repository.get_by_key(session, scope=scope, key=key)
                if existing is not None and existing.expires_at <= now:
                    await repository.remove(session, existing)
                    existing = None
                if existing is None:
                    record = IdempotencyRecord(
                        scope=scope,
                        key=key,
                        fingerprint=fingerprint,
                        status=KeyStatus.IN_PROGRESS,
                        created_at=now,
                        expires_at=now + ttl,
                    )
                    session.add(record)
                    await session.flush()
                    return Claim(record_id=record.id)
        except IntegrityError:
            continue  # a concurrent request claimed it first: read what it wrote
        if existing.fingerprint != fingerprint:
            raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
        if existing.status == KeyStatus.IN_PROGRESS:
            raise IdempotencyKeyInUse(
                "A request with this Idempotency-Key is still being processed.",
                headers={"Retry-After": "1"},
            )
        return _replay(existing)
    raise IdempotencyKeyInUse("The Idempotency-Key is contended; retry.")


async def _store(session: AsyncSession, claim_: Claim, response: Response) -> None:
    record = await repository.get(session, claim_.record_id)
    if record is None:  # released meanwhile (expired and re-claimed): nothing to store
        return
    record.status = KeyStatus.COMPLETED
    record.response_status = response.status_code
    record.response_body = bytes(response.body)
    record.response_headers = {
        k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS
    }
    await session.flush()


async def _release(db: Database, claim_: Claim) -> None:
    async with db.transaction() as session:
        await repository.delete_by_id(session, claim_.record_id)


class Guard:
    """A request running under its claimed key (or under none: then it stores nothing).

    ``complete`` stores the answer in the work's transaction, so both commit or neither does.
    Leaving the ``async with`` block without having completed (the work answered an error), or
    by an exception (the work, or the commit after ``complete``, failed) releases the key, so
    the client may retry with it."""

    def __init__(self, db: Database, claim_: Claim | None) -> None:
        self._db = db
        self._claim = claim_
        self._completed = False

    @property
    def claimed(self) -> bool:
        """Whether a key is held (there is an answer to store)."""
        return self._claim is not None

    async def complete(self, session: AsyncSession, response: Response) -> None:
        if self._claim is not None:
            await _store(session, self._claim, response)
            self._completed = True

    async def release(self) -> None:
        """Release the key now: the transaction ``complete`` wrote in did not commit."""
        claim_, self._claim = self._claim, None
        if claim_ is not None:
            await _release(self._db, claim_)

    async def __aenter__(self) -> Guard:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None or not self._completed:
            await self.release()


async def begin(
    ctx: AppContext, *, scope: str, key: str | None, fingerprint: str
) -> Guard | Response:
    """Start a request under ``key`` (None: no key was sent, the guard does nothing): the
    guard to run it in, or the stored answer of the first request with this key and
    fingerprint (``Idempotent-Replayed: true``). Refuses (raises) a key used for another
    request (422 ``idempotency_key_reused``), one whose request is still running (409
    ``idempotency_key_in_use``) and a malformed one (422 ``invalid_idempotency_key``)."""
    if key is None:
        return Guard(ctx.db, None)
    outcome = await _claim(
        ctx.db,
        scope=scope,
        key=key,
        fingerprint=fingerprint,
        now=ctx.clock.now(),
        ttl=timedelta(hours=ctx.settings.idempotency_ttl_hours),
    )
    if isinstance(outcome, Response):
        return outcome
    return Guard(ctx.db, outcome)


PURGE_SLICE = 5_000


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    """Delete up to ``PURGE_SLICE`` expired records; the caller repeats, a transaction each,
    while that many went (a day of keys in one DELETE would be one long transaction)."""
    return await repository.purge_expired(session, now=now, limit=PURGE_SLICE)

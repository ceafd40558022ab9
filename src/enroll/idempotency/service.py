"""Idempotency-Key handling per the IETF draft (draft-ietf-httpapi-idempotency-key-header).

A key is claimed in its own short transaction (visible to concurrent requests at once). The
request then runs in its transaction, which also stores the successful response on the claim,
so "the change happened" and "the response is stored" commit together. A request that fails
releases its claim, so the client may retry with the same key.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from enroll.db import Database
from enroll.errors import Conflict, Unprocessable
from enroll.models import IdempotencyRecord

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


async def claim(
    db: Database, *, scope: str, key: str, fingerprint: str, now: datetime, ttl: timedelta
) -> Claim | Response:
    """Claim ``key`` for this request, or answer as the draft says when it is taken."""
    if not re.fullmatch(KEY_PATTERN, key):
        raise Unprocessable(
            "Idempotency-Key must be 1-255 printable ASCII characters.",
            code="invalid_idempotency_key",
        )
    for _ in range(3):
        try:
            async with db.transaction() as session:
                existing = await session.scalar(
                    select(IdempotencyRecord).where(
                        IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
                    )
                )
                if existing is not None and existing.expires_at <= now:
                    await session.delete(existing)
                    await session.flush()
                    existing = None
                if existing is None:
                    record = IdempotencyRecord(
                        scope=scope,
                        key=key,
                        fingerprint=fingerprint,
                        status="in_progress",
                        created_at=now,
                        expires_at=now + ttl,
                    )
                    session.add(record)
                    await session.flush()
                    return Claim(record_id=record.id)
        except IntegrityError:
            continue  # a concurrent request claimed it first: read what it wrote
        if existing.fingerprint != fingerprint:
            raise Unprocessable(
                "This Idempotency-Key was used with a different request.",
                code="idempotency_key_reused",
            )
        if existing.status == "in_progress":
            raise Conflict(
                "A request with this Idempotency-Key is still being processed.",
                code="idempotency_key_in_use",
                headers={"Retry-After": "1"},
            )
        return _replay(existing)
    raise Conflict("The Idempotency-Key is contended; retry.", code="idempotency_key_in_use")


async def complete(session: AsyncSession, claim_: Claim, response: Response) -> None:
    record = await session.get(IdempotencyRecord, claim_.record_id)
    if record is None:  # released meanwhile (expired and re-claimed): nothing to store
        return
    record.status = "completed"
    record.response_status = response.status_code
    record.response_body = bytes(response.body)
    record.response_headers = {
        k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS
    }
    await session.flush()


async def release(db: Database, claim_: Claim) -> None:
    async with db.transaction() as session:
        await session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.id == claim_.record_id)
        )


PURGE_SLICE = 5_000


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    """Delete up to ``PURGE_SLICE`` expired records; the caller repeats, a transaction each,
    while that many went (a day of keys in one DELETE would be one long transaction)."""
    expired = (
        select(IdempotencyRecord.id)
        .where(IdempotencyRecord.expires_at <= now)
        .limit(PURGE_SLICE)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.id.in_(expired))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

"""Queries of the Idempotency-Key records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.models import IdempotencyRecord


async def get_by_key(session: AsyncSession, *, scope: str, key: str) -> IdempotencyRecord | None:
    return await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    )


async def get(session: AsyncSession, record_id: str) -> IdempotencyRecord | None:
    """A record by id (a claim's), from the session's identity map when it holds it."""
    return await session.get(IdempotencyRecord, record_id)


async def remove(session: AsyncSession, record: IdempotencyRecord) -> None:
    """Delete a record read in this session, at once (its key may be claimed again)."""
    await session.delete(record)
    await session.flush()


async def delete_by_id(session: AsyncSession, record_id: str) -> None:
    await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))


async def purge_expired(session: AsyncSession, *, now: datetime, limit: int) -> int:
    """Delete up to ``limit`` records expired at ``now``; how many went."""
    expired = (
        select(IdempotencyRecord.id)
        .where(IdempotencyRecord.expires_at <= now)
        .limit(limit)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.id.in_(expired))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

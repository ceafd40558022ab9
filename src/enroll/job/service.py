"""Enqueueing jobs inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.models import Job

DEFAULT_MAX_ATTEMPTS = 8


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    payload: dict[str, Any],
    workspace_id: str | None,
    now: datetime,
    run_at: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    job = Job(
        kind=kind,
        payload=payload,
        workspace_id=workspace_id,
        status="queued",
        attempts=0,
        max_attempts=max_attempts,
        run_at=run_at or now,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    await session.flush()
    return job


def list_for_workspace(workspace_id: str, *, status: str | None) -> Select[Job]:
    stmt = select(Job).where(Job.workspace_id == workspace_id)
    if status:
        stmt = stmt.where(Job.status == status)
    return stmt

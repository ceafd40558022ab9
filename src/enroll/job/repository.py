"""Queries of the job queue: queueing a job (in the caller's transaction), and the worker's
side, claiming due jobs under a lease and finishing them while the lease is still its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.models import Job
from enroll.models.job import job_table
from enroll.workflows.queues import JobStatus

_INSERT = insert(job_table)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    kind: str
    workspace_id: str | None
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


async def insert_jobs(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One INSERT, an executemany for several rows."""
    await session.execute(_INSERT, rows[0] if len(rows) == 1 else rows)


async def attempts_of(session: AsyncSession, job_id: str) -> Any:
    """The job's ``attempts`` and ``max_attempts``; None when there is no such job."""
    return (
        await session.execute(select(Job.attempts, Job.max_attempts).where(Job.id == job_id))
    ).first()


def list_for_workspace(workspace_id: str, *, status: str | None) -> Select[Job]:
    stmt = select(Job).where(Job.workspace_id == workspace_id)
    if status:
        stmt = stmt.where(Job.status == status)
    return stmt


# --- the worker's side: every write below is the lease holder's only --------------------------


def _ours(job: Claimed, worker: str) -> Any:
    return and_(Job.id == job.id, Job.locked_by == worker, Job.attempts == job.attempts)


async def claim(
    session: AsyncSession, *, worker: str, now: datetime, lease: datetime, limit: int
) -> list[Claimed]:
    """Mark up to ``limit`` due jobs ``running`` under ``worker``'s lease (FOR UPDATE SKIP
    LOCKED: concurrent workers claim different jobs), ordered by id."""
    due = or_(
        and_(Job.status == JobStatus.QUEUED, Job.run_at <= now),
        and_(Job.status == JobStatus.RUNNING, Job.locked_until < now),  # its worker vanished
    )
    ids = (
        select(Job.id)
        .where(due)
        .order_by(Job.run_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        update(Job)
        .where(Job.id.in_(ids))
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            locked_by=worker,
            locked_until=lease,
            updated_at=now,
        )
        .returning(Job.id, Job.kind, Job.workspace_id, Job.payload, Job.attempts, Job.max_attempts)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(stmt)).all()
    return sorted(
        (
            Claimed(r.id, r.kind, r.workspace_id, r.payload, r.attempts, r.max_attempts)
            for r in rows
        ),
        key=lambda c: c.id,
    )


async def release(session: AsyncSession, job: Claimed, *, worker: str, now: datetime) -> None:
    """Undo the claim of a job that never started: queued again, the attempt not counted."""
    await session.execute(
        update(Job)
        .where(_ours(job, worker), Job.status == JobStatus.RUNNING)
        .values(
            status=JobStatus.QUEUED,
            attempts=Job.attempts - 1,
            locked_by=None,
            locked_until=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


async def succeed(session: AsyncSession, job: Claimed, *, worker: str, now: datetime) -> bool:
    """Mark the job succeeded while the lease is still ``worker``'s; False when it is not."""
    finished = await session.execute(
        update(Job)
        .where(_ours(job, worker), Job.status == JobStatus.RUNNING)
        .values(status=JobStatus.SUCCEEDED, finished_at=now, updated_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return bool(finished.rowcount == 1)  # type: ignore[attr-defined]


async def renew(
    session: AsyncSession, job: Claimed, *, worker: str, now: datetime, until: datetime
) -> None:
    await session.execute(
        update(Job)
        .where(_ours(job, worker), Job.status == JobStatus.RUNNING)
        .values(locked_until=until, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def fail(
    session: AsyncSession,
    job: Claimed,
    *,
    worker: str,
    now: datetime,
    error: str,
    retry_at: datetime | None,
) -> None:
    """Record a failed attempt: queued again at ``retry_at``, or failed for good (None)."""
    final = retry_at is None
    await session.execute(
        update(Job)
        .where(_ours(job, worker))
        .values(
            status=JobStatus.FAILED if final else JobStatus.QUEUED,
            last_error=error,
            run_at=now if final else retry_at,
            finished_at=now if final else None,
            locked_by=None,
            locked_until=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )

"""Enqueueing jobs inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.ids import new_id
from enroll.job import repository
from enroll.job.registry import Payload
from enroll.models import Job
from enroll.workflows.queues import JobStatus

DEFAULT_MAX_ATTEMPTS = 8


def queued_row(
    *,
    kind: str,
    payload: Payload | dict[str, Any],
    workspace_id: str | None,
    now: datetime,
    run_at: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    job_id: str | None = None,
) -> dict[str, Any]:
    """The row of a job to queue (``enqueue`` one; ``enqueue_rows`` many at once).
    ``job_id``: an id chosen beforehand, for a payload that names its own job (see
    ``is_final_attempt``). ``payload``: the kind's model (job/registry.py), or the stored JSON
    of a job being queued again."""
    return {
        "id": job_id or new_id(),
        "kind": kind,
        "payload": payload.as_json() if isinstance(payload, Payload) else payload,
        "workspace_id": workspace_id,
        "status": JobStatus.QUEUED,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_at": run_at or now,
        "locked_until": None,
        "locked_by": None,
        "last_error": None,
        "finished_at": None,
        "created_at": now,
        "updated_at": now,
    }


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    payload: Payload | dict[str, Any],
    workspace_id: str | None,
    now: datetime,
    run_at: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    job_id: str | None = None,
) -> str:
    """Queue a job in the caller's transaction and return its id. A plain Core INSERT:
    service tasks queue one per state change, and the ORM's unit of work cost more than the
    statement."""
    row = queued_row(
        kind=kind,
        payload=payload,
        workspace_id=workspace_id,
        now=now,
        run_at=run_at,
        max_attempts=max_attempts,
        job_id=job_id,
    )
    await repository.insert_jobs(session, [row])
    return str(row["id"])


async def enqueue_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Queue many jobs (rows from ``queued_row``) with one executemany INSERT."""
    await repository.insert_jobs(session, rows)


async def is_final_attempt(session: AsyncSession, job_id: str | None) -> bool:
    """Whether the running attempt of the job is its last (then a failure is recorded rather
    than raised for another try)."""
    if job_id is None:
        return False
    row = await repository.attempts_of(session, job_id)
    return row is not None and row.attempts >= row.max_attempts


def list_for_workspace(workspace_id: str, *, status: str | None) -> Select[Job]:
    """The workspace's jobs, to paginate (``status``: of that status only)."""
    return repository.list_for_workspace(workspace_id, status=status)

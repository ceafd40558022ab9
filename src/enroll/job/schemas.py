"""A job's representation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from enroll.kit.schemas import OutModel
from enroll.models import Job

JobStatus = Literal["queued", "running", "succeeded", "failed"]


class JobOut(OutModel):
    id: str
    kind: str
    payload: dict[str, Any]
    status: JobStatus
    attempts: int
    max_attempts: int
    run_at: datetime
    last_error: str | None
    finished_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, j: Job) -> JobOut:
        return cls(
            id=j.id,
            kind=j.kind,
            payload=j.payload,
            status=j.status,
            attempts=j.attempts,
            max_attempts=j.max_attempts,
            run_at=j.run_at,
            last_error=j.last_error,
            finished_at=j.finished_at,
            created_at=j.created_at,
        )

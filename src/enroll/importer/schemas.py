from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from enroll.kit.schemas import OutModel
from enroll.models import EnrollmentImport
from enroll.workflows.runs import RunStatus


class ImportCounts(OutModel):
    rows: int = Field(0, description="Data rows read so far.")
    created: int = Field(0, description="Enrollments created (a dry run: would be created).")
    duplicates: int = Field(0, description="Rows matching an earlier row or an enrollment.")
    invalid: int = Field(0, description="Rows that failed validation.")
    eligible: int = 0
    ineligible: int = 0


class ImportProgress(OutModel):
    bytes_done: int
    bytes_total: int
    rows_done: int
    fraction: float = Field(description="Share of the file processed, 0 to 1.")


class ImportOut(OutModel):
    id: str
    program_instance_id: str
    status: str = Field(description="receiving, queued, running, completed or failed.")
    format: str
    dry_run: bool
    events: bool = Field(description="Whether per-enrollment events are written.")
    evaluate: bool = Field(description="false: the rows stay candidates, unevaluated.")
    counts: ImportCounts
    progress: ImportProgress
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, imp: EnrollmentImport) -> ImportOut:
        total = imp.file_bytes or 0
        done = (
            1.0 if imp.status == RunStatus.COMPLETED else imp.bytes_done / total if total else 0.0
        )
        return cls(
            id=imp.id,
            program_instance_id=imp.program_instance_id,
            status=imp.status,
            format=imp.format,
            dry_run=imp.dry_run,
            events=imp.emit_events,
            evaluate=imp.evaluate,
            counts=ImportCounts(**imp.counts),
            progress=ImportProgress(
                bytes_done=imp.bytes_done,
                bytes_total=total,
                rows_done=imp.rows_done,
                fraction=round(done, 4),
            ),
            error=imp.error,
            created_at=imp.created_at,
            started_at=imp.started_at,
            finished_at=imp.finished_at,
        )


class ResultRow(OutModel):
    """One line of the results file (JSON Lines)."""

    row: int
    outcome: str = Field(description="created, duplicate or invalid (a dry run: would_create).")
    enrollment_id: str | None = None
    status: str | None = None
    duplicate_of: str | None = None
    duplicate_key: str | None = None
    errors: list[dict[str, Any]] | None = None

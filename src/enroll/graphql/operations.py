"""Background work the workspace can watch: imports (REST: GET /v1/imports/{id}) and jobs
(REST: GET /v1/jobs). Starting an import is a file upload and stays REST only."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID
from strawberry.scalars import JSON

from enroll.auth.scopes import Scope
from enroll.graphql.common import Info, connection, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import field
from enroll.graphql.types import Connection, fields_of
from enroll.importer import service as imports
from enroll.importer.schemas import ImportOut
from enroll.job import service as jobs
from enroll.job.schemas import JobOut
from enroll.models import EnrollmentImport as ImportRow
from enroll.models import Job as JobRow


@strawberry.enum(description="A job's state (REST: JobStatus).", graphql_name_from="value")
class JobStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@strawberry.type
class ImportCounts:
    rows: int
    created: int
    duplicates: int
    invalid: int
    eligible: int
    ineligible: int


@strawberry.type(description="Byte counts are Float: files exceed GraphQL's 32-bit Int.")
class ImportProgress:
    bytes_done: float
    bytes_total: float
    rows_done: int
    fraction: float = strawberry.field(description="Share of the file processed, 0 to 1.")


@strawberry.type(description="An enrollment import (REST: ImportOut).")
class Import:
    id: ID
    program_instance_id: ID
    status: str = strawberry.field(description="receiving, queued, running, completed or failed.")
    format: str
    dry_run: bool
    events: bool
    evaluate: bool = strawberry.field(
        description="False: rows stay candidates, unevaluated (REST: evaluate)."
    )
    counts: ImportCounts
    progress: ImportProgress
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: ImportRow) -> Import:
        out = ImportOut.of(row)
        return cls(
            **fields_of(out, exclude={"counts", "progress"}),
            counts=ImportCounts(**fields_of(out.counts)),
            progress=ImportProgress(**fields_of(out.progress)),
        )


@strawberry.type(description="A background job of the workspace (REST: JobOut).")
class Job:
    id: ID
    kind: str
    payload: JSON
    status: JobStatus
    attempts: int
    max_attempts: int
    run_at: datetime
    last_error: str | None
    finished_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: JobRow) -> Job:
        out = JobOut.of(row)
        return cls(**fields_of(out, exclude={"status"}), status=JobStatus(out.status))


@strawberry.type
class OperationsQuery:
    @field(
        "An import: status, counts and progress (scope imports:read).",
        Scope.IMPORTS_READ,
        name="import",
    )
    async def import_(self, info: Info, id: ID) -> Import | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.IMPORTS_READ)
        import_id = ref(id)

        async def work(session: AsyncSession) -> Import:
            return Import.of(
                await imports.get(session, workspace_id=workspace_id, import_id=import_id)
            )

        return await ctx.read(work)

    @field(
        "Background jobs of the workspace, by id; failed ones keep their last error "
        "(scope jobs:read).",
        Scope.JOBS_READ,
    )
    async def jobs(
        self,
        info: Info,
        status: JobStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Job]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.JOBS_READ)
        stmt = jobs.list_for_workspace(workspace_id, status=status.value if status else None)
        return await connection(ctx, stmt, JobRow.id, Job.of, first=first, after=after)

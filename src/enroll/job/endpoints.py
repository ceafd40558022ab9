from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.auth.dependencies import get_session, require, workspace_id_of
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.job import service
from enroll.kit.pagination import Page, PageParams, page_params, paginate
from enroll.kit.routing import TransactionalRoute
from enroll.kit.schemas import OutModel
from enroll.models import Job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=TransactionalRoute)
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


@router.get("")
async def list_jobs(
    session: Annotated[AsyncSession, Depends(get_session)],
    principal: Annotated[Principal, require(Scope.JOBS_READ)],
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[JobStatus | None, Query()] = None,
) -> Page[JobOut]:
    """Background jobs of the workspace; failed ones keep their last error."""
    stmt = service.list_for_workspace(workspace_id_of(principal), status=status)
    result = await paginate(session, stmt, params, Job.id)
    return result.to_page([JobOut.of(j) for j in result.items])

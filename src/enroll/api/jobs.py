from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.job import service
from enroll.job.schemas import JobOut, JobStatus
from enroll.kit.pagination import Page, PageParams, page_params
from enroll.kit.repository import paginate
from enroll.models import Job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=TransactionalRoute)


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

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.errors import InvalidTransition, RuleTooComplex, raises
from enroll.kit.pagination import Page, PageParams, page_params
from enroll.kit.repository import paginate
from enroll.models import ProgramInstance
from enroll.program.errors import SlugTaken
from enroll.program_instance import repository, service
from enroll.program_instance.errors import InstanceHasEnrollments
from enroll.program_instance.schemas import (
    ProgramInstanceCreate,
    ProgramInstanceOut,
    ProgramInstanceUpdate,
)
from enroll.workflows.program_instance import InstanceStatus

router = APIRouter(
    prefix="/v1/programInstances", tags=["program instances"], route_class=TransactionalRoute
)
Session = Annotated[AsyncSession, Depends(get_session)]
Reader = Annotated[Principal, require(Scope.PROGRAM_INSTANCES_READ)]
Writer = Annotated[Principal, require(Scope.PROGRAM_INSTANCES_WRITE)]
Ctx = Annotated[AppContext, Depends(get_ctx)]


@router.post("", status_code=201)
@raises(SlugTaken, RuleTooComplex)
async def create_program_instance(
    body: ProgramInstanceCreate, session: Session, principal: Writer, response: Response, ctx: Ctx
) -> ProgramInstanceOut:
    """Instantiate a catalog program in this workspace (from `programId` or `programSlug`)."""
    instance = await service.create(
        session, workspace_id=workspace_id_of(principal), body=body, now=ctx.clock.now()
    )
    response.headers["Location"] = f"/v1/programInstances/{instance.id}"
    return ProgramInstanceOut.of(instance)


@router.get("")
async def list_program_instances(
    session: Session,
    principal: Reader,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[InstanceStatus | None, Query()] = None,
    program_id: Annotated[str | None, Query(alias="programId", max_length=100)] = None,
) -> Page[ProgramInstanceOut]:
    stmt = repository.search(
        workspace_id=workspace_id_of(principal),
        status=status.value if status else None,
        program_id=program_id,
    )
    result = await paginate(session, stmt, params, ProgramInstance.id)
    return result.to_page([ProgramInstanceOut.of(i) for i in result.items])


@router.get("/{id_or_slug}")
async def get_program_instance(
    id_or_slug: str, session: Session, principal: Reader
) -> ProgramInstanceOut:
    instance = await service.get(session, workspace_id=workspace_id_of(principal), ref=id_or_slug)
    return ProgramInstanceOut.of(instance)


@router.patch("/{id_or_slug}")
@raises(InvalidTransition, RuleTooComplex)
async def update_program_instance(
    id_or_slug: str, body: ProgramInstanceUpdate, session: Session, principal: Writer, ctx: Ctx
) -> ProgramInstanceOut:
    """Change fields; `status` moves along draft → active ⇄ paused → closed → archived."""
    instance = await service.update(
        session,
        workspace_id=workspace_id_of(principal),
        ref=id_or_slug,
        body=body,
        now=ctx.clock.now(),
    )
    return ProgramInstanceOut.of(instance)


@router.delete("/{id_or_slug}", status_code=204)
@raises(InstanceHasEnrollments)
async def delete_program_instance(
    id_or_slug: str, session: Session, principal: Writer, request: Request
) -> Response:
    """Delete an instance that has no enrollments (otherwise close or archive it)."""
    await service.delete(session, workspace_id=workspace_id_of(principal), ref=id_or_slug)
    return Response(status_code=204)

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_ctx, get_session, require
from enroll.api.routing import TransactionalRoute
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.errors import RuleTooComplex, raises
from enroll.kit.pagination import Page, PageParams, page_params
from enroll.kit.repository import paginate
from enroll.models import Program
from enroll.program import repository, service
from enroll.program.errors import SlugTaken
from enroll.program.schemas import ProgramCreate, ProgramOut, ProgramType, ProgramUpdate

router = APIRouter(prefix="/v1/programs", tags=["programs"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]


@router.post("", status_code=201, dependencies=[require(Scope.PROGRAMS_WRITE, workspace=False)])
@raises(SlugTaken, RuleTooComplex)
async def create_program(body: ProgramCreate, session: Session) -> ProgramOut:
    """Add a program to the platform catalog (platform keys)."""
    return ProgramOut.of(await service.create(session, body))


@router.get("", dependencies=[require(workspace=False)])
async def list_programs(
    session: Session,
    params: Annotated[PageParams, Depends(page_params)],
    state: Annotated[str | None, Query(max_length=50, description="Offered in this state.")] = None,
    type: Annotated[ProgramType | None, Query()] = None,
    active: Annotated[bool | None, Query()] = None,
) -> Page[ProgramOut]:
    """The catalog, readable with any key."""
    stmt = repository.search(state=state, type_=type.value if type else None, active=active)
    result = await paginate(session, stmt, params, Program.id)
    return result.to_page([ProgramOut.of(p) for p in result.items])


@router.get("/{id_or_slug}", dependencies=[require(workspace=False)])
async def get_program(id_or_slug: str, session: Session) -> ProgramOut:
    return ProgramOut.of(await service.get(session, id_or_slug))


@router.patch("/{id_or_slug}", dependencies=[require(Scope.PROGRAMS_WRITE, workspace=False)])
@raises(RuleTooComplex)
async def update_program(
    id_or_slug: str,
    body: ProgramUpdate,
    session: Session,
    ctx: Annotated[AppContext, Depends(get_ctx)],
) -> ProgramOut:
    """Changing states, manufacturers or criteria records a new criteria version for every
    instance of the program."""
    return ProgramOut.of(await service.update(session, id_or_slug, body, now=ctx.clock.now()))

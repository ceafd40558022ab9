"""Catalog writes (REST: POST and PATCH /v1/programs): platform keys with programs:write."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID, UNSET
from strawberry.scalars import JSON

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.graphql.common import Info, mutate, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import mutation
from enroll.graphql.inputs import parse, wire
from enroll.graphql.types import Program
from enroll.program import service as programs
from enroll.program.schemas import ProgramCreate, ProgramType, ProgramUpdate


@strawberry.input(description="A new catalog program (REST: ProgramCreate).")
class ProgramCreateInput:
    slug: str
    name: str
    type: ProgramType
    description: str | None = UNSET
    category: str | None = UNSET
    states: list[str] | None = UNSET
    manufacturer_slugs: list[str] | None = UNSET
    active: bool | None = UNSET
    year: int | None = UNSET
    metadata: JSON | None = UNSET
    eligibility_criteria: list[JSON] | None = UNSET


@strawberry.input(
    description="A change to a catalog program (REST: ProgramUpdate): only the fields sent "
    "change; null clears description, category and year."
)
class ProgramUpdateInput:
    name: str | None = UNSET
    description: str | None = UNSET
    type: ProgramType | None = UNSET
    category: str | None = UNSET
    states: list[str] | None = UNSET
    manufacturer_slugs: list[str] | None = UNSET
    active: bool | None = UNSET
    year: int | None = UNSET
    metadata: JSON | None = UNSET
    eligibility_criteria: list[JSON] | None = UNSET


@strawberry.type
class CatalogMutation:
    @mutation(
        "Add a program to the platform catalog (platform keys, scope programs:write).",
        Scope.PROGRAMS_WRITE,
        workspace=False,
    )
    async def create_program(self, info: Info, input: ProgramCreateInput) -> Program:
        async def work(session: AsyncSession, principal: Principal) -> Program:
            return Program.of(await programs.create(session, parse(ProgramCreate, wire(input))))

        return await mutate(info, Scope.PROGRAMS_WRITE, work, workspace=False)

    @mutation(
        "Change a catalog program (id or slug; platform keys, scope programs:write). "
        "Changing states, manufacturers or criteria records a new criteria version for every "
        "instance of the program.",
        Scope.PROGRAMS_WRITE,
        workspace=False,
    )
    async def update_program(self, info: Info, id: ID, input: ProgramUpdateInput) -> Program:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> Program:
            body = parse(ProgramUpdate, wire(input))
            return Program.of(await programs.update(session, ref(id), body, now=ctx.now()))

        return await mutate(info, Scope.PROGRAMS_WRITE, work, workspace=False)

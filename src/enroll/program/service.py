from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.eligibility import service as criteria
from enroll.errors import NotFound
from enroll.models import Program
from enroll.program import repository
from enroll.program.errors import SlugTaken
from enroll.program.schemas import ProgramCreate, ProgramUpdate

# Fields whose change changes what every instance of the program checks.
CRITERIA_FIELDS = frozenset({"states", "manufacturer_slugs", "eligibility_criteria"})


async def get(session: AsyncSession, ref: str) -> Program:
    program = await repository.get_by_id_or_slug(session, ref)
    if program is None:
        raise NotFound(f"No program {ref!r}.")
    return program


async def create(session: AsyncSession, body: ProgramCreate) -> Program:
    if await repository.slug_taken(session, body.slug):
        raise SlugTaken(f"The slug {body.slug!r} is taken.")
    program = Program(
        slug=body.slug,
        name=body.name,
        description=body.description,
        type=body.type.value,
        category=body.category,
        states=[s.upper() for s in body.states],
        manufacturer_slugs=body.manufacturer_slugs,
        active=body.active,
        year=body.year,
        metadata_=body.metadata,
        eligibility_criteria=criteria.as_stored(body.eligibility_criteria),
    )
    session.add(program)
    await session.flush()
    return program


async def update(session: AsyncSession, ref: str, body: ProgramUpdate, *, now: datetime) -> Program:
    program = await get(session, ref)
    changes = body.changes()
    for field, value in changes.items():
        if field == "states":
            value = [s.upper() for s in value]
        elif field == "eligibility_criteria":
            value = criteria.as_stored(body.eligibility_criteria or [])
        setattr(program, "metadata_" if field == "metadata" else field, value)
    await session.flush()
    if changes.keys() & CRITERIA_FIELDS:
        await criteria.record_versions_for_program(session, program, now=now)
        await session.flush()
    return program

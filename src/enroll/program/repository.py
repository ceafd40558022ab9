from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.kit.sql import JsonArrayContains
from enroll.models import Program


async def get_by_id_or_slug(session: AsyncSession, ref: str) -> Program | None:
    return await session.scalar(select(Program).where(or_(Program.id == ref, Program.slug == ref)))


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return (await session.scalar(select(Program.id).where(Program.slug == slug))) is not None


def search(*, state: str | None, type_: str | None, active: bool | None) -> Select[Program]:
    stmt = select(Program)
    if state:
        # A program with no states is offered everywhere.
        stmt = stmt.where(
            or_(JsonArrayContains(Program.states, state.upper()), Program.states == [])
        )
    if type_:
        stmt = stmt.where(Program.type == type_)
    if active is not None:
        stmt = stmt.where(Program.active == active)
    return stmt

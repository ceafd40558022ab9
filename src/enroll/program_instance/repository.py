from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.models import Enrollment, ProgramInstance


async def get(
    session: AsyncSession, *, workspace_id: str, ref: str, for_update: bool = False
) -> ProgramInstance | None:
    stmt = select(ProgramInstance).where(
        ProgramInstance.workspace_id == workspace_id,
        or_(ProgramInstance.id == ref, ProgramInstance.slug == ref),
    )
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return (
        await session.scalar(select(ProgramInstance.id).where(ProgramInstance.slug == slug))
    ) is not None


def search(
    *, workspace_id: str, status: str | None, program_id: str | None
) -> Select[ProgramInstance]:
    stmt = select(ProgramInstance).where(ProgramInstance.workspace_id == workspace_id)
    if status:
        stmt = stmt.where(ProgramInstance.status == status)
    if program_id:
        stmt = stmt.where(ProgramInstance.program_id == program_id)
    return stmt


async def count_enrollments(
    session: AsyncSession, *, instance_id: str, status: str | None = None
) -> int:
    stmt = (
        select(func.count())
        .select_from(Enrollment)
        .where(Enrollment.program_instance_id == instance_id)
    )
    if status:
        stmt = stmt.where(Enrollment.status == status)
    return int(await session.scalar(stmt) or 0)

from __future__ import annotations

from functools import cache

from sqlalchemy import Select, String, bindparam, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import with_expression
from sqlalchemy.orm.util import identity_key

from enroll.kit.repository import WorkspaceRepository
from enroll.models import Enrollment, NotificationTemplate, ProgramInstance

instances = WorkspaceRepository(ProgramInstance)


@cache
def _by_ref(for_update: bool) -> Select[ProgramInstance]:
    # Built once with bound parameters: every enrollment request starts with this lookup,
    # and building the statement anew cost more CPU than running it.
    ref = bindparam("ref", type_=String)
    templates = exists().where(
        NotificationTemplate.workspace_id == ProgramInstance.workspace_id,
        or_(
            NotificationTemplate.program_instance_id == ProgramInstance.id,
            NotificationTemplate.program_instance_id.is_(None),
        ),
    )
    stmt = (
        select(ProgramInstance)
        .options(with_expression(ProgramInstance.has_notification_templates, templates))
        .where(
            ProgramInstance.workspace_id == bindparam("workspace_id"),
            or_(ProgramInstance.id == ref, ProgramInstance.slug == ref),
        )
    )
    return stmt.with_for_update() if for_update else stmt


async def get(
    session: AsyncSession, *, workspace_id: str, ref: str, for_update: bool = False
) -> ProgramInstance | None:
    if not for_update:
        # Already loaded in this session (a step loads it, then the enrollment service asks
        # again): the query would hand back this very object, unrefreshed, anyway.
        known = session.sync_session.identity_map.get(identity_key(ProgramInstance, ref))
        if isinstance(known, ProgramInstance) and known.workspace_id == workspace_id:
            return known
    return await session.scalar(_by_ref(for_update), {"workspace_id": workspace_id, "ref": ref})


def without_notification_templates(session: AsyncSession, instance_id: str) -> bool:
    """True when this session loaded the instance by reference and it had no notification
    template (its own or a workspace default) then; False when unknown or when it had."""
    known = session.sync_session.identity_map.get(identity_key(ProgramInstance, instance_id))
    return isinstance(known, ProgramInstance) and known.has_notification_templates is False


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return (
        await session.scalar(select(ProgramInstance.id).where(ProgramInstance.slug == slug))
    ) is not None


def search(
    *, workspace_id: str, status: str | None, program_id: str | None
) -> Select[ProgramInstance]:
    return instances.search(workspace_id, status=status, program_id=program_id)


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

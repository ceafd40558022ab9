from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.kit.repository import WorkspaceRepository
from enroll.models import Customer, Notification, NotificationTemplate, Workspace
from enroll.notification.schemas import NotificationStatus

notification_table: Table = Notification.__table__  # type: ignore[assignment]
notifications = WorkspaceRepository(Notification, not_found="No notification {id!r}.")
templates = WorkspaceRepository(NotificationTemplate, not_found="No notification template {id!r}.")
_INSERT = insert(notification_table)

# Run on every enrollment status change, so built once with bound parameters: the templates
# that may apply, the instance's own and the workspace's defaults (ix_notification_template_lookup).
_APPLICABLE = select(NotificationTemplate).where(
    NotificationTemplate.workspace_id == bindparam("workspace_id"),
    NotificationTemplate.trigger == bindparam("trigger"),
    or_(
        NotificationTemplate.program_instance_id == bindparam("instance_id"),
        NotificationTemplate.program_instance_id.is_(None),
    ),
)


async def applicable(
    session: AsyncSession, *, workspace_id: str, instance_id: str, trigger: str
) -> Sequence[NotificationTemplate]:
    rows = await session.scalars(
        _APPLICABLE, {"workspace_id": workspace_id, "trigger": trigger, "instance_id": instance_id}
    )
    return rows.all()


async def template_id_for(
    session: AsyncSession,
    *,
    workspace_id: str,
    instance_id: str | None,
    audience: str,
    trigger: str,
) -> str | None:
    """The template already holding this (instance or default, audience, trigger)."""
    stmt = select(NotificationTemplate.id).where(
        NotificationTemplate.workspace_id == workspace_id,
        NotificationTemplate.audience == audience,
        NotificationTemplate.trigger == trigger,
        NotificationTemplate.program_instance_id == instance_id
        if instance_id is not None
        else NotificationTemplate.program_instance_id.is_(None),
    )
    return await session.scalar(stmt.limit(1))


async def lock_workspace(session: AsyncSession, *, workspace_id: str) -> None:
    """Serialise template creation in a workspace (PostgreSQL; SQLite writers already are),
    so two requests cannot both find a key free and both take it."""
    await session.execute(
        select(Workspace.id).where(Workspace.id == workspace_id).with_for_update()
    )


def search_templates(
    *,
    workspace_id: str,
    instance_id: str | None,
    audience: str | None,
    trigger: str | None,
) -> Select[NotificationTemplate]:
    return templates.search(
        workspace_id, program_instance_id=instance_id, audience=audience, trigger=trigger
    )


async def get(
    session: AsyncSession, *, workspace_id: str, notification_id: str
) -> Notification | None:
    return await notifications.get(session, workspace_id=workspace_id, id=notification_id)


def search(
    *,
    workspace_id: str,
    enrollment_id: str | None,
    status: str | None,
    audience: str | None,
) -> Select[Notification]:
    return notifications.search(
        workspace_id, enrollment_id=enrollment_id, status=status, audience=audience
    )


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(_INSERT, rows)


async def opted_out(session: AsyncSession, *, workspace_id: str, customer_id: str) -> bool:
    return bool(
        await session.scalar(
            select(Customer.notifications_opt_out).where(
                Customer.workspace_id == workspace_id, Customer.id == customer_id
            )
        )
    )


async def finish(
    session: AsyncSession,
    *,
    workspace_id: str,
    notification_id: str,
    now: datetime,
    attempted: bool,
    **values: Any,
) -> bool:
    """Record an outcome on a notification still queued (False when it no longer is)."""
    stmt = (
        update(Notification)
        .where(
            Notification.workspace_id == workspace_id,
            Notification.id == notification_id,
            Notification.status == NotificationStatus.QUEUED,
        )
        .values(updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if attempted:
        stmt = stmt.values(attempts=Notification.attempts + 1)
    result = await session.execute(stmt)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]

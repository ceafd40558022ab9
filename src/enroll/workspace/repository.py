"""The queries of workspaces: the signing secret, read and set once."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.models import Workspace


async def signing_secret(session: AsyncSession, *, workspace_id: str) -> str | None:
    return await session.scalar(
        select(Workspace.signing_secret).where(Workspace.id == workspace_id)
    )


async def set_signing_secret_unless_set(
    session: AsyncSession, *, workspace_id: str, secret: str
) -> None:
    """A conditional UPDATE: the first writer's secret wins (service.signing_secret)."""
    await session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id, Workspace.signing_secret.is_(None))
        .values(signing_secret=secret)
        .execution_options(synchronize_session=False)
    )

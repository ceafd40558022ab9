from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.kit.repository import WorkspaceRepository
from enroll.models import ApiKey


async def get_by_hash(session: AsyncSession, secret_hash: str) -> ApiKey | None:
    return await session.scalar(select(ApiKey).where(ApiKey.secret_hash == secret_hash))


keys = WorkspaceRepository(ApiKey, not_found="No such API key.")


def list_for_workspace(workspace_id: str) -> Select[ApiKey]:
    return keys.readable(workspace_id)


async def touch(session: AsyncSession, *, key_id: str, at: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))

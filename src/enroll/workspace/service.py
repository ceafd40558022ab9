from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.auth.scopes import WORKSPACE_SCOPES
from enroll.auth.service import IssuedKey, issue_key
from enroll.models import Workspace


async def create_workspace(session: AsyncSession, *, name: str) -> tuple[Workspace, IssuedKey]:
    """A new tenant and its first key, holding every workspace scope."""
    workspace = Workspace(name=name)
    session.add(workspace)
    await session.flush()
    issued = await issue_key(
        session, workspace_id=workspace.id, name="Initial key", scopes=WORKSPACE_SCOPES
    )
    return workspace, issued

"""Workspaces: creating one, and the secret that signs its outbound calls."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.auth.scopes import WORKSPACE_SCOPES
from enroll.auth.service import IssuedKey, issue_key
from enroll.errors import NotFound
from enroll.kit.outbound import new_secret
from enroll.models import Workspace
from enroll.workspace import repository


async def create_workspace(session: AsyncSession, *, name: str) -> tuple[Workspace, IssuedKey]:
    """A new tenant and its first key, holding every workspace scope."""
    workspace = Workspace(name=name)
    session.add(workspace)
    await session.flush()
    issued = await issue_key(
        session, workspace_id=workspace.id, name="Initial key", scopes=WORKSPACE_SCOPES
    )
    return workspace, issued


async def stored_signing_secret(session: AsyncSession, *, workspace_id: str) -> str | None:
    """The workspace's signing secret if it has one yet (a read)."""
    return await repository.signing_secret(session, workspace_id=workspace_id)


async def signing_secret(session: AsyncSession, *, workspace_id: str) -> str:
    """The secret that signs the workspace's outbound calls, made and stored on first use.

    Needs a write transaction. Two first uses at once agree: the second one's conditional
    UPDATE finds the secret already set (PostgreSQL re-checks the row after the first
    commits; SQLite serialises writers) and both read back the stored one.
    """
    found = await stored_signing_secret(session, workspace_id=workspace_id)
    if found is not None:
        return found
    await repository.set_signing_secret_unless_set(
        session, workspace_id=workspace_id, secret=new_secret()
    )
    found = await stored_signing_secret(session, workspace_id=workspace_id)
    if found is None:
        raise NotFound("No such workspace.")
    return found

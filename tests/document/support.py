"""Looking behind the API: what a server's storage holds, and its document rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from enroll.context import AppContext
from enroll.models import Document
from enroll.storage.base import ObjectStorage
from tests.support.server import Server


def objects(server: Server, workspace_id: str) -> dict[str, bytes]:
    """Every object the server's storage holds for the workspace's documents, by key."""
    return server.on_loop(_objects(server.ctx.storage, f"documents/{workspace_id}/"))


async def _objects(storage: ObjectStorage, prefix: str) -> dict[str, bytes]:
    keys = [item.key async for item in storage.list(prefix)]
    return {key: await storage.get(key) for key in keys}


def rows(server: Server, workspace_id: str) -> list[dict[str, Any]]:
    """The workspace's document rows, as the database holds them."""

    async def work(ctx: AppContext) -> list[dict[str, Any]]:
        async with ctx.db.transaction(write=False) as session:
            found = await session.scalars(
                select(Document).where(Document.workspace_id == workspace_id)
            )
            return [{c.key: getattr(d, c.key) for c in Document.__table__.columns} for d in found]

    return server.database.run(work)

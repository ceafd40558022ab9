"""The generic part of a repository of workspace-owned rows: the tenant filter written once.

Every workspace-owned query starts from ``readable(workspace_id)``, so another workspace's id
reads exactly like a missing one (404). A domain's ``repository.py`` holds one instance per
model and adds its own queries on top::

    customers = WorkspaceRepository(Customer)
    await customers.get(session, workspace_id=w, id=customer_id)
    customers.search(w, email=email)          # a Select, for kit/pagination.py
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute

M = TypeVar("M", bound=DeclarativeBase)


class WorkspaceRepository(Generic[M]):
    def __init__(self, model: type[M]) -> None:
        self.model = model
        # Every workspace-owned model has these two columns (an AttributeError here, at import).
        self.id: InstrumentedAttribute[str] = getattr(model, "id")  # noqa: B009
        self.workspace_id: InstrumentedAttribute[str | None] = getattr(model, "workspace_id")  # noqa: B009

    def readable(self, workspace_id: str) -> Select[M]:
        """Every row of the workspace: the statement each query of the model starts from."""
        return select(self.model).where(self.workspace_id == workspace_id)

    async def get(self, session: AsyncSession, *, workspace_id: str, id: str) -> M | None:
        return await session.scalar(self.readable(workspace_id).where(self.id == id))

    async def many(
        self, session: AsyncSession, *, workspace_id: str, ids: Sequence[str]
    ) -> list[M]:
        """The workspace's rows among ``ids`` (a data loader's batch), in no order."""
        rows = await session.scalars(self.readable(workspace_id).where(self.id.in_(ids)))
        return list(rows.all())

    def search(self, workspace_id: str, **equal: Any) -> Select[M]:
        """The workspace's rows whose columns equal the given values; None or an empty text
        filters nothing (an optional query parameter left out or sent empty)."""
        stmt = self.readable(workspace_id)
        for column, value in equal.items():
            if value is not None and value != "":
                stmt = stmt.where(getattr(self.model, column) == value)
        return stmt

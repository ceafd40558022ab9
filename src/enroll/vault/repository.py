"""The queries of key rotation: a batch of sealed values, and one value replaced."""

from __future__ import annotations

from sqlalchemy import Column, Table, and_, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession


async def sealed_batch(
    session: AsyncSession, table: Table, column: str, *, not_prefix: str, after: str, limit: int
) -> list[tuple[str, str]]:
    """(id, value) of rows holding a value not starting ``not_prefix``, ids after ``after``."""
    col: Column[str] = table.c[column]
    rows = await session.execute(
        select(table.c.id, col)
        .where(col.is_not(None), not_(col.startswith(not_prefix)), table.c.id > after)
        .order_by(table.c.id)
        .limit(limit)
    )
    return [(str(row_id), str(value)) for row_id, value in rows]


async def replace_sealed(
    session: AsyncSession, table: Table, column: str, *, row_id: str, old: str, new: str
) -> int:
    """``new`` where the row still holds ``old`` (1), else nothing (0)."""
    result = await session.execute(
        update(table)
        .where(and_(table.c.id == row_id, table.c[column] == old))
        .values({column: new})
    )
    return int(result.rowcount)  # type: ignore[attr-defined]

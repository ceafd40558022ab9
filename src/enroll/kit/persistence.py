"""Inserting a new row without the ORM's unit of work, for the hottest write paths."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.models import Base


@cache
def _columns(model: type[Base]) -> tuple[Table, tuple[tuple[str, str], ...]]:
    mapper = inspect(model)
    pairs = tuple((attr.key, attr.columns[0].name) for attr in mapper.column_attrs)
    return mapper.local_table, pairs  # type: ignore[return-value]


async def insert_new(session: AsyncSession, obj: Base) -> None:
    """INSERT ``obj`` as it is, in one statement; it stays transient (not in the session).

    Every column must already hold its final value (ids, timestamps, version): no Python-side
    defaults run. Use it for rows the request creates and does not change again.
    """
    table, pairs = _columns(type(obj))
    row: dict[str, Any] = {column: getattr(obj, key) for key, column in pairs}
    await session.execute(insert(table), [row])

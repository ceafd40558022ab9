"""Inserting a new row without the ORM's unit of work, for the hottest write paths."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, insert, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.models import Base


@cache
def _columns(model: type[Base]) -> tuple[Table, tuple[tuple[str, str], ...]]:
    mapper = inspect(model)
    pairs = tuple((attr.key, attr.columns[0].name) for attr in mapper.column_attrs)
    return mapper.local_table, pairs  # type: ignore[return-value]


def _row(obj: Base) -> tuple[Table, dict[str, Any]]:
    table, pairs = _columns(type(obj))
    return table, {column: getattr(obj, key) for key, column in pairs}


async def insert_new(session: AsyncSession, obj: Base) -> None:
    """INSERT ``obj`` as it is, in one statement; it stays transient (not in the session).

    Every column must already hold its final value (ids, timestamps, version): no Python-side
    defaults run. Use it for rows the request creates and does not change again.
    """
    table, row = _row(obj)
    await session.execute(insert(table), [row])


async def insert_unless_exists(session: AsyncSession, obj: Base, *, unique: Sequence[str]) -> bool:
    """Like ``insert_new``, but a row already holding ``unique``'s values wins: nothing is
    written and False comes back. One statement either way, and safe under concurrency."""
    table, row = _row(obj)
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        dialect_insert(table)
        .values(row)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(table.c.id)
    )
    return (await session.execute(stmt)).first() is not None

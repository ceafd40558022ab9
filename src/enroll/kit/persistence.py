"""Inserting a new row without the ORM's unit of work, for the hottest write paths. Used by
repositories only: ``enrollment.repository.insert``, ``customer.repository.insert_unless_known``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Insert, Table, insert, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase as Base


@cache
def _columns(model: type[Base]) -> tuple[Table, tuple[tuple[str, str, Any], ...]]:
    """(attribute, column, scalar default or None) for every mapped column."""
    mapper = inspect(model)
    table = mapper.local_table
    pairs = []
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if getattr(column, "table", None) is not table:
            continue  # a read-only column_property() (a subquery), not a column to write
        default = column.default
        scalar = default.arg if default is not None and default.is_scalar else None
        pairs.append((attr.key, column.name, scalar))
    return mapper.local_table, tuple(pairs)  # type: ignore[return-value]


def _row(obj: Base) -> tuple[Table, dict[str, Any]]:
    table, pairs = _columns(type(obj))
    row = {}
    for key, column, default in pairs:
        value = getattr(obj, key)
        row[column] = default if value is None and default is not None else value
    return table, row


@cache
def _insert(table: Table) -> Insert:
    return insert(table)


async def insert_new(session: AsyncSession, obj: Base) -> None:
    """INSERT ``obj`` as it is, in one statement; it stays transient (not in the session).

    Every column must already hold its final value (ids, timestamps, version): no Python-side
    default runs but a column's constant one (``default=False``) for an attribute left unset.
    Use it for rows the request creates and does not change again.
    """
    table, row = _row(obj)
    await session.execute(_insert(table), row)


@cache
def _insert_unless_exists(table: Table, unique: tuple[str, ...], dialect: str) -> Insert:
    # Built once: the row goes in as parameters, not .values(), so no per-request bind
    # parameters and cache keys are made (that cost ~10% of a create's CPU).
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(table.c.id)
    )


async def insert_unless_exists(session: AsyncSession, obj: Base, *, unique: Sequence[str]) -> bool:
    """Like ``insert_new``, but a row already holding ``unique``'s values wins: nothing is
    written and False comes back. One statement either way, and safe under concurrency."""
    table, row = _row(obj)
    stmt = _insert_unless_exists(table, tuple(unique), session.get_bind().dialect.name)
    return (await session.execute(stmt, row)).first() is not None

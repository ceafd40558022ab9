"""The set-based SQL of bulk eligibility (bulk.py says what it does) over a staged temporary
table of rows with ``id`` and ``mask`` columns, and the temporary ``bulk_decision`` table that
maps each mask to its decision. Table names come from the callers' own constants, never from
input; rule literals are inlined by the SQL compiler, hence ``exec_sql``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Column, MetaData, String, Table, Text, insert, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

_temp = MetaData()
DECISION = Table(
    "bulk_decision",
    _temp,
    Column("mask", Text, primary_key=True),
    Column("status", String(16)),
    Column("reason", Text),
    Column("eligibility", JSON().with_variant(JSONB(), "postgresql")),
    # No check waits for an answer: an enrollment that already holds this very decision may
    # keep it (re-evaluation, a stamp) instead of having its pending checks asked again.
    Column("settled", Boolean),
    Column("checks_key", Text),  # re-evaluation's comparison key, see reevaluation.py
    prefixes=["TEMPORARY"],
)


async def exec_sql(session: AsyncSession, sql: str) -> None:
    """Run SQL holding inlined rule literals: no bind-parameter parsing (text() would)."""
    conn = await session.connection()
    await conn.exec_driver_sql(sql)


async def create_decision_table(session: AsyncSession) -> None:
    await exec_sql(session, "DROP TABLE IF EXISTS bulk_decision")
    await session.run_sync(lambda s: DECISION.create(s.connection()))


async def distinct_masks(session: AsyncSession, table: str) -> list[str]:
    rows = await session.execute(text(f"SELECT DISTINCT mask FROM {table} WHERE mask IS NOT NULL"))
    return [mask for (mask,) in rows.all()]


async def undecided_ids(session: AsyncSession, table: str, *, limit: int) -> list[str]:
    """Ids of rows the SQL left undecided (no mask yet), at most ``limit``."""
    rows = await session.execute(text(f"SELECT id FROM {table} WHERE mask IS NULL LIMIT {limit}"))
    return list(rows.scalars())


async def assign_masks(session: AsyncSession, table: str, assigned: list[dict[str, str]]) -> None:
    """``assigned``: ``{"b_id": id, "b_mask": mask}`` per row decided in Python."""
    await session.execute(text(f"UPDATE {table} SET mask = :b_mask WHERE id = :b_id"), assigned)


async def insert_decisions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(insert(DECISION), rows)


async def ids_with_mask(
    session: AsyncSession, table: str, mask: str, *, where: str
) -> Sequence[str]:
    """Ids of ``table``'s rows with ``mask`` (``where``: SQL narrowing them further)."""
    rows = await session.execute(
        text(f"SELECT id FROM {table} WHERE mask = :m AND ({where})"), {"m": mask}
    )
    return rows.scalars().all()

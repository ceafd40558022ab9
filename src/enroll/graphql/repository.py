"""Batch loads for the data loaders: many rows by id in one query, each scoped by workspace
(the program catalog is shared, so programs are not).

Another workspace's id simply finds nothing, exactly like an id that never existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from enroll.models import Customer, Enrollment, EnrollmentHistory, Program, ProgramInstance


async def instances(
    session: AsyncSession, *, workspace_id: str, ids: Sequence[str]
) -> list[ProgramInstance]:
    """Program instances, each with its program (the relationship is loaded joined)."""
    rows = await session.scalars(
        select(ProgramInstance).where(
            ProgramInstance.workspace_id == workspace_id, ProgramInstance.id.in_(ids)
        )
    )
    return list(rows.all())


async def programs(session: AsyncSession, *, ids: Sequence[str]) -> list[Program]:
    rows = await session.scalars(select(Program).where(Program.id.in_(ids)))
    return list(rows.all())


async def customers(
    session: AsyncSession, *, workspace_id: str, ids: Sequence[str]
) -> list[Customer]:
    rows = await session.scalars(
        select(Customer).where(Customer.workspace_id == workspace_id, Customer.id.in_(ids))
    )
    return list(rows.all())


async def enrollments(
    session: AsyncSession, *, workspace_id: str, ids: Sequence[str]
) -> list[Enrollment]:
    rows = await session.scalars(
        select(Enrollment).where(Enrollment.workspace_id == workspace_id, Enrollment.id.in_(ids))
    )
    return list(rows.all())


async def histories(
    session: AsyncSession, *, workspace_id: str, enrollment_ids: Sequence[str]
) -> list[EnrollmentHistory]:
    """The history rows of many enrollments, in the order the REST history lists them."""
    rows = await session.scalars(
        select(EnrollmentHistory)
        .where(
            EnrollmentHistory.workspace_id == workspace_id,
            EnrollmentHistory.enrollment_id.in_(enrollment_ids),
        )
        .order_by(EnrollmentHistory.enrollment_id, EnrollmentHistory.at, EnrollmentHistory.id)
    )
    return list(rows.all())


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    id_column: InstrumentedAttribute[str],
    *,
    first: int,
    after_id: str | None,
) -> tuple[list[Any], bool]:
    """Up to ``first`` rows of ``stmt`` after ``after_id`` in id order, and whether more
    follow: the cursor mode of REST's pagination (kit/pagination.py), without its COUNT."""
    if after_id is not None:
        stmt = stmt.where(id_column > after_id)
    rows = list((await session.scalars(stmt.order_by(id_column).limit(first + 1))).all())
    return rows[:first], len(rows) > first


async def count(session: AsyncSession, stmt: Select[Any]) -> int:
    """How many rows ``stmt`` matches (REST's ``totalItems``)."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return int(total or 0)

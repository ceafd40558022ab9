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

from enroll.kit.repository import WorkspaceRepository
from enroll.models import Customer, Enrollment, EnrollmentHistory, Program, ProgramInstance

_instances = WorkspaceRepository(ProgramInstance)
_customers = WorkspaceRepository(Customer)
_enrollments = WorkspaceRepository(Enrollment)
_histories = WorkspaceRepository(EnrollmentHistory)


async def instances(
    session: AsyncSession, *, workspace_id: str, ids: Sequence[str]
) -> list[ProgramInstance]:
    """Program instances, each with its program (the relationship is loaded joined)."""
    return await _instances.many(session, workspace_id=workspace_id, ids=ids)


async def programs(session: AsyncSession, *, ids: Sequence[str]) -> list[Program]:
    rows = await session.scalars(select(Program).where(Program.id.in_(ids)))
    return list(rows.all())


async def customers(
    session: AsyncSession, *, workspace_id: str, ids: Sequence[str]
) -> list[Customer]:
    return await _customers.many(session, workspace_id=workspace_id, ids=ids)


async def enrollments(
    session: AsyncSession, *, workspace_id: str, ids: Sequence[str]
) -> list[Enrollment]:
    return await _enrollments.many(session, workspace_id=workspace_id, ids=ids)


async def histories(
    session: AsyncSession, *, workspace_id: str, enrollment_ids: Sequence[str]
) -> list[EnrollmentHistory]:
    """The history rows of many enrollments, in the order the REST history lists them."""
    rows = await session.scalars(
        _histories.readable(workspace_id)
        .where(EnrollmentHistory.enrollment_id.in_(enrollment_ids))
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

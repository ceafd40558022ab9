from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy import insert as sql_insert
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.kit.repository import WorkspaceRepository, insert_new
from enroll.kit.sql import JsonArrayContains
from enroll.models import (
    Enrollment,
    EnrollmentConsent,
    EnrollmentHistory,
    ProgramInstance,
    ProgramSubscription,
)
from enroll.models.enrollment import enrollment_history_table
from enroll.workflows.enrollment import OPEN_STATUSES

enrollments = WorkspaceRepository(Enrollment, not_found="No enrollment {id!r}.")


async def get(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str, for_update: bool = False
) -> Enrollment | None:
    """``for_update``: the row locked (PostgreSQL), so concurrent writers take turns."""
    stmt = enrollments.readable(workspace_id).where(Enrollment.id == enrollment_id)
    return await session.scalar(stmt.with_for_update() if for_update else stmt)


async def instance_of(session: AsyncSession, enrollment: Enrollment) -> ProgramInstance | None:
    """The enrollment's instance: from the session's identity map when the request loaded it
    (no query), else by primary key."""
    return await session.get(ProgramInstance, enrollment.program_instance_id)


async def insert_history(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """The history rows of one change, in one executemany (no unit of work)."""
    await session.execute(sql_insert(enrollment_history_table), rows)


async def insert(session: AsyncSession, enrollment: Enrollment) -> None:
    """INSERT a new enrollment in its final state, in one statement and without the unit of
    work (the hot path of a create); it stays out of the session."""
    await insert_new(session, enrollment)


async def open_enrollment_id(
    session: AsyncSession, *, instance_id: str, customer_id: str
) -> str | None:
    return await session.scalar(
        select(Enrollment.id).where(
            Enrollment.program_instance_id == instance_id,
            Enrollment.customer_id == customer_id,
            Enrollment.status.in_([s.value for s in OPEN_STATUSES]),
        )
    )


async def has_subscription(session: AsyncSession, *, enrollment_id: str) -> bool:
    """Whether the enrollment was set up (a program subscription names it)."""
    found = await session.scalar(
        select(ProgramSubscription.id).where(ProgramSubscription.enrollment_id == enrollment_id)
    )
    return found is not None


async def has_consent(session: AsyncSession, *, enrollment_id: str) -> bool:
    found = await session.scalar(
        select(EnrollmentConsent.id)
        .where(EnrollmentConsent.enrollment_id == enrollment_id)
        .limit(1)
    )
    return found is not None


async def insert_consent(session: AsyncSession, consent: EnrollmentConsent) -> None:
    session.add(consent)
    await session.flush()


async def consents_of(session: AsyncSession, *, enrollment_id: str) -> list[EnrollmentConsent]:
    rows = await session.scalars(
        select(EnrollmentConsent)
        .where(EnrollmentConsent.enrollment_id == enrollment_id)
        .order_by(EnrollmentConsent.accepted_at, EnrollmentConsent.id)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Filters:
    status: str | None = None
    eligibility_status: str | None = None  # the same column, under the seed's name
    q: str | None = None
    tag: str | None = None
    email: str | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


def search(
    *, workspace_id: str, instance_id: str | None = None, filters: Filters = Filters()
) -> Select[Enrollment]:
    stmt = select(Enrollment).where(Enrollment.workspace_id == workspace_id)
    if instance_id:
        stmt = stmt.where(Enrollment.program_instance_id == instance_id)
    for status in (filters.status, filters.eligibility_status):
        if status:
            stmt = stmt.where(Enrollment.status == status)
    if filters.q:
        stmt = stmt.where(_matches(filters.q))
    if filters.tag:
        stmt = stmt.where(JsonArrayContains(Enrollment.tags, filters.tag))
    if filters.email:
        stmt = stmt.where(Enrollment.email == filters.email.lower())
    if filters.created_after:
        stmt = stmt.where(Enrollment.created_at >= filters.created_after)
    if filters.created_before:
        stmt = stmt.where(Enrollment.created_at < filters.created_before)
    return stmt


def _matches(q: str) -> ColumnElement[bool]:
    """``q``: an exact email (stored lowercased) or referenceId (both indexed), or the start
    of a first, last or full name, case-insensitive."""
    term = q.strip()
    prefix = "".join("\\" + c if c in "\\%_" else c for c in term.lower()) + "%"
    full = func.lower(Enrollment.first_name + " " + Enrollment.last_name)
    return or_(
        Enrollment.email == term.lower(),
        Enrollment.reference_id == term,
        func.lower(Enrollment.first_name).like(prefix, escape="\\"),
        func.lower(Enrollment.last_name).like(prefix, escape="\\"),
        full.like(prefix, escape="\\"),
    )


async def history(session: AsyncSession, *, enrollment_id: str) -> list[EnrollmentHistory]:
    rows = await session.scalars(
        select(EnrollmentHistory)
        .where(EnrollmentHistory.enrollment_id == enrollment_id)
        .order_by(EnrollmentHistory.at, EnrollmentHistory.id)
    )
    return list(rows.all())


async def open_of_customer(session: AsyncSession, *, customer_id: str) -> list[Enrollment]:
    """The customer's open enrollments: the ones a change of the customer (applicant data,
    household, billing address) may meet or unmeet requirements of."""
    stmt = select(Enrollment).where(
        Enrollment.customer_id == customer_id,
        Enrollment.status.in_([s.value for s in OPEN_STATUSES]),
    )
    return list((await session.scalars(stmt)).all())

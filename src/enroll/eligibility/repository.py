"""The queries of eligibility: criteria versions, and what a rule context reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.models import (
    CriteriaVersion,
    Customer,
    Enrollment,
    Program,
    ProgramInstance,
    ServiceLocation,
)


async def stored_criteria(
    session: AsyncSession, *, instance_id: str, number: int
) -> list[dict[str, Any]] | None:
    """The effective criteria stored as the instance's version ``number``, if it exists."""
    return await session.scalar(
        select(CriteriaVersion.criteria).where(
            CriteriaVersion.program_instance_id == instance_id,
            CriteriaVersion.version == number,
        )
    )


async def instances_of_program(session: AsyncSession, *, program_id: str) -> list[ProgramInstance]:
    """Every instance of a catalog program, in every workspace (the catalog is platform-wide)."""
    rows = await session.scalars(
        select(ProgramInstance).where(ProgramInstance.program_id == program_id)
    )
    return list(rows.all())


def versions(*, instance_id: str) -> Select[CriteriaVersion]:
    return select(CriteriaVersion).where(CriteriaVersion.program_instance_id == instance_id)


async def version(
    session: AsyncSession, *, instance_id: str, number: int
) -> CriteriaVersion | None:
    return await session.scalar(
        select(CriteriaVersion).where(
            CriteriaVersion.program_instance_id == instance_id, CriteriaVersion.version == number
        )
    )


async def customer(session: AsyncSession, *, customer_id: str) -> Customer | None:
    """The customer an enrollment names (its workspace's: the enrollment was checked)."""
    return await session.get(Customer, customer_id)


async def location(session: AsyncSession, *, location_id: str) -> ServiceLocation | None:
    """The service location an enrollment names (its workspace's: the create checked it)."""
    return await session.get(ServiceLocation, location_id)


async def enrollments_of_customer(
    session: AsyncSession,
    *,
    customer_id: str,
    statuses: Sequence[str],
    exclude_enrollment_id: str | None,
) -> Sequence[Row[str, str, str, str]]:
    """(instance id, program slug, program type, status) of the customer's enrollments in
    ``statuses``, in any of its workspace's instances."""
    stmt = (
        select(Enrollment.program_instance_id, Program.slug, Program.type, Enrollment.status)
        .join(ProgramInstance, ProgramInstance.id == Enrollment.program_instance_id)
        .join(Program, Program.id == ProgramInstance.program_id)
        .where(Enrollment.customer_id == customer_id, Enrollment.status.in_(statuses))
    )
    if exclude_enrollment_id:
        stmt = stmt.where(Enrollment.id != exclude_enrollment_id)
    return (await session.execute(stmt)).all()

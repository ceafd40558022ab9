"""Every query of plans, their codes and delivery charges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from enroll.kit.repository import WorkspaceRepository
from enroll.models import DeliveryCharge, Enrollment, Plan, PlanCode

plans = WorkspaceRepository(Plan)
charges = WorkspaceRepository(DeliveryCharge)
MAX_QUOTED = 500  # the active plans of one instance a quote considers


def search(*, workspace_id: str, instance_id: str, status: str | None) -> Select[Plan]:
    return plans.search(workspace_id, program_instance_id=instance_id, status=status)


async def get(
    session: AsyncSession, *, workspace_id: str, instance_id: str, plan_id: str
) -> Plan | None:
    return await session.scalar(
        plans.readable(workspace_id).where(
            Plan.program_instance_id == instance_id, Plan.id == plan_id
        )
    )


async def by_code(
    session: AsyncSession, *, workspace_id: str, instance_id: str, code: str
) -> Plan | None:
    """The plan ``code`` names in the instance: its own code or one of its aliases."""
    owner = (
        select(PlanCode.plan_id)
        .where(
            PlanCode.workspace_id == workspace_id,
            PlanCode.program_instance_id == instance_id,
            PlanCode.code == code,
        )
        .scalar_subquery()
    )
    return await session.scalar(plans.readable(workspace_id).where(Plan.id == owner))


async def code_owners(
    session: AsyncSession, *, instance_id: str, codes: Sequence[str]
) -> dict[str, str]:
    """Which plan of the instance each of ``codes`` names already (code → plan id)."""
    rows = await session.execute(
        select(PlanCode.code, PlanCode.plan_id).where(
            PlanCode.program_instance_id == instance_id, PlanCode.code.in_(list(codes))
        )
    )
    return {code: plan_id for code, plan_id in rows}


async def replace_codes(session: AsyncSession, plan: Plan) -> None:
    """Make ``plan_code`` hold exactly the plan's code and aliases (the plan flushed)."""
    await session.execute(delete(PlanCode).where(PlanCode.plan_id == plan.id))
    session.add_all(
        PlanCode(
            workspace_id=plan.workspace_id,
            program_instance_id=plan.program_instance_id,
            code=code,
            plan_id=plan.id,
            canonical=code == plan.code,
        )
        for code in [plan.code, *plan.aliases]
    )


async def active(
    session: AsyncSession, *, workspace_id: str, instance_id: str, status: str
) -> list[Plan]:
    rows = await session.scalars(
        search(workspace_id=workspace_id, instance_id=instance_id, status=status)
        .order_by(Plan.id)
        .limit(MAX_QUOTED)
    )
    return list(rows.all())


# --- delivery charges -------------------------------------------------------------------------


async def charge_on(
    session: AsyncSession, *, workspace_id: str, utility_code: str, effective_from: date
) -> DeliveryCharge | None:
    """The row of that utility starting on that very day."""
    return await session.scalar(
        charges.readable(workspace_id).where(
            DeliveryCharge.utility_code == utility_code,
            DeliveryCharge.effective_from == effective_from,
        )
    )


async def in_effect(
    session: AsyncSession, *, workspace_id: str, utility_code: str, on: date
) -> DeliveryCharge | None:
    """The utility's charges in effect on ``on``: the latest that starts on or before it."""
    return await session.scalar(
        charges.readable(workspace_id)
        .where(DeliveryCharge.utility_code == utility_code, DeliveryCharge.effective_from <= on)
        .order_by(DeliveryCharge.effective_from.desc())
        .limit(1)
    )


def search_charges(
    *, workspace_id: str, utility_code: str | None, effective_on: date | None
) -> Select[DeliveryCharge]:
    """The workspace's charges; with ``effective_on``, only each utility's row in effect then."""
    stmt = charges.search(workspace_id, utility_code=utility_code)
    if effective_on is not None:
        later = aliased(DeliveryCharge)
        newer = (
            select(later.id)
            .where(
                later.workspace_id == DeliveryCharge.workspace_id,
                later.utility_code == DeliveryCharge.utility_code,
                later.effective_from > DeliveryCharge.effective_from,
                later.effective_from <= effective_on,
            )
            .exists()
        )
        stmt = stmt.where(DeliveryCharge.effective_from <= effective_on, ~newer)
    return stmt


async def named_by_enrollments(session: AsyncSession, *, plan_id: str) -> bool:
    found = await session.scalar(
        select(Enrollment.id).where(Enrollment.plan_id == plan_id).limit(1)
    )
    return found is not None

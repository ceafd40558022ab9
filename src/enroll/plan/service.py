"""Plan use cases: the plans a program instance offers, the codes that name them, and a
workspace's delivery charges. (Quotes: ``quotes.py``; whether a plan may be taken:
``availability.py``.)

Plans and delivery charges are configuration, like program instances and notification
templates: they write no events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.errors import FieldError, NotFound, Unprocessable
from enroll.ids import new_id
from enroll.models import DeliveryCharge, Plan, ProgramInstance
from enroll.plan import repository
from enroll.plan.errors import PlanCodeTaken, PlanInUse
from enroll.plan.schemas import DeliveryChargeSet, PlanCreate, PlanUpdate
from enroll.program_instance import service as instances
from enroll.workflows.plan import PlanStatus


@dataclass(frozen=True)
class PlanChoice:
    """A plan as a request named it: the canonical plan, and the code (or alias) given; an id
    given names the plan's own code."""

    plan: Plan
    code_given: str


async def instance_of(session: AsyncSession, *, workspace_id: str, ref: str) -> ProgramInstance:
    """The program instance (id or slug) whose plans a request names; 404 when unknown."""
    return await instances.get(session, workspace_id=workspace_id, ref=ref)


async def search(
    session: AsyncSession, *, workspace_id: str, instance_ref: str, status: PlanStatus | None
) -> Select[Plan]:
    """The instance's plans (404 for an unknown instance), for ``paginate``."""
    instance = await instance_of(session, workspace_id=workspace_id, ref=instance_ref)
    return repository.search(
        workspace_id=workspace_id,
        instance_id=instance.id,
        status=status.value if status else None,
    )


async def resolve(
    session: AsyncSession, *, workspace_id: str, instance_id: str, ref: str
) -> PlanChoice:
    """The plan of the instance that ``ref`` names: its id, its code or one of its aliases.
    404 ``not_found`` when none does."""
    plan = await repository.get(
        session, workspace_id=workspace_id, instance_id=instance_id, plan_id=ref
    )
    if plan is not None:
        return PlanChoice(plan=plan, code_given=plan.code)
    plan = await repository.by_code(
        session, workspace_id=workspace_id, instance_id=instance_id, code=ref
    )
    if plan is None:
        raise NotFound(f"No plan {ref!r} in this program instance.")
    return PlanChoice(plan=plan, code_given=ref)


async def get(session: AsyncSession, *, workspace_id: str, instance_ref: str, ref: str) -> Plan:
    instance = await instance_of(session, workspace_id=workspace_id, ref=instance_ref)
    choice = await resolve(session, workspace_id=workspace_id, instance_id=instance.id, ref=ref)
    return choice.plan


def _stored_pricing(body: PlanCreate | PlanUpdate) -> dict[str, Any] | None:
    return body.pricing.model_dump(mode="json", by_alias=True) if body.pricing else None


def _stored_documents(body: PlanCreate | PlanUpdate) -> list[dict[str, Any]]:
    return [d.model_dump(mode="json", by_alias=True) for d in body.documents or []]


async def _check_codes(session: AsyncSession, plan: Plan) -> None:
    """409 ``plan_code_taken`` when the plan's code or an alias names another plan."""
    codes = [plan.code, *plan.aliases]
    owners = await repository.code_owners(
        session, instance_id=plan.program_instance_id, codes=codes
    )
    for code in codes:
        owner = owners.get(code)
        if owner is not None and owner != plan.id:
            raise PlanCodeTaken(
                f"The code {code!r} names another plan of this instance.",
                planCode=code,
                planId=owner,
            )


async def create(
    session: AsyncSession, *, workspace_id: str, instance_ref: str, body: PlanCreate, now: datetime
) -> Plan:
    instance = await instance_of(session, workspace_id=workspace_id, ref=instance_ref)
    plan = Plan(
        id=new_id(),
        workspace_id=workspace_id,
        program_instance_id=instance.id,
        code=body.code,
        aliases=list(body.aliases),
        name=body.name,
        description=body.description,
        status=body.status.value,
        availability=body.availability,
        unavailable_reason=body.unavailable_reason,
        earliest_days=body.start_window.earliest_days,
        latest_days=body.start_window.latest_days,
        documents=_stored_documents(body),
        pricing=_stored_pricing(body),
        created_at=now,
        updated_at=now,
    )
    await _check_codes(session, plan)
    session.add(plan)
    await session.flush()
    await repository.replace_codes(session, plan)
    await session.flush()
    return plan


async def update(
    session: AsyncSession,
    *,
    workspace_id: str,
    instance_ref: str,
    ref: str,
    body: PlanUpdate,
    now: datetime,
) -> Plan:
    plan = await get(session, workspace_id=workspace_id, instance_ref=instance_ref, ref=ref)
    changes = body.changes()
    if changes:
        plan.updated_at = now  # before any query: its autoflush writes the row once
    for field, value in changes.items():
        if field == "start_window":
            plan.earliest_days = body.start_window.earliest_days if body.start_window else 0
            plan.latest_days = body.start_window.latest_days if body.start_window else 0
            continue
        if field == "pricing":
            value = _stored_pricing(body)
        elif field == "documents":
            value = _stored_documents(body)
        elif field == "status":
            value = str(value)
        elif field == "aliases":
            value = list(value)
        setattr(plan, field, value)
    if plan.code in plan.aliases:
        raise Unprocessable(
            "aliases must not hold the plan's own code.",
            errors=[FieldError(field="aliases", message="Must not hold the plan's own code.")],
        )
    codes_changed = "code" in changes or "aliases" in changes
    if codes_changed:
        await _check_codes(session, plan)
    await session.flush()
    if codes_changed:
        await repository.replace_codes(session, plan)
        await session.flush()
    return plan


async def delete(session: AsyncSession, *, workspace_id: str, instance_ref: str, ref: str) -> None:
    """Delete a plan no enrollment names (409 ``plan_in_use`` otherwise: the enrollment's
    foreign key, RESTRICT, holds it even against a concurrent enrollment)."""
    plan = await get(session, workspace_id=workspace_id, instance_ref=instance_ref, ref=ref)
    in_use = PlanInUse(
        f"Plan {plan.code!r} is named by enrollments: retire it instead.", planId=plan.id
    )
    if await repository.named_by_enrollments(session, plan_id=plan.id):
        raise in_use
    try:
        await session.delete(plan)
        await session.flush()
    except IntegrityError:
        raise in_use from None


# --- delivery charges -------------------------------------------------------------------------


async def set_delivery_charge(
    session: AsyncSession,
    *,
    workspace_id: str,
    utility_code: str,
    body: DeliveryChargeSet,
    now: datetime,
) -> DeliveryCharge:
    """The utility's charges from ``effectiveFrom`` on: a new row, or the row of that very day
    replaced."""
    charge = await repository.charge_on(
        session,
        workspace_id=workspace_id,
        utility_code=utility_code,
        effective_from=body.effective_from,
    )
    if charge is None:
        charge = DeliveryCharge(
            id=new_id(),
            workspace_id=workspace_id,
            utility_code=utility_code,
            effective_from=body.effective_from,
            created_at=now,
        )
        session.add(charge)
    charge.monthly_dollars = body.monthly_dollars
    charge.cents_per_kwh = body.cents_per_kwh
    charge.updated_at = now
    await session.flush()
    return charge


async def delivery_in_effect(
    session: AsyncSession, *, workspace_id: str, utility_code: str, on: date
) -> DeliveryCharge | None:
    return await repository.in_effect(
        session, workspace_id=workspace_id, utility_code=utility_code, on=on
    )

"""Quoting a program instance's plans at a service location.

``quote`` takes the location as the location domain's API dict (camelCase: ``id``,
``servicePointId``, ``market``, ``utility {code, name}``, ``address {…}``, ``county``,
``premiseType``, ``status``, ``metered``, ``attributes``, ``hasUsageHistory``).
``quote_location`` is the use case of the REST and GraphQL doors: it finds the location
(by id or service point id, through the location domain below) and its last 12 months of
usage, then quotes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.errors import NotFound
from enroll.location import repository as locations
from enroll.location.schemas import rule_view
from enroll.models import DeliveryCharge, Plan, ProgramInstance, ServiceLocation
from enroll.plan import repository
from enroll.plan.availability import unavailable_reason, window_of
from enroll.plan.pricing import Delivery, efl_prices, estimated_monthly_dollars
from enroll.plan.schemas import (
    DeliveryChargeOut,
    Document,
    Pricing,
    QuotedPlan,
    QuoteOut,
    QuoteRequest,
    UnavailablePlan,
)
from enroll.plan.service import instance_of
from enroll.plan.windows import Window, today_in
from enroll.workflows.plan import PlanStatus

NO_PRICING = "The plan has no pricing."
NO_UTILITY = "The location names no utility."


def _no_delivery(utility_code: str, on: date) -> str:
    return f"No delivery charge of utility {utility_code!r} is in effect on {on.isoformat()}."


def utility_code_of(location: Mapping[str, Any]) -> str | None:
    utility = location.get("utility")
    code = utility.get("code") if isinstance(utility, Mapping) else None
    return code if isinstance(code, str) and code else None


async def quote(
    session: AsyncSession,
    *,
    workspace_id: str,
    instance_id: str,
    location: Mapping[str, Any],
    applicant: Mapping[str, Any] | None,
    on: date | None,
    now: datetime,
    explain: bool,
    usage_by_month: Sequence[Decimal | int] | None = None,
) -> QuoteOut:
    """The instance's active plans whose availability holds at ``location``, best first by
    the 1,000 kWh price (unpriced last), each with its start window (from ``now``, in the
    instance's time zone), documents, pricing and EFL average prices for the location's
    utility on ``on`` (default: today in the instance's time zone). A plan that cannot be
    priced (no pricing, no utility, no delivery charge in effect) is still quoted, with null
    prices and ``priceUnavailableReason``. With ``explain``, the plans left out and why.
    ``usage_by_month`` (the location's monthly kWh, normally the last 12) adds
    ``estimatedMonthlyDollars``. 404 for an unknown instance (id or slug)."""
    instance = await instance_of(session, workspace_id=workspace_id, ref=instance_id)
    return await _quote(
        session,
        workspace_id=workspace_id,
        instance=instance,
        location=location,
        applicant=applicant,
        day=on or today_in(instance.timezone, now),
        now=now,
        explain=explain,
        usage_by_month=usage_by_month,
    )


async def quote_location(
    session: AsyncSession,
    *,
    workspace_id: str,
    instance_id: str,
    body: QuoteRequest,
    now: datetime,
    explain: bool,
) -> QuoteOut:
    """``quote`` at the location the body names (its id, or its service point id in any
    market), with its usage of the 12 whole months before the quote's day (UTC months) as
    ``usage_by_month`` when it has any. 404 for an unknown instance, then for an unknown
    location (another workspace's alike)."""
    # The instance first: another workspace's instance is a 404 that says nothing of the body.
    instance = await instance_of(session, workspace_id=workspace_id, ref=instance_id)
    row = await _location(session, workspace_id=workspace_id, body=body)
    day = body.on or today_in(instance.timezone, now)
    usage = (
        await locations.usage_by_month(
            session,
            workspace_id=workspace_id,
            location_id=row.id,
            until=datetime.combine(day, time(), tzinfo=UTC),
        )
        if row.has_usage
        else []
    )
    return await _quote(
        session,
        workspace_id=workspace_id,
        instance=instance,
        location=rule_view(row),
        applicant=None,
        day=day,
        now=now,
        explain=explain,
        usage_by_month=usage or None,
    )


async def _location(
    session: AsyncSession, *, workspace_id: str, body: QuoteRequest
) -> ServiceLocation:
    if body.service_location_id is not None:
        found = await locations.get(
            session, workspace_id=workspace_id, location_id=body.service_location_id
        )
        if found is None:
            raise NotFound(f"No service location {body.service_location_id!r}.")
        return found
    assert body.service_point_id is not None  # QuoteRequest holds exactly one
    found = await locations.by_service_point(
        session, workspace_id=workspace_id, service_point_id=body.service_point_id, market=None
    )
    if found is None:
        raise NotFound(f"No service location with servicePointId {body.service_point_id!r}.")
    return found


async def _quote(
    session: AsyncSession,
    *,
    workspace_id: str,
    instance: ProgramInstance,
    location: Mapping[str, Any],
    applicant: Mapping[str, Any] | None,
    day: date,
    now: datetime,
    explain: bool,
    usage_by_month: Sequence[Decimal | int] | None,
) -> QuoteOut:
    utility_code = utility_code_of(location)
    charge = (
        await repository.in_effect(
            session, workspace_id=workspace_id, utility_code=utility_code, on=day
        )
        if utility_code
        else None
    )
    plans = await repository.active(
        session, workspace_id=workspace_id, instance_id=instance.id, status=PlanStatus.ACTIVE
    )
    quoted: list[QuotedPlan] = []
    unavailable: list[UnavailablePlan] = []
    for plan in plans:
        reason = unavailable_reason(plan, location=location, applicant=applicant)
        if reason is not None:
            unavailable.append(
                UnavailablePlan(id=plan.id, code=plan.code, name=plan.name, reason=reason)
            )
            continue
        window = window_of(plan, timezone=instance.timezone, now=now)
        why_unpriced = _no_delivery(utility_code, day) if utility_code else NO_UTILITY
        quoted.append(_quoted(plan, window, charge, why_unpriced, usage_by_month))
    quoted.sort(key=_price_order)
    return QuoteOut(
        program_instance_id=instance.id,
        location_id=location.get("id") if isinstance(location.get("id"), str) else None,
        utility_code=utility_code,
        on=day,
        delivery_charge=DeliveryChargeOut.of(charge) if charge else None,
        plans=quoted,
        unavailable=unavailable if explain else None,
    )


def _price_order(plan: QuotedPlan) -> tuple[int, Decimal, str]:
    prices = plan.average_price_cents_per_kwh
    if prices is None:
        return (1, Decimal(0), plan.code)
    return (0, prices["1000"], plan.code)


def _quoted(
    plan: Plan,
    window: Window,
    charge: DeliveryCharge | None,
    why_unpriced: str,
    usage_by_month: Sequence[Decimal | int] | None,
) -> QuotedPlan:
    pricing = Pricing.model_validate(plan.pricing) if plan.pricing is not None else None
    prices: dict[str, Decimal] | None = None
    estimate: Decimal | None = None
    reason: str | None = NO_PRICING if pricing is None else why_unpriced
    if pricing is not None and charge is not None:
        delivery = Delivery(
            monthly_dollars=charge.monthly_dollars, cents_per_kwh=charge.cents_per_kwh
        )
        prices, reason = efl_prices(pricing, delivery), None
        if usage_by_month:
            estimate = estimated_monthly_dollars(pricing, delivery, usage_by_month)
    return QuotedPlan(
        id=plan.id,
        code=plan.code,
        name=plan.name,
        description=plan.description,
        earliest_start_date=window.earliest,
        latest_start_date=window.latest,
        documents=[Document.model_validate(d) for d in plan.documents],
        pricing=pricing,
        average_price_cents_per_kwh=prices,
        price_unavailable_reason=reason,
        estimated_monthly_dollars=estimate,
    )

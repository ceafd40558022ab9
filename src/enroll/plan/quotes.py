"""Quoting a program instance's plans at a service location.

The location comes in as the location domain's API dict (camelCase: ``id``,
``servicePointId``, ``market``, ``utility {code, name}``, ``address {…}``, ``county``,
``premiseType``, ``status``, ``metered``, ``attributes``), so this module needs nothing of that
domain; the HTTP route that finds the location and calls ``quote`` sits above both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.models import DeliveryCharge, Plan
from enroll.plan import repository
from enroll.plan.availability import unavailable_reason, window_of
from enroll.plan.pricing import Delivery, efl_prices, estimated_monthly_dollars
from enroll.plan.schemas import (
    DeliveryChargeOut,
    Document,
    Pricing,
    QuotedPlan,
    QuoteOut,
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
    day = on or today_in(instance.timezone, now)
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

"""The Electricity Facts Label arithmetic (pure, ``Decimal`` throughout).

A month's bill at usage U kWh, in dollars:

    energy charges for U across the tiers (cents)   / 100
  + the plan's monthly charges
  - every usage credit whose [minKwh, maxKwh] holds U
  + the delivery charge's monthlyDollars
  + the delivery charge's centsPerKwh * U            / 100

and the average price, as Texas' EFL states it at 500, 1,000 and 2,000 kWh: the bill / U * 100,
in cents per kWh, rounded half-up to 0.1 ¢. A tier ``{fromKwh, toKwh, centsPerKwh}`` prices
the usage above ``fromKwh`` up to ``toKwh`` (no ``toKwh``: all the rest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from enroll.plan.schemas import Pricing

EFL_USAGES: tuple[int, ...] = (500, 1000, 2000)
_TENTH = Decimal("0.1")
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Delivery:
    """A utility's delivery charges in effect (models.DeliveryCharge's two prices)."""

    monthly_dollars: Decimal
    cents_per_kwh: Decimal


def energy_cents(pricing: Pricing, kwh: Decimal) -> Decimal:
    """What the energy tiers charge for ``kwh``, in cents."""
    total = Decimal(0)
    for tier in pricing.energy_charges:
        top = kwh if tier.to_kwh is None else min(kwh, Decimal(tier.to_kwh))
        if top > tier.from_kwh:
            total += (top - tier.from_kwh) * tier.cents_per_kwh
    return total


def credits_dollars(pricing: Pricing, kwh: Decimal) -> Decimal:
    """The usage credits whose [minKwh, maxKwh] holds ``kwh``, in dollars."""
    return sum(
        (
            c.dollars
            for c in pricing.usage_credits
            if c.min_kwh <= kwh and (c.max_kwh is None or kwh <= c.max_kwh)
        ),
        Decimal(0),
    )


def monthly_bill(pricing: Pricing, delivery: Delivery, kwh: Decimal | int) -> Decimal:
    """A month's bill at ``kwh``, in dollars, unrounded."""
    usage = Decimal(kwh)
    monthly = sum((c.dollars for c in pricing.monthly_charges), Decimal(0))
    return (
        energy_cents(pricing, usage) / _HUNDRED
        + monthly
        - credits_dollars(pricing, usage)
        + delivery.monthly_dollars
        + delivery.cents_per_kwh * usage / _HUNDRED
    )


def average_price_cents(pricing: Pricing, delivery: Delivery, kwh: int) -> Decimal:
    """The EFL average price at ``kwh`` (> 0), in ¢/kWh rounded half-up to 0.1 ¢."""
    if kwh <= 0:
        raise ValueError("the average price needs a usage above 0 kWh")
    average = monthly_bill(pricing, delivery, kwh) / Decimal(kwh) * _HUNDRED
    return average.quantize(_TENTH, rounding=ROUND_HALF_UP)


def efl_prices(pricing: Pricing, delivery: Delivery) -> dict[str, Decimal]:
    """The average prices at 500, 1,000 and 2,000 kWh, keyed by the usage as text."""
    return {str(kwh): average_price_cents(pricing, delivery, kwh) for kwh in EFL_USAGES}


def estimated_monthly_dollars(
    pricing: Pricing, delivery: Delivery, usage_by_month: Sequence[Decimal | int]
) -> Decimal:
    """The mean monthly bill over a history of monthly usage (normally the last 12 months),
    in dollars rounded half-up to the cent."""
    if not usage_by_month:
        raise ValueError("no months of usage")
    if any(Decimal(kwh) < 0 for kwh in usage_by_month):
        raise ValueError("usage cannot be negative")
    total = sum((monthly_bill(pricing, delivery, kwh) for kwh in usage_by_month), Decimal(0))
    return (total / Decimal(len(usage_by_month))).quantize(_CENT, rounding=ROUND_HALF_UP)

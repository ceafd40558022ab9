"""The EFL arithmetic against examples worked out by hand (written out here, not derived from
the code): tiers, monthly charges, usage credits and delivery charges, rounded half-up to
0.1 cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from enroll.plan.pricing import (
    Delivery,
    average_price_cents,
    efl_prices,
    estimated_monthly_dollars,
    monthly_bill,
)
from enroll.plan.schemas import Pricing

D = Decimal


def pricing(**fields: object) -> Pricing:
    return Pricing.model_validate({"termMonths": 12, "priceType": "fixed"} | fields)


# A fixed plan: 12.5 c/kWh flat, $9.95 a month, a $50 credit from 1,000 to 1,500 kWh; Oncor-like
# delivery of $4.23 a month and 5.6384 c/kWh.
FIXED = pricing(
    energyCharges=[{"fromKwh": 0, "centsPerKwh": "12.5"}],
    monthlyCharges=[{"name": "Base charge", "dollars": "9.95"}],
    usageCredits=[{"minKwh": 1000, "maxKwh": 1500, "dollars": "50"}],
)
ONCOR = Delivery(monthly_dollars=D("4.23"), cents_per_kwh=D("5.6384"))


def test_a_fixed_plan_with_a_usage_credit() -> None:
    # 500 kWh:  energy 500 x 12.5 = 6250 c = $62.50; + $9.95; no credit;
    #           delivery 4.23 + 5.6384 x 500 / 100 = 4.23 + 28.192 = $32.422
    #           total $104.872 / 500 x 100 = 20.9744 -> 21.0
    # 1000 kWh: energy $125.00; + $9.95; - $50 (1000 lies in [1000, 1500]);
    #           delivery 4.23 + 56.384 = $60.614; total $145.564 -> 14.5564 -> 14.6
    # 2000 kWh: energy $250.00; + $9.95; no credit (2000 > 1500);
    #           delivery 4.23 + 112.768 = $116.998; total $376.948 -> 18.8474 -> 18.8
    assert efl_prices(FIXED, ONCOR) == {"500": D("21.0"), "1000": D("14.6"), "2000": D("18.8")}
    assert monthly_bill(FIXED, ONCOR, 1000) == D("145.564")


def test_a_tiered_plan_with_two_monthly_charges() -> None:
    tiered = pricing(
        energyCharges=[
            {"fromKwh": 0, "toKwh": 500, "centsPerKwh": "8"},
            {"fromKwh": 500, "toKwh": 1500, "centsPerKwh": "10.0"},
            {"fromKwh": 1500, "centsPerKwh": "13"},
        ],
        monthlyCharges=[
            {"name": "Base", "dollars": "5"},
            {"name": "Meter", "dollars": "2.50"},
        ],
    )
    centerpoint = Delivery(monthly_dollars=D("4.39"), cents_per_kwh=D("4.0"))
    # 500 kWh:  energy 500 x 8 = 4000 c = $40; + $7.50; delivery 4.39 + 20 = $24.39
    #           total $71.89 -> 14.378 -> 14.4
    # 1000 kWh: energy 500 x 8 + 500 x 10 = 9000 c = $90; + $7.50; delivery 4.39 + 40
    #           total $141.89 -> 14.189 -> 14.2
    # 2000 kWh: energy 4000 + 1000 x 10 + 500 x 13 = 20500 c = $205; + $7.50;
    #           delivery 4.39 + 80 = $84.39; total $296.89 -> 14.8445 -> 14.8
    assert efl_prices(tiered, centerpoint) == {
        "500": D("14.4"),
        "1000": D("14.2"),
        "2000": D("14.8"),
    }


def test_rounding_is_half_up_to_a_tenth_of_a_cent() -> None:
    flat = pricing(energyCharges=[{"fromKwh": 0, "centsPerKwh": "10.25"}])
    nothing = Delivery(monthly_dollars=D(0), cents_per_kwh=D(0))
    # 10.25 exactly: half-up gives 10.3 (banker's rounding would give 10.2)
    assert average_price_cents(flat, nothing, 500) == D("10.3")
    lower = pricing(energyCharges=[{"fromKwh": 0, "centsPerKwh": "10.249999"}])
    assert average_price_cents(lower, nothing, 500) == D("10.2")


def test_credits_hold_at_their_bounds_and_an_open_credit_has_no_top() -> None:
    credited = pricing(
        energyCharges=[{"fromKwh": 0, "centsPerKwh": "10"}],
        usageCredits=[
            {"minKwh": 1000, "maxKwh": 1000, "dollars": "10"},
            {"minKwh": 2000, "dollars": "20"},
        ],
    )
    nothing = Delivery(monthly_dollars=D(0), cents_per_kwh=D(0))
    # 500: $50 -> 10.0; 1000: $100 - $10 = $90 -> 9.0; 2000: $200 - $20 = $180 -> 9.0
    assert efl_prices(credited, nothing) == {"500": D("10.0"), "1000": D("9.0"), "2000": D("9.0")}


def test_the_estimated_monthly_bill_is_the_mean_over_the_months() -> None:
    # bill(U) = 10 c x U + $5 + $3 + 2 c x U = $8 + $0.12 x U, and $20 off from 1000 kWh
    plan = pricing(
        energyCharges=[{"fromKwh": 0, "centsPerKwh": "10"}],
        monthlyCharges=[{"name": "Base", "dollars": "5"}],
        usageCredits=[{"minKwh": 1000, "dollars": "20"}],
    )
    delivery = Delivery(monthly_dollars=D(3), cents_per_kwh=D(2))
    # six months at 1000 kWh: $128 - $20 = $108; six at 500 kWh: $68; mean $88.00
    assert estimated_monthly_dollars(plan, delivery, [1000] * 6 + [500] * 6) == D("88.00")
    # half a cent rounds up: 1 c/kWh, nothing else; months of 1 and 0 kWh -> $0.005 -> $0.01
    cent = pricing(energyCharges=[{"fromKwh": 0, "centsPerKwh": "1"}])
    none = Delivery(monthly_dollars=D(0), cents_per_kwh=D(0))
    assert estimated_monthly_dollars(cent, none, [1, 0]) == D("0.01")
    with pytest.raises(ValueError):
        estimated_monthly_dollars(cent, none, [])


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([{"fromKwh": 100, "centsPerKwh": "1"}], "starts at fromKwh 0"),
        (
            [{"fromKwh": 0, "centsPerKwh": "1"}, {"fromKwh": 500, "centsPerKwh": "2"}],
            "only the last tier",
        ),
        (
            [
                {"fromKwh": 0, "toKwh": 500, "centsPerKwh": "1"},
                {"fromKwh": 400, "centsPerKwh": "2"},
            ],
            "must equal the toKwh before it",
        ),
        (
            [
                {"fromKwh": 0, "toKwh": 500, "centsPerKwh": "1"},
                {"fromKwh": 600, "centsPerKwh": "2"},
            ],
            "must equal the toKwh before it",
        ),
        ([{"fromKwh": 0, "toKwh": 0, "centsPerKwh": "1"}], "toKwh must exceed fromKwh"),
    ],
)
def test_tiers_are_contiguous_and_do_not_overlap(tiers: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pricing(energyCharges=tiers)


@pytest.mark.parametrize("value", ["-1", "1e3", "0.12345", " 1", 1.5, "NaN", "1,5"])
def test_money_is_a_plain_non_negative_decimal_string(value: object) -> None:
    with pytest.raises(ValueError):
        pricing(
            energyCharges=[{"fromKwh": 0, "centsPerKwh": "1"}],
            monthlyCharges=[{"name": "x", "dollars": value}],
        )

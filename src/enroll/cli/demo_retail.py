"""Demo data for retail electricity (seed 003): an ERCOT retail program instance counting days
in America/Chicago whose approvals send a market enrollment, the delivery charges of three
TDSPs, two plans with their EFL, TOS and YRAC documents, and (once the premises are loaded)
one customer who accepted a plan."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.enrollment import service as enrollments
from enroll.enrollment.schemas import EnrollmentCreate
from enroll.plan import service as plans
from enroll.plan.schemas import DeliveryChargeSet, PlanCreate
from enroll.program_instance import service as instances
from enroll.program_instance.schemas import ProgramInstanceCreate
from enroll.program_instance.setup_workflow import AssetOwnership, InstallationMethod

PROGRAM = {
    "slug": "texas-retail-electricity",
    "name": "Texas Retail Electricity",
    "type": "retail_plan",
    "states": ["TX"],
    "manufacturerSlugs": [],
    "year": 2026,
    "description": "Retail electricity plans in ERCOT's competitive market.",
}

# Approval sends the switch request (a market enrollment): with no marketEnrollmentUrl, as a
# to-do that someone completes once the utility confirmed (docs/locations.md's walk).
SWITCH_BY_HAND = {
    "enrollmentActions": [
        {
            "sequence": 1,
            "type": "market_enrollment",
            "installationMethods": [m.value for m in InstallationMethod],
            "assetOwnerships": [o.value for o in AssetOwnership],
        }
    ]
}

BLOCKING = [
    {"key": "billing", "kind": "billingAddress", "label": "Billing address", "stage": "submit"},
    {"key": "payment", "kind": "paymentMethod", "label": "Payment method", "stage": "submit"},
]

# Utility code -> (monthly dollars, cents per kWh): illustrative TDSP charges.
DELIVERY = {
    "oncor": ("4.23", "5.6384"),
    "centerpoint": ("4.39", "5.4113"),
    "aep_texas": ("4.79", "5.7150"),
}
DOCS = "https://example.com/demo/plans"


def _documents(code: str) -> list[dict[str, str]]:
    return [
        {"type": "efl", "url": f"{DOCS}/{code}/efl.pdf", "version": "2026-01"},
        {"type": "tos", "url": f"{DOCS}/tos.pdf", "version": "7"},
        {"type": "yrac", "url": f"{DOCS}/yrac.pdf", "version": "2024"},
    ]


PLANS: list[dict[str, Any]] = [
    {
        "code": "FIXED-12",
        "aliases": ["FX12"],
        "name": "Lone Star Fixed 12",
        "description": "Twelve months at one energy price; $50 off from 1,000 to 1,500 kWh.",
        "availability": {"in": [{"var": "location.utility.code"}, list(DELIVERY)]},
        "unavailableReason": "Offered in Oncor, CenterPoint and AEP Texas territory only.",
        "startWindow": {"earliestDays": 0, "latestDays": 30},
        "documents": _documents("fixed-12"),
        "pricing": {
            "termMonths": 12,
            "priceType": "fixed",
            "energyCharges": [{"fromKwh": 0, "centsPerKwh": "12.5"}],
            "monthlyCharges": [{"name": "Base charge", "dollars": "9.95"}],
            "usageCredits": [{"minKwh": 1000, "maxKwh": 1500, "dollars": "50"}],
            "cancellationFeeDollars": "150",
            "renewablePercent": "24",
        },
    },
    {
        "code": "TIERED-24",
        "name": "Prairie Tiered 24",
        "description": "Twenty-four months; the first 500 kWh cheapest.",
        "availability": {"==": [{"var": "location.premiseType"}, "residential"]},
        "unavailableReason": "Residential premises only.",
        "startWindow": {"earliestDays": 2, "latestDays": 45},
        "documents": _documents("tiered-24"),
        "pricing": {
            "termMonths": 24,
            "priceType": "fixed",
            "energyCharges": [
                {"fromKwh": 0, "toKwh": 500, "centsPerKwh": "8.0"},
                {"fromKwh": 500, "toKwh": 1500, "centsPerKwh": "10.0"},
                {"fromKwh": 1500, "centsPerKwh": "13.0"},
            ],
            "monthlyCharges": [{"name": "Base charge", "dollars": "5"}],
            "cancellationFeeDollars": "20",
            "renewablePercent": "100",
        },
    },
]


async def seed_retail(
    session: AsyncSession, *, workspace_id: str, program_slug: str, now: datetime
) -> dict[str, Any]:
    instance = await instances.create(
        session,
        workspace_id=workspace_id,
        now=now,
        body=ProgramInstanceCreate.model_validate(
            {
                "programSlug": program_slug,
                "slug": f"demo-ercot-retail-{workspace_id[-6:]}",
                "name": "Demo Retail Electricity (ERCOT)",
                "status": "active",
                "timezone": "America/Chicago",
                "setupWorkflow": SWITCH_BY_HAND,
                # Seed 003's blocking components: submitted once both are done.
                "requirements": BLOCKING,
                "submitWhenComplete": True,
            }
        ),
    )
    for utility, (monthly, cents) in DELIVERY.items():
        await plans.set_delivery_charge(
            session,
            workspace_id=workspace_id,
            utility_code=utility,
            body=DeliveryChargeSet(
                monthly_dollars=monthly, cents_per_kwh=cents, effective_from=date(2026, 1, 1)
            ),
            now=now,
        )
    codes = []
    for spec in PLANS:
        plan = await plans.create(
            session,
            workspace_id=workspace_id,
            instance_ref=instance.id,
            body=PlanCreate.model_validate(spec),
            now=now,
        )
        codes.append(plan.code)
    return {"id": instance.id, "slug": instance.slug, "plans": codes}


async def accept_plan(
    session: AsyncSession,
    *,
    workspace_id: str,
    instance_id: str,
    service_point_id: str,
    now: datetime,
) -> str:
    """A customer who accepted FIXED-12 (by its alias) at a demo premise, with the consent
    record a web sign-up keeps; the enrollment's id."""
    plan = PLANS[0]
    body = {
        "identificationType": "customerInfo",
        "firstName": "Rosa",
        "lastName": "Mendez",
        "email": "rosa.mendez@example.com",
        "servicePointId": service_point_id,
        "planCode": plan["aliases"][0],
        "consent": {
            "termsAccepted": True,
            "documents": [{"type": d["type"], "version": d["version"]} for d in plan["documents"]],
            "text": f"I agree to switch to {plan['name']} and accept its EFL, TOS and YRAC.",
            "ipAddress": "203.0.113.7",
            "userAgent": "Mozilla/5.0 (demo)",
            "channel": "web",
            "actor": {"type": "customer", "name": "Rosa Mendez"},
        },
    }
    enrollment, _ = await enrollments.create(
        session,
        workspace_id=workspace_id,
        instance_ref=instance_id,
        body=EnrollmentCreate.model_validate(body),
        actor="demo",
        now=now,
    )
    return enrollment.id

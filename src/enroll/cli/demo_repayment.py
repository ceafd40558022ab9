"""Demo data for an income-driven repayment enrollment (seed 004): an instance whose
requirements are the seed's preconditions, signature, spouse and income certification, its
four repayment plans (``repaye`` an alias of ``save``, ``new_ibr`` of ``ibr``), and one married
applicant whose income certification still waits for a pay stub (docs/requirements.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.customer.schemas import HouseholdMemberCreate
from enroll.enrollment import requirement_actions
from enroll.enrollment import service as enrollments
from enroll.enrollment.schemas import EnrollmentCreate
from enroll.plan import service as plans
from enroll.plan.schemas import PlanCreate
from enroll.program_instance import service as instances
from enroll.program_instance.schemas import ProgramInstanceCreate
from enroll.vault.keyring import KeyRing

PROGRAM = {
    "slug": "student-loan-idr",
    "name": "Student Loan Income-Driven Repayment",
    "type": "other",
    "states": [],
    "manufacturerSlugs": [],
    "year": 2026,
    "description": "Enroll borrowers in an income-driven repayment plan.",
}
SIGNED = "2026-01"
ADDRESS = ["address.streetOne", "address.city", "address.state", "address.postalCode"]
REQUIREMENTS: list[dict[str, Any]] = [
    {"key": "loans", "kind": "rule", "label": "Has student loans", "stage": "create",
     "rule": {"!!": [{"var": "metadata.loans"}]}, "reason": "No student loan debts."},
    {"key": "tax_id", "kind": "field", "label": "SSN", "stage": "create", "paths": ["taxId"]},
    {"key": "phone", "kind": "field", "label": "Phone", "stage": "create", "paths": ["phone"]},
    {"key": "address", "kind": "field", "label": "Address", "stage": "create", "paths": ADDRESS},
    {"key": "agi", "kind": "field", "label": "AGI", "stage": "create", "paths": ["income.agi"]},
    {"key": "not_student", "kind": "rule", "label": "Not an active student", "stage": "create",
     "rule": {"!": {"in": [{"var": "studentStatus"}, ["full_time", "three_quarter_time"]]}},
     "reason": "An active full-time or three-quarter-time student."},
    {"key": "marital_status", "kind": "field", "label": "Marital status", "stage": "create",
     "paths": ["maritalStatus"]},
    {"key": "signature", "kind": "consent", "label": "Authorisation to file", "stage": "create",
     "consentKind": "signature", "textVersion": SIGNED},
    {"key": "spouse", "kind": "householdMember", "label": "Spouse", "stage": "submit",
     "role": "spouse",
     "paths": ["firstName", "lastName", "dateOfBirth", "taxId", "hasTaxableIncome"],
     "when": {"==": [{"var": "maritalStatus"}, "married"]}},
    {"key": "income", "kind": "incomeCertification", "label": "Income certification",
     "stage": "submit"},
]  # fmt: skip
PLANS = [("save", ["repaye"]), ("paye", []), ("ibr", ["new_ibr"]), ("icr", [])]


async def seed_repayment(
    session: AsyncSession, *, workspace_id: str, ring: KeyRing, now: datetime
) -> dict[str, Any]:
    instance = await instances.create(
        session,
        workspace_id=workspace_id,
        now=now,
        body=ProgramInstanceCreate.model_validate(
            {
                "programSlug": PROGRAM["slug"],
                "slug": f"demo-idr-{workspace_id[-6:]}",
                "name": "Demo Income-Driven Repayment",
                "status": "active",
                "requirements": REQUIREMENTS,
            }
        ),
    )
    for code, aliases in PLANS:
        await plans.create(
            session,
            workspace_id=workspace_id,
            instance_ref=instance.id,
            body=PlanCreate.model_validate(
                {"code": code, "aliases": aliases, "name": code.upper()}
            ),
            now=now,
        )
    enrollment_id = await _applicant(session, workspace_id, instance.id, ring=ring, now=now)
    return {"id": instance.id, "slug": instance.slug, "enrollment": enrollment_id}


async def _applicant(
    session: AsyncSession, workspace_id: str, instance_id: str, *, ring: KeyRing, now: datetime
) -> str:
    """Jordan, married, income decreased since filing: the spouse is on file; the income
    certification waits for their pay stubs."""
    body = {
        "identificationType": "customerInfo",
        "firstName": "Jordan",
        "lastName": "Rivera",
        "email": "jordan.rivera@example.com",
        "phone": "+1 518 555 0142",
        "address": {"streetOne": "12 State St", "city": "Albany", "state": "NY",
                    "postalCode": "12207"},
        "metadata": {"loans": [{"type": "direct_subsidized", "balance": 31250}]},
        "taxId": "123-45-6789",
        "maritalStatus": "married",
        "studentStatus": "not_enrolled",
        "employmentStatus": "employed",
        "income": {"agi": 38200, "hasTaxableIncome": True, "decreasedSinceFiling": True},
        "planCode": "repaye",
        "consent": {"kind": "signature", "termsAccepted": True, "textVersion": SIGNED,
                    "text": "I authorise the filing of my repayment plan request.",
                    "channel": "web"},
    }  # fmt: skip
    enrollment, _ = await enrollments.create(
        session,
        workspace_id=workspace_id,
        instance_ref=instance_id,
        body=EnrollmentCreate.model_validate(body),
        actor="demo",
        now=now,
        ring=ring,
    )
    assert enrollment.customer_id is not None
    await requirement_actions.add_member(
        session,
        workspace_id=workspace_id,
        customer_id=enrollment.customer_id,
        body=HouseholdMemberCreate.model_validate(
            {
                "role": "spouse",
                "firstName": "Casey",
                "lastName": "Rivera",
                "dateOfBirth": "1991-04-17",
                "taxId": "987-65-4321",
                "hasTaxableIncome": True,
                "agi": 21000,
                "hasFederalLoans": False,
            }
        ),
        ring=ring,
        now=now,
    )
    return enrollment.id

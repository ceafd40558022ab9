"""Seed 004's income-driven repayment enrollment as an instance's requirements: the shapes
the tests share (docs/requirements.md shows the same)."""

from __future__ import annotations

from typing import Any

from tests.support.helpers import uniq
from tests.support.server import Tenant

ADDRESS_PATHS = ["address.streetOne", "address.city", "address.state", "address.postalCode"]
REQUIREMENTS: list[dict[str, Any]] = [
    {"key": "loans", "kind": "rule", "label": "Has student loans", "stage": "create",
     "rule": {"!!": [{"var": "metadata.loans"}]}, "reason": "No student loan debts."},
    {"key": "tax_id", "kind": "field", "label": "SSN", "stage": "create", "paths": ["taxId"]},
    {"key": "phone", "kind": "field", "label": "Phone number", "stage": "create",
     "paths": ["phone"]},
    {"key": "address", "kind": "field", "label": "Address", "stage": "create",
     "paths": ADDRESS_PATHS},
    {"key": "agi", "kind": "field", "label": "AGI", "stage": "create", "paths": ["income.agi"]},
    {"key": "not_student", "kind": "rule", "label": "Not an active student", "stage": "create",
     "rule": {"!": {"in": [{"var": "studentStatus"}, ["full_time", "three_quarter_time"]]}},
     "reason": "An active full-time or three-quarter-time student."},
    {"key": "marital_status", "kind": "field", "label": "Marital status", "stage": "create",
     "paths": ["maritalStatus"]},
    {"key": "signature", "kind": "consent", "label": "Authorisation to file", "stage": "create",
     "consentKind": "signature", "textVersion": "2026-01"},
    {"key": "spouse", "kind": "householdMember", "label": "Spouse", "stage": "submit",
     "role": "spouse",
     "paths": ["firstName", "lastName", "dateOfBirth", "taxId", "hasTaxableIncome"],
     "when": {"==": [{"var": "maritalStatus"}, "married"]}},
    {"key": "income", "kind": "incomeCertification", "label": "Income certification",
     "stage": "submit"},
]  # fmt: skip
SIGNATURE = {
    "kind": "signature",
    "termsAccepted": True,
    "textVersion": "2026-01",
    "text": "By clicking Submit you authorise us to request changes to your repayment plan.",
    "channel": "web",
}
PLANS = [("save", ["repaye"]), ("paye", []), ("ibr", ["new_ibr"]), ("icr", [])]


def repayment_instance(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    """An instance of seed 004's requirements with its four repayment plans."""
    instance = tenant.instance(requirements=REQUIREMENTS, **fields)
    for code, aliases in PLANS:
        r = tenant.client.post(
            f"/v1/programInstances/{instance['id']}/plans",
            json={"code": code, "aliases": aliases, "name": code.upper()},
        )
        assert r.status_code == 201, r.text
    return instance


def applicant(**fields: Any) -> dict[str, Any]:
    """A create body meeting every create requirement but the signature."""
    n = uniq()
    return {
        "identificationType": "customerInfo",
        "firstName": "Sam",
        "lastName": f"Borrower{n}",
        "email": f"sam.{n}@example.com",
        "phone": "+1 212 555 0101",
        "address": {"streetOne": "1 Main St", "city": "Albany", "state": "NY",
                    "postalCode": "12207"},
        "manufacturerSlugs": ["tesla"],
        "metadata": {"loans": [{"type": "direct_unsubsidized", "balance": 24000}]},
        "taxId": "123-45-6789",
        "maritalStatus": "single",
        "studentStatus": "not_enrolled",
        "income": {"agi": 41000, "hasTaxableIncome": True, "decreasedSinceFiling": False},
    } | fields  # fmt: skip

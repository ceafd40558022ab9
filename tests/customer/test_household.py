"""Household members over real HTTP (both databases): create, list, read, change, clear and
delete; their tax ids sealed; 404 for another workspace's customer or member and for a member
of another customer; every refusal a 422 problem naming its field, and nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from enroll.customer.applicant import CUSTOMER_TAX_ID, MEMBER_TAX_ID
from enroll.models import HouseholdMember
from enroll.vault.keyring import TEXT_PREFIX, KeyRing, SealedValueError
from tests.customer.helpers import (
    add_member,
    assert_hidden,
    fields_of,
    new_customer,
    problem,
    sealed_tax_id,
)
from tests.support.server import TEST_DATA_KEY, Tenant

SPOUSE = {
    "role": "spouse",
    "firstName": "Sam",
    "lastName": "Lovelace",
    "dateOfBirth": "1986-07-01",
    "taxId": "555-12-3456",
    "hasTaxableIncome": True,
    "agi": 31000.25,
    "hasFederalLoans": False,
}
SHOWN = {k: v for k, v in SPOUSE.items() if k != "taxId"} | {"taxIdLast4": "3456"}
BLANK = {
    "firstName": None,
    "lastName": None,
    "dateOfBirth": None,
    "taxIdLast4": None,
    "hasTaxableIncome": None,
    "agi": None,
    "hasFederalLoans": None,
}


def shown(member: dict[str, Any]) -> dict[str, Any]:
    assert "taxId" not in member, member
    return {k: member[k] for k in SHOWN}


def test_household_crud(tenant: Tenant) -> None:
    c = tenant.client
    customer = new_customer(tenant)
    base = f"/v1/customers/{customer['id']}/householdMembers"
    assert c.get(base).json() == []

    spouse = add_member(tenant, customer["id"], **SPOUSE)
    assert shown(spouse) == SHOWN and spouse["customerId"] == customer["id"]
    assert spouse["version"] == 1
    kid = add_member(tenant, customer["id"], role="dependent", firstName="Kid")
    assert shown(kid) == BLANK | {"role": "dependent", "firstName": "Kid"}

    listed = c.get(base)
    assert listed.status_code == 200, listed.text
    assert [m["id"] for m in listed.json()] == [spouse["id"], kid["id"]]  # oldest first
    one = c.get(f"{base}/{spouse['id']}")
    assert one.status_code == 200 and one.json() == spouse
    assert_hidden(listed.text + one.text, SPOUSE["taxId"])

    # Only what is sent changes; null clears; the role changes but is never null.
    r = c.patch(f"{base}/{spouse['id']}", json={"agi": 0, "taxId": "555123457", "role": "other"})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert shown(changed) == SHOWN | {"agi": 0.0, "taxIdLast4": "3457", "role": "other"}
    assert changed["version"] == 2 and changed["createdAt"] == spouse["createdAt"]
    r = c.patch(
        f"{base}/{spouse['id']}",
        json={k: None for k in ("firstName", "lastName", "dateOfBirth", "taxId")}
        | {"hasTaxableIncome": None, "agi": None, "hasFederalLoans": None},
    )
    assert r.status_code == 200, r.text
    assert shown(r.json()) == BLANK | {"role": "other"}
    assert sealed_tax_id(tenant.server, HouseholdMember, spouse["id"]) == (None, None)
    assert c.get(f"{base}/{spouse['id']}").json() == r.json()

    r = c.delete(f"{base}/{spouse['id']}")
    assert r.status_code == 204 and r.content == b"", r.text
    problem(c.get(f"{base}/{spouse['id']}"), 404, "not_found")
    problem(c.delete(f"{base}/{spouse['id']}"), 404, "not_found")
    assert [m["id"] for m in c.get(base).json()] == [kid["id"]]


def test_a_member_tax_id_is_sealed_as_a_member_s(tenant: Tenant) -> None:
    customer = new_customer(tenant)
    member = add_member(tenant, customer["id"], taxId="555-12-3456")
    ring = KeyRing.parse(TEST_DATA_KEY)
    sealed, last4 = sealed_tax_id(tenant.server, HouseholdMember, member["id"])
    assert last4 == "3456" and sealed.startswith(f"{TEXT_PREFIX}{ring.active}:"), sealed
    assert_hidden(sealed, "555-12-3456")
    assert ring.open_text(sealed, aad=MEMBER_TAX_ID) == "555123456"
    with pytest.raises(SealedValueError):
        ring.open_text(sealed, aad=CUSTOMER_TAX_ID)  # not a customer's, if copied there


def test_another_workspace_s_customer_and_member_are_not_found(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    customer = new_customer(tenant)
    member = add_member(tenant, customer["id"], **SPOUSE)
    base = f"/v1/customers/{customer['id']}/householdMembers"
    theirs = other_tenant.client
    own = new_customer(other_tenant)  # B's own customer, naming A's member under it
    own_base = f"/v1/customers/{own['id']}/householdMembers"
    before = tenant.client.get(base).json()
    for r in (
        theirs.get(base),
        theirs.post(base, json={"role": "spouse"}),
        theirs.get(f"{base}/{member['id']}"),
        theirs.patch(f"{base}/{member['id']}", json={"firstName": "X"}),
        theirs.delete(f"{base}/{member['id']}"),
        theirs.get(f"{own_base}/{member['id']}"),
        theirs.patch(f"{own_base}/{member['id']}", json={"firstName": "X"}),
        theirs.delete(f"{own_base}/{member['id']}"),
    ):
        body = problem(r, 404, "not_found")
        assert "Sam" not in r.text and "3456" not in r.text, body
    assert tenant.client.get(base).json() == before
    assert theirs.get(own_base).json() == []


def test_a_member_of_another_customer_is_not_found(tenant: Tenant) -> None:
    c = tenant.client
    first, second = new_customer(tenant), new_customer(tenant)
    member = add_member(tenant, first["id"], **SPOUSE)
    wrong = f"/v1/customers/{second['id']}/householdMembers/{member['id']}"
    for r in (
        c.get(wrong),
        c.patch(wrong, json={"firstName": "Moved"}),
        c.delete(wrong),
    ):
        body = problem(r, 404, "not_found")
        assert member["id"] in body["detail"], body
    right = f"/v1/customers/{first['id']}/householdMembers/{member['id']}"
    assert c.get(right).json() == member
    assert c.get(f"/v1/customers/{second['id']}/householdMembers").json() == []
    # An unknown customer: 404 for its household too.
    problem(c.get("/v1/customers/cnosuchcustomer0000000000/householdMembers"), 404, "not_found")
    problem(
        c.post("/v1/customers/cnosuchcustomer0000000000/householdMembers", json={"role": "spouse"}),
        404,
        "not_found",
    )


BAD_NEW = [
    ({}, "role"),
    ({"role": "cousin"}, "role"),
    ({"role": "Spouse"}, "role"),
    ({"role": None}, "role"),
    ({"role": "spouse", "taxId": "55-512-3456"}, "taxId"),
    ({"role": "spouse", "taxId": "5551234567"}, "taxId"),
    ({"role": "spouse", "agi": -0.01}, "agi"),
    ({"role": "spouse", "agi": "31000"}, "agi"),
    ({"role": "spouse", "dateOfBirth": "1986-13-01"}, "dateOfBirth"),
    ({"role": "spouse", "hasFederalLoans": "yes"}, "hasFederalLoans"),
    ({"role": "spouse", "maritalStatus": "married"}, "maritalStatus"),  # the customer's
    ({"role": "spouse", "firstName": ""}, "firstName"),
]


@pytest.mark.parametrize(("body", "field"), BAD_NEW, ids=[json.dumps(b[0]) for b in BAD_NEW])
def test_invalid_members_are_422_problems(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    customer = new_customer(tenant)
    base = f"/v1/customers/{customer['id']}/householdMembers"
    r = tenant.client.post(base, json=body)
    assert fields_of(problem(r, 422, "validation_error")) == [field]
    if "taxId" in body:
        assert body["taxId"] not in r.text
    assert tenant.client.get(base).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": None}, "role"),
        ({"role": "partner"}, "role"),
        ({"taxId": "not-a-tax-id"}, "taxId"),
        ({"agi": "a lot"}, "agi"),
        ({"customerId": "c1"}, "customerId"),
    ],
)
def test_invalid_member_changes_are_422_problems(
    tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    customer = new_customer(tenant)
    member = add_member(tenant, customer["id"], **SPOUSE)
    path = f"/v1/customers/{customer['id']}/householdMembers/{member['id']}"
    assert fields_of(problem(tenant.client.patch(path, json=body), 422, "validation_error")) == [
        field
    ]
    assert tenant.client.get(path).json() == member

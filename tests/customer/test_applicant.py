"""The applicant's fields on customers over real HTTP (both databases): set on create and on
PATCH, null clears, the tax id sealed at rest and shown only as ``taxIdLast4`` (never in an
answer, a list, an event or an error), and every refusal a 422 problem naming its field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from enroll.customer.applicant import CUSTOMER_TAX_ID, MEMBER_TAX_ID
from enroll.models import Customer
from enroll.vault.keyring import TEXT_PREFIX, KeyRing, SealedValueError
from tests.customer.helpers import (
    assert_hidden,
    fields_of,
    new_customer,
    problem,
    sealed_tax_id,
)
from tests.support.server import TEST_DATA_KEY, Tenant

TAX_ID = "987-65-4321"
APPLICANT = {
    "dateOfBirth": "1985-03-14",
    "taxId": TAX_ID,
    "maritalStatus": "married",
    "studentStatus": "half_time",
    "employmentStatus": "self_employed",
    "income": {"agi": 48250.5, "hasTaxableIncome": True, "decreasedSinceFiling": False},
    "irsAuthorizedAt": "2026-01-05T10:30:00Z",
}
SHOWN = {
    "dateOfBirth": "1985-03-14",
    "taxIdLast4": "4321",
    "maritalStatus": "married",
    "studentStatus": "half_time",
    "employmentStatus": "self_employed",
    "income": {"agi": 48250.5, "hasTaxableIncome": True, "decreasedSinceFiling": False},
    "irsAuthorizedAt": "2026-01-05T10:30:00Z",
    "billingAddress": None,
}
EMPTY = {
    "dateOfBirth": None,
    "taxIdLast4": None,
    "maritalStatus": None,
    "studentStatus": None,
    "employmentStatus": None,
    "income": {"agi": None, "hasTaxableIncome": None, "decreasedSinceFiling": None},
    "irsAuthorizedAt": None,
    "billingAddress": None,
}


def applicant_of(customer: dict[str, Any]) -> dict[str, Any]:
    assert "taxId" not in customer, customer
    return {k: customer[k] for k in SHOWN}


def test_applicant_fields_are_set_on_create_and_read_back(tenant: Tenant) -> None:
    c = tenant.client
    created = new_customer(tenant, **APPLICANT)
    assert applicant_of(created) == SHOWN
    got = c.get(f"/v1/customers/{created['id']}")
    assert got.status_code == 200 and applicant_of(got.json()) == SHOWN
    listed = c.get("/v1/customers", params={"email": created["email"]}).json()["data"]
    assert [applicant_of(x) for x in listed] == [SHOWN]
    for r in (got,):
        assert_hidden(r.text, TAX_ID)

    plain = new_customer(tenant)
    assert applicant_of(plain) == EMPTY  # none of them is required


def test_patch_sets_changes_and_clears_each_field(tenant: Tenant) -> None:
    c = tenant.client
    customer = new_customer(tenant)
    path = f"/v1/customers/{customer['id']}"

    r = c.patch(path, json=APPLICANT)
    assert r.status_code == 200 and applicant_of(r.json()) == SHOWN, r.text
    assert_hidden(r.text, TAX_ID)

    # Only what is sent changes; inside income too.
    r = c.patch(path, json={"maritalStatus": "divorced", "income": {"agi": 1000}})
    assert r.status_code == 200, r.text
    assert applicant_of(r.json()) == SHOWN | {
        "maritalStatus": "divorced",
        "income": SHOWN["income"] | {"agi": 1000.0},
    }
    r = c.patch(path, json={"taxId": "111223333"})  # dashes are optional
    assert r.json()["taxIdLast4"] == "3333"

    # null clears one field of income, then a field, then income as a whole.
    r = c.patch(path, json={"income": {"hasTaxableIncome": None}})
    assert r.json()["income"] == {
        "agi": 1000.0,
        "hasTaxableIncome": None,
        "decreasedSinceFiling": False,
    }
    r = c.patch(path, json={"taxId": None, "dateOfBirth": None, "irsAuthorizedAt": None})
    assert r.status_code == 200, r.text
    assert (r.json()["taxIdLast4"], r.json()["dateOfBirth"], r.json()["irsAuthorizedAt"]) == (
        None,
        None,
        None,
    )
    assert sealed_tax_id(tenant.server, Customer, customer["id"]) == (None, None)
    r = c.patch(
        path,
        json={
            "income": None,
            "maritalStatus": None,
            "studentStatus": None,
            "employmentStatus": None,
        },
    )
    assert r.status_code == 200 and applicant_of(r.json()) == EMPTY, r.text
    assert applicant_of(c.get(path).json()) == EMPTY
    # The customer's other fields were never touched.
    assert {k: r.json()[k] for k in ("firstName", "lastName", "email")} == {
        k: customer[k] for k in ("firstName", "lastName", "email")
    }


def test_the_tax_id_is_sealed_at_rest_under_the_data_key(tenant: Tenant) -> None:
    first = new_customer(tenant, taxId=TAX_ID)
    second = new_customer(tenant, taxId=TAX_ID)
    ring = KeyRing.parse(TEST_DATA_KEY)
    sealed, last4 = sealed_tax_id(tenant.server, Customer, first["id"])
    assert last4 == "4321"
    assert sealed.startswith(f"{TEXT_PREFIX}{ring.active}:"), sealed
    assert_hidden(sealed, TAX_ID)
    assert "4321" not in sealed
    assert ring.open_text(sealed, aad=CUSTOMER_TAX_ID) == "987654321"
    # The same number sealed twice differs (a fresh nonce), and a sealed value opens only as
    # what it is: not as a household member's tax id.
    other, _ = sealed_tax_id(tenant.server, Customer, second["id"])
    assert other != sealed and ring.open_text(other, aad=CUSTOMER_TAX_ID) == "987654321"
    with pytest.raises(SealedValueError):
        ring.open_text(sealed, aad=MEMBER_TAX_ID)


def test_money_is_kept_to_the_cent_the_same_way_on_every_read(tenant: Tenant) -> None:
    created = new_customer(tenant, income={"agi": 12.345})
    assert created["income"]["agi"] == 12.35
    assert tenant.client.get(f"/v1/customers/{created['id']}").json()["income"]["agi"] == 12.35
    r = tenant.client.patch(f"/v1/customers/{created['id']}", json={"income": {"agi": 0.004}})
    assert r.json()["income"]["agi"] == 0.0
    assert tenant.client.get(f"/v1/customers/{created['id']}").json()["income"]["agi"] == 0.0


BAD = [
    ({"taxId": "12345678"}, "taxId"),  # 8 digits
    ({"taxId": "1234567890"}, "taxId"),  # 10
    ({"taxId": "123-45-678x"}, "taxId"),
    ({"taxId": "123 45 6789"}, "taxId"),
    ({"taxId": "123-4-56789"}, "taxId"),
    ({"taxId": 123456789}, "taxId"),  # a number, not a string
    ({"maritalStatus": "complicated"}, "maritalStatus"),
    ({"maritalStatus": "MARRIED"}, "maritalStatus"),
    ({"studentStatus": "part_time"}, "studentStatus"),
    ({"employmentStatus": "astronaut"}, "employmentStatus"),
    ({"dateOfBirth": "14/03/1985"}, "dateOfBirth"),
    ({"dateOfBirth": 479606400}, "dateOfBirth"),
    ({"irsAuthorizedAt": "yesterday"}, "irsAuthorizedAt"),
    ({"income": {"agi": -1}}, "income.agi"),
    ({"income": {"agi": "12.5"}}, "income.agi"),  # a JSON number only
    ({"income": {"agi": True}}, "income.agi"),
    ({"income": {"agi": 1_000_000_001}}, "income.agi"),
    ({"income": {"salary": 5}}, "income.salary"),
    ({"income": {"hasTaxableIncome": "maybe"}}, "income.hasTaxableIncome"),
    ({"taxIdLast4": "1234"}, "taxIdLast4"),  # shown, never written
]


@pytest.mark.parametrize(("fields", "field"), BAD, ids=[json.dumps(b[0]) for b in BAD])
def test_invalid_applicant_fields_are_422_problems(
    tenant: Tenant, fields: dict[str, Any], field: str
) -> None:
    c = tenant.client
    customer = new_customer(tenant)
    for r in (
        c.post(
            "/v1/customers",
            json={"firstName": "A", "lastName": "B", "email": "x@example.com"} | fields,
        ),
        c.patch(f"/v1/customers/{customer['id']}", json=fields),
    ):
        body = problem(r, 422, "validation_error")
        assert fields_of(body) == [field], body
        if "taxId" in fields and isinstance(fields["taxId"], str):
            assert fields["taxId"] not in r.text  # a refused tax id is not echoed either
    assert applicant_of(c.get(f"/v1/customers/{customer['id']}").json()) == EMPTY
    assert c.get("/v1/customers", params={"email": "x@example.com"}).json()["data"] == []


def test_the_tax_id_appears_in_no_answer_event_or_graphql_answer(tenant: Tenant) -> None:
    """Everything a workspace can read after its customers got tax ids, searched for them."""
    c = tenant.client
    customer = new_customer(tenant, **APPLICANT)
    c.patch(f"/v1/customers/{customer['id']}", json={"taxId": "987654321"})
    member = c.post(
        f"/v1/customers/{customer['id']}/householdMembers",
        json={"role": "spouse", "taxId": "876-54-3210"},
    ).json()
    c.patch(
        f"/v1/customers/{customer['id']}/householdMembers/{member['id']}",
        json={"taxId": "876543210"},
    )
    instance = tenant.instance()
    tenant.enroll(instance["id"], identificationType="customerId", customerId=customer["id"])
    reads = [
        c.get(f"/v1/customers/{customer['id']}"),
        c.get("/v1/customers", params={"perPage": 100}),
        c.get(f"/v1/customers/{customer['id']}/householdMembers"),
        c.get(f"/v1/customers/{customer['id']}/householdMembers/{member['id']}"),
        c.get("/v1/enrollments", params={"perPage": 100}),
        c.post(
            "/graphql",
            json={
                "query": """query($id: ID!) { customer(id: $id) { taxIdLast4 income
                  householdMembers { taxIdLast4 } } customers { edges { node { taxIdLast4 } } }
                  enrollments { edges { node { customer { taxIdLast4 } } } } }""",
                "variables": {"id": customer["id"]},
            },
        ),
    ]
    text = "\n".join(r.text for r in reads) + json.dumps(tenant.events(limit=500))
    assert all(r.status_code == 200 for r in reads), [r.text for r in reads]
    assert "4321" in text and "3210" in text  # the last 4 are shown
    for tax_id in (TAX_ID, "876-54-3210"):
        assert_hidden(text, tax_id)

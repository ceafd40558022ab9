"""The applicant's data and household through GraphQL (both databases): createCustomer and
updateCustomer with the applicant's fields, Customer.householdMembers, add/update/delete a
member; each answers what REST reads, the tax id only as taxIdLast4, refusals with REST's
codes. (Scopes and isolation: tests/graphql/test_isolation.py.)"""

from __future__ import annotations

from typing import Any

from tests.customer.helpers import add_member, assert_hidden, new_customer
from tests.requirements.seed004 import SIGNATURE, applicant, repayment_instance
from tests.support.graphql import data, error, fields_of, gql
from tests.support.helpers import uniq
from tests.support.server import Tenant

APPLICANT = """dateOfBirth taxIdLast4 maritalStatus studentStatus employmentStatus income
  irsAuthorizedAt billingAddress"""
MEMBER = """id customerId role firstName lastName dateOfBirth taxIdLast4 hasTaxableIncome agi
  hasFederalLoans version createdAt updatedAt"""
CREATE = f"""mutation($input: CustomerCreateInput!) {{
  createCustomer(input: $input) {{ id version {APPLICANT} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: CustomerUpdateInput!) {{
  updateCustomer(id: $id, input: $input) {{ id version {APPLICANT} }} }}"""
HOUSEHOLD = f"query($id: ID!) {{ customer(id: $id) {{ id householdMembers {{ {MEMBER} }} }} }}"
ADD = f"""mutation($c: ID!, $input: HouseholdMemberCreateInput!) {{
  addHouseholdMember(customerId: $c, input: $input) {{ {MEMBER} }} }}"""
CHANGE = f"""mutation($c: ID!, $id: ID!, $input: HouseholdMemberUpdateInput!) {{
  updateHouseholdMember(customerId: $c, id: $id, input: $input) {{ {MEMBER} }} }}"""
DELETE = "mutation($c: ID!, $id: ID!) { deleteHouseholdMember(customerId: $c, id: $id) }"
TAX_ID = "321-54-9876"


def rest_applicant(tenant: Tenant, customer_id: str) -> dict[str, Any]:
    got = tenant.client.get(f"/v1/customers/{customer_id}").json()
    return {k: got[k] for k in APPLICANT.split()} | {"id": got["id"], "version": got["version"]}


def test_create_and_update_a_customer_with_the_applicant_s_fields(tenant: Tenant) -> None:
    c = tenant.client
    n = uniq()
    body = gql(
        c,
        CREATE,
        input={
            "firstName": "Ada",
            "lastName": n,
            "email": f"ada.{n}@example.com",
            "dateOfBirth": "1985-03-14",
            "taxId": TAX_ID,
            "maritalStatus": "married_filing_separately",
            "studentStatus": "not_enrolled",
            "employmentStatus": "employed",
            "income": {"agi": 52000.555, "hasTaxableIncome": True},
            "irsAuthorizedAt": "2026-01-05T10:30:00Z",
        },
    )
    created = data(body)["createCustomer"]
    assert created == rest_applicant(tenant, created["id"])
    assert (
        created["taxIdLast4"] == "9876" and created["maritalStatus"] == "married_filing_separately"
    )
    assert created["income"] == {
        "agi": 52000.56,
        "hasTaxableIncome": True,
        "decreasedSinceFiling": None,
    }
    assert_hidden(str(body), TAX_ID)

    # Only what is sent changes; null clears.
    body = gql(
        c,
        UPDATE,
        id=created["id"],
        input={"studentStatus": "full_time", "income": {"decreasedSinceFiling": True}},
    )
    updated = data(body)["updateCustomer"]
    assert updated == rest_applicant(tenant, created["id"])
    assert updated["studentStatus"] == "full_time" and updated["taxIdLast4"] == "9876"
    assert updated["income"] == {
        "agi": 52000.56,
        "hasTaxableIncome": True,
        "decreasedSinceFiling": True,
    }
    cleared = data(
        gql(
            c,
            UPDATE,
            id=created["id"],
            input={"taxId": None, "income": None, "maritalStatus": None, "dateOfBirth": None},
        )
    )["updateCustomer"]
    assert cleared == rest_applicant(tenant, created["id"])
    assert (cleared["taxIdLast4"], cleared["maritalStatus"], cleared["dateOfBirth"]) == (None,) * 3
    assert set(cleared["income"].values()) == {None}


def test_the_tax_id_cannot_be_asked_for(tenant: Tenant) -> None:
    customer = new_customer(tenant, taxId=TAX_ID)
    add_member(tenant, customer["id"], taxId=TAX_ID)
    for query in (
        "query($id: ID!) { customer(id: $id) { taxId } }",
        "query($id: ID!) { customer(id: $id) { householdMembers { taxId } } }",
    ):
        body = gql(tenant.client, query, id=customer["id"])
        assert body.get("data") is None and body["errors"], body
        assert_hidden(str(body), TAX_ID)


def test_refusals_carry_rest_s_codes_and_fields(tenant: Tenant) -> None:
    c = tenant.client
    customer = new_customer(tenant)
    body = gql(c, UPDATE, id=customer["id"], input={"taxId": "32-154-9876"})
    assert fields_of(error(body, "validation_error", 422)) == ["taxId"]
    assert "32-154-9876" not in str(body)
    body = gql(c, UPDATE, id=customer["id"], input={"income": {"agi": -5}})
    assert fields_of(error(body, "validation_error", 422)) == ["income.agi"]
    # An unknown enum value is refused by the schema itself, before anything runs.
    body = gql(c, UPDATE, id=customer["id"], input={"maritalStatus": "complicated"})
    assert body.get("data") is None and "MaritalStatus" in body["errors"][0]["message"], body
    body = gql(c, ADD, c=customer["id"], input={"role": "cousin"})
    assert body.get("data") is None and "HouseholdRole" in body["errors"][0]["message"], body
    body = gql(c, ADD, c=customer["id"], input={"role": "spouse", "taxId": "1"})
    assert fields_of(error(body, "validation_error", 422)) == ["taxId"]
    body = gql(c, CHANGE, c=customer["id"], id="cnosuchmember", input={"role": None})
    error(body, "not_found", 404)
    member = add_member(tenant, customer["id"])
    body = gql(c, CHANGE, c=customer["id"], id=member["id"], input={"role": None})
    assert fields_of(error(body, "validation_error", 422)) == ["role"]
    assert rest_applicant(tenant, customer["id"])["taxIdLast4"] is None
    assert c.get(f"/v1/customers/{customer['id']}/householdMembers").json() == [member]


def test_household_round_trip(tenant: Tenant) -> None:
    c = tenant.client
    customer = new_customer(tenant)
    rest_list = f"/v1/customers/{customer['id']}/householdMembers"

    spouse = data(
        gql(
            c,
            ADD,
            c=customer["id"],
            input={
                "role": "spouse",
                "firstName": "Sam",
                "dateOfBirth": "1986-07-01",
                "taxId": TAX_ID,
                "hasTaxableIncome": True,
                "agi": 31000.25,
            },
        )
    )["addHouseholdMember"]
    assert spouse["taxIdLast4"] == "9876" and spouse["role"] == "spouse"
    kid = data(gql(c, ADD, c=customer["id"], input={"role": "dependent"}))["addHouseholdMember"]
    assert c.get(rest_list).json() == [spouse, kid]  # the same values as REST reads
    household = data(gql(c, HOUSEHOLD, id=customer["id"]))["customer"]["householdMembers"]
    assert household == [spouse, kid]

    changed = data(
        gql(
            c,
            CHANGE,
            c=customer["id"],
            id=spouse["id"],
            input={"agi": None, "hasFederalLoans": True, "role": "other"},
        )
    )["updateHouseholdMember"]
    assert changed == c.get(f"{rest_list}/{spouse['id']}").json()
    assert (changed["agi"], changed["hasFederalLoans"], changed["role"], changed["version"]) == (
        None,
        True,
        "other",
        2,
    )

    # A member is named under its own customer only.
    other = new_customer(tenant)
    body = gql(c, DELETE, c=other["id"], id=kid["id"])
    error(body, "not_found", 404)
    assert data(gql(c, DELETE, c=customer["id"], id=kid["id"])) == {
        "deleteHouseholdMember": kid["id"]
    }
    assert [m["id"] for m in c.get(rest_list).json()] == [spouse["id"]]
    error(gql(c, DELETE, c=customer["id"], id=kid["id"]), "not_found", 404)


def test_households_of_many_customers_in_one_query(tenant: Tenant) -> None:
    """Each customer of a page shows its own household (loaded for all of them at once)."""
    c = tenant.client
    customers = [new_customer(tenant) for _ in range(3)]
    members = {
        customers[0]["id"]: [add_member(tenant, customers[0]["id"])["id"]],
        customers[1]["id"]: [],
        customers[2]["id"]: [
            add_member(tenant, customers[2]["id"], role=role)["id"]
            for role in ("spouse", "dependent", "dependent")
        ],
    }
    body = data(
        gql(c, "{ customers(first: 50) { edges { node { id householdMembers { id } } } } }")
    )
    got = {
        e["node"]["id"]: [m["id"] for m in e["node"]["householdMembers"]]
        for e in body["customers"]["edges"]
    }
    assert got == members


def test_graphql_changes_recompute_the_customer_s_requirements(tenant: Tenant) -> None:
    """The doors call what REST calls: a household or applicant change through GraphQL
    recomputes the requirements of the customer's open enrollments (seed 004's spouse)."""
    c = tenant.client
    instance = repayment_instance(tenant)
    r = c.post(
        f"/v1/programInstances/{instance['id']}/enrollments",
        json=applicant(maritalStatus="married", consent=SIGNATURE, planCode="ibr"),
    )
    assert r.status_code == 201, r.text
    enrollment, customer_id = r.json()["id"], r.json()["customerId"]

    def spouse() -> tuple[str, str | None]:
        read = c.get(f"/v1/enrollments/{enrollment}/requirements").json()["data"]
        states = {s["key"]: s for s in read}
        return states["spouse"]["status"], states["spouse"]["detail"]

    assert spouse()[0] == "unmet"
    added = data(
        gql(
            c,
            ADD,
            c=customer_id,
            input={
                "role": "spouse",
                "firstName": "Alex",
                "lastName": "Borrower",
                "dateOfBirth": "1990-02-03",
                "hasTaxableIncome": False,
            },
        )
    )["addHouseholdMember"]
    assert spouse() == ("unmet", "The spouse lacks: taxId.")
    gql(c, CHANGE, c=customer_id, id=added["id"], input={"taxId": "987654321"})
    assert spouse()[0] == "met"
    gql(c, DELETE, c=customer_id, id=added["id"])
    assert spouse()[0] == "unmet"
    data(gql(c, UPDATE, id=customer_id, input={"maritalStatus": "single"}))
    assert spouse()[0] == "not_applicable"

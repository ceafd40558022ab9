"""The GraphQL doors of plans and delivery charges answer what REST answers, with the same
refusals."""

from __future__ import annotations

from tests.support.graphql import data, error, gql, rest, same_as_rest
from tests.support.server import Tenant

PLAN = """id programInstanceId code aliases name description status availability
  unavailableReason startWindow documents pricing version createdAt updatedAt"""
CREATE = f"""mutation($i: ID!, $input: PlanCreateInput!) {{
  createPlan(programInstanceId: $i, input: $input) {{ {PLAN} }} }}"""
UPDATE = f"""mutation($i: ID!, $id: ID!, $input: PlanUpdateInput!) {{
  updatePlan(programInstanceId: $i, id: $id, input: $input) {{ {PLAN} }} }}"""
ONE = f"query($i: ID!, $id: ID!) {{ plan(programInstanceId: $i, id: $id) {{ {PLAN} }} }}"
SET_CHARGE = """mutation($u: String!, $input: DeliveryChargeInput!) {
  setDeliveryCharge(utilityCode: $u, input: $input) {
    id utilityCode monthlyDollars centsPerKwh effectiveFrom version } }"""
PRICING = {
    "termMonths": 12,
    "priceType": "fixed",
    "energyCharges": [{"fromKwh": 0, "centsPerKwh": "12.5"}],
}


def test_plans_over_graphql(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance(timezone="America/Chicago")
    made = data(
        gql(
            c,
            CREATE,
            i=instance["slug"],
            input={
                "code": "GQ-1",
                "aliases": ["G1"],
                "name": "GraphQL plan",
                "startWindow": {"earliestDays": 1, "latestDays": 9},
                "documents": [{"type": "efl", "url": "https://e.example/efl", "version": "1"}],
                "pricing": PRICING,
                "availability": {"==": [{"var": "location.utility.code"}, "oncor"]},
            },
        )
    )["createPlan"]
    same_as_rest(made, rest(c, "GET", f"/v1/programInstances/{instance['id']}/plans/G1"))
    assert data(gql(c, ONE, i=instance["id"], id="G1"))["plan"]["id"] == made["id"]

    changed = data(
        gql(c, UPDATE, i=instance["id"], id="GQ-1", input={"status": "retired", "pricing": None})
    )["updatePlan"]
    assert changed["status"] == "retired" and changed["pricing"] is None
    same_as_rest(changed, rest(c, "GET", f"/v1/programInstances/{instance['id']}/plans/GQ-1"))

    taken = gql(c, CREATE, i=instance["id"], input={"code": "G1", "name": "x"})
    assert error(taken, "plan_code_taken", 409)["extensions"]["planId"] == made["id"]
    bad = gql(
        c,
        CREATE,
        i=instance["id"],
        input={"code": "X", "name": "x", "startWindow": {"earliestDays": 5, "latestDays": 1}},
    )
    error(bad, "validation_error", 422)
    error(gql(c, ONE, i=instance["id"], id="NOPE"), "not_found", 404)

    listed = data(
        gql(
            c,
            "query($i: ID!) { plans(programInstanceId: $i, status: retired) { totalCount "
            "edges { node { id } } } }",
            i=instance["id"],
        )
    )["plans"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["id"] == made["id"]
    deleted = data(
        gql(
            c, 'mutation($i: ID!) { deletePlan(programInstanceId: $i, id: "G1") }', i=instance["id"]
        )
    )
    assert deleted["deletePlan"] == made["id"]


def test_delivery_charges_over_graphql(tenant: Tenant) -> None:
    c = tenant.client
    body = {"monthlyDollars": "4.23", "centsPerKwh": "5.6384", "effectiveFrom": "2026-01-01"}
    charge = data(gql(c, SET_CHARGE, u="oncor", input=body))["setDeliveryCharge"]
    assert charge["monthlyDollars"] == "4.23" and charge["effectiveFrom"] == "2026-01-01"
    listed = rest(c, "GET", "/v1/deliveryCharges")["data"]
    assert [d["id"] for d in listed] == [charge["id"]]
    error(gql(c, SET_CHARGE, u="bad code", input=body), "validation_error", 422)
    error(
        gql(c, SET_CHARGE, u="oncor", input=body | {"monthlyDollars": "-1"}),
        "validation_error",
        422,
    )
    found = data(gql(c, '{ deliveryCharges(effectiveOn: "2025-12-31") { totalCount } }'))[
        "deliveryCharges"
    ]
    assert found["totalCount"] == 0

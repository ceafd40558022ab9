"""The plan quote over real HTTP (both databases): POST /v1/programInstances/{id}/plans/quote
by location id or service point id, with the location's posted usage priced into
``estimatedMonthlyDollars``; every 4xx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.location.helpers import AEP, create, esi
from tests.plan.test_endpoints import EFL, FIXED_PRICING, ONCOR_ONLY, new_plan, problem
from tests.support.graphql import data, error, gql
from tests.support.helpers import uniq
from tests.support.server import Tenant

ONCOR_CHARGE = {"monthlyDollars": "4.23", "centsPerKwh": "5.6384", "effectiveFrom": "2025-01-01"}


def quote(tenant: Tenant, instance_id: str, body: dict[str, Any], **params: Any) -> httpx.Response:
    return tenant.client.post(
        f"/v1/programInstances/{instance_id}/plans/quote", json=body, params=params
    )


def _month(n: int, kwh: int) -> dict[str, Any]:
    start = datetime(2025, n, 1, tzinfo=UTC)
    end = datetime(2025 + n // 12, n % 12 + 1, 1, tzinfo=UTC)
    return {"start": start.isoformat(), "end": end.isoformat(), "kwh": kwh}


def _december_daily() -> list[dict[str, Any]]:
    """December 2025 as 31 daily (interval) readings: 30 x 16 + 20 = 500 kWh."""
    day = datetime(2025, 12, 1, tzinfo=UTC)
    return [
        {
            "start": (day + timedelta(days=i)).isoformat(),
            "end": (day + timedelta(days=i + 1)).isoformat(),
            "kwh": 20 if i == 30 else 16,
        }
        for i in range(31)
    ]


def _setup(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    instance = tenant.instance(timezone="America/Chicago")
    plan = new_plan(
        tenant,
        instance["id"],
        code="FIXED12",
        availability=ONCOR_ONLY,
        unavailableReason="Oncor territory only.",
        documents=[EFL],
        pricing=FIXED_PRICING,
    )
    r = tenant.client.put("/v1/deliveryCharges/oncor", json=ONCOR_CHARGE)
    assert r.status_code == 200, r.text
    return instance, plan, create(tenant)


def test_quote_by_location_and_by_service_point(tenant: Tenant) -> None:
    instance, plan, location = _setup(tenant)
    by_id = quote(
        tenant, instance["slug"], {"serviceLocationId": location["id"], "date": "2026-01-15"}
    )
    assert by_id.status_code == 200, by_id.text
    body = by_id.json()
    assert body["programInstanceId"] == instance["id"] and body["locationId"] == location["id"]
    assert body["utilityCode"] == "oncor" and body["on"] == "2026-01-15"
    assert body["unavailable"] is None
    (quoted,) = body["plans"]
    assert quoted["id"] == plan["id"]
    # worked by hand in tests/plan/test_pricing.py
    assert quoted["averagePriceCentsPerKwh"] == {"500": "21.0", "1000": "14.6", "2000": "18.8"}
    assert quoted["estimatedMonthlyDollars"] is None  # no usage yet
    by_esi = quote(
        tenant, instance["id"], {"servicePointId": location["servicePointId"], "date": "2026-01-15"}
    )
    assert by_esi.status_code == 200 and by_esi.json() == body

    # without a date: today in Chicago, a window from it
    today = quote(tenant, instance["id"], {"serviceLocationId": location["id"]}).json()
    assert today["plans"][0]["earliestStartDate"] == today["on"]


def test_the_estimate_comes_from_the_posted_usage(tenant: Tenant) -> None:
    instance, _, location = _setup(tenant)
    readings = [_month(n, 1000 if n <= 6 else 500) for n in range(1, 12)] + _december_daily()
    readings.append({"start": "2024-12-01T00:00:00Z", "end": "2025-01-01T00:00:00Z", "kwh": 9000})
    r = tenant.client.post(
        f"/v1/serviceLocations/{location['id']}/usage", json={"readings": readings}
    )
    assert r.status_code == 201, r.text
    q = quote(tenant, instance["id"], {"serviceLocationId": location["id"], "date": "2026-01-15"})
    # 2025's 12 months (December 2024 is 13 months back: left out): six at 1,000 kWh, six at
    # 500 (December as daily readings, 30 x 16 + 20). A bill at 1,000 kWh:
    #   $125 energy + $9.95 base - $50 credit + $4.23 + 1000 x 5.6384 c = $145.564;
    # at 500: $62.50 + $9.95 + $4.23 + $28.192 = $104.872. Mean (145.564 + 104.872) / 2
    # = $125.218 -> $125.22.
    assert q.json()["plans"][0]["estimatedMonthlyDollars"] == "125.22", q.text
    # a month later the window is February 2025 .. January 2026: January 2025 (1,000) is out,
    # so (5 x 145.564 + 6 x 104.872) / 11 = (727.82 + 629.232) / 11 = 123.3684... -> $123.37
    later = quote(
        tenant, instance["id"], {"serviceLocationId": location["id"], "date": "2026-02-01"}
    )
    assert later.json()["plans"][0]["estimatedMonthlyDollars"] == "123.37", later.text


def test_explain_and_a_location_where_nothing_is_available(tenant: Tenant) -> None:
    instance, plan, _ = _setup(tenant)
    aep = create(tenant, servicePointId=esi(AEP))
    r = quote(tenant, instance["id"], {"serviceLocationId": aep["id"]}, explain="true")
    assert r.status_code == 200, r.text
    assert r.json()["plans"] == []
    assert r.json()["unavailable"] == [
        {"id": plan["id"], "code": "FIXED12", "name": "A plan", "reason": "Oncor territory only."}
    ]
    plain = quote(tenant, instance["id"], {"serviceLocationId": aep["id"]})
    assert plain.json()["plans"] == [] and plain.json()["unavailable"] is None


def test_refusals(tenant: Tenant, other_tenant: Tenant) -> None:
    instance, _, location = _setup(tenant)
    for body in (
        {},
        {"serviceLocationId": location["id"], "servicePointId": location["servicePointId"]},
        {"serviceLocationId": None},
        {"serviceLocationId": None, "servicePointId": location["servicePointId"]},
        {"serviceLocationId": location["id"], "date": "15/01/2026"},
        {"serviceLocationId": location["id"], "extra": 1},
        {"servicePointId": "not an id"},
    ):
        problem(quote(tenant, instance["id"], body), 422, "validation_error")
    problem(
        quote(tenant, instance["id"], {"serviceLocationId": location["id"]}, explain="maybe"),
        422,
        "validation_error",
    )
    for body in ({"serviceLocationId": "nope"}, {"servicePointId": esi()}):
        assert (
            "service location"
            in problem(quote(tenant, instance["id"], body), 404, "not_found")["detail"]
        )
    # another workspace's location, and instance, read as missing ones
    theirs = other_tenant.instance()
    for body in (
        {"serviceLocationId": location["id"]},
        {"servicePointId": location["servicePointId"]},
    ):
        problem(quote(other_tenant, theirs["id"], body), 404, "not_found")
    r = quote(other_tenant, instance["id"], {"serviceLocationId": location["id"]})
    assert location["id"] not in problem(r, 404, "not_found")["detail"]
    problem(quote(tenant, uniq(), {"serviceLocationId": location["id"]}), 404, "not_found")


def test_scope(tenant: Tenant) -> None:
    instance, _, location = _setup(tenant)
    path = f"/v1/programInstances/{instance['id']}/plans/quote"
    with tenant.server.client(tenant.key_with("locations:read")) as locations_only:
        r = locations_only.post(path, json={"serviceLocationId": location["id"]})
        problem(r, 403, "insufficient_scope")
    with tenant.server.client(tenant.key_with("program_instances:read")) as reader:
        assert reader.post(path, json={"serviceLocationId": location["id"]}).status_code == 200


PLAN_QUOTE = """query($i: ID!, $l: ID, $p: String, $d: Date, $explain: Boolean! = false) {
  planQuote(programInstanceId: $i, serviceLocationId: $l, servicePointId: $p, date: $d,
            explain: $explain) {
    programInstanceId locationId utilityCode on deliveryCharge plans unavailable } }"""


def test_plan_quote_over_graphql(tenant: Tenant, other_tenant: Tenant) -> None:
    instance, _, location = _setup(tenant)
    c = tenant.client
    got = data(gql(c, PLAN_QUOTE, i=instance["id"], l=location["id"], d="2026-01-15"))
    rest = quote(
        tenant, instance["id"], {"serviceLocationId": location["id"], "date": "2026-01-15"}
    )
    assert got["planQuote"] == rest.json()
    by_esi = data(
        gql(c, PLAN_QUOTE, i=instance["slug"], p=location["servicePointId"], explain=True)
    )
    assert by_esi["planQuote"]["locationId"] == location["id"]
    assert by_esi["planQuote"]["unavailable"] == []
    error(gql(c, PLAN_QUOTE, i=instance["id"]), "validation_error", 422)
    both = gql(c, PLAN_QUOTE, i=instance["id"], l=location["id"], p=location["servicePointId"])
    error(both, "validation_error", 422)
    error(gql(c, PLAN_QUOTE, i=instance["id"], l="nope"), "not_found", 404)
    theirs = other_tenant.instance()
    error(gql(other_tenant.client, PLAN_QUOTE, i=theirs["id"], l=location["id"]), "not_found", 404)

"""Seed 003's whole walk over real HTTP (both databases): search the address, confirm by ESI
ID, quote the plans, accept one, approve; the market enrollment (the switch request) goes to
the retailer's endpoint, service becomes active, usage arrives. Then the same switch done by
hand (no endpoint: a to-do), and one the utility refuses, retried."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.enrollment.test_plan_acceptance import WINDOW, _body, _consent, _day
from tests.location.helpers import create
from tests.plan.test_endpoints import EFL, FIXED_PRICING, ONCOR_ONLY, TOS, new_plan
from tests.servicetask.test_endpoints import EVERY, ok
from tests.support.http_endpoint import Checker, Received
from tests.support.server import Database, Server, Tenant, make_tenant, private_server

SWITCH = {"sequence": 1, "type": "market_enrollment", **EVERY}


PROGRAM = "retail-walk"


@pytest.fixture(scope="module")
def own_server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that may call the retailer's endpoint on loopback over http://."""
    with private_server(database, Path(tmp_path_factory.mktemp("walk-db")), PROGRAM) as srv:
        yield srv


@pytest.fixture
def tenant(own_server: Server) -> Iterator[Tenant]:
    t = make_tenant(own_server, "Retail")
    yield t
    t.client.close()


@pytest.fixture(scope="module")
def retailer() -> Iterator[Checker]:
    c = Checker()
    yield c
    c.close()


def _accepted(t: Tenant, workflow: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An ERCOT instance with ``workflow``, a plan, a premise and a customer who accepted it."""
    instance = t.instance(PROGRAM, timezone="America/Chicago", setupWorkflow=workflow)
    plan = new_plan(
        t,
        instance["id"],
        availability=ONCOR_ONLY,
        startWindow=WINDOW,
        documents=[EFL, TOS],
        pricing=FIXED_PRICING,
    )
    location = create(t)
    enrollments = f"/v1/programInstances/{instance['id']}/enrollments"
    body = _body(
        servicePointId=location["servicePointId"],
        planCode=plan["code"],
        startDate=_day(7),
        consent=_consent(),
    )
    return ok(t.client.post(enrollments, json=body), 201), location


def _approve(t: Tenant, enrollment: dict[str, Any]) -> dict[str, Any]:
    ok(t.client.post(f"/v1/enrollments/{enrollment['id']}/submit", json={}))
    ok(t.client.post(f"/v1/enrollments/{enrollment['id']}/approve", json={}))
    t.server.drain()
    (task,) = ok(t.client.get("/v1/serviceTasks", params={"enrollmentId": enrollment["id"]}))[
        "data"
    ]
    return dict(task)


def _enrollment(t: Tenant, enrollment_id: str) -> dict[str, Any]:
    return dict(ok(t.client.get(f"/v1/enrollments/{enrollment_id}")))


def test_the_seed_walk(tenant: Tenant, retailer: Checker) -> None:
    t = tenant
    url = retailer.route(
        t.signing_secret(),
        lambda _r, _n: (200, {"status": "succeeded", "serviceStartDate": _day(9)}),
    )
    instance = t.instance(
        PROGRAM,
        timezone="America/Chicago",
        setupWorkflow={"enrollmentActions": [SWITCH], "marketEnrollmentUrl": url},
    )
    plan = new_plan(
        t, instance["id"], availability=ONCOR_ONLY, startWindow=WINDOW, documents=[EFL, TOS]
    )
    location = create(t)
    street = location["address"]["streetOne"]  # "3227 Christian Dr"

    # search (a typo), then confirm by ESI ID
    found = ok(t.client.post("/v1/serviceLocations/search", json={"query": "3227 christan dr"}))
    assert location["id"] in [f["id"] for f in found["data"]], (street, found)
    confirmed = ok(
        t.client.post(
            "/v1/serviceLocations/lookup", json={"servicePointId": location["servicePointId"]}
        )
    )
    assert confirmed["id"] == location["id"]
    # quote
    quote = ok(
        t.client.post(
            f"/v1/programInstances/{instance['id']}/plans/quote",
            json={"serviceLocationId": location["id"]},
        )
    )
    assert [p["id"] for p in quote["plans"]] == [plan["id"]]
    offered = quote["plans"][0]
    # accept, inside the quoted window
    start = _day(7)
    assert offered["earliestStartDate"] <= start <= offered["latestStartDate"]
    enrollment = ok(
        t.client.post(
            f"/v1/programInstances/{instance['id']}/enrollments",
            json=_body(
                serviceLocationId=location["id"],
                planId=plan["id"],
                startDate=start,
                consent=_consent(),
            ),
        ),
        201,
    )
    assert enrollment["serviceActive"] is False
    # approve: the market enrollment goes out, signed, with the premise, plan and start date
    task = _approve(t, enrollment)
    assert task["state"] == "completed", task
    (call,) = retailer.received(url)
    assert call.verified
    assert call.json["type"] == "market.enrollment"
    assert (call.json["servicePointId"], call.json["planCode"], call.json["startDate"]) == (
        location["servicePointId"],
        plan["code"],
        start,
    )
    active = _enrollment(t, enrollment["id"])
    assert active["status"] == "approved"
    assert (active["serviceActive"], active["serviceStartDate"]) == (True, _day(9))
    (activated,) = t.events(type="enrollment.service_activated")
    assert activated["data"]["object"]["serviceActive"] is True
    (subscription,) = ok(
        t.client.get("/v1/subscriptions", params={"enrollmentId": enrollment["id"]})
    )["data"]
    assert subscription["status"] == "active"
    # usage arrives
    reading = {"start": "2026-10-01T05:00:00Z", "end": "2026-11-01T05:00:00Z", "kwh": "980"}
    ok(
        t.client.post(f"/v1/serviceLocations/{location['id']}/usage", json={"readings": [reading]}),
        201,
    )
    assert _enrollment(t, enrollment["id"])["hasUsageHistory"] is True


def test_without_an_endpoint_a_person_completes_the_switch(tenant: Tenant) -> None:
    t = tenant
    enrollment, _ = _accepted(t, {"enrollmentActions": [SWITCH]})
    task = _approve(t, enrollment)
    assert task["state"] == "awaiting_device_setup"
    (todo,) = ok(t.client.get("/v1/todos", params={"serviceTaskId": task["id"]}))["data"]
    assert todo["title"].startswith("Send the market enrollment")
    assert _enrollment(t, enrollment["id"])["serviceActive"] is False
    ok(t.client.post(f"/v1/todos/{todo['id']}/complete", json={"note": "Sent by phone"}))
    t.server.drain()
    active = _enrollment(t, enrollment["id"])
    assert (active["serviceActive"], active["serviceStartDate"]) == (True, _day(7))


def test_a_refused_switch_shows_the_reason_and_is_retried(
    tenant: Tenant, retailer: Checker
) -> None:
    t = tenant

    def refuse_once(_r: Received, n: int) -> tuple[int, Any]:
        if n == 1:
            return 200, {"status": "failed", "message": "ESI ID under switch hold"}
        return 200, {"status": "succeeded"}

    url = retailer.route(t.signing_secret(), refuse_once)
    workflow = {"enrollmentActions": [SWITCH], "marketEnrollmentUrl": url}
    enrollment, _ = _accepted(t, workflow)
    task = _approve(t, enrollment)
    assert task["state"] == "device_setup_error"
    assert "ESI ID under switch hold" in task["errors"][0]["message"]
    assert _enrollment(t, enrollment["id"])["serviceActive"] is False
    ok(t.client.post(f"/v1/serviceTasks/{task['id']}/retry", json={}))
    t.server.drain()
    assert ok(t.client.get(f"/v1/serviceTasks/{task['id']}"))["state"] == "completed"
    active = _enrollment(t, enrollment["id"])
    assert (active["serviceActive"], active["serviceStartDate"]) == (True, _day(7))
    assert len(retailer.received(url)) == 2

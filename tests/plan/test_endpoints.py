"""Plans and delivery charges over real HTTP (both databases): CRUD, codes and aliases, every
4xx, the instance's time zone; then the quote and the checks enrollment creation will use,
called in a transaction of the test's own on the same database (the quote's HTTP route:
test_quote.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from enroll.context import AppContext
from enroll.errors import NotFound
from enroll.plan import availability, quotes, service
from enroll.plan.errors import PlanUnavailable, StartDateOutsideWindow
from tests.support.helpers import PROBLEM, uniq
from tests.support.server import Tenant

EFL = {"type": "efl", "url": "https://example.com/efl.pdf", "version": "2026-01"}
TOS = {"type": "tos", "url": "https://example.com/tos.pdf", "version": "3"}
FIXED_PRICING = {
    "termMonths": 12,
    "priceType": "fixed",
    "energyCharges": [{"fromKwh": 0, "centsPerKwh": "12.5"}],
    "monthlyCharges": [{"name": "Base charge", "dollars": "9.95"}],
    "usageCredits": [{"minKwh": 1000, "maxKwh": 1500, "dollars": "50"}],
    "cancellationFeeDollars": "150",
    "renewablePercent": "24",
}
ONCOR_ONLY = {"in": [{"var": "location.utility.code"}, ["oncor"]]}


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM, r.headers
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


def new_plan(tenant: Tenant, instance_id: str, **fields: Any) -> dict[str, Any]:
    body = {"code": f"P{uniq()}", "name": "A plan"} | fields
    r = tenant.client.post(f"/v1/programInstances/{instance_id}/plans", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_the_instance_counts_days_in_its_time_zone(tenant: Tenant) -> None:
    assert tenant.instance()["timezone"] == "UTC"
    chicago = tenant.instance(timezone="America/Chicago")
    assert chicago["timezone"] == "America/Chicago"
    r = tenant.client.patch(
        f"/v1/programInstances/{chicago['id']}", json={"timezone": "Europe/Paris"}
    )
    assert r.status_code == 200 and r.json()["timezone"] == "Europe/Paris", r.text
    for zone in ("Mars/Olympus", "utc ", "../etc/passwd", "", None):
        r = tenant.client.patch(f"/v1/programInstances/{chicago['id']}", json={"timezone": zone})
        assert problem(r, 422, "validation_error")["errors"][0]["field"] == "timezone", zone
    r = tenant.client.post(
        "/v1/programInstances",
        json={
            "programSlug": "core-test-program",
            "slug": f"tz-{uniq()}",
            "name": "X",
            "timezone": "America/Nowhere",
        },
    )
    problem(r, 422, "validation_error")


def test_plan_crud(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance(timezone="America/Chicago")
    plans = f"/v1/programInstances/{instance['slug']}/plans"
    code = f"FIX12-{uniq()}"
    r = c.post(
        plans,
        json={
            "code": code,
            "aliases": ["LEGACY-FIX12", "fix12"],
            "name": "Fixed 12",
            "description": "Twelve months at one price.",
            "availability": ONCOR_ONLY,
            "unavailableReason": "Oncor territory only.",
            "startWindow": {"earliestDays": 1, "latestDays": 45},
            "documents": [EFL, TOS | {"sha256": "a" * 64}],
            "pricing": FIXED_PRICING,
        },
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    assert r.headers["location"] == f"/v1/programInstances/{instance['id']}/plans/{plan['id']}"
    assert plan["programInstanceId"] == instance["id"] and plan["status"] == "active"
    assert plan["pricing"] == FIXED_PRICING | {
        "energyCharges": [{"fromKwh": 0, "toKwh": None, "centsPerKwh": "12.5"}],
        "usageCredits": [{"minKwh": 1000, "maxKwh": 1500, "dollars": "50"}],
    }
    assert plan["startWindow"] == {"earliestDays": 1, "latestDays": 45}
    assert plan["documents"][1]["sha256"] == "a" * 64 and plan["documents"][0]["sha256"] is None
    assert plan["availability"] == ONCOR_ONLY and plan["version"] == 1

    # by id, by code, by alias: the same plan
    for ref in (plan["id"], code, "LEGACY-FIX12", "fix12"):
        got = c.get(f"{plans}/{ref}")
        assert got.status_code == 200 and got.json() == plan, (ref, got.text)

    r = c.patch(
        f"{plans}/fix12",
        json={
            "name": "Fixed Twelve",
            "status": "retired",
            "aliases": ["fix-12"],
            "description": None,
        },
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["name"], changed["status"], changed["aliases"]) == (
        "Fixed Twelve",
        "retired",
        ["fix-12"],
    )
    assert changed["description"] is None and changed["version"] == 2
    problem(c.get(f"{plans}/fix12"), 404, "not_found")  # the old alias names nothing now
    assert c.get(f"{plans}/fix-12").json()["id"] == plan["id"]

    other = new_plan(tenant, instance["id"])
    listed = c.get(plans, params={"perPage": 1})
    assert listed.json()["totalItems"] == 2 and listed.json()["data"][0]["id"] == plan["id"]
    cursor = listed.json()["nextCursor"]
    second = c.get(plans, params={"perPage": 1, "cursor": cursor}).json()
    assert [p["id"] for p in second["data"]] == [other["id"]] and second["nextCursor"] is None
    retired = c.get(plans, params={"status": "retired"}).json()["data"]
    assert [p["id"] for p in retired] == [plan["id"]]

    assert c.delete(f"{plans}/{code}").status_code == 204
    problem(c.get(f"{plans}/{plan['id']}"), 404, "not_found")
    problem(c.delete(f"{plans}/{plan['id']}"), 404, "not_found")
    # its codes are free again
    assert new_plan(tenant, instance["id"], code=code, aliases=["fix-12"])["code"] == code


def test_codes_and_aliases_name_one_plan_of_the_instance(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance()
    plans = f"/v1/programInstances/{instance['id']}/plans"
    first = new_plan(tenant, instance["id"], code="BASIC", aliases=["B1"])
    for body in (
        {"code": "BASIC", "name": "x"},  # another plan's code
        {"code": "B1", "name": "x"},  # another plan's alias as a code
        {"code": "NEW", "aliases": ["BASIC"], "name": "x"},  # another plan's code as an alias
        {"code": "NEW", "aliases": ["B1"], "name": "x"},
    ):
        body_ = problem(c.post(plans, json=body), 409, "plan_code_taken")
        assert body_["planId"] == first["id"], body_
    second = new_plan(tenant, instance["id"], code="PLUS")
    problem(c.patch(f"{plans}/PLUS", json={"aliases": ["B1"]}), 409, "plan_code_taken")
    problem(c.patch(f"{plans}/PLUS", json={"code": "BASIC"}), 409, "plan_code_taken")
    # the plan's own code as its alias
    problem(
        c.post(plans, json={"code": "X", "aliases": ["X"], "name": "x"}), 422, "validation_error"
    )
    problem(c.patch(f"{plans}/PLUS", json={"aliases": ["PLUS"]}), 422, "validation_error")
    # codes are per instance: another instance may use them
    assert new_plan(tenant, tenant.instance()["id"], code="BASIC", aliases=["B1"])
    # renaming moves the code: the old one is free, the new one names the plan
    r = c.patch(f"{plans}/PLUS", json={"code": "PLUS2", "aliases": ["PLUS"]})
    assert r.status_code == 200, r.text
    assert c.get(f"{plans}/PLUS").json()["id"] == second["id"]
    assert c.get(f"{plans}/PLUS2").json()["code"] == "PLUS2"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"startWindow": {"earliestDays": 10, "latestDays": 5}}, "startWindow"),
        ({"startWindow": {"earliestDays": -1}}, "startWindow.earliestDays"),
        ({"startWindow": {"latestDays": 367}}, "startWindow.latestDays"),
        ({"documents": [EFL, EFL]}, "documents"),
        ({"documents": [EFL | {"url": "ftp://x"}]}, "documents.0.url"),
        ({"documents": [EFL | {"sha256": "XYZ"}]}, "documents.0.sha256"),
        ({"documents": [EFL] * 21}, "documents"),
        ({"aliases": ["A", "A"]}, "aliases"),
        ({"aliases": ["has space"]}, "aliases.0"),
        ({"code": "-bad"}, "code"),
        ({"code": "x" * 101}, "code"),
        ({"availability": {"nope": [1]}}, "availability"),
        ({"status": "gone"}, "status"),
        ({"surprise": 1}, "surprise"),
        ({"pricing": FIXED_PRICING | {"energyCharges": []}}, "pricing.energyCharges"),
        (
            {"pricing": FIXED_PRICING | {"energyCharges": [{"fromKwh": 5, "centsPerKwh": "1"}]}},
            "pricing",
        ),
        (
            {"pricing": FIXED_PRICING | {"monthlyCharges": [{"name": "x", "dollars": 9.95}]}},
            "pricing.monthlyCharges.0.dollars",
        ),
        (
            {"pricing": FIXED_PRICING | {"cancellationFeeDollars": "-1"}},
            "pricing.cancellationFeeDollars",
        ),
        ({"pricing": FIXED_PRICING | {"renewablePercent": "100.5"}}, "pricing.renewablePercent"),
        ({"pricing": FIXED_PRICING | {"priceType": "cheap"}}, "pricing.priceType"),
        ({"pricing": FIXED_PRICING | {"termMonths": 121}}, "pricing.termMonths"),
        (
            {
                "pricing": FIXED_PRICING
                | {"usageCredits": [{"minKwh": 100, "maxKwh": 50, "dollars": "1"}]}
            },
            "pricing",
        ),
    ],
)
def test_invalid_plans_are_refused(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    instance = tenant.instance()
    r = tenant.client.post(
        f"/v1/programInstances/{instance['id']}/plans", json={"code": "C", "name": "n"} | body
    )
    errors = problem(r, 422, "validation_error")["errors"]
    assert field in [e["field"] for e in errors], errors
    assert tenant.client.get(f"/v1/programInstances/{instance['id']}/plans").json()["data"] == []


def test_other_refusals(tenant: Tenant, other_tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance()
    plans = f"/v1/programInstances/{instance['id']}/plans"
    plan = new_plan(tenant, instance["id"])
    # a rule over the static limits has its own code
    huge = {"in": [{"var": "location.postalCode"}, [str(n) for n in range(25_001)]]}
    problem(
        c.post(plans, json={"code": "H", "name": "h", "availability": huge}),
        422,
        "rule_too_complex",
    )
    problem(
        c.patch(f"{plans}/{plan['code']}", json={"availability": huge}), 422, "rule_too_complex"
    )
    # null clears only what may be cleared
    body = problem(c.patch(f"{plans}/{plan['id']}", json={"name": None}), 422, "validation_error")
    assert body["errors"] == [{"field": "name", "message": "Cannot be null."}]
    problem(c.patch(f"{plans}/{plan['id']}", json={"startWindow": None}), 422, "validation_error")
    # unknown instance, unknown plan, another workspace's
    problem(c.get(f"/v1/programInstances/{uniq()}/plans"), 404, "not_found")
    problem(
        c.post(f"/v1/programInstances/{uniq()}/plans", json={"code": "C", "name": "n"}),
        404,
        "not_found",
    )
    problem(c.get(f"{plans}/{uniq()}"), 404, "not_found")
    problem(c.patch(f"{plans}/{uniq()}", json={"name": "n"}), 404, "not_found")
    other = other_tenant.client
    problem(other.get(f"{plans}/{plan['id']}"), 404, "not_found")
    problem(other.get(plans), 404, "not_found")
    # a plan is named within its own instance only
    problem(
        c.get(f"/v1/programInstances/{tenant.instance()['id']}/plans/{plan['id']}"),
        404,
        "not_found",
    )
    # scopes
    reader = {"Authorization": f"Bearer {tenant.key_with('program_instances:read')}"}
    problem(
        c.post(plans, json={"code": "R", "name": "r"}, headers=reader), 403, "insufficient_scope"
    )
    problem(
        c.put(
            "/v1/deliveryCharges/oncor",
            headers=reader,
            json={"monthlyDollars": "1", "centsPerKwh": "1", "effectiveFrom": "2026-01-01"},
        ),
        403,
        "insufficient_scope",
    )
    nobody = {"Authorization": f"Bearer {tenant.key_with('enrollments:read')}"}
    problem(c.get(plans, headers=nobody), 403, "insufficient_scope")
    problem(c.get("/v1/deliveryCharges", headers=nobody), 403, "insufficient_scope")
    problem(httpx.get(f"{tenant.server.base_url}{plans}"), 401, "unauthorized")
    problem(c.put(f"{plans}/{plan['id']}", json={}), 405, "method_not_allowed")


def test_delivery_charges(tenant: Tenant, other_tenant: Tenant) -> None:
    c = tenant.client
    older = {"monthlyDollars": "3.42", "centsPerKwh": "3.8", "effectiveFrom": "2025-03-01"}
    r = c.put("/v1/deliveryCharges/oncor", json=older)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["utilityCode"] == "oncor" and first["monthlyDollars"] == "3.42"
    newer = {"monthlyDollars": "4.23", "centsPerKwh": "5.6384", "effectiveFrom": "2026-01-01"}
    assert c.put("/v1/deliveryCharges/oncor", json=newer).status_code == 200
    # the same day again replaces that row
    again = c.put("/v1/deliveryCharges/oncor", json=older | {"monthlyDollars": "3.50"}).json()
    assert again["id"] == first["id"] and again["monthlyDollars"] == "3.50"
    assert again["version"] == 2
    assert (
        c.put(
            "/v1/deliveryCharges/centerpoint",
            json={"monthlyDollars": "4.39", "centsPerKwh": "4.0", "effectiveFrom": "2026-02-01"},
        ).status_code
        == 200
    )

    def codes(**params: Any) -> list[tuple[str, str]]:
        r = c.get("/v1/deliveryCharges", params=params)
        assert r.status_code == 200, r.text
        return [(d["utilityCode"], d["effectiveFrom"]) for d in r.json()["data"]]

    assert len(codes()) == 3
    assert codes(utilityCode="oncor") == [("oncor", "2025-03-01"), ("oncor", "2026-01-01")]
    assert codes(effectiveOn="2025-12-31") == [("oncor", "2025-03-01")]
    assert sorted(codes(effectiveOn="2026-02-01")) == [
        ("centerpoint", "2026-02-01"),
        ("oncor", "2026-01-01"),
    ]
    assert codes(effectiveOn="2020-01-01") == []
    assert other_tenant.client.get("/v1/deliveryCharges").json()["data"] == []

    for body, field in (
        (newer | {"monthlyDollars": 4.23}, "monthlyDollars"),
        (newer | {"centsPerKwh": "-1"}, "centsPerKwh"),
        (newer | {"effectiveFrom": "someday"}, "effectiveFrom"),
        ({"monthlyDollars": "1", "centsPerKwh": "1"}, "effectiveFrom"),
    ):
        errors = problem(c.put("/v1/deliveryCharges/oncor", json=body), 422, "validation_error")[
            "errors"
        ]
        assert field in [e["field"] for e in errors], errors
    problem(c.put("/v1/deliveryCharges/bad%20code", json=newer), 422, "validation_error")
    problem(c.get("/v1/deliveryCharges", params={"effectiveOn": "x"}), 422, "validation_error")
    problem(c.get("/v1/deliveryCharges", params={"utility": "oncor"}), 400, "unknown_parameter")


# --- the quote and the checks of enrollment creation ----------------------------------------

ONCOR_LOCATION = {
    "id": "loc-1",
    "servicePointId": "10443720000000001",
    "market": "ercot",
    "utility": {"code": "oncor", "name": "Oncor"},
    "address": {
        "streetOne": "3227 Christan Dr",
        "city": "Dallas",
        "state": "TX",
        "postalCode": "75201",
    },
    "county": "DALLAS",
    "premiseType": "residential",
    "status": "active",
    "metered": True,
    "attributes": {},
}
AEP_LOCATION = ONCOR_LOCATION | {"id": "loc-2", "utility": {"code": "aep_central"}}
# 23:30 in Chicago on 2026-01-15 (CST), already the 16th in UTC
LATE_EVENING = datetime(2026, 1, 16, 5, 30, tzinfo=UTC)
COSTLY = {"!!": {"map": [list(range(300)), {"map": [list(range(300)), {"var": ""}]}]}}


def _quote(tenant: Tenant, instance_id: str, location: dict[str, Any], **kw: Any) -> Any:
    async def work(ctx: AppContext) -> Any:
        async with ctx.db.transaction(write=False) as session:
            return await quotes.quote(
                session,
                workspace_id=tenant.id,
                instance_id=instance_id,
                location=location,
                applicant=kw.get("applicant"),
                on=kw.get("on"),
                now=kw.get("now", LATE_EVENING),
                explain=kw.get("explain", False),
                usage_by_month=kw.get("usage"),
            )

    return tenant.server.database.run(work)


def test_quote(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance(timezone="America/Chicago")
    fixed = new_plan(
        tenant,
        instance["id"],
        code="FIXED12",
        availability=ONCOR_ONLY,
        unavailableReason="Oncor territory only.",
        documents=[EFL, TOS],
        pricing=FIXED_PRICING,
        startWindow={"earliestDays": 0, "latestDays": 30},
    )
    tiered = new_plan(
        tenant,
        instance["id"],
        code="TIERED",
        pricing=FIXED_PRICING
        | {
            "energyCharges": [
                {"fromKwh": 0, "toKwh": 1000, "centsPerKwh": "9"},
                {"fromKwh": 1000, "centsPerKwh": "11"},
            ],
            "usageCredits": [],
        },
    )
    bare = new_plan(tenant, instance["id"], code="BARE")
    new_plan(tenant, instance["id"], code="OLD", status="retired")
    new_plan(tenant, instance["id"], code="COSTLY", availability=COSTLY)
    new_plan(
        tenant, instance["id"], code="ADULTS", availability={">=": [{"var": "applicant.age"}, 18]}
    )
    for body in (
        {"monthlyDollars": "3.42", "centsPerKwh": "3.8", "effectiveFrom": "2025-03-01"},
        {"monthlyDollars": "4.23", "centsPerKwh": "5.6384", "effectiveFrom": "2026-01-15"},
        {"monthlyDollars": "9.99", "centsPerKwh": "9.9", "effectiveFrom": "2026-01-16"},
    ):
        assert c.put("/v1/deliveryCharges/oncor", json=body).status_code == 200

    q = _quote(tenant, instance["slug"], ONCOR_LOCATION, explain=True)
    # the day is Chicago's (the 15th), so the row from the 15th prices the plans
    assert q.on == date(2026, 1, 15) and q.delivery_charge.effective_from == date(2026, 1, 15)
    assert [p.code for p in q.plans] == ["FIXED12", "TIERED", "BARE"]  # by 1000 kWh price
    quoted = q.plans[0]
    assert quoted.id == fixed["id"]
    assert (quoted.earliest_start_date, quoted.latest_start_date) == (
        date(2026, 1, 15),
        date(2026, 2, 14),
    )
    # worked out in tests/plan/test_pricing.py: 21.0, 14.6, 18.8
    wire = q.model_dump(mode="json", by_alias=True)
    assert wire["plans"][0]["averagePriceCentsPerKwh"] == {
        "500": "21.0",
        "1000": "14.6",
        "2000": "18.8",
    }
    assert [d["type"] for d in wire["plans"][0]["documents"]] == ["efl", "tos"]
    # tiered: 1000 kWh = $90 + $9.95 + 4.23 + 56.384 = $160.564 -> 16.1
    assert wire["plans"][1]["averagePriceCentsPerKwh"]["1000"] == "16.1"
    assert q.plans[1].id == tiered["id"]
    assert q.plans[2].id == bare["id"] and q.plans[2].average_price_cents_per_kwh is None
    assert q.plans[2].price_unavailable_reason == quotes.NO_PRICING
    reasons = {u.code: u.reason for u in q.unavailable}
    # retired plans are not offered at all: not even explained
    assert reasons == {"COSTLY": availability.TOO_COSTLY, "ADULTS": availability.NOT_OFFERED}

    # a day given; an applicant; the usage history
    later = _quote(
        tenant,
        instance["id"],
        ONCOR_LOCATION,
        on=date(2026, 1, 16),
        applicant={"age": 30},
        usage=[1000] * 12,
    )
    assert later.delivery_charge.monthly_dollars == Decimal("9.99")
    assert later.unavailable is None
    assert "ADULTS" in [p.code for p in later.plans]
    # $125 + $9.95 - $50 + $9.99 + 9.9 c x 1000 = $193.94 a month
    assert str(later.plans[0].estimated_monthly_dollars) == "193.94"

    # elsewhere: the Oncor-only plan is out, and nothing prices the rest
    aep = _quote(tenant, instance["id"], AEP_LOCATION, explain=True)
    assert [p.code for p in aep.plans] == ["BARE", "TIERED"]
    assert aep.plans[1].average_price_cents_per_kwh is None
    assert "aep_central" in (aep.plans[1].price_unavailable_reason or "")
    assert {u.code: u.reason for u in aep.unavailable}["FIXED12"] == "Oncor territory only."

    with pytest.raises(NotFound):
        _quote(tenant, uniq(), ONCOR_LOCATION)


def test_the_checks_enrollment_creation_uses(tenant: Tenant) -> None:
    instance = tenant.instance(timezone="America/Chicago")
    plan = new_plan(
        tenant,
        instance["id"],
        code="FIXED12",
        aliases=["F12"],
        availability=ONCOR_ONLY,
        startWindow={"earliestDays": 2, "latestDays": 20},
    )

    async def work(ctx: AppContext) -> None:
        async with ctx.db.transaction(write=False) as session:
            choice = await service.resolve(
                session, workspace_id=tenant.id, instance_id=instance["id"], ref="F12"
            )
            assert (choice.plan.id, choice.plan.code, choice.code_given) == (
                plan["id"],
                "FIXED12",
                "F12",
            )
            by_id = await service.resolve(
                session, workspace_id=tenant.id, instance_id=instance["id"], ref=plan["id"]
            )
            assert by_id.code_given == "FIXED12"
            with pytest.raises(NotFound):
                await service.resolve(
                    session, workspace_id=tenant.id, instance_id=instance["id"], ref="NOPE"
                )
            found = choice.plan
            availability.check_available(found, location=ONCOR_LOCATION, applicant=None)
            with pytest.raises(PlanUnavailable) as refused:
                availability.check_available(found, location=AEP_LOCATION, applicant=None)
            assert refused.value.extensions["planId"] == plan["id"]
            # the window counts from the 15th (Chicago), not the 16th (UTC)
            window = availability.check_start_date(
                found,
                timezone="America/Chicago",
                start_date=date(2026, 1, 17),
                now=LATE_EVENING,
            )
            assert (window.earliest, window.latest) == (date(2026, 1, 17), date(2026, 2, 4))
            with pytest.raises(StartDateOutsideWindow) as outside:
                availability.check_start_date(
                    found,
                    timezone="America/Chicago",
                    start_date=date(2026, 1, 16),
                    now=LATE_EVENING,
                )
            assert outside.value.extensions == {
                "earliestStartDate": "2026-01-17",
                "latestStartDate": "2026-02-04",
            }
            assert outside.value.status == 422
            assert outside.value.code == "start_date_outside_window"

    tenant.server.database.run(work)
    r = tenant.client.patch(
        f"/v1/programInstances/{instance['id']}/plans/F12", json={"status": "retired"}
    )
    assert r.status_code == 200, r.text

    async def retired(ctx: AppContext) -> None:
        async with ctx.db.transaction(write=False) as session:
            choice = await service.resolve(
                session, workspace_id=tenant.id, instance_id=instance["id"], ref="FIXED12"
            )
            with pytest.raises(PlanUnavailable) as refused:
                availability.check_available(choice.plan, location=ONCOR_LOCATION, applicant=None)
            assert refused.value.extensions["reason"] == availability.RETIRED
            assert refused.value.code == "plan_unavailable"

    tenant.server.database.run(retired)


@pytest.mark.parametrize("rule", [0, 1.5, True, "x"])
def test_a_rule_that_is_a_bare_value_reads_back(tenant: Tenant, rule: Any) -> None:
    """SQLite gives JSON columns NUMERIC affinity: a document that is a bare number came back
    as a number, which the JSON reader refused (a 500 on every read of the plan)."""
    instance = tenant.instance()
    plan = new_plan(tenant, instance["id"], availability=rule)
    plans = f"/v1/programInstances/{instance['id']}/plans"
    r = tenant.client.get(f"{plans}/{plan['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["availability"] == rule
    r = tenant.client.get(plans)
    assert r.status_code == 200, r.text
    assert [p["availability"] for p in r.json()["data"]] == [rule]

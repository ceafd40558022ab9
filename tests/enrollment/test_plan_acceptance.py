"""Accepting a plan at a service location with an enrollment, over real HTTP (both databases):
what is stored, the immutable consent record, what enrollment.created carries, and each 4xx
(nothing written by a refused request).

Dates are counted from today in Chicago (the instance's zone) and chosen mid-window, so a
midnight passing during the test cannot move one across an edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from enroll.eligibility import bulk
from tests.location.helpers import CENTERPOINT, create, esi
from tests.plan.test_endpoints import EFL, ONCOR_ONLY, TOS, new_plan, problem
from tests.support.graphql import data, error, gql
from tests.support.reevaluations import reevaluate
from tests.support.server import Tenant

WINDOW = {"earliestDays": 1, "latestDays": 45}


def _day(offset: int) -> str:
    return (
        datetime.now(UTC).astimezone(ZoneInfo("America/Chicago")).date() + timedelta(offset)
    ).isoformat()


def _consent(**fields: Any) -> dict[str, Any]:
    return {
        "termsAccepted": True,
        "documents": [{"type": "efl", "version": "2026-01"}, {"type": "tos", "version": "3"}],
        "text": "I accept the Fixed 12 plan, its EFL and Terms of Service.",
        "ipAddress": "203.0.113.7",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
        "channel": "web",
        "actor": {"type": "customer", "name": "Pat Doe"},
    } | fields


def _setup(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    instance = tenant.instance(timezone="America/Chicago")
    plan = new_plan(
        tenant,
        instance["id"],
        aliases=[f"legacy-{instance['id'][-6:]}"],
        availability=ONCOR_ONLY,
        startWindow=WINDOW,
        documents=[EFL, TOS],
    )
    return instance, plan, create(tenant)


def _body(**fields: Any) -> dict[str, Any]:
    return {
        "identificationType": "customerInfo",
        "firstName": "Pat",
        "lastName": "Doe",
        "email": f"pat.{esi()[-8:]}@example.com",
    } | fields


def test_accepting_a_plan_keeps_location_plan_start_and_consent(tenant: Tenant) -> None:
    instance, plan, location = _setup(tenant)
    c = tenant.client
    r = c.post(
        f"/v1/programInstances/{instance['id']}/enrollments",
        json=_body(
            servicePointId=location["servicePointId"],
            planCode=plan["aliases"][0],
            startDate=_day(10),
            consent=_consent(),
        ),
    )
    assert r.status_code == 201, r.text
    e = r.json()
    assert e["serviceLocationId"] == location["id"] and e["planId"] == plan["id"]
    assert (e["planCode"], e["planCodeGiven"]) == (plan["code"], plan["aliases"][0])
    assert e["startDate"] == _day(10)
    assert e["address"] == {k: v for k, v in location["address"].items() if v is not None}
    assert c.get(f"/v1/enrollments/{e['id']}").json() == e

    consents = c.get(f"/v1/enrollments/{e['id']}/consents")
    assert consents.status_code == 200, consents.text
    (record,) = consents.json()["data"]
    assert record["enrollmentId"] == e["id"] and record["planId"] == plan["id"]
    assert record["termsAccepted"] is True and record["channel"] == "web"
    assert record["ipAddress"] == "203.0.113.7" and record["userAgent"].startswith("Mozilla")
    assert record["text"] == _consent()["text"]
    assert record["actor"] == {"type": "customer", "name": "Pat Doe"}
    assert [(d["type"], d["version"], d["url"]) for d in record["documents"]] == [
        ("efl", "2026-01", EFL["url"]),
        ("tos", "3", TOS["url"]),
    ]

    events = c.get("/v1/events", params={"type": "enrollment.created", "limit": 500})
    (created,) = [v for v in events.json()["data"] if v["data"]["object"]["id"] == e["id"]]
    data = created["data"]
    assert data["plan"] | {} == {
        "id": plan["id"],
        "code": plan["code"],
        "codeGiven": plan["aliases"][0],
        "name": plan["name"],
        "startDate": _day(10),
    }
    assert data["serviceLocation"]["id"] == location["id"]
    assert data["serviceLocation"]["utility"]["code"] == "oncor"
    assert data["consent"]["id"] == record["id"] and "ipAddress" not in data["consent"]
    assert data["object"]["planId"] == plan["id"]

    # The consent is kept: no route changes it, and the enrollment holding it is not deleted.
    problem(c.delete(f"/v1/enrollments/{e['id']}"), 409, "enrollment_has_consent")
    assert c.get(f"/v1/enrollments/{e['id']}/consents").json()["data"] == [record]
    # A plan that an enrollment names is retired, not deleted.
    plans = f"/v1/programInstances/{instance['id']}/plans"
    problem(c.delete(f"{plans}/{plan['id']}"), 409, "plan_in_use")
    assert c.get(f"{plans}/{plan['id']}").status_code == 200


def test_the_start_date_defaults_to_the_earliest_and_plain_plans_need_no_consent(
    tenant: Tenant,
) -> None:
    instance = tenant.instance(timezone="America/Chicago")
    plan = new_plan(tenant, instance["id"], startWindow={"earliestDays": 3, "latestDays": 3})
    location = create(tenant)
    r = tenant.client.post(
        f"/v1/programInstances/{instance['id']}/enrollments",
        json=_body(serviceLocationId=location["id"], planId=plan["id"]),
    )
    assert r.status_code == 201, r.text
    assert r.json()["startDate"] in (_day(3), _day(4))  # the day may turn meanwhile
    assert r.json()["planCodeGiven"] == plan["code"]
    consents = tenant.client.get(f"/v1/enrollments/{r.json()['id']}/consents").json()
    assert consents["data"] == []


def _refusals(tenant: Tenant) -> tuple[str, list[tuple[dict[str, Any], int, str]]]:
    instance, plan, oncor = _setup(tenant)
    centerpoint = create(tenant, servicePointId=esi(CENTERPOINT))
    retired = new_plan(tenant, instance["id"])
    r = tenant.client.patch(
        f"/v1/programInstances/{instance['id']}/plans/{retired['id']}", json={"status": "retired"}
    )
    assert r.status_code == 200, r.text
    at_oncor = {"serviceLocationId": oncor["id"], "planId": plan["id"], "startDate": _day(10)}
    stale = _consent(
        documents=[{"type": "efl", "version": "2025-06"}, {"type": "tos", "version": "3"}]
    )
    return instance["id"], [
        (at_oncor, 422, "terms_not_accepted"),
        (at_oncor | {"consent": _consent(termsAccepted=False)}, 422, "terms_not_accepted"),
        (at_oncor | {"consent": stale}, 422, "consent_documents_mismatch"),
        (at_oncor | {"consent": _consent(documents=[])}, 422, "consent_documents_mismatch"),
        (
            at_oncor | {"consent": _consent(), "startDate": _day(60)},
            422,
            "start_date_outside_window",
        ),
        (
            at_oncor | {"consent": _consent(), "startDate": _day(-1)},
            422,
            "start_date_outside_window",
        ),
        (
            at_oncor | {"consent": _consent(), "serviceLocationId": centerpoint["id"]},
            422,
            "plan_unavailable",
        ),
        ({"serviceLocationId": oncor["id"], "planId": retired["id"]}, 422, "plan_unavailable"),
        ({"planId": plan["id"], "consent": _consent()}, 422, "plan_needs_location"),
        (at_oncor | {"planId": "nope"}, 404, "not_found"),
        (at_oncor | {"serviceLocationId": "nope"}, 404, "not_found"),
        ({"servicePointId": esi(), "planId": plan["id"]}, 404, "not_found"),
        (at_oncor | {"planCode": plan["code"]}, 422, "validation_error"),
        ({"serviceLocationId": oncor["id"], "startDate": _day(10)}, 422, "validation_error"),
        (at_oncor | {"servicePointId": oncor["servicePointId"]}, 422, "validation_error"),
        (at_oncor | {"consent": _consent(ipAddress="999.1.1.1")}, 422, "validation_error"),
        (at_oncor | {"consent": _consent(channel="fax")}, 422, "validation_error"),
    ]


def test_each_refusal_has_its_code_and_writes_nothing(tenant: Tenant) -> None:
    instance_id, cases = _refusals(tenant)
    enrollments = f"/v1/programInstances/{instance_id}/enrollments"
    for extra, status, code in cases:
        body = problem(tenant.client.post(enrollments, json=_body(**extra)), status, code)
        if code == "consent_documents_mismatch":
            assert body["expected"] == [
                {"type": "efl", "version": "2026-01"},
                {"type": "tos", "version": "3"},
            ]
        if code == "start_date_outside_window":
            assert body["earliestStartDate"] in (_day(1), _day(2))
    assert tenant.client.get(enrollments).json()["data"] == []


@pytest.mark.parametrize("field", ["serviceLocationId", "planId"])
def test_another_workspaces_location_or_plan_reads_as_missing(
    tenant: Tenant, other_tenant: Tenant, field: str
) -> None:
    instance, plan, location = _setup(tenant)
    _, other_plan, other_location = _setup(other_tenant)
    extra = {"serviceLocationId": location["id"], "planId": plan["id"], "consent": _consent()}
    extra[field] = {"serviceLocationId": other_location, "planId": other_plan}[field]["id"]
    r = tenant.client.post(
        f"/v1/programInstances/{instance['id']}/enrollments", json=_body(**extra, startDate=_day(5))
    )
    problem(r, 404, "not_found")


RESIDENTIAL_ONCOR = [
    {
        "id": "residential",
        "reason": "Residential premises only",
        "rule": {"==": [{"var": "location.premiseType"}, "residential"]},
    },
    {
        "id": "oncor",
        "reason": "Oncor territory only",
        "rule": {"in": [{"var": "location.utility.code"}, ["oncor"]]},
    },
]


NO_SWITCH_HOLD = {
    "id": "no-switch-hold",
    "reason": "No switch hold",
    "rule": {"!=": [{"var": "location.attributes.switchHoldIndicator"}, "Y"]},
}


def test_eligibility_rules_read_the_location(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On create, and in a set-based re-evaluation, whose SQL reads the location (joined):
    no row is left to Python."""
    criteria = [*RESIDENTIAL_ONCOR, NO_SWITCH_HOLD]
    instance = tenant.instance("anywhere-program", eligibilityCriteria=criteria)
    enrollments = f"/v1/programInstances/{instance['id']}/enrollments"
    oncor = create(tenant, attributes={"switchHoldIndicator": "N"})
    centerpoint = create(tenant, servicePointId=esi(CENTERPOINT))
    placed = {
        name: tenant.client.post(enrollments, json=_body(serviceLocationId=where["id"])).json()
        for name, where in (("oncor", oncor), ("centerpoint", centerpoint))
    }
    nowhere = tenant.client.post(enrollments, json=_body()).json()
    assert placed["oncor"]["status"] == "eligible", placed["oncor"]["eligibility"]
    assert placed["centerpoint"]["status"] == "ineligible"
    assert [
        c["id"] for c in placed["centerpoint"]["eligibility"]["checks"] if c["status"] == "failed"
    ] == ["oncor"]
    assert nowhere["status"] == "ineligible"

    r = tenant.client.patch(
        f"/v1/serviceLocations/{oncor['id']}",
        json={"premiseType": "small_commercial", "attributes": {"switchHoldIndicator": "Y"}},
    )
    assert r.status_code == 200, r.text
    in_python: list[str] = []

    async def refused(*args: Any, row: Any, **kwargs: Any) -> Any:
        in_python.append(row["id"])
        return await decide_in_python(*args, row=row, **kwargs)

    decide_in_python = bulk.decide_in_python
    monkeypatch.setattr(bulk, "decide_in_python", refused)
    run = reevaluate(tenant, instance["id"], force=True)
    assert run["status"] == "completed", run
    assert in_python == []
    moved = tenant.client.get(f"/v1/enrollments/{placed['oncor']['id']}").json()
    assert moved["status"] == "ineligible"
    assert [c["id"] for c in moved["eligibility"]["checks"] if c["status"] == "failed"] == [
        "residential",
        "no-switch-hold",
    ]
    for unmoved in (placed["centerpoint"], nowhere):
        again = tenant.client.get(f"/v1/enrollments/{unmoved['id']}").json()
        assert again["status"] == "ineligible"
        assert again["eligibility"]["checks"] == unmoved["eligibility"]["checks"]


def test_the_enrollment_shows_whether_its_location_has_usage(tenant: Tenant) -> None:
    instance = tenant.instance("anywhere-program")
    enrollments = f"/v1/programInstances/{instance['id']}/enrollments"
    location = create(tenant)
    before = tenant.client.post(enrollments, json=_body(serviceLocationId=location["id"])).json()
    assert before["hasUsageHistory"] is False
    nowhere = tenant.client.post(enrollments, json=_body()).json()
    reading = {"start": "2026-10-01T05:00:00Z", "end": "2026-11-01T05:00:00Z", "kwh": "1210.5"}
    r = tenant.client.post(
        f"/v1/serviceLocations/{location['id']}/usage", json={"readings": [reading]}
    )
    assert r.status_code == 201, r.text
    assert tenant.client.get(f"/v1/enrollments/{before['id']}").json()["hasUsageHistory"] is True
    after = tenant.client.post(enrollments, json=_body(serviceLocationId=location["id"])).json()
    assert after["hasUsageHistory"] is True
    assert tenant.client.get(f"/v1/enrollments/{nowhere['id']}").json()["hasUsageHistory"] is False
    (created,) = [
        e
        for e in tenant.events(type="enrollment.created")
        if e["data"]["object"]["id"] == after["id"]
    ]
    assert created["data"]["object"]["hasUsageHistory"] is True


TERMS = {"version": "7", "url": "https://example.com/program-terms-7.pdf"}


def test_an_instance_that_requires_consent_asks_it_of_every_enrollment(tenant: Tenant) -> None:
    """consentRequired: every create needs the terms accepted, the instance's own terms among
    the documents (with a plan's when it names one); turned off, nothing is asked."""
    instance = tenant.instance("anywhere-program", consentRequired=True, terms=TERMS)
    assert instance["consentRequired"] is True
    enrollments = f"/v1/programInstances/{instance['id']}/enrollments"
    terms_only = [{"type": "programTerms", "version": "7"}]
    body = problem(tenant.client.post(enrollments, json=_body()), 422, "terms_not_accepted")
    assert body["expected"] == terms_only
    wrong = _consent(documents=[{"type": "programTerms", "version": "6"}])
    body = problem(
        tenant.client.post(enrollments, json=_body(consent=wrong)),
        422,
        "consent_documents_mismatch",
    )
    assert body["expected"] == terms_only
    assert tenant.client.get(enrollments).json()["data"] == []

    r = tenant.client.post(enrollments, json=_body(consent=_consent(documents=terms_only)))
    assert r.status_code == 201, r.text
    (record,) = tenant.client.get(f"/v1/enrollments/{r.json()['id']}/consents").json()["data"]
    assert record["planId"] is None
    assert record["documents"] == [{"type": "programTerms"} | TERMS]

    # With a plan: its documents and the instance's terms.
    plan = new_plan(tenant, instance["id"], startWindow=WINDOW, documents=[EFL, TOS])
    at = {"serviceLocationId": create(tenant)["id"], "planId": plan["id"], "startDate": _day(9)}
    body = problem(
        tenant.client.post(enrollments, json=_body(**at, consent=_consent())),
        422,
        "consent_documents_mismatch",
    )
    both = _consent()["documents"] + terms_only
    assert sorted(body["expected"], key=str) == sorted(both, key=str)
    r = tenant.client.post(enrollments, json=_body(**at, consent=_consent(documents=both)))
    assert r.status_code == 201, r.text

    r = tenant.client.patch(
        f"/v1/programInstances/{instance['id']}", json={"consentRequired": False}
    )
    assert r.status_code == 200 and r.json()["consentRequired"] is False, r.text
    r = tenant.client.post(enrollments, json=_body())
    assert r.status_code == 201, r.text
    assert tenant.client.get(f"/v1/enrollments/{r.json()['id']}/consents").json()["data"] == []


CREATE = """mutation($i: ID!, $in: EnrollmentCreateInput!) {
  createEnrollment(programInstanceId: $i, input: $in) {
    id serviceLocationId planId planCode planCodeGiven startDate
    consents { planId termsAccepted channel ipAddress documents }
  }
}"""


def test_graphql_creates_accept_a_plan_as_rest_does(tenant: Tenant) -> None:
    instance, plan, location = _setup(tenant)
    given = {
        "identificationType": "customerInfo",
        "firstName": "Pat",
        "lastName": "Doe",
        "email": f"pat.{esi()[-8:]}@example.com",
        "servicePointId": location["servicePointId"],
        "planCode": plan["aliases"][0],
        "startDate": _day(12),
    }
    refused = gql(tenant.client, CREATE, i=instance["id"], **{"in": given})
    error(refused, "terms_not_accepted", 422)
    made = gql(tenant.client, CREATE, i=instance["id"], **{"in": given | {"consent": _consent()}})
    e = data(made)["createEnrollment"]
    assert (e["serviceLocationId"], e["planId"]) == (location["id"], plan["id"])
    assert (e["planCode"], e["planCodeGiven"], e["startDate"]) == (
        plan["code"],
        plan["aliases"][0],
        _day(12),
    )
    (record,) = e["consents"]
    assert record["planId"] == plan["id"] and record["channel"] == "web"
    assert [d["type"] for d in record["documents"]] == ["efl", "tos"]


def test_an_update_by_enrollment_id_accepts_no_plan(tenant: Tenant) -> None:
    """identificationType enrollmentId naming an enrollment of the same instance updates it;
    a plan, location, start date or consent there is refused, not dropped."""
    instance, plan, location = _setup(tenant)
    enrollments = f"/v1/programInstances/{instance['id']}/enrollments"
    made = tenant.client.post(enrollments, json=_body())
    assert made.status_code == 201, made.text
    update = {"identificationType": "enrollmentId", "enrollmentId": made.json()["id"]}
    at = {"serviceLocationId": location["id"], "planId": plan["id"], "consent": _consent()}
    body = problem(tenant.client.post(enrollments, json=update | at), 422, "validation_error")
    assert sorted(e["field"] for e in body["errors"]) == ["consent", "planId", "serviceLocationId"]
    r = tenant.client.post(enrollments, json=update | {"tags": ["moved"]})
    assert r.status_code == 200, r.text
    assert r.json()["tags"] == ["moved"] and r.json()["planId"] is None

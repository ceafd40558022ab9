"""Eligibility criteria over the API: JsonLogic rules, write-time validation, versions,
platform facts and the preview endpoint."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import httpx

from enroll.context import AppContext
from enroll.models import ProgramInstance
from tests.support.server import Server, Tenant

HAS_BATTERY = {
    "id": "has-battery",
    "reason": "Incompatible equipment",
    "rule": {"some": [{"var": "manufacturerSlugs"}, {"in": [{"var": ""}, ["tesla", "enphase"]]}]},
}
NOT_IN_OTHER_GRID_PROGRAM = {
    "id": "one-grid-program",
    "description": "Not enrolled in another grid-services program",
    "reason": "Already enrolled in another grid-services program",
    "rule": {
        "!": {
            "some": [
                {"var": "facts.activeEnrollments"},
                {"==": [{"var": "programType"}, "grid_services"]},
            ]
        }
    },
}


def _program(server: Server, platform_key: str, **fields: Any) -> dict[str, Any]:
    body = {"slug": f"p-{uuid.uuid4().hex[:10]}", "name": "P", "type": "grid_services"} | fields
    with server.client(platform_key) as client:
        r = client.post("/v1/programs", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return dict(r.json())


def test_the_issue_example_rule_decides_eligibility(tenant: Tenant, platform_key: str) -> None:
    program = _program(tenant.server, platform_key, eligibilityCriteria=[HAS_BATTERY])
    assert program["eligibilityCriteria"] == [HAS_BATTERY]
    instance = tenant.instance(program["slug"])
    yes = tenant.enroll(instance["id"], manufacturerSlugs=["Tesla"])
    assert yes["status"] == "eligible"
    no = tenant.enroll(instance["id"], manufacturerSlugs=["lg"])
    assert (no["status"], no["eligibilityReason"]) == ("ineligible", "Incompatible equipment")
    none = tenant.enroll(instance["id"], manufacturerSlugs=[])
    assert none["status"] == "ineligible"
    check = next(c for c in no["eligibility"]["checks"] if c["id"] == "has-battery")
    assert check == {
        "id": "has-battery",
        "description": "has-battery",
        "status": "failed",
        "reason": "Incompatible equipment",
    }
    assert no["eligibility"]["criteriaVersion"] == instance["criteriaVersion"] == 1


def test_instance_criteria_add_to_the_programs(tenant: Tenant, platform_key: str) -> None:
    program = _program(
        tenant.server, platform_key, states=["NY"], eligibilityCriteria=[HAS_BATTERY]
    )
    senior = {
        "id": "senior",
        "reason": "Must be 65 or older",
        "rule": {">=": [{"var": "metadata.age"}, 65]},
    }
    instance = tenant.instance(program["slug"], eligibilityCriteria=[senior])
    e = tenant.enroll(instance["id"], manufacturerSlugs=["tesla"], metadata={"age": 40})
    assert [c["id"] for c in e["eligibility"]["checks"]] == [
        "instance-accepting",
        "service-area",
        "has-battery",
        "senior",
    ]
    assert (e["status"], e["eligibilityReason"]) == ("ineligible", "Must be 65 or older")
    e = tenant.enroll(instance["id"], manufacturerSlugs=["tesla"], metadata={"age": 70})
    assert e["status"] == "eligible"


def test_invalid_rules_are_refused_with_a_pointer(tenant: Tenant, platform_key: str) -> None:
    program = _program(tenant.server, platform_key)
    bad = {"id": "bad", "reason": "x", "rule": {"and": [True, {"frobnicate": [1]}]}}
    body = {
        "programSlug": program["slug"],
        "slug": f"i-{uuid.uuid4().hex[:8]}",
        "name": "I",
        "eligibilityCriteria": [HAS_BATTERY, bad],
    }
    problem = _problem(tenant.client.post("/v1/programInstances", json=body), 422)
    assert problem["errors"][0]["field"] == "eligibilityCriteria.1.rule"
    assert "frobnicate" in problem["errors"][0]["message"]
    assert "/and/1" in problem["errors"][0]["message"]
    duplicate = body | {"eligibilityCriteria": [HAS_BATTERY, HAS_BATTERY]}
    problem = _problem(tenant.client.post("/v1/programInstances", json=duplicate), 422)
    assert "appears twice" in problem["errors"][0]["message"]
    assert tenant.client.get("/v1/programInstances").json()["totalItems"] == 0
    with tenant.server.client(platform_key) as client:
        r = client.patch(f"/v1/programs/{program['id']}", json={"eligibilityCriteria": [bad]})
    assert _problem(r, 422)["errors"][0]["field"] == "eligibilityCriteria.0.rule"


def test_instance_cannot_shadow_a_program_criterion(tenant: Tenant, platform_key: str) -> None:
    program = _program(
        tenant.server, platform_key, states=["NY"], eligibilityCriteria=[HAS_BATTERY]
    )
    body = {
        "programSlug": program["slug"],
        "slug": f"i-{uuid.uuid4().hex[:8]}",
        "name": "I",
        "eligibilityCriteria": [HAS_BATTERY | {"reason": "other"}],
    }
    problem = _problem(tenant.client.post("/v1/programInstances", json=body), 422)
    assert problem["errors"] == [
        {
            "field": "eligibilityCriteria.0.id",
            "message": "The program already has a criterion 'has-battery'.",
        }
    ]
    clash = body | {"eligibilityCriteria": [{"id": "service-area", "reason": "x", "rule": True}]}
    assert _problem(tenant.client.post("/v1/programInstances", json=clash), 422)


def test_changing_criteria_makes_a_new_version(tenant: Tenant, platform_key: str) -> None:
    program = _program(tenant.server, platform_key, states=["NY"])
    instance = tenant.instance(program["slug"])
    assert instance["criteriaVersion"] == 1
    url = f"/v1/programInstances/{instance['id']}"
    # A change that is not about criteria keeps the version.
    assert tenant.client.patch(url, json={"name": "Renamed"}).json()["criteriaVersion"] == 1
    updated = tenant.client.patch(url, json={"eligibilityCriteria": [HAS_BATTERY]}).json()
    assert updated["criteriaVersion"] == 2
    # The same criteria again: no new version.
    again = tenant.client.patch(url, json={"eligibilityCriteria": [HAS_BATTERY]}).json()
    assert again["criteriaVersion"] == 2
    # The program's states change: every instance of it gets a version.
    with tenant.server.client(platform_key) as client:
        assert (
            client.patch(f"/v1/programs/{program['id']}", json={"states": ["NY", "NJ"]}).status_code
            == 200
        )
    assert tenant.client.get(url).json()["criteriaVersion"] == 3

    versions = tenant.client.get(f"{url}/criteriaVersions").json()
    assert [v["version"] for v in versions["data"]] == [1, 2, 3]
    first = tenant.client.get(f"{url}/criteriaVersions/1").json()
    assert [c["id"] for c in first["criteria"]] == ["service-area"]
    assert first["criteria"][0]["rule"] == {"in": [{"var": "address.state"}, ["NY"]]}
    third = tenant.client.get(f"{url}/criteriaVersions/3").json()
    assert third["criteria"][0]["rule"] == {"in": [{"var": "address.state"}, ["NJ", "NY"]]}
    assert [c["source"] for c in third["criteria"]] == ["program", "instance"]
    assert _problem(tenant.client.get(f"{url}/criteriaVersions/4"), 404)["code"] == "not_found"
    e = tenant.enroll(instance["id"], address={"state": "NJ"}, manufacturerSlugs=["enphase"])
    assert (e["status"], e["eligibility"]["criteriaVersion"]) == ("eligible", 3)


def test_rules_see_the_customers_other_active_enrollments(
    tenant: Tenant, platform_key: str
) -> None:
    grid = _program(tenant.server, platform_key)
    first = tenant.instance(grid["slug"])
    second = tenant.instance(grid["slug"], eligibilityCriteria=[NOT_IN_OTHER_GRID_PROGRAM])
    person = {"email": f"solo.{uuid.uuid4().hex[:8]}@example.com"}
    e = tenant.enroll(first["id"], **person)
    for action in ("submit", "approve"):
        assert tenant.client.post(f"/v1/enrollments/{e['id']}/{action}").status_code == 200
    blocked = tenant.enroll(second["id"], **person)
    assert blocked["status"] == "ineligible"
    assert blocked["eligibilityReason"] == "Already enrolled in another grid-services program"
    stranger = tenant.enroll(second["id"])
    assert stranger["status"] == "eligible"
    # After leaving the first program the same customer qualifies on re-evaluation.
    r = tenant.client.post(f"/v1/enrollments/{e['id']}/unenroll", json={"reason": "Moved"})
    assert r.status_code == 200
    again = tenant.client.post(f"/v1/enrollments/{blocked['id']}/reevaluate").json()
    assert again["status"] == "eligible"


def test_preview_evaluates_without_saving(
    tenant: Tenant, other_tenant: Tenant, platform_key: str
) -> None:
    program = _program(
        tenant.server, platform_key, states=["NY"], eligibilityCriteria=[HAS_BATTERY]
    )
    instance = tenant.instance(program["slug"])
    url = f"/v1/programInstances/{instance['id']}/eligibility/preview"
    before = tenant.events(limit=500)
    r = tenant.client.post(
        url,
        json={
            "address": {"state": "ny"},
            "manufacturerSlugs": ["LG"],
            "metadata": {"answers": {"owner": True}},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["reason"]) == ("ineligible", "Incompatible equipment")
    assert [(c["id"], c["status"]) for c in body["checks"]] == [
        ("instance-accepting", "passed"),
        ("service-area", "passed"),
        ("has-battery", "failed"),
    ]
    assert body["criteriaVersion"] == 1
    assert body["context"]["address"]["state"] == "NY"
    assert body["context"]["manufacturerSlugs"] == ["lg"]
    assert body["context"]["metadata"] == {"answers": {"owner": True}}
    assert (
        tenant.client.post(
            url, json={"address": {"state": "NY"}, "manufacturerSlugs": ["tesla"]}
        ).json()["status"]
        == "eligible"
    )
    assert tenant.client.get("/v1/enrollments").json()["totalItems"] == 0
    assert tenant.client.get("/v1/customers").json()["totalItems"] == 0
    assert tenant.events(limit=500) == before
    # Another workspace's instance or customer reads as missing.
    assert _problem(other_tenant.client.post(url, json={}), 404)["code"] == "not_found"
    theirs = other_tenant.client.post(
        "/v1/customers", json={"firstName": "A", "lastName": "B", "email": "ab@example.com"}
    ).json()
    assert _problem(tenant.client.post(url, json={"customerId": theirs["id"]}), 404)
    assert _problem(tenant.client.post(url, json={"bogus": 1}), 422)


# --- cost bounds (issue 13, A1) ----------------------------------------------------------------

A150 = list(range(150))
NESTED_MAPS = {"!!": {"map": [A150, {"map": [A150, {"map": [A150, {"cat": ["x", {"var": ""}]}]}]}]}}
DOUBLING = {
    "!!": {
        "reduce": [
            list(range(29)),
            {"cat": [{"var": "accumulator"}, {"var": "accumulator"}]},
            "xxxxxxxx",
        ]
    }
}


def test_rules_over_the_static_limits_are_refused(tenant: Tenant, platform_key: str) -> None:
    program = _program(tenant.server, platform_key)
    for rule in (NESTED_MAPS, DOUBLING):
        body = {
            "programSlug": program["slug"],
            "slug": f"i-{uuid.uuid4().hex[:8]}",
            "name": "I",
            "eligibilityCriteria": [HAS_BATTERY, {"id": "costly", "reason": "x", "rule": rule}],
        }
        problem = _problem(tenant.client.post("/v1/programInstances", json=body), 422)
        assert problem["code"] == "rule_too_complex"
        assert problem["type"] == "urn:enroll:problem:rule_too_complex"
        assert problem["errors"][0]["field"] == "eligibilityCriteria.1.rule"
        assert "'costly'" in problem["errors"][0]["message"]
        assert "'costly'" in problem["detail"]
    assert tenant.client.get("/v1/programInstances").json()["totalItems"] == 0
    with tenant.server.client(platform_key) as client:
        criteria = [{"id": "nested", "reason": "x", "rule": NESTED_MAPS}]
        r = client.patch(f"/v1/programs/{program['id']}", json={"eligibilityCriteria": criteria})
    assert _problem(r, 422)["code"] == "rule_too_complex"
    instance = tenant.instance(program["slug"])
    mutation = """mutation($id: ID!, $input: ProgramInstanceUpdateInput!) {
      updateProgramInstance(id: $id, input: $input) { id } }"""
    criteria = [{"id": "doubling", "reason": "x", "rule": DOUBLING}]
    r = tenant.client.post(
        "/graphql",
        json={
            "query": mutation,
            "variables": {"id": instance["id"], "input": {"eligibilityCriteria": criteria}},
        },
    )
    assert r.json()["errors"][0]["extensions"]["code"] == "rule_too_complex", r.text


def test_a_costly_rule_fails_its_check_without_holding_the_server(tenant: Tenant) -> None:
    # Statically allowed (one iteration, the accumulator joined once), but quadratic in the
    # data: each step searches the accumulator. The budget stops it; /healthz keeps answering.
    accumulator, current = {"var": "accumulator"}, {"var": "current"}
    rule = {
        "!!": {
            "reduce": [
                {"var": "metadata.items"},
                {
                    "if": [
                        {"in": [current, accumulator]},
                        accumulator,
                        {"merge": [accumulator, [current]]},
                    ]
                },
                [],
            ]
        }
    }
    costly = {"id": "costly", "reason": "Costly", "rule": rule}
    instance = tenant.instance("anywhere-program", eligibilityCriteria=[costly])
    enrollment = _enroll_while_polling_healthz(
        tenant, instance["id"], metadata={"items": list(range(8_000))}
    )
    assert (enrollment["status"], enrollment["eligibilityReason"]) == (
        "ineligible",
        "rule_too_costly",
    )
    check = next(c for c in enrollment["eligibility"]["checks"] if c["id"] == "costly")
    assert (check["status"], check["reason"]) == ("error", "rule_too_costly")
    # The same rule over small data is decided as usual.
    assert tenant.enroll(instance["id"], metadata={"items": [1, 2]})["status"] == "eligible"


def test_stored_rules_over_the_limits_are_stopped_by_the_budget(tenant: Tenant) -> None:
    # The issue's rules, stored as a rule written before the limits existed would be.
    instance = tenant.instance("anywhere-program")
    criteria = [
        {"id": "nested", "reason": "x", "rule": NESTED_MAPS},
        {"id": "doubling", "reason": "y", "rule": DOUBLING},
    ]

    async def store(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            row = await session.get(ProgramInstance, instance["id"])
            assert row is not None
            row.eligibility_criteria = criteria

    tenant.server.database.run(store)
    enrollment = _enroll_while_polling_healthz(tenant, instance["id"])
    checks = {c["id"]: (c["status"], c["reason"]) for c in enrollment["eligibility"]["checks"]}
    assert checks["nested"] == checks["doubling"] == ("error", "rule_too_costly")
    assert enrollment["status"] == "ineligible"


def _enroll_while_polling_healthz(
    tenant: Tenant, instance_id: str, **fields: Any
) -> dict[str, Any]:
    """Create an enrollment while another client polls /healthz: each answer within 1 s."""
    created: list[dict[str, Any]] = []
    worker = threading.Thread(target=lambda: created.append(tenant.enroll(instance_id, **fields)))
    latencies = []
    with tenant.server.client() as client:
        assert client.get("/healthz").status_code == 200  # connected before the clock starts
        worker.start()
        while worker.is_alive() or not latencies:
            start = time.monotonic()
            assert client.get("/healthz").status_code == 200
            latencies.append(time.monotonic() - start)
    worker.join()
    assert max(latencies) < 1.0, latencies
    (enrollment,) = created
    return enrollment

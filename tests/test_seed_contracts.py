"""Where the platform reads the seeds (000 and 002) to the letter (issue 13, items 20–27):
update events for status changes, manual screening, updating by enrollmentId, rejected
reopened only by new criteria, strict query parameters and the filters users reach for, the
service task log, unenrollment dates and the eligibility preview's body.

Over real HTTP on every database backend.
"""

from __future__ import annotations

from typing import Any

from conftest import Tenant
from test_api_enrollments import act, create, events, get, ok, person, problem, wait_events

NOT_NJ = {
    "id": "not-nj",
    "reason": "Not offered in New Jersey",
    "rule": {"!=": [{"var": "address.state"}, "NJ"]},
}


def types_of(tenant: Tenant, subject: str) -> list[tuple[str, Any]]:
    feed = events(tenant, limit=500)["data"]
    return [
        (e["type"], e["data"].get("changedFields"))
        for e in feed
        if e["data"]["object"]["id"] == subject
    ]


def set_criteria(tenant: Tenant, instance_id: str, criteria: list[dict[str, Any]]) -> None:
    ok(
        tenant.client.patch(
            f"/v1/programInstances/{instance_id}", json={"eligibilityCriteria": criteria}
        )
    )


# --- 20. enrollment.updated for status changes --------------------------------------------------


def test_status_changes_send_enrollment_updated_naming_status(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person()), 201)
    ok(act(tenant, e["id"], "submit"))
    ok(act(tenant, e["id"], "reject", "Failed verification"))
    wait_events(tenant, 3, type="enrollment.status_changed")
    assert types_of(tenant, e["id"]) == [
        # Created: the creation is the news, no update of something that did not exist.
        ("enrollment.created", None),
        ("enrollment.status_changed", None),
        ("enrollment.eligible", None),
        ("enrollment.status_changed", None),
        ("enrollment.submitted", None),
        ("enrollment.updated", ["status"]),
        ("enrollment.status_changed", None),
        ("enrollment.rejected", None),
        ("enrollment.updated", ["status", "eligibilityReason"]),
    ]
    updated = [
        ev
        for ev in events(tenant, type="enrollment.updated")["data"]
        if ev["data"]["object"]["id"] == e["id"]
    ]
    assert updated[-1]["data"]["object"] == get(tenant, e["id"])


def test_a_bulk_reevaluation_move_sends_enrollment_updated(tenant: Tenant) -> None:
    instance = tenant.instance()
    nj = tenant.enroll(instance["id"], address={"state": "NJ"})
    set_criteria(tenant, instance["id"], [NOT_NJ])
    r = tenant.client.post(
        f"/v1/programInstances/{instance['id']}/reevaluations", json={"force": True}
    )
    assert r.status_code == 200, r.text
    assert types_of(tenant, nj["id"])[-3:] == [
        ("enrollment.status_changed", None),
        ("enrollment.ineligible", None),
        ("enrollment.updated", ["status", "eligibility"]),
    ]


# --- 23. rejected is terminal unless criteria change ----------------------------------------------


def test_rejected_reopens_only_under_new_criteria(tenant: Tenant) -> None:
    instance = tenant.instance(reenrollmentPolicy="reevaluate_rejected")
    iid = instance["id"]
    e = tenant.enroll(iid)
    ok(act(tenant, e["id"], "submit"))
    ok(act(tenant, e["id"], "reject", "Failed verification"))
    body = problem(act(tenant, e["id"], "reevaluate"), 409, "criteria_unchanged")
    assert body["criteriaVersion"] == instance["criteriaVersion"]
    # The bulk path follows the same rule: the rejected one is not in play.
    r = tenant.client.post(f"/v1/programInstances/{iid}/reevaluations", json={"force": True})
    assert r.status_code == 200, r.text
    assert r.json()["moves"] == [] and r.json()["evaluated"] == 0
    assert get(tenant, e["id"])["status"] == "rejected"
    # New criteria: both paths may reopen it.
    set_criteria(tenant, iid, [NOT_NJ])
    dry = tenant.client.post(f"/v1/programInstances/{iid}/reevaluations", json={"dryRun": True})
    assert dry.json()["moves"] == [
        {"from": "rejected", "to": "eligible", "count": 1, "sampleIds": [e["id"]]}
    ]
    reopened = ok(act(tenant, e["id"], "reevaluate"))
    assert reopened["status"] == "eligible"

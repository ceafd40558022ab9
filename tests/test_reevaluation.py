"""Set-based re-evaluation after a criteria change: dry run, the share guard, apply with
history and events, review flags instead of demotion, the re-enrollment policy."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from conftest import Tenant
from enroll.models import Enrollment

NOT_NJ = {
    "id": "not-nj",
    "reason": "Not offered in New Jersey",
    "rule": {"!=": [{"var": "address.state"}, "NJ"]},
}


def uniq() -> str:
    return uuid.uuid4().hex[:10]


def get(tenant: Tenant, enrollment_id: str) -> dict[str, Any]:
    r = tenant.client.get(f"/v1/enrollments/{enrollment_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def act(tenant: Tenant, enrollment_id: str, action: str, **body: Any) -> None:
    r = tenant.client.post(f"/v1/enrollments/{enrollment_id}/{action}", json=body)
    assert r.status_code == 200, r.text


def reevaluate(tenant: Tenant, instance_id: str, **body: Any) -> Any:
    return tenant.client.post(f"/v1/programInstances/{instance_id}/reevaluations", json=body)


def set_criteria(tenant: Tenant, instance_id: str, criteria: list[dict[str, Any]]) -> None:
    r = tenant.client.patch(
        f"/v1/programInstances/{instance_id}", json={"eligibilityCriteria": criteria}
    )
    assert r.status_code == 200, r.text


def at(enrollment: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(enrollment["eligibility"]["evaluatedAt"])


def history(tenant: Tenant, enrollment_id: str) -> list[tuple[str | None, str, str]]:
    data = tenant.client.get(f"/v1/enrollments/{enrollment_id}/history").json()["data"]
    return [(h["fromStatus"], h["toStatus"], h["action"]) for h in data]


def test_dry_run_guard_and_apply(tenant: Tenant) -> None:
    instance = tenant.instance()
    iid = instance["id"]
    ny = tenant.enroll(iid)
    nj = tenant.enroll(iid, address={"state": "NJ"})
    ca = tenant.enroll(iid, address={"state": "CA"})
    submitted = tenant.enroll(iid, address={"state": "NJ"})
    act(tenant, submitted["id"], "submit")
    approved = tenant.enroll(iid, address={"state": "NJ"})
    act(tenant, approved["id"], "submit")
    act(tenant, approved["id"], "approve")
    rejected = tenant.enroll(iid, address={"state": "NJ"})
    act(tenant, rejected["id"], "submit")
    act(tenant, rejected["id"], "reject", reason="Failed verification")
    set_criteria(tenant, iid, [NOT_NJ])
    before = {e["id"]: get(tenant, e["id"]) for e in (ny, nj, ca, submitted, approved, rejected)}

    dry = reevaluate(tenant, iid, dryRun=True)
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert body["dryRun"] is True and body["applied"] is False
    assert body["evaluated"] == 5 and body["total"] == 6  # the rejected one is not in play
    assert body["criteriaVersion"] == instance["criteriaVersion"] + 1
    assert body["moves"] == [
        {"from": "eligible", "to": "ineligible", "count": 1, "sampleIds": [nj["id"]]}
    ]
    assert body["needsReview"]["count"] == 2
    assert sorted(body["needsReview"]["sampleIds"]) == sorted([submitted["id"], approved["id"]])
    assert body["changed"] == 3
    assert {e: get(tenant, e) for e in before} == before  # nothing changed

    guarded = reevaluate(tenant, iid)
    assert guarded.status_code == 409, guarded.text
    assert guarded.json()["code"] == "reevaluation_guard"
    assert guarded.json()["changed"] == 3 and guarded.json()["total"] == 6
    assert {e: get(tenant, e) for e in before} == before

    applied = reevaluate(tenant, iid, force=True)
    assert applied.status_code == 200, applied.text
    assert applied.json()["applied"] is True and applied.json()["changed"] == 3

    moved = get(tenant, nj["id"])
    assert moved["status"] == "ineligible"
    assert moved["eligibilityReason"] == "Not offered in New Jersey"
    assert moved["eligibility"]["criteriaVersion"] == body["criteriaVersion"]
    assert [c["id"] for c in moved["eligibility"]["checks"]][-1] == "not-nj"
    assert history(tenant, nj["id"])[-1] == ("eligible", "ineligible", "reevaluate")
    assert get(tenant, ny["id"])["status"] == "eligible"
    assert get(tenant, ca["id"])["status"] == "ineligible"
    for kept in (submitted, approved):
        now = get(tenant, kept["id"])
        assert now["status"] == before[kept["id"]]["status"]  # never demoted
        assert now["needsReview"] is True
        assert now["needsReviewReason"] == "Not offered in New Jersey"
    assert get(tenant, rejected["id"])["status"] == "rejected"

    feed = tenant.events(limit=500)
    mine = [(e["type"], e["data"]["object"]["id"]) for e in feed[-5:]]
    assert ("enrollment.status_changed", nj["id"]) in mine
    assert ("enrollment.ineligible", nj["id"]) in mine
    updated = {e["data"]["object"]["id"]: e for e in feed if e["type"] == "enrollment.updated"}
    assert updated[nj["id"]]["data"]["changedFields"] == ["status", "eligibility"]
    assert updated[approved["id"]]["data"]["object"]["needsReview"] is True
    assert updated[approved["id"]]["data"]["changedFields"] == ["needsReview", "eligibility"]
    status_event = next(
        e
        for e in feed
        if e["type"] == "enrollment.ineligible" and e["data"]["object"]["id"] == nj["id"]
    )
    assert status_event["data"]["object"] == get(tenant, nj["id"])
    assert status_event["data"]["previousStatus"] == "eligible"

    # Criteria back as they were: the flags clear, the demoted one comes back.
    set_criteria(tenant, iid, [])
    again = reevaluate(tenant, iid, force=True).json()
    assert again["clearedReview"]["count"] == 2
    assert again["moves"] == [
        {"from": "ineligible", "to": "eligible", "count": 1, "sampleIds": [nj["id"]]}
    ]
    assert get(tenant, approved["id"])["needsReview"] is False
    assert get(tenant, nj["id"])["status"] == "eligible"


def test_an_unchanged_decision_is_stamped_not_rewritten(tenant: Tenant) -> None:
    instance = tenant.instance(eligibilityCriteria=[NOT_NJ])
    iid = instance["id"]
    ny = tenant.enroll(iid)
    nj = tenant.enroll(iid, address={"state": "NJ"})
    before = get(tenant, ny["id"])
    history_before = history(tenant, ny["id"])
    events_before = len(tenant.events(limit=500))
    # Another rule under the same criterion: NY still passes it, NJ now does too.
    set_criteria(tenant, iid, [{**NOT_NJ, "rule": {"!=": [{"var": "address.state"}, "PA"]}}])
    result = reevaluate(tenant, iid, force=True).json()
    assert result["moves"] == [
        {"from": "ineligible", "to": "eligible", "count": 1, "sampleIds": [nj["id"]]}
    ]

    after = get(tenant, ny["id"])
    version = instance["criteriaVersion"] + 1
    assert after["eligibility"]["criteriaVersion"] == version
    assert at(after) > at(before)
    assert after["eligibility"]["checks"] == before["eligibility"]["checks"]
    # The row itself was not rewritten: same version, same updatedAt, no history, no events.
    assert (after["version"], after["updatedAt"]) == (before["version"], before["updatedAt"])
    assert history(tenant, ny["id"]) == history_before
    feed = tenant.events(limit=500)
    assert all(e["data"]["object"]["id"] != ny["id"] for e in feed[events_before:])
    assert get(tenant, nj["id"])["eligibility"]["criteriaVersion"] == version

    # The stamp holds through later writes of the row, in their responses too…
    submitted = tenant.client.post(f"/v1/enrollments/{ny['id']}/submit", json={})
    assert submitted.json()["eligibility"]["criteriaVersion"] == version
    kept = get(tenant, ny["id"])["eligibility"]
    assert {k: kept[k] for k in ("checks", "criteriaVersion", "evaluatedAt")} == {
        k: after["eligibility"][k] for k in ("checks", "criteriaVersion", "evaluatedAt")
    }
    # …until an evaluation that decides otherwise rewrites it: the newer one shows.
    set_criteria(tenant, iid, [{**NOT_NJ, "rule": {"!=": [{"var": "address.state"}, "NY"]}}])
    reevaluate(tenant, iid, force=True)
    flagged = get(tenant, ny["id"])
    assert flagged["needsReview"] is True
    assert flagged["eligibility"]["criteriaVersion"] == version + 1
    assert flagged["eligibility"]["checks"][-1]["status"] == "failed"


def test_a_stamp_counts_only_while_newer_than_the_stored_eligibility() -> None:
    stored = {"checks": [], "criteriaVersion": 2, "evaluatedAt": "2026-01-02T00:00:00.5Z"}
    e = Enrollment(eligibility=stored)
    assert e.evaluation == stored  # no stamp
    e.stamped_at, e.stamped_version = "2026-01-02T00:00:00Z", 1
    assert e.evaluation == stored  # an older stamp
    e.stamped_at, e.stamped_version = "2026-01-03T00:00:00Z", 3
    assert e.evaluation == {"checks": [], "criteriaVersion": 3, "evaluatedAt": e.stamped_at}


def test_reenrollment_policy_reopens_rejected(tenant: Tenant) -> None:
    instance = tenant.instance(reenrollmentPolicy="reevaluate_rejected")
    assert instance["reenrollmentPolicy"] == "reevaluate_rejected"
    iid = instance["id"]
    rejected = tenant.enroll(iid)
    act(tenant, rejected["id"], "submit")
    act(tenant, rejected["id"], "reject", reason="Incomplete information")
    blocked = tenant.enroll(iid)
    act(tenant, blocked["id"], "submit")
    act(tenant, blocked["id"], "reject", reason="Incomplete information")
    # The same customer enrols again: the old rejected one must stay closed.
    tenant.enroll(iid, email=blocked["email"], firstName="Pat", lastName=blocked["lastName"])
    # Rejected reopens only under new criteria.
    set_criteria(tenant, iid, [{"id": "any", "reason": "Any", "rule": True}])
    result = reevaluate(tenant, iid, force=True)
    assert result.status_code == 200, result.text
    assert result.json()["moves"] == [
        {"from": "rejected", "to": "eligible", "count": 1, "sampleIds": [rejected["id"]]}
    ]
    assert get(tenant, rejected["id"])["status"] == "eligible"
    assert history(tenant, rejected["id"])[-1] == ("rejected", "eligible", "reevaluate")
    assert get(tenant, blocked["id"])["status"] == "rejected"


def test_rules_only_python_can_evaluate_still_work(tenant: Tenant) -> None:
    instance = tenant.instance()
    iid = instance["id"]
    old = tenant.enroll(iid, metadata={"age": 70})
    young = tenant.enroll(iid, metadata={"age": 30})
    # Reads the customer: outside what SQL sees, so the Python evaluator decides every row.
    set_criteria(
        tenant,
        iid,
        [
            {"id": "senior", "reason": "Under 65", "rule": {">=": [{"var": "metadata.age"}, 65]}},
            {"id": "has-customer", "reason": "No customer", "rule": {"var": "customer.email"}},
        ],
    )
    result = reevaluate(tenant, iid, force=True).json()
    assert result["moves"] == [
        {"from": "eligible", "to": "ineligible", "count": 1, "sampleIds": [young["id"]]}
    ]
    assert get(tenant, old["id"])["status"] == "eligible"
    assert get(tenant, young["id"])["eligibilityReason"] == "Under 65"


def test_bad_requests(tenant: Tenant, other_tenant: Tenant) -> None:
    instance = tenant.instance()
    tenant.enroll(instance["id"])
    r = reevaluate(tenant, instance["id"], dryRun="maybe")
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = reevaluate(tenant, instance["id"], bogus=True)
    assert r.status_code == 422
    r = reevaluate(other_tenant, instance["id"], dryRun=True)
    assert r.status_code == 404
    with tenant.server.client(tenant.key_with("enrollments:read")) as client:
        r = client.post(f"/v1/programInstances/{instance['id']}/reevaluations", json={})
        assert r.status_code == 403
    r = reevaluate(tenant, f"missing-{uniq()}", dryRun=True)
    assert r.status_code == 404

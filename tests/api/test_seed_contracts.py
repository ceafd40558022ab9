"""Where the platform reads the seeds (000 and 002) to the letter (issue 13, items 20 to 27):
update events for status changes, manual screening, updating by enrollmentId, rejected
reopened only by new criteria, strict query parameters and the filters users reach for, the
service task log, unenrollment dates and the eligibility preview's body.

Over real HTTP on every database backend.
"""

from __future__ import annotations

from typing import Any

from tests.support.enrollments import act, create, events, get, ok, person, problem, wait_events
from tests.support.reevaluations import report
from tests.support.server import Tenant

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
    report(tenant, instance["id"], force=True)
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
    applied = report(tenant, iid, force=True)
    assert applied["moves"] == [] and applied["evaluated"] == 0
    assert get(tenant, e["id"])["status"] == "rejected"
    # New criteria: both paths may reopen it.
    set_criteria(tenant, iid, [NOT_NJ])
    assert report(tenant, iid, dryRun=True)["moves"] == [
        {"from": "rejected", "to": "eligible", "count": 1, "sampleIds": [e["id"]]}
    ]
    reopened = ok(act(tenant, e["id"], "reevaluate"))
    assert reopened["status"] == "eligible"


# --- 24. unknown query parameters, and the filters users reach for ------------------------------


def test_unknown_query_parameters_are_400_naming_them(tenant: Tenant) -> None:
    instance = tenant.instance()
    tenant.enroll(instance["id"])
    for path, params in (
        ("/v1/enrollments", {"eligibilityStatu": "eligible"}),
        (
            f"/v1/programInstances/{instance['id']}/enrollments",
            {"query": "x", "status": "eligible"},
        ),
        ("/v1/serviceTasks", {"transactionid": "tx-1"}),
        ("/v1/events", {"types": "enrollment.created"}),
        ("/v1/programInstances", {"q": "x"}),
        (f"/v1/enrollments/{'c' + '2' * 24}", {"expand": "history"}),
    ):
        body = problem(tenant.client.get(path, params=params), 400, "unknown_parameter")
        unknown = sorted(k for k in params if k not in ("status",))
        assert body["parameters"] == unknown, path
        assert [e["field"] for e in body["errors"]] == unknown
    # Writes too, and before anything changes.
    before = ok(tenant.client.get("/v1/enrollments"))["totalItems"]
    r = tenant.client.post(
        f"/v1/programInstances/{instance['id']}/enrollments",
        params={"dryRun": "true"},
        json=person(),
    )
    problem(r, 400, "unknown_parameter")
    assert ok(tenant.client.get("/v1/enrollments"))["totalItems"] == before


def test_enrollment_filters_eligibility_status_q_dates_and_tag(tenant: Tenant) -> None:
    instance = tenant.instance()
    iid = instance["id"]
    ada = tenant.enroll(
        iid, firstName="Ada", lastName="Lovelace", referenceId="REF-ADA-1", tags=["vip"]
    )
    bob = tenant.enroll(iid, firstName="Bob", lastName="Bo_rg", address={"state": "CA"})
    assert (ada["status"], bob["status"]) == ("eligible", "ineligible")

    def ids(**params: Any) -> list[str]:
        pages = [
            ok(tenant.client.get(path, params={"perPage": 100} | params))["data"]
            for path in ("/v1/enrollments", f"/v1/programInstances/{iid}/enrollments")
        ]
        assert pages[0] == pages[1], params
        return [e["id"] for e in pages[0]]

    assert ids(eligibilityStatus="ineligible") == [bob["id"]]
    assert ids(eligibilityStatus="eligible") == [ada["id"]]
    assert ids(eligibilityStatus="eligible", status="ineligible") == []
    assert ids(q="ada") == [ada["id"]]  # a first name's start, case-insensitive
    assert ids(q="BO_R") == [bob["id"]]  # a last name's start
    assert ids(q="boxr") == [] and ids(q="b%") == []  # "_" and "%" are no wildcards
    assert ids(q="ada love") == [ada["id"]]  # a full name's start
    assert ids(q=ada["email"].upper()) == [ada["id"]]
    assert ids(q="REF-ADA-1") == [ada["id"]]
    assert ids(q="REF-ADA") == []  # a referenceId matches exactly
    assert ids(q="%") == []
    assert ids(tag="vip") == [ada["id"]]
    assert ids(createdAfter=bob["createdAt"]) == [bob["id"]]
    assert ids(createdBefore=bob["createdAt"]) == [ada["id"]]
    for bad in ({"eligibilityStatus": "x"}, {"q": ""}):
        problem(tenant.client.get("/v1/enrollments", params=bad), 422, "validation_error")


# --- 22. identificationType enrollmentId updates within its instance ----------------------------


def test_enrollment_id_in_its_own_instance_updates_it(tenant: Tenant) -> None:
    instance = tenant.instance()
    iid = instance["id"]
    source = ok(create(tenant, iid, person(address={"state": "CA"}, tags=["t1"])), 201)
    assert source["status"] == "ineligible"
    before = ok(tenant.client.get("/v1/enrollments"))["totalItems"]
    r = create(
        tenant,
        iid,
        {
            "identificationType": "enrollmentId",
            "enrollmentId": source["id"],
            "address": {"state": "NY"},
            "serialNumber": "SN-2",
        },
    )
    updated = ok(r, 200)
    assert r.headers["location"] == f"/v1/enrollments/{source['id']}"
    assert updated["id"] == source["id"]
    assert updated["identificationType"] == "customerInfo"  # still what it was made as
    assert (updated["address"], updated["serialNumber"]) == ({"state": "NY"}, "SN-2")
    assert updated["tags"] == ["t1"]  # fields not sent stay
    assert updated["status"] == "eligible"  # re-evaluated: its status allows it
    assert updated["version"] > source["version"]
    assert ok(tenant.client.get("/v1/enrollments"))["totalItems"] == before
    # Submitted: the fields change, the status does not (a person decides from here).
    ok(act(tenant, source["id"], "submit"))
    again = ok(
        create(
            tenant,
            iid,
            {"identificationType": "enrollmentId", "enrollmentId": source["id"], "tags": ["x"]},
        ),
        200,
    )
    assert (again["status"], again["tags"]) == ("submitted", ["x"])


def test_enrollment_id_in_another_instance_leaves_status_metadata_behind(
    tenant: Tenant,
) -> None:
    first, second = tenant.instance(), tenant.instance()
    source = tenant.enroll(first["id"], metadata={"year": 2025})
    ok(act(tenant, source["id"], "submit"))
    ok(act(tenant, source["id"], "approve"))
    ok(act(tenant, source["id"], "unenroll", "Moved away"))
    assert get(tenant, source["id"])["metadata"] == {"year": 2025, "exitReason": "Moved away"}
    copy = ok(
        create(
            tenant,
            second["id"],
            {"identificationType": "enrollmentId", "enrollmentId": source["id"]},
        ),
        201,
    )
    assert copy["id"] != source["id"] and copy["enrollmentId"] == source["id"]
    assert copy["metadata"] == {"year": 2025}
    assert copy["customerId"] == source["customerId"]


# --- 27. the eligibility preview takes the create body --------------------------------------------


def test_preview_takes_exactly_the_create_body(tenant: Tenant) -> None:
    instance = tenant.instance()
    url = f"/v1/programInstances/{instance['id']}/eligibility/preview"
    body = person(address={"state": "NJ"})
    preview = ok(tenant.client.post(url, json=body))
    assert preview["status"] == "eligible"
    assert preview["context"]["identificationType"] == "customerInfo"
    assert ok(tenant.client.get("/v1/customers"))["totalItems"] == 0  # nothing saved
    created = ok(create(tenant, instance["id"], body), 201)
    assert created["eligibility"]["checks"] == preview["checks"]
    # By enrollmentId: the person the create would copy, with what is sent on top.
    moved = ok(
        tenant.client.post(
            url,
            json={
                "identificationType": "enrollmentId",
                "enrollmentId": created["id"],
                "address": {"state": "CA"},
            },
        )
    )
    assert (moved["status"], moved["reason"]) == ("ineligible", "Outside service area")
    assert moved["context"]["email"] == created["email"]
    # By customerId: the customer's details.
    by_customer = ok(
        tenant.client.post(
            url, json={"identificationType": "customerId", "customerId": created["customerId"]}
        )
    )
    assert by_customer["context"]["email"] == created["email"]
    # The create's own rules about the identification fields.
    problem(
        tenant.client.post(url, json={"identificationType": "customerInfo"}),
        422,
        "validation_error",
    )
    assert ok(tenant.client.get("/v1/enrollments"))["totalItems"] == 1


# --- 21. manual screening -----------------------------------------------------------------------


def history_of(tenant: Tenant, enrollment_id: str) -> list[tuple[Any, ...]]:
    rows = ok(tenant.client.get(f"/v1/enrollments/{enrollment_id}/history"))["data"]
    return [(h["fromStatus"], h["toStatus"], h["action"], h["reason"], h["actor"]) for h in rows]


def decide(tenant: Tenant, enrollment_id: str, status: str, reason: str, client: Any = None) -> Any:
    return (client or tenant.client).post(
        f"/v1/enrollments/{enrollment_id}/decide", json={"status": status, "reason": reason}
    )


def test_manual_screening_keeps_candidates_with_advice_until_a_person_decides(
    tenant: Tenant,
) -> None:
    instance = tenant.instance()
    assert instance["screening"] == "automatic"
    manual = tenant.instance(screening="manual")
    assert manual["screening"] == "manual"
    e = ok(create(tenant, manual["id"], person(address={"state": "CA"})), 201)
    assert e["status"] == "candidate"
    # The rules' checks, kept as advice for the person who decides.
    assert [c["status"] for c in e["eligibility"]["checks"]] == ["passed", "failed", "passed"]
    assert e["eligibilityReason"] == "Outside service area"
    # Re-evaluation refreshes the advice; only a person moves it.
    assert ok(act(tenant, e["id"], "reevaluate"))["status"] == "candidate"
    writer = tenant.key_with("enrollments:write", "enrollments:read")
    with tenant.server.client(writer) as w:
        problem(decide(tenant, e["id"], "eligible", "By phone", w), 403, "insufficient_scope")
    body = problem(act(tenant, e["id"], "submit"), 409, "invalid_transition")
    assert "decide" in body["allowedActions"]
    problem(
        tenant.client.post(f"/v1/enrollments/{e['id']}/decide", json={"status": "eligible"}),
        422,
        "validation_error",
    )
    problem(decide(tenant, e["id"], "submitted", "x"), 422, "validation_error")
    decided = ok(decide(tenant, e["id"], "eligible", "Address verified by phone"))
    assert (decided["status"], decided["eligibilityReason"]) == (
        "eligible",
        "Address verified by phone",
    )
    keys = ok(tenant.client.get("/v1/apiKeys"))["data"]
    me = next(f"api_key:{k['id']}" for k in keys if k["name"] != "scoped")
    assert history_of(tenant, e["id"])[-1] == (
        "candidate",
        "eligible",
        "decide",
        "Address verified by phone",
        me,
    )
    ok(act(tenant, e["id"], "submit"))
    # Under automatic screening a person may override the rules, both ways.
    auto = ok(create(tenant, instance["id"], person(address={"state": "CA"})), 201)
    assert auto["status"] == "ineligible"
    over = ok(decide(tenant, auto["id"], "eligible", "Exception granted"))
    assert over["status"] == "eligible"
    problem(decide(tenant, auto["id"], "eligible", "Again"), 409, "invalid_transition")
    back = ok(decide(tenant, auto["id"], "ineligible", "Exception withdrawn"))
    assert back["status"] == "ineligible"
    assert [h[2] for h in history_of(tenant, auto["id"])] == [
        "create",
        "evaluate",
        "decide",
        "decide",
    ]
    feed = [
        ev for ev in events(tenant, limit=500)["data"] if ev["data"]["object"]["id"] == auto["id"]
    ]
    assert [ev["type"] for ev in feed][-3:] == [
        "enrollment.status_changed",
        "enrollment.ineligible",
        "enrollment.updated",
    ]
    # A bulk re-evaluation under manual screening moves no one either.
    other = ok(create(tenant, manual["id"], person()), 201)
    assert report(tenant, manual["id"], force=True)["moves"] == []
    assert get(tenant, other["id"])["status"] == "candidate"

"""Enrollment transitions and their history over real HTTP, auto review included."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.support.enrollments import (
    ELIGIBLE_REASON_TESLA,
    act,
    create,
    fields_of,
    get,
    history,
    main_actor,
    moves,
    ok,
    person,
    problem,
    state,
    today,
)
from tests.support.graphql import data, gql
from tests.support.server import Tenant

# --- 6. transitions and history -------------------------------------------------------------------


def test_happy_path_with_history(tenant: Tenant) -> None:
    actor = main_actor(tenant)
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person()), 201)
    assert e["status"] == "eligible"
    s = ok(act(tenant, e["id"], "submit", "Customer signed"))
    assert s["status"] == s["eligibilityStatus"] == s["eligibility"]["status"] == "submitted"
    assert s["enrollmentStartDate"] is None
    assert s["eligibilityReason"] == ELIGIBLE_REASON_TESLA
    a = ok(act(tenant, e["id"], "approve"))
    assert a["status"] == "approved"
    start = datetime.fromisoformat(a["enrollmentStartDate"].replace("Z", "+00:00"))
    assert abs(start - today()) < timedelta(minutes=5)
    u = ok(act(tenant, e["id"], "unenroll", "Moved out of state"))
    assert u["status"] == "unenrolled"
    assert u["metadata"] == u["meta"] == {"exitReason": "Moved out of state"}
    assert u["eligibilityReason"] == "Moved out of state"
    assert u["enrollmentStartDate"] == a["enrollmentStartDate"]
    assert get(tenant, e["id"]) == u
    assert moves(tenant, e["id"]) == [
        (None, "candidate", "create", None, actor),
        ("candidate", "eligible", "evaluate", ELIGIBLE_REASON_TESLA, actor),
        ("eligible", "submitted", "submit", "Customer signed", actor),
        ("submitted", "approved", "approve", None, actor),
        ("approved", "unenrolled", "unenroll", "Moved out of state", actor),
    ]
    rows = history(tenant, e["id"])
    assert set(rows[0]) == {"id", "fromStatus", "toStatus", "action", "reason", "actor", "at"}
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)


def test_reason_required_for_reject_and_unenroll(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person()), 201)
    ok(act(tenant, e["id"], "submit"))
    before = state(tenant)
    problem(tenant.client.post(f"/v1/enrollments/{e['id']}/reject"), 422, "validation_error")
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        refused = problem(
            tenant.client.post(f"/v1/enrollments/{e['id']}/reject", json=body),
            422,
            "validation_error",
        )
        assert fields_of(refused) == ["reason"]
    problem(
        tenant.client.post(f"/v1/enrollments/{e['id']}/reject", json={"reason": "x", "extra": 1}),
        422,
        "validation_error",
    )
    assert state(tenant) == before
    r = ok(act(tenant, e["id"], "reject", "Failed verification"))
    assert r["status"] == "rejected"
    assert r["eligibilityReason"] == "Failed verification"
    assert r["enrollmentStartDate"] is None

    other = ok(create(tenant, instance["id"], person()), 201)
    ok(act(tenant, other["id"], "submit"))
    ok(act(tenant, other["id"], "approve"))
    before = state(tenant)
    problem(tenant.client.post(f"/v1/enrollments/{other['id']}/unenroll"), 422, "validation_error")
    problem(
        tenant.client.post(f"/v1/enrollments/{other['id']}/unenroll", json={}),
        422,
        "validation_error",
    )
    assert state(tenant) == before


@pytest.mark.parametrize(
    ("path", "action", "current", "allowed"),
    [
        ([], "approve", "eligible", ["submit", "cancel", "reevaluate", "decide"]),
        ([], "reject", "eligible", ["submit", "cancel", "reevaluate", "decide"]),
        ([], "unenroll", "eligible", ["submit", "cancel", "reevaluate", "decide"]),
        (["submit"], "submit", "submitted", ["approve", "reject", "cancel", "markUnprocessable"]),
        (
            ["submit"],
            "reevaluate",
            "submitted",
            ["approve", "reject", "cancel", "markUnprocessable"],
        ),
        (["submit"], "unenroll", "submitted", ["approve", "reject", "cancel", "markUnprocessable"]),
        (["submit", "approve"], "cancel", "approved", ["unenroll"]),
        (["submit", "approve"], "approve", "approved", ["unenroll"]),
        (["submit", "approve"], "reevaluate", "approved", ["unenroll"]),
        (["submit", "reject"], "approve", "rejected", ["reevaluate"]),
        (["submit", "reject"], "cancel", "rejected", ["reevaluate"]),
        (["submit", "approve", "unenroll"], "approve", "unenrolled", []),
        (["submit", "approve", "unenroll"], "reevaluate", "unenrolled", []),
        (["cancel"], "submit", "cancelled", []),
        (["cancel"], "reevaluate", "cancelled", []),
    ],
)
def test_invalid_transitions_are_409(
    tenant: Tenant, path: list[str], action: str, current: str, allowed: list[str]
) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person()), 201)
    for step in path:
        ok(act(tenant, e["id"], step, "because" if step in ("reject", "unenroll") else None))
    before = state(tenant)
    reason = "because" if action in ("reject", "unenroll") else None
    refused = problem(act(tenant, e["id"], action, reason), 409, "invalid_transition")
    assert refused["currentStatus"] == current
    assert refused["allowedActions"] == allowed
    assert refused["detail"] == f"Cannot {action} an enrollment that is {current}."
    assert state(tenant) == before


def test_ineligible_cannot_be_submitted(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person(address={"state": "CA"})), 201)
    before = state(tenant)
    for action in ("submit", "approve", "cancel"):
        refused = problem(act(tenant, e["id"], action), 409, "invalid_transition")
        assert refused["currentStatus"] == "ineligible"
        assert refused["allowedActions"] == ["reevaluate", "decide"]
    assert state(tenant) == before


def test_cancel_from_eligible_and_submitted(tenant: Tenant) -> None:
    actor = main_actor(tenant)
    instance = tenant.instance()
    a = ok(create(tenant, instance["id"], person()), 201)
    c = ok(act(tenant, a["id"], "cancel", "Changed my mind"))
    assert c["status"] == "cancelled"
    assert c["eligibilityReason"] == "Changed my mind"
    b = ok(create(tenant, instance["id"], person()), 201)
    ok(act(tenant, b["id"], "submit"))
    c = ok(act(tenant, b["id"], "cancel"))
    assert c["status"] == "cancelled"
    assert c["eligibilityReason"] == ELIGIBLE_REASON_TESLA
    assert moves(tenant, b["id"])[-2:] == [
        ("eligible", "submitted", "submit", None, actor),
        ("submitted", "cancelled", "cancel", None, actor),
    ]
    assert moves(tenant, a["id"])[-1] == (
        "eligible",
        "cancelled",
        "cancel",
        "Changed my mind",
        actor,
    )


def test_reevaluate_after_address_change(tenant: Tenant) -> None:
    actor = main_actor(tenant)
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person(address={"state": "CA"})), 201)
    assert e["status"] == "ineligible"
    patched = ok(
        tenant.client.patch(
            f"/v1/enrollments/{e['id']}", json={"address": {"state": "NY", "city": "Albany"}}
        )
    )
    assert patched["status"] == "ineligible"  # a change alone does not re-evaluate
    assert patched["address"] == {"state": "NY", "city": "Albany"}
    r = ok(act(tenant, e["id"], "reevaluate"))
    assert r["status"] == "eligible"
    assert r["eligibilityReason"] == ELIGIBLE_REASON_TESLA
    assert [c["status"] for c in r["eligibility"]["checks"]] == ["passed"] * 3
    # Re-evaluating without a change of outcome records no move.
    assert ok(act(tenant, e["id"], "reevaluate"))["status"] == "eligible"
    assert moves(tenant, e["id"]) == [
        (None, "candidate", "create", None, actor),
        ("candidate", "ineligible", "evaluate", "Outside service area", actor),
        ("ineligible", "eligible", "reevaluate", ELIGIBLE_REASON_TESLA, actor),
    ]
    ok(act(tenant, e["id"], "submit"))
    ok(act(tenant, e["id"], "reject", "Failed verification"))
    # Rejected reopens only under new criteria (the seed: terminal unless criteria change).
    problem(act(tenant, e["id"], "reevaluate"), 409, "criteria_unchanged")
    ok(
        tenant.client.patch(
            f"/v1/programInstances/{instance['id']}",
            json={"eligibilityCriteria": [{"id": "any", "reason": "Any", "rule": True}]},
        )
    )
    r = ok(act(tenant, e["id"], "reevaluate"))
    assert r["status"] == "eligible"
    assert moves(tenant, e["id"])[-1] == (
        "rejected",
        "eligible",
        "reevaluate",
        f"{ELIGIBLE_REASON_TESLA}; any",
        actor,
    )


def test_reevaluate_sees_paused_instance(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person()), 201)
    ok(tenant.client.patch(f"/v1/programInstances/{instance['id']}", json={"status": "paused"}))
    r = ok(act(tenant, e["id"], "reevaluate"))
    assert r["status"] == "ineligible"
    assert r["eligibilityReason"] == "The program instance is paused, not active."
    assert r["eligibility"]["checks"][0]["status"] == "failed"


def test_submit_refused_while_instance_paused(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person()), 201)
    ok(tenant.client.patch(f"/v1/programInstances/{instance['id']}", json={"status": "paused"}))
    before = state(tenant)
    problem(act(tenant, e["id"], "submit"), 409, "instance_not_accepting")
    assert state(tenant) == before


def test_review_scope_needed_to_approve_or_reject(tenant: Tenant) -> None:
    instance = tenant.instance()
    writer_key = tenant.key_with("enrollments:read", "enrollments:write")
    with tenant.server.client(writer_key) as writer:
        e = ok(
            writer.post(f"/v1/programInstances/{instance['id']}/enrollments", json=person()), 201
        )
        s = ok(act(tenant, e["id"], "submit", client=writer))
        assert s["status"] == "submitted"
        before = state(tenant)
        body = problem(act(tenant, e["id"], "approve", client=writer), 403, "insufficient_scope")
        assert "enrollments:review" in body["detail"]
        problem(act(tenant, e["id"], "reject", "no", client=writer), 403, "insufficient_scope")
        assert state(tenant) == before
        ok(act(tenant, e["id"], "cancel", client=writer))
    reader_key = tenant.key_with("enrollments:read")
    with tenant.server.client(reader_key) as reader:
        before = state(tenant)
        problem(
            reader.post(f"/v1/programInstances/{instance['id']}/enrollments", json=person()),
            403,
            "insufficient_scope",
        )
        problem(act(tenant, e["id"], "reevaluate", client=reader), 403, "insufficient_scope")
        problem(
            reader.patch(f"/v1/enrollments/{e['id']}", json={"tags": ["x"]}),
            403,
            "insufficient_scope",
        )
        problem(reader.delete(f"/v1/enrollments/{e['id']}"), 403, "insufficient_scope")
        assert ok(reader.get(f"/v1/enrollments/{e['id']}"))["status"] == "cancelled"
        assert state(tenant) == before


def test_transitions_on_unknown_or_foreign_enrollment_are_404(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person()), 201)
    before = state(tenant)
    for action in ("submit", "cancel", "reevaluate", "approve"):
        problem(act(other_tenant, e["id"], action), 404, "not_found")
        problem(act(tenant, "c" + "4" * 24, action), 404, "not_found")
    problem(act(other_tenant, e["id"], "reject", "x"), 404, "not_found")
    assert state(tenant) == before


# --- 7. auto review -------------------------------------------------------------------------------


def test_auto_review_approves_after_submit(tenant: Tenant) -> None:
    actor = main_actor(tenant)
    instance = tenant.instance(reviewMode="auto")
    e = ok(create(tenant, instance["id"], person()), 201)
    assert e["status"] == "eligible"  # auto review starts at submit, not at create
    assert ok(act(tenant, e["id"], "submit"))["status"] == "submitted"
    tenant.server.drain()  # the auto review is a job
    final = get(tenant, e["id"])
    assert final["status"] == "approved"
    assert final["enrollmentStartDate"] is not None
    assert moves(tenant, e["id"])[-2:] == [
        ("eligible", "submitted", "submit", None, actor),
        (
            "submitted",
            "approved",
            "approve",
            "Approved automatically (reviewMode auto).",
            "system:auto-review",
        ),
    ]


def test_manual_review_does_not_approve(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person()), 201)
    ok(act(tenant, e["id"], "submit"))
    tenant.server.drain()  # nothing the worker does approves it
    assert get(tenant, e["id"])["status"] == "submitted"


def test_a_reviewer_marks_a_submission_unprocessable(tenant: Tenant) -> None:
    """Seed 004: what was submitted cannot be processed. Not the applicant's cancelled nor a
    rejected (did not qualify): a status of its own, terminal, reason required, a review."""
    actor = main_actor(tenant)
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person()), 201)
    problem(
        act(tenant, e["id"], "markUnprocessable", "Unreadable tax return"),
        409,
        "invalid_transition",
    )
    ok(act(tenant, e["id"], "submit"))
    before = state(tenant)
    refused = problem(
        tenant.client.post(f"/v1/enrollments/{e['id']}/markUnprocessable", json={}),
        422,
        "validation_error",
    )
    assert fields_of(refused) == ["reason"]
    writer_key = tenant.key_with("enrollments:read", "enrollments:write")
    with tenant.server.client(writer_key) as writer:
        problem(
            act(tenant, e["id"], "markUnprocessable", "no", client=writer),
            403,
            "insufficient_scope",
        )
    assert state(tenant) == before
    u = ok(act(tenant, e["id"], "markUnprocessable", "Unreadable tax return"))
    assert u["status"] == "unprocessable"
    assert u["eligibilityReason"] == "Unreadable tax return"
    assert moves(tenant, e["id"])[-1] == (
        "submitted",
        "unprocessable",
        "markUnprocessable",
        "Unreadable tax return",
        actor,
    )
    for action in ("reevaluate", "cancel", "approve", "submit"):
        body = problem(act(tenant, e["id"], action, "x"), 409, "invalid_transition")
        assert body["currentStatus"] == "unprocessable" and body["allowedActions"] == []
    (event,) = [
        ev
        for ev in tenant.events(type="enrollment.unprocessable")
        if ev["data"]["object"]["id"] == e["id"]
    ]
    assert event["data"]["reason"] == "Unreadable tax return"
    # The customer may apply again: an unprocessable application holds nothing open.
    again = ok(create(tenant, instance["id"], person(email=e["email"])), 201)
    assert again["id"] != e["id"]


def test_graphql_marks_a_submission_unprocessable(tenant: Tenant) -> None:
    e = ok(create(tenant, tenant.instance()["id"], person()), 201)
    ok(act(tenant, e["id"], "submit"))
    mutation = """mutation($id: ID!, $reason: String!) {
      markEnrollmentUnprocessable(id: $id, reason: $reason) { status eligibilityReason } }"""
    done = data(gql(tenant.client, mutation, id=e["id"], reason="Documents unreadable"))
    assert done["markEnrollmentUnprocessable"] == {
        "status": "unprocessable",
        "eligibilityReason": "Documents unreadable",
    }

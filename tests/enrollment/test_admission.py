"""Who may enroll, over real HTTP: eligibility, instances that do not accept, the
one-open-enrollment rule.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.enrollments import (
    act,
    all_enrollments,
    create,
    get,
    ok,
    person,
    problem,
    state,
    today,
)
from tests.support.server import Tenant

# --- 3. eligibility -------------------------------------------------------------------------------


def _checks(e: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(c["id"], c["status"], c["reason"]) for c in e["eligibility"]["checks"]]


def test_outside_service_area_is_ineligible(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person(address={"state": "CA"})), 201)
    assert e["status"] == e["eligibilityStatus"] == e["eligibility"]["status"] == "ineligible"
    assert e["eligibilityReason"] == e["eligibility"]["reason"] == "Outside service area"
    assert _checks(e) == [
        ("instance-accepting", "passed", "Program accepting enrollments"),
        ("service-area", "failed", "Outside service area"),
        ("equipment", "passed", "Has supported equipment"),
    ]
    no_address = person()
    del no_address["address"]
    e = ok(create(tenant, instance["id"], no_address), 201)
    assert (e["status"], e["eligibilityReason"]) == ("ineligible", "Outside service area")


def test_incompatible_equipment_is_ineligible(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(
        create(tenant, instance["id"], person(manufacturerSlugs=["lg"], address={"state": "nj"})),
        201,
    )
    assert e["status"] == "ineligible"
    assert e["eligibilityReason"] == "Incompatible equipment"
    assert _checks(e) == [
        ("instance-accepting", "passed", "Program accepting enrollments"),
        ("service-area", "passed", "In service territory"),
        ("equipment", "failed", "Incompatible equipment"),
    ]
    assert [c["description"] for c in e["eligibility"]["checks"]] == [
        "Program instance accepting enrollments",
        "Address within the program's service area",
        "Owns equipment from a supported manufacturer",
    ]
    # Both failing: the first failure gives the reason.
    e = ok(
        create(tenant, instance["id"], person(manufacturerSlugs=[], address={"state": "CA"})), 201
    )
    assert e["eligibilityReason"] == "Outside service area"
    assert [c[1] for c in _checks(e)] == ["passed", "failed", "failed"]


def test_program_without_criteria_is_eligible_anywhere(tenant: Tenant) -> None:
    instance = tenant.instance("anywhere-program")
    e = ok(
        create(tenant, instance["id"], person(address={"state": "CA"}, manufacturerSlugs=["lg"])),
        201,
    )
    assert e["status"] == "eligible"
    assert e["eligibilityReason"] == "Program accepting enrollments"
    assert _checks(e) == [("instance-accepting", "passed", "Program accepting enrollments")]
    assert e["eligibility"]["evaluatedAt"].endswith("Z")


# --- 4. instances that do not accept --------------------------------------------------------------


def _assert_refused(tenant: Tenant, instance_id: str, detail: str) -> None:
    before = state(tenant)
    body = problem(create(tenant, instance_id, person()), 409, "instance_not_accepting")
    assert body["detail"] == detail
    assert state(tenant) == before
    listed = ok(tenant.client.get(f"/v1/programInstances/{instance_id}/enrollments"))
    assert listed["totalItems"] == len(
        [e for e in before["enrollments"] if e["programInstanceId"] == instance_id]
    )


def test_draft_instance_refuses(tenant: Tenant) -> None:
    instance = tenant.instance(status="draft")
    _assert_refused(tenant, instance["id"], "The program instance is draft, not active.")
    assert state(tenant)["enrollments"] == []


def test_paused_and_closed_instances_refuse(tenant: Tenant) -> None:
    instance = tenant.instance()
    ok(tenant.client.patch(f"/v1/programInstances/{instance['id']}", json={"status": "paused"}))
    _assert_refused(tenant, instance["id"], "The program instance is paused, not active.")
    ok(tenant.client.patch(f"/v1/programInstances/{instance['id']}", json={"status": "active"}))
    ok(create(tenant, instance["id"], person()), 201)
    ok(tenant.client.patch(f"/v1/programInstances/{instance['id']}", json={"status": "closed"}))
    _assert_refused(tenant, instance["id"], "The program instance is closed, not active.")


def test_period_is_start_inclusive_end_exclusive_utc(tenant: Tenant) -> None:
    d = today().date()
    tomorrow, yesterday = d + timedelta(days=1), d - timedelta(days=1)
    future = tenant.instance(startDate=tomorrow.isoformat())
    _assert_refused(tenant, future["id"], f"The program instance opens on {tomorrow.isoformat()}.")
    ended = tenant.instance(startDate="2020-01-01", endDate=d.isoformat())
    _assert_refused(tenant, ended["id"], f"The program instance closed on {d.isoformat()}.")
    past = tenant.instance(endDate=yesterday.isoformat())
    _assert_refused(tenant, past["id"], f"The program instance closed on {yesterday.isoformat()}.")
    assert state(tenant)["enrollments"] == []
    open_now = tenant.instance(startDate=d.isoformat(), endDate=tomorrow.isoformat())
    ok(create(tenant, open_now["id"], person()), 201)


def test_capacity_reached_refuses_new_enrollments(tenant: Tenant) -> None:
    instance = tenant.instance(capacity=1)
    first = ok(create(tenant, instance["id"], person()), 201)
    second = ok(create(tenant, instance["id"], person()), 201)
    ok(act(tenant, first["id"], "submit"))
    ok(act(tenant, second["id"], "submit"))
    assert ok(act(tenant, first["id"], "approve"))["status"] == "approved"
    _assert_refused(
        tenant, instance["id"], "The program instance is at capacity (1 approved enrollments)."
    )
    # Approving one more would exceed the capacity too; the application stays submitted.
    before = state(tenant)
    problem(act(tenant, second["id"], "approve"), 409, "instance_not_accepting")
    assert state(tenant) == before
    assert get(tenant, second["id"])["status"] == "submitted"


# --- 5. one open enrollment per customer per instance ---------------------------------------------


def test_second_open_enrollment_is_refused_until_cancelled(tenant: Tenant) -> None:
    instance = tenant.instance()
    body = person()
    first = ok(create(tenant, instance["id"], body), 201)
    before = state(tenant)
    refused = problem(
        create(tenant, instance["id"], body | {"email": body["email"].upper()}),
        409,
        "enrollment_exists",
    )
    assert refused["enrollmentId"] == first["id"]
    assert state(tenant) == before
    assert ok(act(tenant, first["id"], "cancel"))["status"] == "cancelled"
    again = ok(create(tenant, instance["id"], body), 201)
    assert again["customerId"] == first["customerId"]
    assert again["id"] != first["id"]
    ids = {e["id"]: e["status"] for e in all_enrollments(tenant)}
    assert ids == {first["id"]: "cancelled", again["id"]: "eligible"}


def test_ineligible_enrollment_still_holds_the_instance(tenant: Tenant) -> None:
    instance = tenant.instance()
    body = person(address={"state": "CA"})
    first = ok(create(tenant, instance["id"], body), 201)
    assert first["status"] == "ineligible"
    before = state(tenant)
    problem(
        create(tenant, instance["id"], body | {"address": {"state": "NY"}}),
        409,
        "enrollment_exists",
    )
    assert state(tenant) == before


def test_rejected_and_unenrolled_free_the_instance(tenant: Tenant) -> None:
    instance = tenant.instance()
    body = person()
    first = ok(create(tenant, instance["id"], body), 201)
    ok(act(tenant, first["id"], "submit"))
    ok(act(tenant, first["id"], "reject", "Failed verification"))
    second = ok(create(tenant, instance["id"], body), 201)
    ok(act(tenant, second["id"], "submit"))
    ok(act(tenant, second["id"], "approve"))
    ok(act(tenant, second["id"], "unenroll", "Moved away"))
    third = ok(create(tenant, instance["id"], body), 201)
    assert len({first["customerId"], second["customerId"], third["customerId"]}) == 1
    # Re-evaluating the rejected one would give the customer two open enrollments.
    before = state(tenant)
    refused = problem(act(tenant, first["id"], "reevaluate"), 409, "enrollment_exists")
    assert refused["enrollmentId"] == third["id"]
    assert state(tenant) == before

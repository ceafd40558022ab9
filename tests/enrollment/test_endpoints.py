"""The enrollment REST API over real HTTP: create (four identification types), eligibility,
instances that do not accept, the one-open-enrollment rule, transitions and their history,
auto review, listing and pagination, read/update/delete, the event feed and bad input.

Every refused request is followed by a check that nothing changed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.support.server import Tenant

PROBLEM = "application/problem+json"
NY_ADDRESS = {"streetOne": "1 Broadway", "city": "New York", "state": "NY", "postalCode": "10004"}
ELIGIBLE_REASON_TESLA = (
    "Program accepting enrollments; In service territory; Has supported equipment"
)
ENROLLMENT_KEYS = {
    "id",
    "identificationType",
    "programInstanceId",
    "leadId",
    "customerId",
    "enrollmentId",
    "firstName",
    "lastName",
    "email",
    "phone",
    "address",
    "manufacturerSlugs",
    "metadata",
    "meta",
    "serialNumber",
    "referenceId",
    "referenceDescription",
    "tags",
    "enrollmentStartDate",
    "status",
    "eligibilityStatus",
    "eligibilityReason",
    "eligibility",
    "needsReview",
    "needsReviewReason",
    "version",
    "createdAt",
    "updatedAt",
}
PAGE_KEYS = {"data", "page", "perPage", "totalItems", "totalPages", "nextCursor"}


# --- helpers --------------------------------------------------------------------------------------


def uniq() -> str:
    return uuid.uuid4().hex[:10]


def person(**fields: Any) -> dict[str, Any]:
    """A customerInfo body for a new person in NY with tesla equipment."""
    n = uniq()
    return {
        "identificationType": "customerInfo",
        "firstName": "Pat",
        "lastName": f"Doe{n}",
        "email": f"pat.{n}@example.com",
        "address": {"state": "NY"},
        "manufacturerSlugs": ["tesla"],
    } | fields


def create(tenant: Tenant, instance_id: str, body: Any) -> httpx.Response:
    return tenant.client.post(f"/v1/programInstances/{instance_id}/enrollments", json=body)


def act(
    tenant: Tenant,
    enrollment_id: str,
    action: str,
    reason: str | None = None,
    client: httpx.Client | None = None,
) -> httpx.Response:
    json = {"reason": reason} if reason is not None else None
    return (client or tenant.client).post(f"/v1/enrollments/{enrollment_id}/{action}", json=json)


def ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return dict(r.json())


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = dict(r.json())
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:enroll:problem:{code}"
    return body


def fields_of(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body["errors"]]


def get(tenant: Tenant, enrollment_id: str) -> dict[str, Any]:
    return ok(tenant.client.get(f"/v1/enrollments/{enrollment_id}"))


def history(tenant: Tenant, enrollment_id: str) -> list[dict[str, Any]]:
    return list(ok(tenant.client.get(f"/v1/enrollments/{enrollment_id}/history"))["data"])


def moves(tenant: Tenant, enrollment_id: str) -> list[tuple[Any, ...]]:
    return [
        (h["fromStatus"], h["toStatus"], h["action"], h["reason"], h["actor"])
        for h in history(tenant, enrollment_id)
    ]


def all_enrollments(tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    page = ok(tenant.client.get("/v1/enrollments", params={"perPage": 100} | params))
    assert page["nextCursor"] is None
    return list(page["data"])


def state(tenant: Tenant) -> dict[str, Any]:
    """Everything a refused enrollment request could have changed."""
    enrollments = all_enrollments(tenant)
    return {
        "enrollments": enrollments,
        "history": {e["id"]: history(tenant, e["id"]) for e in enrollments},
        "customers": ok(tenant.client.get("/v1/customers", params={"perPage": 100}))["data"],
        "leads": ok(tenant.client.get("/v1/leads", params={"perPage": 100}))["data"],
    }


def main_actor(tenant: Tenant) -> str:
    keys = ok(tenant.client.get("/v1/apiKeys"))["data"]
    assert len(keys) == 1
    return f"api_key:{keys[0]['id']}"


def events(tenant: Tenant, **params: Any) -> dict[str, Any]:
    tenant.server.database.settle()
    return ok(tenant.client.get("/v1/events", params=params))


def wait_for(probe: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """Poll ``probe`` until ``done`` holds (the PostgreSQL feed shows only settled transactions)."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = probe()
    return value


def wait_events(tenant: Tenant, count: int, **params: Any) -> list[dict[str, Any]]:
    feed = wait_for(lambda: events(tenant, **params), lambda f: len(f["data"]) >= count, 30.0)
    assert len(feed["data"]) == count, [e["type"] for e in feed["data"]]
    return list(feed["data"])


def today() -> datetime:
    return datetime.now(UTC)


# --- 1. create with every identificationType ------------------------------------------------------


def test_customer_info_requires_names_and_email(tenant: Tenant) -> None:
    instance = tenant.instance()
    before = state(tenant)
    body = problem(
        create(tenant, instance["id"], {"identificationType": "customerInfo"}),
        422,
        "validation_error",
    )
    assert fields_of(body) == ["firstName", "lastName", "email"]
    assert all(
        e["message"] == "Required with identificationType customerInfo." for e in body["errors"]
    )
    body = problem(
        create(tenant, instance["id"], person(lastName=None) | {"email": None}),
        422,
        "validation_error",
    )
    assert fields_of(body) == ["lastName", "email"]
    partial = person()
    del partial["firstName"]
    assert fields_of(problem(create(tenant, instance["id"], partial), 422, "validation_error")) == [
        "firstName"
    ]
    assert (
        state(tenant) == before == {"enrollments": [], "history": {}, "customers": [], "leads": []}
    )


def test_customer_info_creates_customer_reused_across_instances(tenant: Tenant) -> None:
    first, second = tenant.instance(), tenant.instance()
    body = person(email="Casey.Mixed@Example.COM", phone="+15550001111")
    a = ok(create(tenant, first["id"], body), 201)
    assert a["identificationType"] == "customerInfo"
    assert a["email"] == "casey.mixed@example.com"
    assert a["leadId"] is None and a["enrollmentId"] is None
    customers = ok(tenant.client.get("/v1/customers"))["data"]
    assert len(customers) == 1
    customer = customers[0]
    assert customer["id"] == a["customerId"]
    assert (customer["firstName"], customer["lastName"], customer["email"], customer["phone"]) == (
        "Pat",
        body["lastName"],
        "casey.mixed@example.com",
        "+15550001111",
    )
    assert customer["address"] == {"state": "NY"}

    b = ok(create(tenant, second["id"], body | {"email": "casey.mixed@example.com"}), 201)
    assert b["customerId"] == a["customerId"]
    assert b["id"] != a["id"]
    assert b["programInstanceId"] == second["id"]
    assert len(ok(tenant.client.get("/v1/customers"))["data"]) == 1


def test_customer_id_takes_person_from_customer(tenant: Tenant) -> None:
    instance = tenant.instance()
    address = {
        "streetOne": "5 Elm St",
        "streetTwo": None,
        "city": "Newark",
        "state": "NJ",
        "postalCode": "07102",
        "country": "USA",
    }
    customer = ok(
        tenant.client.post(
            "/v1/customers",
            json={
                "firstName": "Robin",
                "lastName": "Banks",
                "email": "robin@example.com",
                "phone": "+15551234567",
                "address": address,
            },
        ),
        201,
    )
    e = ok(
        create(
            tenant,
            instance["id"],
            {
                "identificationType": "customerId",
                "customerId": customer["id"],
                "manufacturerSlugs": ["enphase"],
            },
        ),
        201,
    )
    assert e["identificationType"] == "customerId"
    assert e["customerId"] == customer["id"]
    assert (e["firstName"], e["lastName"], e["email"], e["phone"]) == (
        "Robin",
        "Banks",
        "robin@example.com",
        "+15551234567",
    )
    assert e["address"] == customer["address"] == address
    assert e["status"] == "eligible"
    assert e["eligibilityReason"] == (
        "Program accepting enrollments; In service territory; Has supported equipment"
    )
    assert len(ok(tenant.client.get("/v1/customers"))["data"]) == 1


def test_customer_id_unknown_or_other_workspace_is_404(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    instance = tenant.instance()
    foreign = ok(
        other_tenant.client.post(
            "/v1/customers", json={"firstName": "A", "lastName": "B", "email": "ab@example.com"}
        ),
        201,
    )
    before = state(tenant)
    for ref in ("c" + "0" * 24, foreign["id"]):
        problem(
            create(tenant, instance["id"], {"identificationType": "customerId", "customerId": ref}),
            404,
            "not_found",
        )
    assert state(tenant) == before


def test_lead_id_needs_names_then_converts(tenant: Tenant) -> None:
    instance = tenant.instance()
    lead = ok(tenant.client.post("/v1/leads", json={"email": "Lee.Lead@example.com"}), 201)
    assert lead["customerId"] is None and lead["convertedAt"] is None
    before = state(tenant)
    refused = problem(
        create(
            tenant,
            instance["id"],
            {
                "identificationType": "leadId",
                "leadId": lead["id"],
                "address": {"state": "NY"},
                "manufacturerSlugs": ["tesla"],
            },
        ),
        409,
        "lead_incomplete",
    )
    assert fields_of(refused) == ["firstName", "lastName"]
    assert state(tenant) == before

    e = ok(
        create(
            tenant,
            instance["id"],
            {
                "identificationType": "leadId",
                "leadId": lead["id"],
                "firstName": "Lee",
                "lastName": "Lead",
                "address": {"state": "NY"},
                "manufacturerSlugs": ["tesla"],
            },
        ),
        201,
    )
    assert e["identificationType"] == "leadId"
    assert e["leadId"] == lead["id"]
    assert (e["firstName"], e["lastName"], e["email"]) == ("Lee", "Lead", "lee.lead@example.com")
    assert e["address"] == {"state": "NY"}
    assert e["status"] == "eligible"
    customers = ok(tenant.client.get("/v1/customers"))["data"]
    assert [c["id"] for c in customers] == [e["customerId"]]
    assert customers[0]["email"] == "lee.lead@example.com"
    leads = ok(tenant.client.get("/v1/leads"))["data"]
    assert len(leads) == 1
    assert leads[0]["customerId"] == e["customerId"]
    assert leads[0]["convertedAt"] is not None


def test_lead_with_details_enrolls_with_lead_data(tenant: Tenant) -> None:
    instance = tenant.instance()
    lead = ok(
        tenant.client.post(
            "/v1/leads",
            json={
                "email": "full@example.com",
                "firstName": "Full",
                "lastName": "Lead",
                "phone": "+15550000000",
                "address": {"state": "NJ"},
            },
        ),
        201,
    )
    e = ok(
        create(
            tenant,
            instance["id"],
            {"identificationType": "leadId", "leadId": lead["id"], "manufacturerSlugs": ["tesla"]},
        ),
        201,
    )
    assert (e["firstName"], e["lastName"], e["email"], e["phone"]) == (
        "Full",
        "Lead",
        "full@example.com",
        "+15550000000",
    )
    assert e["address"]["state"] == "NJ"
    assert e["status"] == "eligible"
    problem(
        create(tenant, instance["id"], {"identificationType": "leadId", "leadId": "c" + "1" * 24}),
        404,
        "not_found",
    )


def test_enrollment_id_re_enrolls_into_another_instance(tenant: Tenant) -> None:
    first, second = tenant.instance(), tenant.instance()
    source = ok(
        create(
            tenant,
            first["id"],
            person(
                phone="+15557654321",
                address=NY_ADDRESS,
                manufacturerSlugs=["tesla", "enphase"],
                metadata={"year": 2025},
                serialNumber="SN-1",
                referenceId="REF-1",
                referenceDescription="Tesla Grid Services id.",
                tags=["t1"],
            ),
        ),
        201,
    )
    copy = ok(
        create(
            tenant,
            second["id"],
            {"identificationType": "enrollmentId", "enrollmentId": source["id"]},
        ),
        201,
    )
    assert copy["id"] != source["id"]
    assert copy["identificationType"] == "enrollmentId"
    assert copy["enrollmentId"] == source["id"]
    assert copy["programInstanceId"] == second["id"]
    for key in (
        "customerId",
        "leadId",
        "firstName",
        "lastName",
        "email",
        "phone",
        "address",
        "manufacturerSlugs",
        "metadata",
        "meta",
        "serialNumber",
        "referenceId",
        "referenceDescription",
        "tags",
    ):
        assert copy[key] == source[key], key
    assert copy["status"] == "eligible"
    assert copy["enrollmentStartDate"] is None
    # Fields sent alongside override the copied ones.
    third = tenant.instance()
    override = ok(
        create(
            tenant,
            third["id"],
            {"identificationType": "enrollmentId", "enrollmentId": source["id"], "tags": ["2026"]},
        ),
        201,
    )
    assert override["tags"] == ["2026"]
    assert override["serialNumber"] == "SN-1"
    # The source's own instance: that enrollment itself (re-evaluated), no copy.
    before = state(tenant)
    same = ok(
        create(
            tenant,
            first["id"],
            {"identificationType": "enrollmentId", "enrollmentId": source["id"]},
        ),
        200,
    )
    assert (same["id"], same["status"]) == (source["id"], source["status"])
    before = state(tenant)
    problem(
        create(
            tenant,
            third["id"],
            {"identificationType": "enrollmentId", "enrollmentId": "c" + "2" * 24},
        ),
        404,
        "not_found",
    )
    assert state(tenant) == before


def test_mismatched_identification_fields_are_422(tenant: Tenant) -> None:
    instance = tenant.instance()
    before = state(tenant)
    cid = "c" + "3" * 24
    cases = [
        (person(customerId=cid), ["customerId"]),
        (person(leadId=cid, enrollmentId=cid), ["leadId", "enrollmentId"]),
        ({"identificationType": "customerId"}, ["customerId"]),
        ({"identificationType": "customerId", "leadId": cid}, ["leadId", "customerId"]),
        ({"identificationType": "leadId", "customerId": cid}, ["customerId", "leadId"]),
        ({"identificationType": "enrollmentId"}, ["enrollmentId"]),
    ]
    for body, expected in cases:
        refused = problem(create(tenant, instance["id"], body), 422, "validation_error")
        assert fields_of(refused) == expected, body
    refused = problem(
        create(tenant, instance["id"], person(customerId=cid)), 422, "validation_error"
    )
    assert refused["errors"] == [
        {"field": "customerId", "message": "Only allowed with identificationType customerId."}
    ]
    assert state(tenant) == before


# --- 2. the seed's example ------------------------------------------------------------------------


def test_seed_example_matches_sample_response_shape(tenant: Tenant) -> None:
    instance = tenant.instance()
    address = {
        "streetOne": "123 Main St",
        "streetTwo": "Apt 4B",
        "city": "New York",
        "state": "NY",
        "postalCode": "10001",
        "country": "USA",
    }
    r = create(
        tenant,
        instance["id"],
        {
            "identificationType": "customerInfo",
            "firstName": "Suzie",
            "lastName": "Homeowner",
            "email": "suzie.homeowner@example.com",
            "phone": "+1234567890",
            "address": address,
            "manufacturerSlugs": ["tesla", "enphase"],
            "serialNumber": "1234567890",
            "referenceId": "1234567890",
            "referenceDescription": "Tesla Grid Services id.",
            "tags": ["tag1", "tag2"],
        },
    )
    body = ok(r, 201)
    assert r.headers["location"] == f"/v1/enrollments/{body['id']}"
    sample_keys = {
        "id",
        "leadId",
        "customerId",
        "firstName",
        "lastName",
        "email",
        "phone",
        "manufacturerSlugs",
        "meta",
        "serialNumber",
        "referenceId",
        "referenceDescription",
        "programInstanceId",
        "enrollmentStartDate",
        "tags",
        "address",
        "eligibility",
    }
    assert sample_keys <= set(body)
    assert set(body) == ENROLLMENT_KEYS
    assert len(body["id"]) == 25 and body["id"].startswith("c")
    assert body["leadId"] is None
    assert body["customerId"] is not None
    assert (body["firstName"], body["lastName"], body["email"], body["phone"]) == (
        "Suzie",
        "Homeowner",
        "suzie.homeowner@example.com",
        "+1234567890",
    )
    assert body["manufacturerSlugs"] == ["tesla", "enphase"]
    assert body["meta"] == body["metadata"] == {}
    assert (body["serialNumber"], body["referenceId"], body["referenceDescription"]) == (
        "1234567890",
        "1234567890",
        "Tesla Grid Services id.",
    )
    assert body["programInstanceId"] == instance["id"]
    assert body["enrollmentStartDate"] is None
    assert body["tags"] == ["tag1", "tag2"]
    assert body["address"] == address
    assert set(body["eligibility"]) == {
        "status",
        "reason",
        "programInstanceId",
        "checks",
        "criteriaVersion",
        "evaluatedAt",
    }
    reason = "Program accepting enrollments; In service territory; Has supported equipment"
    assert body["eligibility"]["status"] == "eligible"
    assert body["eligibility"]["reason"] == reason
    assert body["eligibility"]["programInstanceId"] == instance["id"]
    assert body["status"] == body["eligibilityStatus"] == "eligible"
    assert body["eligibilityReason"] == reason
    assert isinstance(body["version"], int) and body["version"] >= 1
    assert get(tenant, body["id"]) == body


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
        (["submit"], "submit", "submitted", ["approve", "reject", "cancel"]),
        (["submit"], "reevaluate", "submitted", ["approve", "reject", "cancel"]),
        (["submit"], "unenroll", "submitted", ["approve", "reject", "cancel"]),
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
    final = wait_for(lambda: get(tenant, e["id"]), lambda x: x["status"] != "submitted")
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
    time.sleep(0.5)  # the worker polls every 0.05 s in tests
    assert get(tenant, e["id"])["status"] == "submitted"


# --- 8. listing -----------------------------------------------------------------------------------


def _populate(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    first, second = tenant.instance(), tenant.instance("anywhere-program")
    made = [
        ok(create(tenant, first["id"], person(tags=["red"])), 201),
        ok(create(tenant, first["id"], person(tags=["red", "blue"], address={"state": "CA"})), 201),
        ok(create(tenant, first["id"], person(tags=["blue"])), 201),
        ok(create(tenant, first["id"], person(email="Finder@Example.com")), 201),
        ok(create(tenant, first["id"], person(tags=["red"], manufacturerSlugs=["lg"])), 201),
        ok(create(tenant, second["id"], person(tags=["red"])), 201),
        ok(create(tenant, second["id"], person()), 201),
    ]
    return first, second, made


def _ids(page: dict[str, Any]) -> list[str]:
    return [e["id"] for e in page["data"]]


def test_list_pages_and_filters(tenant: Tenant, other_tenant: Tenant) -> None:
    first, second, made = _populate(tenant)
    in_first = [e["id"] for e in made[:5]]
    url = f"/v1/programInstances/{first['id']}/enrollments"

    page = ok(tenant.client.get(url))
    assert set(page) == PAGE_KEYS
    assert (page["page"], page["perPage"], page["totalItems"], page["totalPages"]) == (1, 20, 5, 1)
    assert page["nextCursor"] is None
    assert _ids(page) == sorted(in_first)
    assert page["data"][0] == get(tenant, page["data"][0]["id"])

    page = ok(tenant.client.get(url, params={"perPage": 2, "page": 2}))
    assert (page["page"], page["perPage"], page["totalItems"], page["totalPages"]) == (2, 2, 5, 3)
    assert _ids(page) == sorted(in_first)[2:4]
    assert page["nextCursor"] is not None
    page = ok(tenant.client.get(url, params={"perPage": 2, "page": 3}))
    assert _ids(page) == sorted(in_first)[4:]
    assert page["nextCursor"] is None
    page = ok(tenant.client.get(url, params={"perPage": 2, "page": 4}))
    assert (page["data"], page["totalItems"], page["totalPages"]) == ([], 5, 3)

    def ids(params: dict[str, Any], path: str = url) -> list[str]:
        return _ids(ok(tenant.client.get(path, params=params)))

    assert ids({"status": "ineligible"}) == sorted([made[1]["id"], made[4]["id"]])
    assert ids({"status": "eligible"}) == sorted([made[0]["id"], made[2]["id"], made[3]["id"]])
    assert ids({"status": "approved"}) == []
    assert ids({"tag": "red"}) == sorted([made[0]["id"], made[1]["id"], made[4]["id"]])
    assert ids({"tag": "blue", "status": "eligible"}) == [made[2]["id"]]
    assert ids({"tag": "re"}) == []
    assert ids({"email": "FINDER@example.COM"}) == [made[3]["id"]]
    assert ids({"email": "nobody@example.com"}) == []

    created = [e["createdAt"] for e in made]
    assert ids({"createdAfter": created[2]}) == sorted(e["id"] for e in made[2:5])
    assert ids({"createdBefore": created[2]}) == sorted(e["id"] for e in made[:2])
    assert ids({"createdAfter": created[1], "createdBefore": created[3]}) == sorted(
        e["id"] for e in made[1:3]
    )
    # Times without an offset are UTC; other offsets are converted.
    stamp = datetime.fromisoformat(created[2].replace("Z", "+00:00"))
    naive = stamp.replace(tzinfo=None).isoformat()
    assert ids({"createdAfter": naive}) == sorted(e["id"] for e in made[2:5])
    assert ids({"createdBefore": naive}) == sorted(e["id"] for e in made[:2])
    shifted = stamp.astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert ids({"createdAfter": shifted}) == sorted(e["id"] for e in made[2:5])
    assert ids({"createdAfter": "2000-01-01"}) == sorted(in_first)
    assert ids({"createdBefore": "2000-01-01T00:00:00"}) == []

    everywhere = "/v1/enrollments"
    page = ok(tenant.client.get(everywhere))
    assert (page["totalItems"], _ids(page)) == (7, sorted(e["id"] for e in made))
    assert ids({"programInstanceId": second["id"]}, everywhere) == sorted(e["id"] for e in made[5:])
    assert ids({"programInstanceId": second["id"], "tag": "red"}, everywhere) == [made[5]["id"]]
    assert ids({"tag": "red"}, everywhere) == sorted(
        e["id"] for e in (made[0], made[1], made[4], made[5])
    )
    assert ids({"createdAfter": created[6]}, everywhere) == [made[6]["id"]]

    # Another workspace sees none of it.
    assert ok(other_tenant.client.get(everywhere))["totalItems"] == 0
    problem(other_tenant.client.get(url), 404, "not_found")
    problem(other_tenant.client.get(f"/v1/enrollments/{made[0]['id']}"), 404, "not_found")


def test_list_rejects_bad_parameters(tenant: Tenant) -> None:
    instance = tenant.instance()
    url = f"/v1/programInstances/{instance['id']}/enrollments"
    for path in (url, "/v1/enrollments"):
        for params, field in (
            ({"perPage": 101}, "perPage"),
            ({"perPage": 0}, "perPage"),
            ({"page": 0}, "page"),
            ({"page": "x"}, "page"),
            ({"status": "bogus"}, "status"),
            ({"createdAfter": "yesterday"}, "createdAfter"),
        ):
            body = problem(tenant.client.get(path, params=params), 422, "validation_error")
            assert fields_of(body) == [field], params
        assert ok(tenant.client.get(path, params={"perPage": 100}))["perPage"] == 100
        # Any id-like string is a keyset position; anything else is refused as the schema says.
        for cursor in ("!!!", "a" * 201, "../x", "a=", ""):
            body = problem(
                tenant.client.get(path, params={"cursor": cursor}), 422, "validation_error"
            )
            assert fields_of(body) == ["cursor"], cursor
        assert ok(tenant.client.get(path, params={"cursor": "zzz"}))["data"] == []
    problem(tenant.client.get("/v1/programInstances/nope/enrollments"), 404, "not_found")


def test_cursor_walk_visits_every_item_once(tenant: Tenant) -> None:
    first, _, made = _populate(tenant)
    for path, expected in (
        (f"/v1/programInstances/{first['id']}/enrollments", sorted(e["id"] for e in made[:5])),
        ("/v1/enrollments", sorted(e["id"] for e in made)),
    ):
        for per_page in (1, 2, 3, 100):
            seen: list[str] = []
            page = ok(tenant.client.get(path, params={"perPage": per_page}))
            seen += _ids(page)
            pages = 1
            while page["nextCursor"] is not None:
                page = ok(
                    tenant.client.get(
                        path, params={"perPage": per_page, "cursor": page["nextCursor"]}
                    )
                )
                assert (page["page"], page["totalItems"], page["totalPages"]) == (None, None, None)
                assert page["perPage"] == per_page
                assert 0 < len(page["data"]) <= per_page
                seen += _ids(page)
                pages += 1
                assert pages <= len(expected)
            assert seen == expected, (path, per_page)
            assert pages == -(-len(expected) // per_page)
    # A cursor combines with filters.
    page = ok(tenant.client.get("/v1/enrollments", params={"perPage": 1, "tag": "red"}))
    seen = _ids(page)
    while page["nextCursor"]:
        page = ok(
            tenant.client.get(
                "/v1/enrollments", params={"perPage": 1, "tag": "red", "cursor": page["nextCursor"]}
            )
        )
        seen += _ids(page)
    assert seen == sorted(e["id"] for e in (made[0], made[1], made[4], made[5]))


# --- 9. get / patch / delete ----------------------------------------------------------------------


def test_patch_changes_fields_and_bumps_version(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person(phone="+15550000001", serialNumber="S1")), 201)
    v = e["version"]
    p = ok(
        tenant.client.patch(
            f"/v1/enrollments/{e['id']}",
            json={
                "phone": "+15550000002",
                "tags": ["vip"],
                "metadata": {"k": "v"},
                "referenceId": "R-9",
                "email": "NEW@Example.com",
            },
        )
    )
    assert p["version"] == v + 1
    assert (p["phone"], p["tags"], p["metadata"], p["meta"], p["referenceId"], p["email"]) == (
        "+15550000002",
        ["vip"],
        {"k": "v"},
        {"k": "v"},
        "R-9",
        "new@example.com",
    )
    assert p["serialNumber"] == "S1"  # untouched
    assert p["status"] == "eligible"
    assert p["updatedAt"] >= e["updatedAt"]
    assert get(tenant, e["id"]) == p
    # Nullable fields may be cleared.
    c = ok(
        tenant.client.patch(
            f"/v1/enrollments/{e['id']}", json={"phone": None, "serialNumber": None}
        )
    )
    assert (c["phone"], c["serialNumber"], c["version"]) == (None, None, v + 2)
    # Sending the same values changes nothing.
    same = ok(tenant.client.patch(f"/v1/enrollments/{e['id']}", json={"tags": ["vip"]}))
    assert same["version"] == v + 2
    assert same == get(tenant, e["id"])
    assert ok(tenant.client.patch(f"/v1/enrollments/{e['id']}", json={}))["version"] == v + 2
    # Transitions bump it too.
    assert ok(act(tenant, e["id"], "submit"))["version"] == v + 3


def test_patch_refuses_bad_bodies(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person(tags=["a"])), 201)
    before = state(tenant)
    url = f"/v1/enrollments/{e['id']}"
    for body, field, message in (
        ({"nickname": "x"}, "nickname", "Unknown field."),
        ({"status": "approved"}, "status", "Unknown field."),
        ({"customerId": "c" + "5" * 24}, "customerId", "Unknown field."),
        ({"tags": None}, "tags", "Cannot be null."),
        ({"manufacturerSlugs": None}, "manufacturerSlugs", "Cannot be null."),
        ({"metadata": None}, "metadata", "Cannot be null."),
        ({"firstName": None}, "firstName", "Cannot be null."),
        ({"email": None}, "email", "Cannot be null."),
    ):
        refused = problem(tenant.client.patch(url, json=body), 422, "validation_error")
        assert refused["errors"] == [{"field": field, "message": message}], body
    for body, field in (
        ({"tags": "x"}, "tags"),
        ({"email": "not-an-email"}, "email"),
        ({"firstName": ""}, "firstName"),
        ({"address": {"zip": "1"}}, "address.zip"),
    ):
        refused = problem(tenant.client.patch(url, json=body), 422, "validation_error")
        assert fields_of(refused) == [field], body
    problem(
        tenant.client.patch("/v1/enrollments/" + "c" + "6" * 24, json={"tags": []}),
        404,
        "not_found",
    )
    assert state(tenant) == before


def test_delete_then_404(tenant: Tenant, other_tenant: Tenant) -> None:
    instance = tenant.instance()
    keep = ok(create(tenant, instance["id"], person()), 201)
    gone = ok(create(tenant, instance["id"], person()), 201)
    before = state(tenant)
    problem(other_tenant.client.delete(f"/v1/enrollments/{gone['id']}"), 404, "not_found")
    assert state(tenant) == before
    r = tenant.client.delete(f"/v1/enrollments/{gone['id']}")
    assert r.status_code == 204, r.text
    assert r.content == b""
    problem(tenant.client.get(f"/v1/enrollments/{gone['id']}"), 404, "not_found")
    problem(tenant.client.get(f"/v1/enrollments/{gone['id']}/history"), 404, "not_found")
    problem(tenant.client.delete(f"/v1/enrollments/{gone['id']}"), 404, "not_found")
    problem(
        tenant.client.patch(f"/v1/enrollments/{gone['id']}", json={"tags": []}), 404, "not_found"
    )
    problem(act(tenant, gone["id"], "submit"), 404, "not_found")
    assert [e["id"] for e in all_enrollments(tenant)] == [keep["id"]]
    assert get(tenant, keep["id"]) == keep
    # The customer is free to enroll in the instance again.
    again = ok(
        create(
            tenant,
            instance["id"],
            {
                "identificationType": "customerId",
                "customerId": gone["customerId"],
                "manufacturerSlugs": ["tesla"],
            },
        ),
        201,
    )
    assert again["status"] == "eligible"  # the customer's stored address is in NY
    assert again["customerId"] == gone["customerId"]


# --- 10. events -----------------------------------------------------------------------------------


def test_create_emits_events_in_order(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["id"], person()), 201)
    feed = wait_events(tenant, 3)
    assert [x["type"] for x in feed] == [
        "enrollment.created",
        "enrollment.status_changed",
        "enrollment.eligible",
    ]
    for x in feed:
        assert set(x) == {"id", "type", "version", "occurredAt", "workspaceId", "data"}
        assert x["version"] == 1
        assert x["workspaceId"] == tenant.id
        assert x["occurredAt"].endswith("Z")
        assert x["data"]["object"]["id"] == e["id"]
        assert x["data"]["object"]["status"] == "eligible"
    assert len({x["id"] for x in feed}) == 3
    change = {"previousStatus": "candidate", "status": "eligible", "reason": ELIGIBLE_REASON_TESLA}
    assert {k: feed[1]["data"][k] for k in change} == change
    assert {k: feed[2]["data"][k] for k in change} == change
    assert set(feed[0]["data"]) == {"object"}

    # A refused request adds nothing; the next change follows directly.
    problem(act(tenant, e["id"], "approve"), 409, "invalid_transition")
    ok(act(tenant, e["id"], "submit"))
    ok(tenant.client.patch(f"/v1/enrollments/{e['id']}", json={"tags": ["x"]}))
    assert tenant.client.delete(f"/v1/enrollments/{e['id']}").status_code == 204
    feed = wait_events(tenant, 8)
    assert [x["type"] for x in feed[3:]] == [
        "enrollment.status_changed",
        "enrollment.submitted",
        "enrollment.updated",  # a status change is a change (seed 000)
        "enrollment.updated",
        "enrollment.deleted",
    ]
    assert feed[5]["data"]["changedFields"] == ["status"]
    assert feed[6]["data"]["changedFields"] == ["tags"]
    assert feed[4]["data"]["previousStatus"] == "eligible"

    only = wait_events(tenant, 1, type="enrollment.eligible")
    assert only == [feed[2]]
    assert wait_events(tenant, 2, type="enrollment.status_changed") == [feed[1], feed[3]]
    assert events(tenant, type="enrollment.nothing")["data"] == []


def test_event_paging_with_after(tenant: Tenant) -> None:
    instance = tenant.instance()
    ok(create(tenant, instance["id"], person()), 201)
    ok(create(tenant, instance["id"], person(address={"state": "CA"})), 201)
    full = wait_events(tenant, 6)
    walked: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["after"] = cursor
        page = events(tenant, **params)
        walked += page["data"]
        if not page["data"]:
            assert page["nextCursor"] == cursor  # stable at the end
            break
        cursor = page["nextCursor"]
    assert walked == full
    assert [x["type"] for x in full[3:]] == [
        "enrollment.created",
        "enrollment.status_changed",
        "enrollment.ineligible",
    ]
    problem(tenant.client.get("/v1/events", params={"after": "!!!"}), 422, "validation_error")
    key = tenant.key_with("enrollments:read")
    with tenant.server.client(key) as reader:
        problem(reader.get("/v1/events"), 403, "insufficient_scope")


# --- 11. bad input on create ----------------------------------------------------------------------


def test_create_refuses_bad_input(tenant: Tenant, other_tenant: Tenant) -> None:
    instance = tenant.instance()
    url = f"/v1/programInstances/{instance['id']}/enrollments"
    before = state(tenant)

    r = tenant.client.post(
        url, content=b'{"identificationType": ', headers={"Content-Type": "application/json"}
    )
    body = problem(r, 400, "malformed_json")
    assert body["instance"] == url

    for payload, field in (
        (person(tags="x"), "tags"),
        (person(tags=[1]), "tags.0"),
        (person(manufacturerSlugs="tesla"), "manufacturerSlugs"),
        (person(metadata=[1]), "metadata"),
        (person(address="NY"), "address"),
        (person(address={"state": "NY", "zip": "1"}), "address.zip"),
        (person(email="nope"), "email"),
        (person(identificationType="phoneNumber"), "identificationType"),
        (person(favoriteColor="blue"), "favoriteColor"),
        (person(tags=["t"] * 101), "tags"),
    ):
        refused = problem(tenant.client.post(url, json=payload), 422, "validation_error")
        assert fields_of(refused) == [field], payload
    refused = problem(
        tenant.client.post(url, json=person(favoriteColor="blue")), 422, "validation_error"
    )
    assert refused["errors"] == [{"field": "favoriteColor", "message": "Unknown field."}]
    missing = person()
    del missing["identificationType"]
    refused = problem(tenant.client.post(url, json=missing), 422, "validation_error")
    assert refused["errors"] == [{"field": "identificationType", "message": "Field required."}]
    problem(tenant.client.post(url, json=["not", "an", "object"]), 422, "validation_error")

    big = person(referenceDescription="x" * (1024 * 1024))
    problem(tenant.client.post(url, json=big), 413, "payload_too_large")
    chunks = (b" " * 65536 for _ in range(20))
    problem(
        tenant.client.post(url, content=chunks, headers={"Content-Type": "application/json"}),
        413,
        "payload_too_large",
    )

    with tenant.server.client() as anonymous:
        r = anonymous.post(url, json=person())
        problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"
    with tenant.server.client("not-a-real-key") as stranger:
        problem(stranger.post(url, json=person()), 401, "unauthorized")

    problem(
        tenant.client.post(
            "/v1/programInstances/c0000000000000000000000000/enrollments", json=person()
        ),
        404,
        "not_found",
    )
    problem(other_tenant.client.post(url, json=person()), 404, "not_found")
    assert (
        state(tenant) == before == {"enrollments": [], "history": {}, "customers": [], "leads": []}
    )
    assert state(other_tenant)["enrollments"] == []
    # The instance still works.
    ok(tenant.client.post(url, json=person()), 201)


def test_instance_addressed_by_slug(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = ok(create(tenant, instance["slug"], person()), 201)
    assert e["programInstanceId"] == instance["id"]
    page = ok(tenant.client.get(f"/v1/programInstances/{instance['slug']}/enrollments"))
    assert _ids(page) == [e["id"]]

"""Reading, patching and deleting an enrollment over real HTTP."""

from __future__ import annotations

from tests.support.enrollments import (
    act,
    all_enrollments,
    create,
    fields_of,
    get,
    ok,
    person,
    problem,
    state,
)
from tests.support.server import Tenant

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

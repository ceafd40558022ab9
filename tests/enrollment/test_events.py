"""The events an enrollment's changes emit, and paging the feed, over real HTTP."""

from __future__ import annotations

from typing import Any

from tests.support.enrollments import (
    ELIGIBLE_REASON_TESLA,
    act,
    create,
    events,
    ok,
    person,
    problem,
    wait_events,
)
from tests.support.server import Tenant

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

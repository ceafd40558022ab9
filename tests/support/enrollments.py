"""The enrollment REST API over real HTTP: create (four identification types), eligibility,
instances that do not accept, the one-open-enrollment rule, transitions and their history,
auto review, listing and pagination, read/update/delete, the event feed and bad input.

Every refused request is followed by a check that nothing changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from tests.support.helpers import PROBLEM, uniq
from tests.support.server import Tenant

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
    "serviceLocationId",
    "planId",
    "planCode",
    "planCodeGiven",
    "startDate",
    "serviceActive",
    "serviceStartDate",
    "hasUsageHistory",
    "requirements",
    "version",
    "createdAt",
    "updatedAt",
}
PAGE_KEYS = {"data", "page", "perPage", "totalItems", "totalPages", "nextCursor"}


# --- helpers --------------------------------------------------------------------------------------


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


def wait_events(tenant: Tenant, count: int, **params: Any) -> list[dict[str, Any]]:
    """The feed once the worker has done what is due (and the feed settled): ``count`` events."""
    tenant.server.drain()
    feed = events(tenant, **params)
    assert len(feed["data"]) == count, [e["type"] for e in feed["data"]]
    return list(feed["data"])


def today() -> datetime:
    return datetime.now(UTC)


def page_ids(page: dict[str, Any]) -> list[str]:
    return [e["id"] for e in page["data"]]

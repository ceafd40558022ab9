"""Re-evaluations over real HTTP: start one, wait for the worker to finish it, read its report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support.server import Tenant

NOT_NJ = {
    "id": "not-nj",
    "reason": "Not offered in New Jersey",
    "rule": {"!=": [{"var": "address.state"}, "NJ"]},
}


def get(tenant: Tenant, enrollment_id: str) -> dict[str, Any]:
    r = tenant.client.get(f"/v1/enrollments/{enrollment_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def act(tenant: Tenant, enrollment_id: str, action: str, **body: Any) -> None:
    r = tenant.client.post(f"/v1/enrollments/{enrollment_id}/{action}", json=body)
    assert r.status_code == 200, r.text


def start(tenant: Tenant, instance_id: str, **body: Any) -> dict[str, Any]:
    r = tenant.client.post(f"/v1/programInstances/{instance_id}/reevaluations", json=body)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/v1/reevaluations/{r.json()['id']}"
    return dict(r.json())


def wait(tenant: Tenant, reevaluation_id: str) -> dict[str, Any]:
    """The re-evaluation once the server's worker has run it: completed or failed."""
    tenant.server.drain()
    r = tenant.client.get(f"/v1/reevaluations/{reevaluation_id}")
    assert r.status_code == 200, r.text
    assert r.json()["status"] in ("completed", "failed"), r.json()
    return dict(r.json())


def reevaluate(tenant: Tenant, instance_id: str, **body: Any) -> dict[str, Any]:
    """Start a re-evaluation and wait for it: the finished resource."""
    return wait(tenant, start(tenant, instance_id, **body)["id"])


def report(tenant: Tenant, instance_id: str, **body: Any) -> dict[str, Any]:
    """A re-evaluation that must complete: its report."""
    run = reevaluate(tenant, instance_id, **body)
    assert run["status"] == "completed", run
    return dict(run["report"])


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

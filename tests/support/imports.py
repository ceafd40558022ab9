"""Imports over real HTTP: build a file, upload it, wait for the worker to finish it, read
its results."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from tests.support.helpers import uniq
from tests.support.server import Tenant

JSONL = {"Content-Type": "application/x-ndjson"}
CSV = {"Content-Type": "text/csv"}


def person(**fields: Any) -> dict[str, Any]:
    n = uniq()
    return {
        "firstName": "Pat",
        "lastName": f"Doe{n}",
        "email": f"pat.{n}@example.com",
        "address": {"streetOne": f"{n} Main St", "state": "NY", "postalCode": "10001"},
        "manufacturerSlugs": ["tesla"],
    } | fields


def jsonl(rows: list[Any]) -> bytes:
    return b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in rows)


def upload(
    tenant: Tenant,
    instance_id: str,
    content: bytes,
    *,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    return tenant.client.post(
        f"/v1/programInstances/{instance_id}/imports",
        content=content,
        headers=headers or JSONL,
        params={k: str(v).lower() for k, v in params.items()},
    )


def wait(tenant: Tenant, import_id: str) -> dict[str, Any]:
    """The import once the worker has run it: completed or failed."""
    tenant.server.drain()
    r = tenant.client.get(f"/v1/imports/{import_id}")
    assert r.status_code == 200, r.text
    body = dict(r.json())
    assert body["status"] in ("completed", "failed"), body
    return body


def run_import(tenant: Tenant, instance_id: str, content: bytes, **kwargs: Any) -> dict[str, Any]:
    r = upload(tenant, instance_id, content, **kwargs)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/v1/imports/{r.json()['id']}"
    return wait(tenant, r.json()["id"])


def results(tenant: Tenant, import_id: str) -> list[dict[str, Any]]:
    r = tenant.client.get(f"/v1/imports/{import_id}/results")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    return [orjson.loads(line) for line in r.content.splitlines()]


def enrollments(tenant: Tenant, instance_id: str) -> list[dict[str, Any]]:
    r = tenant.client.get(f"/v1/programInstances/{instance_id}/enrollments?perPage=100")
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def events(tenant: Tenant, **params: str) -> list[dict[str, Any]]:
    return tenant.events(limit=100, **params)

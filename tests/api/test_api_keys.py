"""API keys: the secret is shown once, keys cannot grant scopes they lack, lastUsedAt is kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.rest_matrix import (
    assert_problem,
)
from tests.support.server import Server, Tenant

# --- 3. API keys ----------------------------------------------------------------------------

KEY_FIELDS = {"id", "name", "prefix", "scopes", "expiresAt", "revokedAt", "lastUsedAt", "createdAt"}


def _listed_keys(tenant: Tenant) -> dict[str, dict[str, Any]]:
    r = tenant.client.get("/v1/apiKeys", params={"perPage": 100})
    assert r.status_code == 200, r.text
    return {k["id"]: k for k in r.json()["data"]}


def test_api_key_secret_is_shown_once(server: Server, tenant: Tenant) -> None:
    r = tenant.client.post(
        "/v1/apiKeys", json={"name": "ci", "scopes": ["jobs:read", "events:read"]}
    )
    assert r.status_code == 201, r.text
    created = r.json()
    secret = created["apiKey"]
    assert set(created) == KEY_FIELDS | {"apiKey"}
    assert re.fullmatch(r"enr_[A-Za-z0-9]{40}", secret), secret
    assert created["prefix"] == secret[:12]
    assert created["scopes"] == ["events:read", "jobs:read"]
    assert created["name"] == "ci"
    assert created["revokedAt"] is None and created["lastUsedAt"] is None
    assert created["expiresAt"] is None

    r = tenant.client.get("/v1/apiKeys", params={"perPage": 100})
    assert r.status_code == 200, r.text
    assert secret not in r.text and secret[12:] not in r.text
    listed = {k["id"]: k for k in r.json()["data"]}[created["id"]]
    assert set(listed) == KEY_FIELDS
    assert listed["prefix"] == secret[:12]
    assert listed == {k: v for k, v in created.items() if k != "apiKey"} | {
        "lastUsedAt": listed["lastUsedAt"]
    }
    assert tenant.key not in r.text  # the workspace's first key is listed by prefix too
    assert tenant.key[:12] in {k["prefix"] for k in r.json()["data"]}

    with server.client(secret) as as_new:
        assert as_new.get("/v1/jobs").status_code == 200
        assert_problem(as_new.get("/v1/customers"), 403, "insufficient_scope")
        r = tenant.client.delete(f"/v1/apiKeys/{created['id']}")
        assert r.status_code == 200, r.text
        assert secret not in r.text and "apiKey" not in r.json()
        assert r.json()["revokedAt"] is not None
        assert_problem(as_new.get("/v1/jobs"), 401, "unauthorized")


def test_a_key_cannot_grant_a_scope_it_lacks(server: Server, tenant: Tenant) -> None:
    limited = tenant.key_with("api_keys:manage", "jobs:read")
    before = set(_listed_keys(tenant))
    with server.client(limited) as as_limited:
        for scopes, missing in (
            (["customers:read"], ["customers:read"]),
            (["jobs:read", "customers:write"], ["customers:write"]),
            (["enrollments:review"], ["enrollments:review"]),
        ):
            r = as_limited.post("/v1/apiKeys", json={"name": "escalate", "scopes": scopes})
            body = assert_problem(r, 403, "scope_escalation")
            assert body["detail"].endswith(f"{', '.join(missing)}."), body
            assert "jobs:read" not in body["detail"]
        assert set(_listed_keys(tenant)) == before
        # What it holds, it may hand on.
        r = as_limited.post("/v1/apiKeys", json={"name": "subset", "scopes": ["jobs:read"]})
        assert r.status_code == 201, r.text
        assert r.json()["scopes"] == ["jobs:read"]
    # Not even a key with every workspace scope can grant a platform scope.
    body = assert_problem(
        tenant.client.post("/v1/apiKeys", json={"name": "x", "scopes": ["programs:write"]}),
        403,
        "scope_escalation",
    )
    assert "programs:write" in body["detail"]
    assert set(_listed_keys(tenant)) == before | {r.json()["id"]}


def test_last_used_at_is_recorded(server: Server, tenant: Tenant) -> None:
    used = tenant.client.post("/v1/apiKeys", json={"name": "used", "scopes": ["jobs:read"]}).json()
    idle = tenant.client.post("/v1/apiKeys", json={"name": "idle", "scopes": ["jobs:read"]}).json()
    assert _listed_keys(tenant)[used["id"]]["lastUsedAt"] is None

    start = datetime.now(UTC)
    with server.client(used["apiKey"]) as as_used:
        assert as_used.get("/v1/jobs").status_code == 200
    end = datetime.now(UTC)
    server.drain()  # the last use is written by a background task of the request
    at = _listed_keys(tenant)[used["id"]]["lastUsedAt"]
    assert at is not None, "lastUsedAt was never written"
    assert start - timedelta(seconds=1) <= datetime.fromisoformat(at) <= end + timedelta(seconds=1)
    assert _listed_keys(tenant)[idle["id"]]["lastUsedAt"] is None

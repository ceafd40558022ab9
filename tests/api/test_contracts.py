"""The API's contracts as a client meets them: operation names a generated client can use,
optional bodies that may be left out, one name for a new key, field errors that name the
field, an `Allow` that lists every method, and problem codes the docs promise."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx

from tests.support.helpers import PROBLEM
from tests.support.server import Server, Tenant

# Run inside a fresh interpreter so that each backend's generated package is imported anew.
CLIENT_FLOW = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from enroll_client import AuthenticatedClient
    from enroll_client.api.enrollments import (
        approve_enrollment, create_enrollment, list_enrollments, submit_enrollment,
    )
    from enroll_client.models import EnrollmentCreate

    base_url, token, instance_id, email = sys.argv[2:6]
    client = AuthenticatedClient(base_url=base_url, token=token)
    body = EnrollmentCreate.from_dict({
        "identificationType": "customerInfo", "firstName": "Gen", "lastName": "Client",
        "email": email, "address": {"state": "NY"}, "manufacturerSlugs": ["tesla"],
    })
    steps = []
    created = create_enrollment.sync_detailed(instance_id, client=client, body=body)
    steps.append((created.status_code, json.loads(created.content)))
    enrollment_id = steps[-1][1]["id"]
    for op in (submit_enrollment, approve_enrollment):  # no body: it is optional
        r = op.sync_detailed(enrollment_id, client=client)
        steps.append((r.status_code, json.loads(r.content)))
    listed = list_enrollments.sync_detailed(client=client, program_instance_id=instance_id)
    steps.append((listed.status_code, json.loads(listed.content)))
    print(json.dumps(steps))
    """
)


def _document(server: Server) -> dict[str, Any]:
    r = httpx.get(f"{server.base_url}/openapi.json", timeout=30.0)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        op["operationId"]: op
        for item in document["paths"].values()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_operation_ids_are_stable_camel_case_names(server: Server) -> None:
    document = _document(server)
    ids = [
        op["operationId"]
        for item in document["paths"].values()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for op_id in ids:
        assert re.fullmatch(r"[a-z]+([A-Z][a-z0-9]*)*", op_id), op_id
    by_route = {
        f"{method.upper()} {path}": op["operationId"]
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    assert {
        "POST /v1/programInstances/{instance_id}/enrollments": "createEnrollment",
        "POST /v1/enrollments/{enrollment_id}/submit": "submitEnrollment",
        "POST /v1/enrollments/{enrollment_id}/approve": "approveEnrollment",
        "GET /v1/enrollments": "listEnrollments",
        "POST /v1/webhookEndpoints": "createWebhookEndpoint",
        "POST /v1/webhookEndpoints/{endpoint_id}/replay": "replayWebhookEvents",
        "POST /v1/apiKeys": "createApiKey",
    }.items() <= by_route.items()


def test_optional_bodies_are_optional_objects(server: Server) -> None:
    operations = _operations(_document(server))
    for op_id in (
        "submitEnrollment",
        "approveEnrollment",
        "cancelEnrollment",
        "rotateWebhookSecret",
    ):
        body = operations[op_id]["requestBody"]
        assert body.get("required") is False, (op_id, body)
        schema = body["content"]["application/json"]["schema"]
        assert set(schema) == {"$ref"}, (op_id, schema)  # a plain object, not anyOf [X, null]
    for op_id in ("rejectEnrollment", "unenrollEnrollment"):
        assert operations[op_id]["requestBody"]["required"] is True, op_id


# openapi-python-client pins a typer older than ours, so `make setup` gives it a venv of its own
# (locked in tools/openapi-python-client.txt); the generated client runs in ours (httpx, attrs).
GENERATOR = Path(__file__).parents[2] / ".tools" / "client-gen" / "bin" / "openapi-python-client"


def test_generated_client_runs_the_enrollment_flow(
    server: Server, tenant: Tenant, tmp_path: Path
) -> None:
    """openapi-python-client builds a client from the live document; create → submit →
    approve → list then run through it unchanged (submit and approve without a body)."""
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(_document(server)))
    generate = ["generate", "--path", str(spec), "--meta", "none"]
    generated = subprocess.run(
        [
            str(GENERATOR),
            *generate,
            "--output-path",
            str(tmp_path / "enroll_client"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    # Every operation is generated but the upload of an import file (text/csv, JSON Lines).
    skipped = re.findall(
        r"WARNING parsing (\S+ \S+) within \S+\. Endpoint will not",
        generated.stdout + generated.stderr,
    )
    assert skipped == ["POST /v1/programInstances/{instance_id}/imports"], generated.stdout
    instance = tenant.instance()
    email = f"gen.{tmp_path.name[-12:].replace('_', '')}@example.com".lower()
    args = [str(tmp_path), server.base_url, tenant.key, instance["id"], email]
    run = subprocess.run(
        [sys.executable, "-c", CLIENT_FLOW, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    (c_status, created), (s_status, submitted), (a_status, approved), (l_status, listed) = (
        json.loads(run.stdout)
    )
    assert (c_status, created["status"]) == (201, "eligible"), created
    assert (s_status, submitted["status"]) == (200, "submitted"), submitted
    assert (a_status, approved["status"]) == (200, "approved"), approved
    assert l_status == 200
    assert [e["id"] for e in listed["data"]] == [created["id"]]


def test_new_key_is_named_api_key_as_the_cli_prints_it(tenant: Tenant) -> None:
    r = tenant.client.post("/v1/apiKeys", json={"name": "ci", "scopes": ["events:read"]})
    assert r.status_code == 201, r.text
    assert "secret" not in r.json()
    key = r.json()["apiKey"]
    with tenant.server.client(key) as as_new:
        assert as_new.get("/v1/events").status_code == 200


def test_reject_and_unenroll_without_body_name_reason(tenant: Tenant) -> None:
    enrollment = tenant.enroll(tenant.instance()["id"])
    for action in ("reject", "unenroll"):
        r = tenant.client.post(f"/v1/enrollments/{enrollment['id']}/{action}")
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == PROBLEM
        assert [e["field"] for e in r.json()["errors"]] == ["reason"], (action, r.text)


def test_405_allows_every_method_of_the_path(tenant: Tenant) -> None:
    created = tenant.client.post(
        "/v1/webhookEndpoints", json={"url": "https://hooks.example.com/enroll"}
    )
    assert created.status_code == 201, created.text
    for path, allowed in (
        (f"/v1/webhookEndpoints/{created.json()['id']}", "DELETE, GET, PATCH"),
        ("/v1/customers", "GET, POST"),
        ("/v1/enrollments/x/submit", "POST"),
        # a literal segment is its route's, not another's parameter
        ("/v1/serviceLocations/search", "POST"),
        ("/v1/serviceLocations/x", "GET, PATCH"),
        ("/v1/programInstances/x/plans/quote", "POST"),
        ("/v1/programInstances/x/plans/p", "DELETE, GET, PATCH"),
    ):
        r = tenant.client.options(path)
        assert r.status_code == 405, r.text
        assert r.headers["allow"] == allowed, path
        assert r.json()["code"] == "method_not_allowed"


def test_body_nested_too_deep_is_malformed_json(tenant: Tenant) -> None:
    depth = 100_000
    body = '{"email": "deep@example.com", "metadata": {"a": ' + "[" * depth + "]" * depth + "}}"
    r = tenant.client.post(
        "/v1/leads", content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "malformed_json", r.text

"""GraphQL mutations under Idempotency-Key (issue 13 item 28), over real HTTP on both databases:
one run per key, the first answer replayed, another body refused, a failed mutation's key
released, queries unaffected, and a concurrent request with the key refused while the first
runs."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from enroll.customer import service as customers
from enroll.graphql.context import GraphQLContext
from enroll.idempotency import service as idempotency
from tests.support.helpers import uniq
from tests.support.server import Tenant

CREATE_CUSTOMER = """mutation($email: String!) {
  createCustomer(input: {firstName: "Ida", lastName: "Em", email: $email}) { id email version }
}"""
CREATE_ENROLLMENT = """mutation($i: ID!, $in: EnrollmentCreateInput!) {
  createEnrollment(programInstanceId: $i, input: $in) { id status }
}"""


def post(client: httpx.Client, query: str, key: str | None, **variables: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def answer(r: httpx.Response) -> dict[str, Any]:
    """A GraphQL answer: HTTP 200 with a JSON body."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json", r.headers
    body: dict[str, Any] = r.json()
    return body


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json", r.headers
    body: dict[str, Any] = r.json()
    assert body["code"] == code and body["instance"] == "/graphql", body
    return body


def customers_with(tenant: Tenant, email: str) -> list[dict[str, Any]]:
    r = tenant.client.get("/v1/customers", params={"email": email})
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def test_a_repeated_mutation_runs_once_and_replays_its_answer(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    email, key = f"ida.{uniq()}@example.com", f"gq-{uniq()}"
    first = post(tenant.client, CREATE_CUSTOMER, key, email=email)
    created = answer(first)["data"]["createCustomer"]
    assert "errors" not in first.json() and "Idempotent-Replayed" not in first.headers
    events = tenant.events(limit=500)

    again = post(tenant.client, CREATE_CUSTOMER, key, email=email)
    assert again.headers["Idempotent-Replayed"] == "true"
    answer(again)
    assert again.content == first.content  # the stored answer, byte for byte
    assert [c["id"] for c in customers_with(tenant, email)] == [created["id"]]
    assert tenant.events(limit=500) == events  # nothing ran again
    # Without the key the mutation runs, and is refused: the customer exists.
    unkeyed = answer(post(tenant.client, CREATE_CUSTOMER, None, email=email))
    assert unkeyed["data"] is None
    assert unkeyed["errors"][0]["extensions"]["code"] == "customer_exists"

    # Keys are the workspace's: another workspace's request with the same key runs.
    theirs = post(other_tenant.client, CREATE_CUSTOMER, key, email=email)
    assert "Idempotent-Replayed" not in theirs.headers
    assert answer(theirs)["data"]["createCustomer"]["id"] != created["id"]


def test_a_repeated_create_enrollment_creates_one(tenant: Tenant) -> None:
    instance = tenant.instance()
    body = {
        "identificationType": "customerInfo",
        "firstName": "Pat",
        "lastName": f"Doe{uniq()}",
        "email": f"pat.{uniq()}@example.com",
        "address": {"state": "NY"},
        "manufacturerSlugs": ["tesla"],
    }
    key = f"gq-{uniq()}"
    first = post(tenant.client, CREATE_ENROLLMENT, key, i=instance["id"], **{"in": body})
    again = post(tenant.client, CREATE_ENROLLMENT, key, i=instance["id"], **{"in": body})
    assert answer(first)["data"]["createEnrollment"]["status"] == "eligible"
    assert again.headers["Idempotent-Replayed"] == "true" and again.content == first.content
    r = tenant.client.get(f"/v1/programInstances/{instance['id']}/enrollments")
    assert r.json()["totalItems"] == 1


def test_the_key_with_another_request_is_refused(tenant: Tenant) -> None:
    email, key = f"ida.{uniq()}@example.com", f"gq-{uniq()}"
    answer(post(tenant.client, CREATE_CUSTOMER, key, email=email))
    other = f"other.{uniq()}@example.com"
    problem(post(tenant.client, CREATE_CUSTOMER, key, email=other), 422, "idempotency_key_reused")
    assert customers_with(tenant, other) == []
    # One key space with REST: the key of a GraphQL request is taken for a REST POST too.
    r = tenant.client.post("/v1/leads", json={"email": other}, headers={"Idempotency-Key": key})
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    # A malformed key is refused before anything runs, as in REST.
    problem(
        post(tenant.client, CREATE_CUSTOMER, "x" * 256, email=other), 422, "invalid_idempotency_key"
    )
    assert customers_with(tenant, other) == []


def test_a_failed_mutation_releases_its_key(tenant: Tenant) -> None:
    instance = tenant.instance(status="draft")
    body = {
        "identificationType": "customerInfo",
        "firstName": "Pat",
        "lastName": f"Doe{uniq()}",
        "email": f"pat.{uniq()}@example.com",
    }
    key = f"gq-{uniq()}"
    refused = answer(post(tenant.client, CREATE_ENROLLMENT, key, i=instance["id"], **{"in": body}))
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "instance_not_accepting"
    r = tenant.client.patch(f"/v1/programInstances/{instance['id']}", json={"status": "active"})
    assert r.status_code == 200, r.text
    retried = post(tenant.client, CREATE_ENROLLMENT, key, i=instance["id"], **{"in": body})
    assert "Idempotent-Replayed" not in retried.headers
    assert answer(retried)["data"]["createEnrollment"]["id"]

    # Refused before it ran (a key without the scope): released too.
    email, key = f"ida.{uniq()}@example.com", f"gq-{uniq()}"
    with tenant.server.client(tenant.key_with("customers:read")) as reader:
        denied = answer(post(reader, CREATE_CUSTOMER, key, email=email))
    assert denied["data"] is None
    assert denied["errors"][0]["extensions"]["code"] == "insufficient_scope"
    created = post(tenant.client, CREATE_CUSTOMER, key, email=email)
    assert "Idempotent-Replayed" not in created.headers
    assert answer(created)["data"]["createCustomer"]["email"] == email


def test_the_answer_is_stored_in_the_transaction_of_the_changes(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that fails takes the stored answer with it: the key is released (the client
    may retry), and even a key never released (the process died) is not answered with what
    did not happen."""
    failing: set[str] = set()
    finish = GraphQLContext.finish

    async def commit_fails(self: GraphQLContext, *, commit: bool) -> None:
        if commit and self.http_request.headers.get("idempotency-key") in failing:
            await finish(self, commit=False)
            raise StaleDataError("lost a race")
        await finish(self, commit=commit)

    monkeypatch.setattr(GraphQLContext, "finish", commit_fails)
    email, key = f"ida.{uniq()}@example.com", f"gq-{uniq()}"
    failing.add(key)
    lost = answer(post(tenant.client, CREATE_CUSTOMER, key, email=email))
    assert lost["data"] is None
    assert lost["errors"][-1]["extensions"]["code"] == "concurrent_modification"
    assert customers_with(tenant, email) == []
    failing.clear()
    retried = post(tenant.client, CREATE_CUSTOMER, key, email=email)
    assert "Idempotent-Replayed" not in retried.headers
    assert answer(retried)["data"]["createCustomer"]["email"] == email

    async def died(self: idempotency.Guard) -> None:
        return None

    monkeypatch.setattr(idempotency.Guard, "release", died)
    email, key = f"ida.{uniq()}@example.com", f"gq-{uniq()}"
    failing.add(key)
    assert answer(post(tenant.client, CREATE_CUSTOMER, key, email=email))["data"] is None
    problem(post(tenant.client, CREATE_CUSTOMER, key, email=email), 409, "idempotency_key_in_use")
    assert customers_with(tenant, email) == []


def test_queries_ignore_the_key(tenant: Tenant) -> None:
    key = f"gq-{uniq()}"
    query = "{ customers { totalCount } }"
    before = answer(post(tenant.client, query, key))
    assert before["data"]["customers"]["totalCount"] == 0
    get = tenant.client.get("/graphql", params={"query": query}, headers={"Idempotency-Key": key})
    assert answer(get)["data"] == before["data"] and "Idempotent-Replayed" not in get.headers
    email = f"ida.{uniq()}@example.com"
    answer(post(tenant.client, CREATE_CUSTOMER, None, email=email))
    after = post(tenant.client, query, key)  # runs again, not a replay
    assert "Idempotent-Replayed" not in after.headers
    assert answer(after)["data"]["customers"]["totalCount"] == 1
    # The queries claimed nothing: a mutation may take the key.
    created = post(tenant.client, CREATE_CUSTOMER, key, email=f"x.{email}")
    assert "Idempotent-Replayed" not in created.headers
    assert answer(created)["data"]["createCustomer"]


def test_a_concurrent_request_with_the_key_is_refused_while_the_first_runs(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first request is held inside its mutation (after its key is claimed, before its
    first statement) until the second has been answered: no timing involved."""
    email, key = f"ida.{uniq()}@example.com", f"gq-{uniq()}"
    entered, proceed = threading.Event(), threading.Event()
    create = customers.create

    async def held(session: AsyncSession, **kwargs: Any) -> Any:
        if kwargs["body"].email == email:
            entered.set()
            await asyncio.to_thread(proceed.wait, 30)
        return await create(session, **kwargs)

    monkeypatch.setattr(customers, "create", held)
    with ThreadPoolExecutor(1) as pool, tenant.server.client(tenant.key) as other:
        running = pool.submit(post, other, CREATE_CUSTOMER, key, email=email)
        try:
            assert entered.wait(30), "the first request never reached its mutation"
            second = post(tenant.client, CREATE_CUSTOMER, key, email=email)
        finally:
            proceed.set()
        first = running.result(timeout=60)
    problem(second, 409, "idempotency_key_in_use")
    assert second.headers["Retry-After"] == "1"
    created = answer(first)["data"]["createCustomer"]
    assert [c["id"] for c in customers_with(tenant, email)] == [created["id"]]
    again = post(tenant.client, CREATE_CUSTOMER, key, email=email)
    assert again.headers["Idempotent-Replayed"] == "true" and again.content == first.content

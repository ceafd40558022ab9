"""The GraphQL doors of webhook endpoints and deliveries, the workspace signing secret, the
eligibility preview and re-evaluations (issue 13 item 28): each answers what the REST route
answers for the same object, and changes what REST then reads. Scopes and isolation are in
test_isolation.py.

They run on a server of their own with no worker: the test delivers the webhooks (to a real
receiver on loopback) and runs the re-evaluation jobs itself, so nothing depends on timing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from enroll.kit.outbound import new_secret
from enroll.webhook.delivery import Deliverer
from enroll.worker.runner import Worker
from tests.support.graphql import data, gql
from tests.support.helpers import uniq
from tests.support.http_endpoint import Checker
from tests.support.server import Database, Server, Tenant, make_tenant, private_server

PROGRAM = "gql-hooks-program"
ENDPOINT = """id url description eventTypes enabled disabledReason failingSince
  previousSecretExpiresAt version createdAt updatedAt"""
DELIVERY = """id endpointId eventId eventType status attemptCount nextAttemptAt deliveredAt
  lastStatusCode lastError createdAt
  attempts { id attemptedAt statusCode latencyMs responseExcerpt error }"""
REEVALUATION = """id programInstanceId status dryRun force
  progress { phase done total fraction }
  report { dryRun applied criteriaVersion evaluated total changed
    moves { from to count sampleIds }
    needsReview { from to count sampleIds } clearedReview { from to count sampleIds } }
  error createdAt startedAt finishedAt"""
PREVIEW = """query($i: ID!, $input: EligibilityPreviewInput!) {
  eligibilityPreview(programInstanceId: $i, input: $input) {
    status reason checks { id description status reason } criteriaVersion evaluatedAt context } }"""
NOT_NJ = {
    "id": "not-nj",
    "reason": "Not offered in New Jersey",
    "rule": {"!=": [{"var": "address.state"}, "NJ"]},
}


def refused(body: dict[str, Any]) -> dict[str, Any]:
    """The one error of a refused operation (nothing of it happened: ``data`` is null)."""
    assert body["data"] is None, body
    (error,) = body["errors"]
    extensions: dict[str, Any] = error["extensions"]
    return extensions


@pytest.fixture(scope="module")
def srv(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory: Path = tmp_path_factory.mktemp("gql-hooks")
    with private_server(database, directory, PROGRAM) as server:
        yield server


@pytest.fixture
def t(srv: Server) -> Iterator[Tenant]:
    tenant = make_tenant(srv, "GraphQL hooks")
    yield tenant
    tenant.client.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Checker]:
    checker = Checker()
    yield checker
    checker.close()


def deliver(srv: Server) -> int:
    """One round of the worker's delivery loop, on the server's loop: the work done (events
    queued for the endpoint from the feed, deliveries attempted)."""

    async def main() -> int:
        deliverer = Deliverer(srv.ctx, name=f"test-{uniq()}")
        try:
            return await deliverer.run_once(10)
        finally:
            await deliverer.close()

    return srv.on_loop(main())


def run_jobs(srv: Server) -> int:
    """One round of the worker's job loop, on the server's loop: jobs run."""
    return srv.on_loop(Worker(srv.ctx).run_once())


def test_an_endpoint_from_creation_to_deletion(srv: Server, t: Tenant, receiver: Checker) -> None:
    c = t.client
    secret = new_secret()
    failing = {"on": True}
    url = receiver.route(secret, lambda r, n: (500, {}) if failing["on"] else (200, {"ok": 1}))
    r = c.post(
        "/graphql",
        json={
            "query": f"""mutation($url: String!, $secret: String!) {{ createWebhookEndpoint(
              input: {{url: $url, secret: $secret, description: "CRM",
                       eventTypes: ["webhook.test"]}}) {{ endpoint {{ {ENDPOINT} }} secret }} }}""",
            "variables": {"url": url, "secret": secret},
        },
    )
    assert r.headers["cache-control"] == "no-store"  # it holds a secret
    created = data(r.json())["createWebhookEndpoint"]
    hook = created["endpoint"]
    assert created["secret"] == secret
    assert c.get(f"/v1/webhookEndpoints/{hook['id']}").json() == hook
    # The secret is shown there only: no field of the type reads it.
    fields = data(gql(c, '{ __type(name: "WebhookEndpoint") { fields { name } } }'))
    assert "secret" not in {f["name"] for f in fields["__type"]["fields"]}

    listed = data(
        gql(c, "{ webhookEndpoints(enabled: true) { edges { node { id } } totalCount } }")
    )["webhookEndpoints"]
    assert listed == {"edges": [{"node": {"id": hook["id"]}}], "totalCount": 1}
    one = data(
        gql(c, f"query($id: ID!) {{ webhookEndpoint(id: $id) {{ {ENDPOINT} }} }}", id=hook["id"])
    )
    assert one["webhookEndpoint"] == hook

    updated = data(
        gql(
            c,
            f"""mutation($id: ID!) {{ updateWebhookEndpoint(id: $id, input: {{description: null,
              eventTypes: ["webhook.test", "enrollment.*"]}}) {{ {ENDPOINT} }} }}""",
            id=hook["id"],
        )
    )["updateWebhookEndpoint"]
    assert (updated["description"], updated["eventTypes"]) == (
        None,
        ["enrollment.*", "webhook.test"],
    )
    assert updated["version"] == hook["version"] + 1
    assert c.get(f"/v1/webhookEndpoints/{hook['id']}").json() == updated
    bad = gql(
        c,
        'mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {url: "ftp://x"}) { id } }',
        id=hook["id"],
    )
    assert refused(bad)["code"] == "validation_error"
    assert refused(bad)["errors"][0]["field"] == "url"

    # A test event: its delivery fails once, is read as REST reads it, retried, delivered.
    queued = data(
        gql(
            c,
            f"mutation($id: ID!) {{ testWebhookEndpoint(id: $id) {{ {DELIVERY} }} }}",
            id=hook["id"],
        )
    )["testWebhookEndpoint"]
    assert (queued["eventType"], queued["status"], queued["attempts"]) == (
        "webhook.test",
        "pending",
        [],
    )
    assert deliver(srv) >= 1
    one_delivery = f"query($id: ID!) {{ webhookDelivery(id: $id) {{ {DELIVERY} }} }}"
    failed = data(gql(c, one_delivery, id=queued["id"]))["webhookDelivery"]
    rest = c.get(f"/v1/webhookDeliveries/{queued['id']}").json()
    assert failed == rest  # the status enum's values are REST's strings
    assert [a["statusCode"] for a in failed["attempts"]] == [500]
    assert failed["status"] == "pending" and failed["lastStatusCode"] == 500
    page = data(
        gql(
            c,
            f"""query($id: ID!) {{ webhookDeliveries(endpointId: $id, eventType: "webhook.test")
              {{ edges {{ node {{ {DELIVERY} }} }} totalCount }} }}""",
            id=hook["id"],
        )
    )["webhookDeliveries"]
    assert page == {"edges": [{"node": failed}], "totalCount": 1}
    none = data(
        gql(
            c,
            "query($id: ID!) { webhookDeliveries(endpointId: $id, status: succeeded) "
            "{ totalCount } }",
            id=hook["id"],
        )
    )
    assert none["webhookDeliveries"]["totalCount"] == 0

    failing["on"] = False
    retry = f"mutation($id: ID!) {{ retryWebhookDelivery(id: $id) {{ {DELIVERY} }} }}"
    retried = data(gql(c, retry, id=queued["id"]))["retryWebhookDelivery"]
    assert retried["status"] == "pending" and len(retried["attempts"]) == 1
    assert deliver(srv) >= 1
    done = data(gql(c, one_delivery, id=queued["id"]))["webhookDelivery"]
    assert done["status"] == "succeeded" and [a["statusCode"] for a in done["attempts"]] == [
        500,
        200,
    ]
    sent = receiver.received(url)
    assert len(sent) == 2 and all(s.verified for s in sent)
    assert sent[-1].json["type"] == "webhook.test"
    assert refused(gql(c, retry, id=queued["id"]))["code"] == "delivery_succeeded"

    # Rotation: the new secret is answered once; the old one signs on for the overlap.
    rotate = """mutation($id: ID!) { rotateWebhookSecret(id: $id, input: {overlapSeconds: 60})
      { secret previousSecretExpiresAt } }"""
    before = datetime.now(UTC)
    r = c.post("/graphql", json={"query": rotate, "variables": {"id": hook["id"]}})
    assert r.headers["cache-control"] == "no-store"
    rotated = data(r.json())["rotateWebhookSecret"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    expires = datetime.fromisoformat(rotated["previousSecretExpiresAt"])
    assert before + timedelta(seconds=59) < expires < datetime.now(UTC) + timedelta(seconds=61)
    rest = c.get(f"/v1/webhookEndpoints/{hook['id']}").json()
    assert rest["previousSecretExpiresAt"] == rotated["previousSecretExpiresAt"]
    # A delivery now carries both signatures: the receiver (old secret) still verifies it.
    data(gql(c, "mutation($id: ID!) { testWebhookEndpoint(id: $id) { id } }", id=hook["id"]))
    assert deliver(srv) >= 1
    latest = receiver.received(url)[-1]
    assert latest.verified and len(latest.headers["webhook-signature"].split()) == 2

    delete = "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }"
    assert data(gql(c, delete, id=hook["id"])) == {"deleteWebhookEndpoint": hook["id"]}
    assert c.get(f"/v1/webhookEndpoints/{hook['id']}").status_code == 404
    assert refused(gql(c, delete, id=hook["id"]))["code"] == "not_found"


def _deliveries(c: httpx.Client, endpoint_id: str) -> int:
    query = "query($id: ID!) { webhookDeliveries(endpointId: $id) { totalCount } }"
    total: int = data(gql(c, query, id=endpoint_id))["webhookDeliveries"]["totalCount"]
    return total


def test_a_replay_queues_what_rest_queues_and_runs_alone(
    srv: Server, t: Tenant, receiver: Checker
) -> None:
    c = t.client
    secret = new_secret()
    url = receiver.route(secret, lambda r, n: (200, {}))
    hook = c.post(
        "/v1/webhookEndpoints",
        json={"url": url, "secret": secret, "eventTypes": ["enrollment.*"]},
    ).json()
    since = datetime.now(UTC) - timedelta(seconds=1)
    instance = t.instance(PROGRAM)
    for _ in range(2):
        t.enroll(instance["id"])
    srv.database.settle()
    replay = """mutation($id: ID!, $since: DateTime!) {
      replayWebhookEvents(id: $id, input: {since: $since}) { deliveries } }"""
    queued = data(gql(c, replay, id=hook["id"], since=since.isoformat()))
    count = queued["replayWebhookEvents"]["deliveries"]
    assert count >= 2  # an enrollment.created each, at least
    r = c.post(f"/v1/webhookEndpoints/{hook['id']}/replay", json={"since": since.isoformat()})
    assert r.status_code == 202 and r.json() == {"deliveries": count}
    assert _deliveries(c, hook["id"]) == 2 * count

    # With an Idempotency-Key it runs once: the repeat replays the first answer, queues nothing.
    keyed = {"query": replay, "variables": {"id": hook["id"], "since": since.isoformat()}}
    key = {"Idempotency-Key": f"replay-{uuid.uuid4().hex}"}
    first, again = (c.post("/graphql", json=keyed, headers=key) for _ in range(2))
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json() == again.json() == {"data": {"replayWebhookEvents": {"deliveries": count}}}
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert _deliveries(c, hook["id"]) == 3 * count

    # It commits slice by slice, so it shares its operation with no other field: refused whole.
    shared = """mutation($id: ID!, $since: DateTime!) {
      testWebhookEndpoint(id: $id) { id }
      replayWebhookEvents(id: $id, input: {since: $since}) { deliveries } }"""
    problem = refused(gql(c, shared, id=hook["id"], since=since.isoformat()))
    assert problem["code"] == "validation_error" and problem["status"] == 422
    assert problem["errors"][0]["field"] == "replayWebhookEvents"
    assert _deliveries(c, hook["id"]) == 3 * count  # the test event was rolled back too

    backwards = """mutation($id: ID!, $since: DateTime!) {
      replayWebhookEvents(id: $id, input: {since: $since, until: $since}) { deliveries } }"""
    problem = refused(gql(c, backwards, id=hook["id"], since=since.isoformat()))
    assert problem["code"] == "validation_error" and problem["errors"][0]["field"] == "until"
    problem = refused(gql(c, replay, id="nope", since=since.isoformat()))
    assert problem["code"] == "not_found"

    # The scope that reads the events' data is needed beside webhooks:manage, as in REST.
    with srv.client(t.key_with("webhooks:manage")) as manager:
        problem = refused(gql(manager, replay, id=hook["id"], since=since.isoformat()))
    assert problem["code"] == "insufficient_scope" and "enrollments:read" in problem["detail"]
    assert _deliveries(c, hook["id"]) == 3 * count


def test_the_signing_secret_is_the_one_rest_answers(t: Tenant) -> None:
    r = t.client.post("/graphql", json={"query": "mutation { signingSecret }"})
    assert r.headers["cache-control"] == "no-store"
    secret = data(r.json())["signingSecret"]
    assert secret.startswith("whsec_")
    assert t.signing_secret() == secret
    assert data(gql(t.client, "mutation { signingSecret }"))["signingSecret"] == secret


def test_a_preview_answers_what_rest_answers(t: Tenant) -> None:
    c = t.client
    instance = t.instance(PROGRAM, eligibilityCriteria=[NOT_NJ])
    n = uniq()
    person = {
        "identificationType": "customerInfo",
        "firstName": "Pat",
        "lastName": n,
        "email": f"pat.{n}@example.com",
        "address": {"state": "NJ"},
    }
    preview = data(gql(c, PREVIEW, i=instance["slug"], input=person))["eligibilityPreview"]
    rest = c.post(f"/v1/programInstances/{instance['id']}/eligibility/preview", json=person).json()
    assert {k: v for k, v in preview.items() if k != "evaluatedAt"} == {
        k: v for k, v in rest.items() if k != "evaluatedAt"
    }
    assert preview["status"] == "ineligible" and preview["reason"] == NOT_NJ["reason"]
    assert {"id": "not-nj", "status": "failed"}.items() <= next(
        check for check in preview["checks"] if check["id"] == "not-nj"
    ).items()
    # Without identificationType the fields are evaluated as sent; nothing was saved.
    as_sent = data(gql(c, PREVIEW, i=instance["id"], input={"address": {"state": "NY"}}))
    assert as_sent["eligibilityPreview"]["status"] == "eligible"
    assert c.get("/v1/customers", params={"email": person["email"]}).json()["data"] == []

    incomplete = gql(c, PREVIEW, i=instance["id"], input={"identificationType": "customerInfo"})
    rest_incomplete = c.post(
        f"/v1/programInstances/{instance['id']}/eligibility/preview",
        json={"identificationType": "customerInfo"},
    ).json()
    assert incomplete["data"] == {"eligibilityPreview": None}
    (error,) = incomplete["errors"]
    assert error["extensions"]["code"] == rest_incomplete["code"]
    assert error["extensions"]["status"] == rest_incomplete["status"]
    missing = gql(c, PREVIEW, i="nope", input=person)
    assert missing["errors"][0]["extensions"]["code"] == "not_found"


def test_a_reevaluation_is_started_read_and_run(srv: Server, t: Tenant) -> None:
    c = t.client
    instance = t.instance(PROGRAM)
    ny = t.enroll(instance["id"], address={"state": "NY"})
    nj = t.enroll(instance["id"], address={"state": "NJ"})
    r = c.patch(f"/v1/programInstances/{instance['id']}", json={"eligibilityCriteria": [NOT_NJ]})
    assert r.status_code == 200, r.text

    start = f"""mutation($id: ID!, $input: ReevaluationInput) {{
      reevaluateProgramInstance(id: $id, input: $input) {{ {REEVALUATION} }} }}"""
    read = f"query($id: ID!) {{ reevaluation(id: $id) {{ {REEVALUATION} }} }}"
    dry = data(gql(c, start, id=instance["slug"], input={"dryRun": True}))
    run = dry["reevaluateProgramInstance"]
    assert (run["status"], run["dryRun"], run["programInstanceId"]) == (
        "queued",
        True,
        instance["id"],
    )
    assert data(gql(c, read, id=run["id"]))["reevaluation"] == run
    assert c.get(f"/v1/reevaluations/{run['id']}").json()["status"] == "queued"

    assert run_jobs(srv) == 1
    planned = data(gql(c, read, id=run["id"]))["reevaluation"]
    rest = c.get(f"/v1/reevaluations/{run['id']}").json()
    assert planned == rest
    assert planned["status"] == "completed" and planned["report"]["applied"] is False
    assert planned["report"]["moves"] == [
        {"from": "eligible", "to": "ineligible", "count": 1, "sampleIds": [nj["id"]]}
    ]
    assert c.get(f"/v1/enrollments/{nj['id']}").json()["status"] == "eligible"  # a dry run

    # An apply (half the instance changes: past the share guard, so forced); a second one
    # while it is queued is refused as REST refuses it.
    applying = data(gql(c, start, id=instance["id"], input={"force": True}))
    applying = applying["reevaluateProgramInstance"]
    assert (applying["dryRun"], applying["force"], applying["status"]) == (False, True, "queued")
    again = refused(gql(c, start, id=instance["id"]))
    assert (again["code"], again["status"]) == ("reevaluation_running", 409)
    too_many = refused(gql(c, start, id=instance["id"], input={"sampleSize": 1000}))
    assert too_many["code"] == "validation_error"
    assert too_many["errors"][0]["field"] == "sampleSize"

    assert run_jobs(srv) == 1
    applied = data(gql(c, read, id=applying["id"]))["reevaluation"]
    assert applied["status"] == "completed" and applied["report"]["applied"] is True, applied
    assert c.get(f"/v1/enrollments/{nj['id']}").json()["status"] == "ineligible"
    assert c.get(f"/v1/enrollments/{ny['id']}").json()["status"] == "eligible"
    missing = gql(c, read, id="nope")
    assert missing["data"] == {"reevaluation": None}
    assert missing["errors"][0]["extensions"]["code"] == "not_found"

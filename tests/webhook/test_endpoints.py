"""Webhooks over real HTTP: endpoints, signed deliveries verified with the official
`standardwebhooks` library, retries, ordering, rotation, disabling, the SSRF guard.

Delivery tests run on a server of their own (its embedded worker may call loopback, and its
retry schedule is fast); SSRF refusals run on the shared server, whose guard is on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from enroll.context import AppContext
from enroll.event import service as events
from enroll.kit.outbound import new_secret
from enroll.models import Event, WebhookEndpoint
from enroll.webhook import repository as webhook_repository
from enroll.webhook import service as webhook_service
from enroll.webhook.delivery import Deliverer
from tests.support.http_endpoint import Checker, Received
from tests.support.server import (
    Database,
    Server,
    Tenant,
    free_port,
    fresh_database,
    make_tenant,
    start_server,
)

SCHEDULE = "0,0.1,0.2,0.3,0.4,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5"


@pytest.fixture(scope="module")
def hooks_server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = fresh_database(database.backend, tmp_path_factory.mktemp("hooks"))
    srv = start_server(
        db, webhook_allow_private=True, webhook_retry_schedule=SCHEDULE, job_lease_seconds=5
    )
    yield srv
    srv.stop()
    db.drop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Checker]:
    checker = Checker()
    yield checker
    checker.close()


@pytest.fixture
def t(hooks_server: Server) -> Iterator[Tenant]:
    tenant = make_tenant(hooks_server, "Hooks")
    yield tenant
    tenant.client.close()


def ok(_: Received, __: int) -> tuple[int, Any]:
    return 200, {"ok": True}


def endpoint(t: Tenant, url: str, secret: str, **fields: Any) -> dict[str, Any]:
    r = t.client.post("/v1/webhookEndpoints", json={"url": url, "secret": secret} | fields)
    assert r.status_code == 201, r.text
    return dict(r.json())


def emit(t: Tenant, count: int, type_: str = "enrollment.updated") -> list[str]:
    """``count`` events in the tenant's workspace, one transaction each; their ids in order."""

    async def work(ctx: AppContext) -> list[str]:
        ids = []
        for n in range(count):
            async with ctx.db.transaction() as session:
                await events.record(
                    session,
                    workspace_id=t.id,
                    occurred_at=ctx.clock.now(),
                    events=[events.NewEvent(type=type_, data={"n": n})],
                )
                ids.append(
                    await session.scalar(
                        select(Event.id)
                        .where(Event.workspace_id == t.id)
                        .order_by(Event.seq.desc())
                        .limit(1)
                    )
                )
        return ids

    return t.server.database.run(work)


def deliveries(t: Tenant, endpoint_id: str, **params: Any) -> list[dict[str, Any]]:
    r = t.client.get(
        f"/v1/webhookEndpoints/{endpoint_id}/deliveries", params={"perPage": 100} | params
    )
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def settled(t: Tenant, endpoint_id: str, count: int) -> list[dict[str, Any]]:
    """The endpoint's ``count`` deliveries, none pending: the worker delivers what is due, and
    while a delivery waits for its next attempt the server's clock moves on a second at a time
    (past any delay of SCHEDULE, or a short Retry-After), until the schedule has run out."""
    for later in range(len(SCHEDULE.split(",")) + 5):
        with t.server.clock_shifted(timedelta(seconds=later)):
            t.server.drain()
        found = deliveries(t, endpoint_id)
        if all(x["status"] != "pending" for x in found):
            break
    assert len(found) == count and all(x["status"] != "pending" for x in found), found
    return found


def enabled(t: Tenant, endpoint_id: str) -> dict[str, Any]:
    r = t.client.get(f"/v1/webhookEndpoints/{endpoint_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def event_ids(received: list[Received]) -> list[str]:
    return [r.headers["webhook-id"] for r in received]


# --- delivery ---------------------------------------------------------------------------------


def test_events_are_signed_and_delivered_once_in_order(t: Tenant, receiver: Checker) -> None:
    secret = new_secret()
    url = receiver.route(secret, ok)
    hook = endpoint(t, url, secret)
    assert hook["secret"] == secret and hook["enabled"] and hook["eventTypes"] == []
    sent = emit(t, 12)
    done = settled(t, hook["id"], 12)
    got = receiver.received(url)
    assert event_ids(got) == sent  # every event once, in feed order
    for r in got:  # the official library accepts each signature
        assert r.verified
        Webhook(secret).verify(r.body, r.headers)
        assert r.json["id"] == r.headers["webhook-id"]
        assert r.json["type"] == "enrollment.updated" and r.json["workspaceId"] == t.id
        assert set(r.json) == {"id", "type", "version", "occurredAt", "workspaceId", "data"}
    assert [r.json["data"]["n"] for r in got] == list(range(12))
    assert all(d["status"] == "succeeded" and d["attemptCount"] == 1 for d in done)
    attempt = done[0]["attempts"][0]
    assert attempt["statusCode"] == 200 and attempt["latencyMs"] >= 0
    assert attempt["responseExcerpt"] == '{"ok": true}'


def test_a_receiver_failing_twice_gets_the_event_once_accepted(
    t: Tenant, receiver: Checker
) -> None:
    secret = new_secret()
    url = receiver.route(secret, lambda r, n: (500, {"n": n}) if n <= 2 else (200, {}))
    hook = endpoint(t, url, secret)
    (sent,) = emit(t, 1)
    (delivery,) = settled(t, hook["id"], 1)
    assert delivery["status"] == "succeeded" and delivery["eventId"] == sent
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 500, 200]
    assert delivery["attempts"][0]["error"] == "HTTP 500"
    assert delivery["attempts"][0]["responseExcerpt"] == '{"n": 1}'
    assert event_ids(receiver.received(url)) == [sent] * 3  # accepted once, the third time


def test_a_receiver_down_then_up_gets_every_event_in_order(t: Tenant) -> None:
    port, token, secret = free_port(), uuid.uuid4().hex[:12], new_secret()
    hook = endpoint(t, f"http://127.0.0.1:{port}/{token}", secret)
    sent = emit(t, 8)
    t.server.drain()  # the first attempt fails; the second after the schedule's 0.1 s
    with t.server.clock_shifted(timedelta(seconds=1)):
        t.server.drain()
    assert deliveries(t, hook["id"])[0]["attemptCount"] >= 2
    late = emit(t, 4)  # committed while the receiver is down
    assert all(d["status"] == "pending" for d in deliveries(t, hook["id"]))
    t.server.drain()
    # The head waits for its next attempt, so the later deliveries wait behind it: a round
    # claims the endpoint and does nothing, and says so (the worker then waits for its poll).
    idle = Deliverer(t.server.ctx, name=f"idle-{token}")
    try:
        assert t.server.on_loop(idle.run_once(10)) == 0
    finally:
        t.server.on_loop(idle.close())
    up = Checker(port)
    try:
        url = up.route(secret, ok, token=token)
        done = settled(t, hook["id"], 12)
        assert all(d["status"] == "succeeded" for d in done)
        assert event_ids(up.received(url)) == sent + late
        first = done[0]["attempts"][0]
        assert first["statusCode"] is None and first["error"]  # connection refused
    finally:
        up.close()


def test_retry_after_is_honoured(t: Tenant, receiver: Checker) -> None:
    secret = new_secret()
    url = receiver.route(
        secret, lambda r, n: (429, {}, {"Retry-After": "2"}) if n == 1 else (200, {})
    )
    hook = endpoint(t, url, secret)
    emit(t, 1)
    (delivery,) = settled(t, hook["id"], 1)
    first, second = (datetime.fromisoformat(a["attemptedAt"]) for a in delivery["attempts"])
    assert [a["statusCode"] for a in delivery["attempts"]] == [429, 200]
    assert second - first >= timedelta(seconds=1.9)  # the schedule alone says 0.1 s


def test_410_disables_the_endpoint_with_an_event(t: Tenant, receiver: Checker) -> None:
    secret = new_secret()
    url = receiver.route(secret, lambda r, n: (410, {"gone": True}))
    hook = endpoint(t, url, secret)
    emit(t, 3)
    t.server.drain()
    disabled = enabled(t, hook["id"])
    assert not disabled["enabled"], disabled
    assert disabled["disabledReason"] == "The endpoint answered 410 Gone."
    assert len(receiver.received(url)) == 1  # nothing more after the 410
    (event,) = t.events(type="webhook_endpoint.disabled")
    assert event["data"]["object"]["id"] == hook["id"] and event["data"]["reason"]
    # Enabled again by a person: delivery resumes where it stopped.
    receiver.routes[url.rsplit("/", 1)[1]].behaviour = ok
    r = t.client.patch(f"/v1/webhookEndpoints/{hook['id']}", json={"enabled": True})
    assert r.json()["enabled"] and r.json()["disabledReason"] is None
    done = settled(t, hook["id"], 4)  # and what was written meanwhile: its own disabling
    assert all(d["status"] == "succeeded" for d in done)
    assert done[-1]["eventType"] == "webhook_endpoint.disabled"


def test_an_endpoint_failing_for_days_is_disabled(t: Tenant, receiver: Checker) -> None:
    secret = new_secret()
    url = receiver.route(secret, lambda r, n: (500, {}))
    hook = endpoint(t, url, secret)
    emit(t, 1)
    t.server.drain()
    assert deliveries(t, hook["id"])[0]["attemptCount"] >= 1
    assert enabled(t, hook["id"])["enabled"]

    async def five_days_ago(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            await session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == hook["id"])
                .values(failing_since=datetime.now(UTC) - timedelta(days=5, minutes=1))
            )

    t.server.database.run(five_days_ago)
    with t.server.clock_shifted(timedelta(seconds=1)):  # the next attempt is due
        t.server.drain()
    disabled = enabled(t, hook["id"])
    assert not disabled["enabled"], disabled
    assert disabled["disabledReason"].startswith("Every delivery failed since")
    assert t.events(type="webhook_endpoint.disabled")


def test_rotation_signs_with_both_secrets_during_the_overlap(t: Tenant, receiver: Checker) -> None:
    old = new_secret()
    url = receiver.route(old, ok)
    hook = endpoint(t, url, old)
    r = t.client.post(
        f"/v1/webhookEndpoints/{hook['id']}/rotateSecret", json={"overlapSeconds": 600}
    )
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new.startswith("whsec_") and new != old and r.json()["previousSecretExpiresAt"]
    emit(t, 1)
    settled(t, hook["id"], 1)
    (got,) = receiver.received(url)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(got.body, got.headers)  # receivers on either secret accept it
    Webhook(new).verify(got.body, got.headers)
    # Without an overlap the old secret stops at once.
    r = t.client.post(f"/v1/webhookEndpoints/{hook['id']}/rotateSecret", json={"overlapSeconds": 0})
    newest = r.json()["secret"]
    receiver.routes[url.rsplit("/", 1)[1]].secret = newest
    emit(t, 1)
    settled(t, hook["id"], 2)
    last = receiver.received(url)[-1]
    Webhook(newest).verify(last.body, last.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(last.body, last.headers)


def test_event_type_filters(t: Tenant, receiver: Checker) -> None:
    secret = new_secret()
    exact, prefix = receiver.route(secret, ok), receiver.route(secret, ok)
    a = endpoint(t, exact, secret, eventTypes=["enrollment.created"])
    b = endpoint(t, prefix, secret, eventTypes=["service_task.*"])
    emit(t, 2, "enrollment.updated")
    created = emit(t, 1, "enrollment.created")
    moved = emit(t, 1, "service_task.state_changed")
    settled(t, a["id"], 1)
    settled(t, b["id"], 1)
    assert event_ids(receiver.received(exact)) == created
    assert event_ids(receiver.received(prefix)) == moved
    r = t.client.post(
        "/v1/webhookEndpoints", json={"url": exact, "eventTypes": ["enrollment.nope"]}
    )
    assert r.status_code == 422 and "enrollment.nope" in r.text


def test_test_event_replay_and_manual_retry(
    t: Tenant, receiver: Checker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook_service, "REPLAY_SLICE", 2)  # the server runs in this process
    secret = new_secret()
    fail = {"on": True}
    url = receiver.route(secret, lambda r, n: (500, {}) if fail["on"] else (200, {}))
    other_url = receiver.route(secret, ok)
    hook = endpoint(t, url, secret)
    other = endpoint(t, other_url, secret)
    r = t.client.post(f"/v1/webhookEndpoints/{hook['id']}/test")
    assert r.status_code == 202 and r.json()["eventType"] == "webhook.test"
    delivery_id = r.json()["id"]
    # The schedule runs out: the delivery fails, and a person retries it once it can succeed.
    (failed,) = settled(t, hook["id"], 1)
    assert failed["status"] == "failed" and len(failed["attempts"]) == len(SCHEDULE.split(","))
    fail["on"] = False
    r = t.client.post(f"/v1/webhookDeliveries/{delivery_id}/retry")
    assert r.status_code == 202 and r.json()["status"] == "pending"
    (retried,) = settled(t, hook["id"], 1)
    assert retried["status"] == "succeeded"
    assert receiver.received(url)[-1].json["type"] == "webhook.test"
    assert receiver.received(other_url) == []  # the test event is for its endpoint only
    r = t.client.post(f"/v1/webhookDeliveries/{delivery_id}/retry")
    assert r.status_code == 409 and r.json()["code"] == "delivery_succeeded"
    # Replay: the events since a time, again and in order.
    since = datetime.now(UTC)
    sent = emit(t, 3)
    settled(t, other["id"], 3)
    r = t.client.post(
        f"/v1/webhookEndpoints/{other['id']}/replay", json={"since": since.isoformat()}
    )
    assert r.status_code == 202 and r.json() == {"deliveries": 3}
    settled(t, other["id"], 6)
    assert event_ids(receiver.received(other_url)) == sent + sent
    r = t.client.post(
        f"/v1/webhookEndpoints/{other['id']}/replay",
        json={"since": since.isoformat(), "until": since.isoformat()},
    )
    assert r.status_code == 422


def test_a_replay_queues_slice_by_slice_in_transactions_of_their_own(
    t: Tenant, receiver: Checker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13, E17: a long period is not one long transaction (it would hold back every
    workspace's feed); an Idempotency-Key still answers a repeat with the first response."""
    monkeypatch.setattr(webhook_service, "REPLAY_SLICE", 2)
    sessions: list[int] = []
    queue = webhook_repository.queue_deliveries

    async def recorded(session: Any, target: Any, *args: Any) -> int:
        if target.id == hook["id"]:
            sessions.append(id(session))
        return await queue(session, target, *args)

    secret = new_secret()
    url = receiver.route(secret, ok)
    hook = endpoint(t, url, secret)
    monkeypatch.setattr(webhook_repository, "queue_deliveries", recorded)
    since = datetime.now(UTC)
    sent = emit(t, 5)
    settled(t, hook["id"], 5)
    sessions.clear()  # the delivery loop's own queueing
    body = {"since": since.isoformat()}
    headers = {"Idempotency-Key": f"replay-{uuid.uuid4().hex}"}
    path = f"/v1/webhookEndpoints/{hook['id']}/replay"
    r = t.client.post(path, json=body, headers=headers)
    assert r.status_code == 202 and r.json() == {"deliveries": 5}, r.text
    assert len(set(sessions)) == len(sessions) == 3  # slices of 2, 2, 1: three transactions
    again = t.client.post(path, json=body, headers=headers)
    assert again.status_code == 202 and again.json() == {"deliveries": 5}
    assert again.headers["idempotent-replayed"] == "true"
    settled(t, hook["id"], 10)
    assert event_ids(receiver.received(url)) == sent + sent
    missing = t.client.post(
        f"/v1/webhookEndpoints/missing-{uuid.uuid4().hex[:8]}/replay", json=body
    )
    assert missing.status_code == 404


def test_nothing_from_a_rolled_back_transaction_is_sent(t: Tenant, receiver: Checker) -> None:
    secret = new_secret()
    url = receiver.route(secret, ok)
    hook = endpoint(t, url, secret)

    async def rolled_back(ctx: AppContext) -> None:
        with pytest.raises(RuntimeError):
            async with ctx.db.transaction() as session:
                await events.record(
                    session,
                    workspace_id=t.id,
                    occurred_at=ctx.clock.now(),
                    events=[events.NewEvent(type="enrollment.updated", data={"ghost": True})],
                )
                raise RuntimeError("roll back")

    t.server.database.run(rolled_back)
    sent = emit(t, 1)
    settled(t, hook["id"], 1)
    assert event_ids(receiver.received(url)) == sent


# --- the endpoint API -------------------------------------------------------------------------


def test_endpoint_crud(tenant: Tenant, other_tenant: Tenant) -> None:
    c = tenant.client
    r = c.post(
        "/v1/webhookEndpoints",
        json={"url": "https://hooks.example.invalid/a", "description": "CRM"},
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["secret"].startswith("whsec_") and hook["description"] == "CRM"
    got = c.get(f"/v1/webhookEndpoints/{hook['id']}").json()
    assert "secret" not in got and got["url"] == "https://hooks.example.invalid/a"
    assert [e["id"] for e in c.get("/v1/webhookEndpoints").json()["data"]] == [hook["id"]]
    r = c.patch(
        f"/v1/webhookEndpoints/{hook['id']}",
        json={"description": None, "eventTypes": ["enrollment.*"], "enabled": False},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["description"], r.json()["eventTypes"], r.json()["enabled"]) == (
        None,
        ["enrollment.*"],
        False,
    )
    assert c.get("/v1/webhookEndpoints", params={"enabled": "true"}).json()["data"] == []
    assert other_tenant.client.get(f"/v1/webhookEndpoints/{hook['id']}").status_code == 404
    assert c.get(f"/v1/webhookEndpoints/{hook['id']}/deliveries").json()["data"] == []
    assert c.delete(f"/v1/webhookEndpoints/{hook['id']}").status_code == 204
    assert c.get(f"/v1/webhookEndpoints/{hook['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://x.example"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://a.example", "secret": "nope"}, "secret"),
        ({"url": "https://a.example", "secret": "whsec_c2hvcnQ="}, "secret"),
        ({"url": "https://a.example", "eventTypes": "enrollment.created"}, "eventTypes"),
        ({"url": "https://a.example", "enabled": "maybe"}, "enabled"),
        ({"url": "https://a.example", "extra": 1}, "extra"),
    ],
)
def test_bad_endpoint_bodies(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    r = tenant.client.post("/v1/webhookEndpoints", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in r.json()["errors"]}
    assert tenant.client.get("/v1/webhookEndpoints").json()["data"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.invalid/x",  # plain http
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://192.168.0.10/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://localhost/x",
        # IPv6 forms embedding an IPv4 loopback or private address
        "https://[::127.0.0.1]/x",
        "https://[::ffff:10.0.0.1]/x",
        "https://[64:ff9b::7f00:1]/x",
        "https://[2002:c0a8:1::1]/x",
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x",
    ],
)
def test_ssrf_guard_refuses_non_public_urls(tenant: Tenant, url: str) -> None:
    r = tenant.client.post("/v1/webhookEndpoints", json={"url": url})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "url_refused" and r.json()["errors"][0]["field"] == "url"
    assert tenant.client.get("/v1/webhookEndpoints").json()["data"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[fd00:ec2::254]/latest/meta-data",
        "http://100.100.100.200/latest/meta-data",
        "http://[::ffff:169.254.169.254]/latest/meta-data",
    ],
)
def test_metadata_urls_are_refused_even_with_private_addresses_allowed(t: Tenant, url: str) -> None:
    """hooks_server runs with ENROLL_WEBHOOK_ALLOW_PRIVATE=true."""
    for r in (
        t.client.post("/v1/webhookEndpoints", json={"url": url}),
        t.client.patch(
            f"/v1/webhookEndpoints/{endpoint(t, 'http://127.0.0.1:9/ok', new_secret())['id']}",
            json={"url": url},
        ),
    ):
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "url_refused" and "metadata" in r.json()["errors"][0]["message"]
    assert all(e["url"] != url for e in t.client.get("/v1/webhookEndpoints").json()["data"])


def test_ssrf_guard_refuses_at_delivery_time_too(tenant: Tenant) -> None:
    """A URL that passed the check but points inward at delivery: a failed attempt, no call."""
    r = tenant.client.post("/v1/webhookEndpoints", json={"url": "https://hooks.example.invalid/"})
    hook = r.json()
    listening = Checker()
    try:
        url = listening.route(hook["secret"], ok).replace("http://", "https://")

        async def repoint(ctx: AppContext) -> None:
            async with ctx.db.transaction() as session:
                await session.execute(
                    update(WebhookEndpoint).where(WebhookEndpoint.id == hook["id"]).values(url=url)
                )

        tenant.server.database.run(repoint)
        emit(tenant, 1)
        tenant.server.drain()
        (first,) = deliveries(tenant, hook["id"])
        assert first["attempts"], first
        attempt = first["attempts"][0]
        assert attempt["statusCode"] is None
        assert (
            attempt["error"].startswith("refused:") and "not a public address" in attempt["error"]
        )
        assert listening.received(url.replace("https://", "http://")) == []
    finally:
        listening.close()


def test_unknown_ids_are_404(tenant: Tenant) -> None:
    c = tenant.client
    for method, path in [
        ("GET", "/v1/webhookEndpoints/nope"),
        ("PATCH", "/v1/webhookEndpoints/nope"),
        ("DELETE", "/v1/webhookEndpoints/nope"),
        ("POST", "/v1/webhookEndpoints/nope/rotateSecret"),
        ("POST", "/v1/webhookEndpoints/nope/test"),
        ("GET", "/v1/webhookEndpoints/nope/deliveries"),
        ("GET", "/v1/webhookDeliveries/nope"),
        ("POST", "/v1/webhookDeliveries/nope/retry"),
    ]:
        r = c.request(method, path, json={} if method == "PATCH" else None)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["code"] == "not_found"


def test_webhooks_need_their_scope(tenant: Tenant) -> None:
    key = tenant.key_with("enrollments:read")
    with httpx.Client(
        base_url=tenant.server.base_url, headers={"Authorization": f"Bearer {key}"}
    ) as c:
        r = c.get("/v1/webhookEndpoints")
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"


# --- receiving an event type needs the scope that reads its data ----------------------------


def test_webhooks_manage_alone_cannot_subscribe_to_enrollment_data(tenant: Tenant) -> None:
    """The attack: a webhooks:manage key, refused GET /v1/enrollments, subscribes to
    enrollment.created and replays from 2000-01-01 to receive every enrollment."""
    key = tenant.key_with("webhooks:manage")
    with tenant.server.client(key) as c:
        assert c.get("/v1/enrollments").status_code == 403
        r = c.post(
            "/v1/webhookEndpoints",
            json={
                "url": "https://hooks.example.invalid/steal",
                "eventTypes": ["enrollment.created"],
            },
        )
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "insufficient_scope" and "enrollments:read" in r.json()["detail"]
        for every in ([], ["enrollment.*"]):  # everything, or by prefix: the same scope at least
            r = c.post(
                "/v1/webhookEndpoints",
                json={"url": "https://hooks.example.invalid/all", "eventTypes": every},
            )
            assert r.status_code == 403 and "enrollments:read" in r.json()["detail"], r.text
        assert tenant.client.get("/v1/webhookEndpoints").json()["data"] == []
        # An endpoint someone allowed made: no replay, no subscribing it or moving its url.
        hook = endpoint(
            tenant,
            "https://hooks.example.invalid/crm",
            new_secret(),
            eventTypes=["enrollment.created"],
            enabled=False,
        )
        r = c.post(
            f"/v1/webhookEndpoints/{hook['id']}/replay", json={"since": "2000-01-01T00:00:00Z"}
        )
        assert r.status_code == 403 and "enrollments:read" in r.json()["detail"], r.text
        r = c.patch(
            f"/v1/webhookEndpoints/{hook['id']}", json={"url": "https://hooks.example.invalid/me"}
        )
        assert r.status_code == 403 and "enrollments:read" in r.json()["detail"], r.text
        r = c.patch(f"/v1/webhookEndpoints/{hook['id']}", json={"eventTypes": ["import.*"]})
        assert r.status_code == 403 and "imports:read" in r.json()["detail"], r.text
        assert tenant.client.get(f"/v1/webhookEndpoints/{hook['id']}").json() == {
            k: v for k, v in hook.items() if k != "secret"
        }
        assert (
            tenant.client.get(f"/v1/webhookEndpoints/{hook['id']}/deliveries").json()["data"] == []
        )
        # What carries no workspace data needs nothing more: describing, disabling, testing.
        r = c.patch(f"/v1/webhookEndpoints/{hook['id']}", json={"description": "CRM"})
        assert r.status_code == 200, r.text
        assert c.post(f"/v1/webhookEndpoints/{hook['id']}/test").status_code == 202
    # With the scope of the data, the same requests go through.
    reader = tenant.key_with("webhooks:manage", "enrollments:read")
    with tenant.server.client(reader) as c:
        r = c.post(
            f"/v1/webhookEndpoints/{hook['id']}/replay", json={"since": "2000-01-01T00:00:00Z"}
        )
        assert r.status_code == 202, r.text

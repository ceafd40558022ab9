"""Scope enforcement, route by route: for every operation's ``x-required-scopes``, a key holding
every other workspace scope meets 403 ``insufficient_scope`` and changes nothing; a key holding
exactly the required scopes then succeeds with the same request (so the scope was the only
reason). A webhook shows only the event types the key could read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from enroll.auth.scopes import PLATFORM_SCOPES, WORKSPACE_SCOPES, Scope
from enroll.context import AppContext
from enroll.event import service as events
from enroll.webhook.event_types import READ_SCOPES, WEBHOOK_TEST
from tests.support.rest_matrix import (
    DOCUMENT,
    NO_BODY,
    OPERATIONS,
    SCOPED,
    WRITE_METHODS,
    AuthWorld,
    Call,
    Op,
    State,
    World,
    _op_id,
    _ops,
    _spec,
    assert_problem,
    bearer,
    fresh,
    send,
    served_spec,
    success_status,
)
from tests.support.server import Server, Tenant

# --- 2. scopes ------------------------------------------------------------------------------


@pytest.mark.parametrize("op", _ops(SCOPED))
def test_missing_scope_is_refused_and_the_required_ones_suffice(
    op: Op,
    server: Server,
    http: httpx.Client,
    platform_key: str,
    rest_auth: AuthWorld,
    request: pytest.FixtureRequest,
) -> None:
    spec = served_spec(server, op)
    required: list[str] = spec["x-required-scopes"]
    # Reads change nothing even when allowed, so they share a workspace; writes get their own.
    if op[0] in WRITE_METHODS:
        tenant: Tenant = request.getfixturevalue("tenant")
        w = World(tenant, platform_key)
    else:
        tenant, w = rest_auth.tenant, rest_auth.world
    call = Call(w, op, spec)

    if required:
        # Lacking them all, and (when there are several) lacking each one alone.
        lacking_sets = [set(required)] + ([{s} for s in required] if len(required) > 1 else [])
        lacking_keys = [
            (missing, tenant.key_with(*sorted(WORKSPACE_SCOPES - missing)))
            for missing in lacking_sets
        ]
        state = State(server, http, tenant, reads=State.reads_of(tenant, call))
        for missing, key in lacking_keys:
            problem = assert_problem(call.send(http, bearer(key)), 403, "insufficient_scope")
            for scope in missing:
                assert scope in problem["detail"], problem
        state.assert_unchanged(f"{_op_id(op)} without {required}")

    # The same request with exactly the declared scopes goes through.
    if set(required) & PLATFORM_SCOPES:
        assert set(required) <= PLATFORM_SCOPES, required
        allowed = [platform_key]
    elif required:
        allowed = [tenant.key_with(*required)]
    else:  # any valid key: one with a single unrelated scope, and a platform key
        allowed = [tenant.key_with(Scope.JOBS_READ), platform_key]
    for key in allowed:
        r = call.send(http, bearer(key))
        assert r.status_code == success_status(op, spec), f"{_op_id(op)} with {required}: {r.text}"
        if r.status_code != 204:
            declared = spec["responses"][str(r.status_code)].get("content", {})
            assert r.headers["content-type"].split(";")[0] in (declared or ["application/json"])


# --- 2a. event types: a webhook shows only what the key could read -------------------------


def _endpoint_for(w: World, event_type: str) -> str:
    """A disabled endpoint receiving ``event_type``, made by the workspace's all-scopes key."""
    return str(
        w._create(
            "/v1/webhookEndpoints",
            {
                "url": f"https://hooks-{w.tag}.example.invalid/{fresh()}",
                "enabled": False,
                "eventTypes": [event_type],
            },
        )["id"]
    )


def _delivery_of(w: World, event_type: str) -> str:
    """A (pending) delivery of an event of ``event_type``: written, then replayed (or, for
    ``webhook.test``, which no feed delivers, sent by the test route)."""
    if event_type == WEBHOOK_TEST:
        r = w.c.post(f"/v1/webhookEndpoints/{_endpoint_for(w, event_type)}/test")
        assert r.status_code == 202, r.text
        return str(r.json()["id"])

    async def record(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            await events.record(
                session,
                workspace_id=w.t.id,
                occurred_at=ctx.clock.now(),
                events=[events.NewEvent(type=event_type, data={"n": 1})],
            )

    w.t.server.database.run(record)
    endpoint_id = _endpoint_for(w, event_type)
    r = w.c.post(
        f"/v1/webhookEndpoints/{endpoint_id}/replay", json={"since": "2000-01-01T00:00:00Z"}
    )
    assert r.status_code == 202 and r.json()["deliveries"] >= 1, r.text
    delivery = w.c.get(f"/v1/webhookEndpoints/{endpoint_id}/deliveries").json()["data"][0]
    w.ids.append(delivery["id"])
    return str(delivery["id"])


# For each operation marked x-event-type-scopes: the requests that send (or aim) an event type.
EVENT_TYPE_CALLS: dict[Op, Callable[[World, str], list[tuple[str, Any]]]] = {
    ("POST", "/v1/webhookEndpoints"): lambda w, t: [
        (
            "/v1/webhookEndpoints",
            {"url": "https://hooks.example.invalid/n", "enabled": False, "eventTypes": [t]},
        )
    ],
    ("PATCH", "/v1/webhookEndpoints/{endpoint_id}"): lambda w, t: [
        (f"/v1/webhookEndpoints/{w.new_webhook_endpoint()['id']}", {"eventTypes": [t]}),
        (
            f"/v1/webhookEndpoints/{_endpoint_for(w, t)}",
            {"url": f"https://moved-{fresh()}.example.invalid/in"},
        ),
    ],
    ("POST", "/v1/webhookEndpoints/{endpoint_id}/replay"): lambda w, t: [
        (
            f"/v1/webhookEndpoints/{_endpoint_for(w, t)}/replay",
            {"since": "2000-01-01T00:00:00Z"},
        )
    ],
    ("POST", "/v1/webhookDeliveries/{delivery_id}/retry"): lambda w, t: [
        (f"/v1/webhookDeliveries/{_delivery_of(w, t)}/retry", NO_BODY)
    ],
}
EVENT_SCOPED = [op for op in OPERATIONS if "x-event-type-scopes" in _spec(DOCUMENT, op)]


def test_the_webhook_routes_that_send_data_say_which_scopes_read_it() -> None:
    assert set(EVENT_SCOPED) == set(EVENT_TYPE_CALLS), "mark them (or drop their recipes)"


@pytest.mark.parametrize("op", _ops(EVENT_SCOPED))
def test_event_types_need_the_scope_that_reads_their_data(
    op: Op, server: Server, http: httpx.Client, tenant: Tenant, platform_key: str
) -> None:
    """The webhooks:manage key of x-required-scopes meets 403 naming the scope of each event
    type it would send (x-event-type-scopes); with that scope too, the same request succeeds."""
    spec = served_spec(server, op)
    by_type: dict[str, str] = spec["x-event-type-scopes"]
    assert by_type == {t: s.value for t, s in READ_SCOPES.items()}
    assert set(by_type.values()) <= WORKSPACE_SCOPES
    calls = EVENT_TYPE_CALLS.get(op)
    if calls is None:
        pytest.fail(f"{_op_id(op)} sends event types: add its requests to EVENT_TYPE_CALLS")
    base: list[str] = spec["x-required-scopes"]
    w = World(tenant, platform_key)
    manager = bearer(tenant.key_with(*base))
    readers = {s: bearer(tenant.key_with(*base, s)) for s in set(by_type.values())}
    for event_type, scope in by_type.items():
        for path, body in calls(w, event_type):
            if scope not in base:
                r = send(http, op[0], path, headers=manager, body=body)
                problem = assert_problem(r, 403, "insufficient_scope")
                assert scope in problem["detail"], (event_type, problem)
            r = send(http, op[0], path, headers=readers[scope], body=body)
            assert r.status_code == success_status(op, spec), (event_type, r.text)
    if op == ("POST", "/v1/webhookEndpoints"):  # [] is every type: every scope of them
        every = set(by_type.values()) - set(base)
        for missing in every:
            key = tenant.key_with(*base, *(every - {missing}))
            r = send(http, *op, headers=bearer(key), body={"url": "https://h.example.invalid/"})
            assert missing in assert_problem(r, 403, "insufficient_scope")["detail"]

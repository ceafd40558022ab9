"""Tenant isolation, route by route (the matrices and the world they run in are in
tests/support/rest_matrix.py): workspace B's all-scopes key, given workspace A's ids, meets 404
on every route that takes an id in its path, with a body that cannot be told apart from the
answer for an id that never existed, and A (and B) stay unchanged. B's lists never show A's
data.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from enroll.auth.scopes import Scope
from tests.support.rest_matrix import (
    CORE_PROGRAM,
    DOCUMENT,
    ID_ROUTES,
    LIST_ROUTES,
    OPERATIONS,
    QUERY_KINDS,
    RECIPES,
    Call,
    Op,
    State,
    World,
    _is_id_param,
    _isolation_cases,
    _op_id,
    _ops,
    _path_kind,
    _path_params,
    _query_params,
    _spec,
    assert_problem,
    bearer,
    served_document,
    served_spec,
)
from tests.support.server import Server, Tenant

# --- the document itself --------------------------------------------------------------------


def test_served_document_is_the_one_the_matrices_use(server: Server) -> None:
    served = served_document(server)
    assert served["paths"] == DOCUMENT["paths"]
    assert OPERATIONS, "no operations found"
    scopes = {s.value for s in Scope}
    for op in OPERATIONS:
        spec = _spec(served, op)
        # Every route of the API needs a key: an operation without these would escape the
        # scope and authentication matrices below.
        assert spec.get("security") == [{"bearerAuth": []}], f"{_op_id(op)}: {spec.get('security')}"
        required = spec.get("x-required-scopes")
        assert isinstance(required, list), f"{_op_id(op)} declares no x-required-scopes"
        assert set(required) <= scopes, f"{_op_id(op)}: unknown scopes {required}"
        for name in _query_params(spec):
            if _is_id_param(name):
                assert name in QUERY_KINDS, f"{_op_id(op)}: add id filter {name!r} to QUERY_KINDS"
    for op in ID_ROUTES:
        for param in _path_params(op[1]):
            _path_kind(op[1], param)
    stale = set(RECIPES) - set(OPERATIONS)
    assert not stale, f"RECIPES names operations that no longer exist: {stale}"


# --- 1. tenant isolation --------------------------------------------------------------------


def _normalized(text: str, values: dict[str, str]) -> Any:
    for param, value in values.items():
        text = text.replace(value, f"<{param}>")
    return text


@pytest.mark.parametrize(("op", "variant"), _isolation_cases())
def test_other_workspace_ids_are_not_found(
    op: Op,
    variant: str,
    server: Server,
    http: httpx.Client,
    tenant: Tenant,
    other_tenant: Tenant,
    platform_key: str,
) -> None:
    spec = served_spec(server, op)
    a = World(tenant, platform_key)
    call = Call(a, op, spec)  # makes what the route names (a whole World per route is slow)
    a.instance, a.enrollment, a.customer  # noqa: B018 - and the core resources beside them
    a.settle()
    b_headers = bearer(other_tenant.key)
    # B holds data of its own, so "unchanged" also means nothing was created or moved in B.
    other_tenant.enroll(other_tenant.instance()["id"])
    state = State(server, http, tenant, other_tenant, reads=State.reads_of(tenant, call))

    values = call.values(variant)
    r = call.send(http, b_headers, values)
    problem = assert_problem(r, 404, "not_found")
    assert "location" not in r.headers

    # The answer is the one for an id that exists nowhere: nothing tells B that A's id exists.
    fake = call.fake_values()
    never = call.send(http, b_headers, fake)
    assert_problem(never, 404, "not_found")
    assert _normalized(r.text, values) == _normalized(never.text, fake)
    assert problem["instance"] == r.request.url.path
    # Beyond echoing the requested path, the body holds nothing of A.
    assert a.leaks(_normalized(r.text, values)) == []
    state.assert_unchanged(f"{_op_id(op)} by workspace B")

    # A's key that B named is still good.
    if "api_key" in call.kinds.values():
        assert http.get("/v1/enrollments", headers=bearer(a.key["apiKey"])).status_code == 200


def _list_queries(spec: dict[str, Any], a: World) -> list[dict[str, str]]:
    """The filters B tries: none, and each filter set to something of A's."""
    names = _query_params(spec)
    queries: list[dict[str, str]] = [{}]
    for name in names:
        if _is_id_param(name):
            kind = QUERY_KINDS.get(name)
            if kind is None:
                pytest.fail(f"{spec['operationId']}: add the id filter {name!r} to QUERY_KINDS")
            queries.append({name: a.sample(kind)})
        elif name == "email":
            queries += [
                {name: a.customer["email"]},
                {name: a.lead["email"]},
                {name: a.enrollment["email"]},
            ]
        elif name == "transactionId":  # A's request, by the id its caller gave it
            queries.append({name: a.enrollment_task["transactionId"]})
        elif name == "cursor":  # keyset cursors are base64 ids: try one of A's
            encoded = base64.urlsafe_b64encode(a.instance["id"].encode()).decode().rstrip("=")
            queries.append({name: encoded})
    return queries


def read_all(
    http: httpx.Client, op: Op, spec: dict[str, Any], key: str, query: dict[str, str]
) -> tuple[list[Any], str]:
    """Every item a list route gives this key, following its cursors to the end.

    Returns the items and every page's raw text (searched for traces of another workspace).
    """
    names = _query_params(spec)
    params: dict[str, Any] = dict(query)
    feed = "after" in names  # an event feed: follow `after` until a page comes back empty
    if feed and "limit" in names:
        params["limit"] = 500
    elif "perPage" in names:
        params["perPage"] = 100
    items: list[Any] = []
    texts: list[str] = []
    for _ in range(10_000):
        r = http.get(op[1], headers=bearer(key), params=params)
        assert r.status_code == 200, f"{_op_id(op)} {params}: {r.text}"
        texts.append(r.text)
        body = r.json()
        items += body["data"]
        cursor = body.get("nextCursor")
        if feed and body["data"]:
            params["after"] = cursor
        elif not feed and cursor and "cursor" in names:
            params["cursor"] = cursor
        else:
            return items, "\n".join(texts)
    raise AssertionError(f"{_op_id(op)}: the cursor never ends")


def _shows(http: httpx.Client, op: Op, spec: dict[str, Any], key: str, ids: list[str]) -> None:
    """The route shows the workspace its data (the feed once it has settled: PostgreSQL holds
    back events while older transactions run)."""
    _, text = read_all(http, op, spec, key, {})
    assert any(i in text for i in ids), f"{_op_id(op)} never shows the workspace its data"


@pytest.mark.parametrize("op", _ops(LIST_ROUTES))
def test_other_workspace_lists_show_nothing_of_a(
    op: Op,
    server: Server,
    http: httpx.Client,
    tenant: Tenant,
    other_tenant: Tenant,
    platform_key: str,
) -> None:
    spec = served_spec(server, op)
    a = World(tenant, platform_key).complete()
    b = World(other_tenant, platform_key).complete()
    a.add_finished_job()
    b.add_finished_job()
    # Each workspace sees its own data through the route, so B seeing none of A's means something.
    server.database.settle()
    _shows(http, op, spec, tenant.key, a.ids)
    _shows(http, op, spec, other_tenant.key, b.ids)

    for query in _list_queries(spec, a):
        items, text = read_all(http, op, spec, other_tenant.key, query)
        assert a.leaks(text) == [], f"{_op_id(op)} {query} shows A's data"
        kind = QUERY_KINDS.get(next(iter(query), ""))
        if query and kind != "program" and "cursor" not in query:
            # Filtering on something of A's matches nothing of B's either.
            assert items == [], f"{_op_id(op)} {query}: {text}"


def test_program_instances_filtered_by_program_show_only_own(
    server: Server,
    http: httpx.Client,
    tenant: Tenant,
    other_tenant: Tenant,
    platform_key: str,
) -> None:
    """programId is a platform id both workspaces use: each sees only its own instances."""
    a, b = World(tenant, platform_key).complete(), World(other_tenant, platform_key).complete()
    r = http.get(
        "/v1/programInstances",
        headers=bearer(other_tenant.key),
        params={"programId": a.program["id"], "perPage": 100},
    )
    assert r.status_code == 200, r.text
    assert sorted(i["id"] for i in r.json()["data"]) == sorted(
        [b.instance["id"], b.setup_instance["id"]]
    )
    assert a.leaks(r.text) == []


def test_enrollment_body_references_do_not_cross_workspaces(
    server: Server,
    http: httpx.Client,
    tenant: Tenant,
    other_tenant: Tenant,
    platform_key: str,
) -> None:
    """Enrolling in B by A's customer, lead or enrollment id finds nothing (and copies nothing)."""
    a = World(tenant, platform_key).complete()
    b_instance = other_tenant.instance()
    state = State(server, http, tenant, other_tenant)
    for kind, field, ref in (
        ("customerId", "customerId", a.customer["id"]),
        ("leadId", "leadId", a.lead["id"]),
        ("enrollmentId", "enrollmentId", a.enrollment["id"]),
    ):
        r = other_tenant.client.post(
            f"/v1/programInstances/{b_instance['id']}/enrollments",
            json={"identificationType": kind, field: ref},
        )
        assert_problem(r, 404, "not_found")
        assert a.leaks(r.text.replace(ref, "<ref>")) == [], r.text
    state.assert_unchanged("enrolling in B by A's references")


def test_programs_catalog_is_readable_by_every_workspace(
    server: Server,
    http: httpx.Client,
    tenant: Tenant,
    other_tenant: Tenant,
    platform_key: str,
) -> None:
    a = World(tenant, platform_key)
    program = a.own_program()
    for key in (tenant.key, other_tenant.key, other_tenant.key_with(Scope.JOBS_READ)):
        listed = http.get("/v1/programs", headers=bearer(key), params={"perPage": 100})
        assert listed.status_code == 200, listed.text
        slugs = {p["slug"] for p in listed.json()["data"]}
        assert {CORE_PROGRAM, program["slug"]} <= slugs
        for ref in (program["id"], program["slug"]):
            r = http.get(f"/v1/programs/{ref}", headers=bearer(key))
            assert r.status_code == 200, r.text
            assert r.json() == program

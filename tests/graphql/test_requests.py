"""A GraphQL request as a whole, over real HTTP: one transaction per request, errors with REST's
codes, the document limits, the transport, the number of SQL statements a nested page costs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import GraphQLError
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from enroll.graphql import limits
from enroll.graphql.errors import format_error
from tests.support.graphql import CREATE_ENROLLMENT, data, error, fields_of, gql, person, rest
from tests.support.helpers import uniq
from tests.support.server import Database, Server, Tenant, make_tenant, start_server

# --- one transaction per request ------------------------------------------------------------


def test_a_failed_mutation_rolls_back_the_whole_request(tenant: Tenant) -> None:
    instance = tenant.instance()
    query = """mutation($instance: ID!, $input: EnrollmentCreateInput!, $missing: ID!) {
      created: createEnrollment(programInstanceId: $instance, input: $input) { id }
      failed: submitEnrollment(id: $missing) { id }
      skipped: cancelEnrollment(id: $missing) { id }
    }"""
    body = gql(tenant.client, query, instance=instance["id"], input=person(), missing="c" + uniq())
    assert body["data"] is None  # nothing the request reported happened
    codes = {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}
    assert codes == {("failed",): "not_found"}  # and nothing after it ran
    assert rest(tenant.client, "GET", "/v1/enrollments")["totalItems"] == 0
    assert rest(tenant.client, "GET", "/v1/customers")["totalItems"] == 0

    both = """mutation($instance: ID!, $one: EnrollmentCreateInput!,
                        $two: EnrollmentCreateInput!) {
      created: createEnrollment(programInstanceId: $instance, input: $one) { id }
      again: createEnrollment(programInstanceId: $instance, input: $two) { id }
    }"""
    ok = gql(tenant.client, both, instance=instance["id"], one=person(), two=person())
    made = data(ok)
    assert rest(tenant.client, "GET", "/v1/enrollments")["totalItems"] == 2
    assert made["created"]["id"] != made["again"]["id"]


def test_a_mutation_selecting_what_the_key_may_not_read_runs_nothing(tenant: Tenant) -> None:
    """A mutation that committed and then met a nested field the key may not read answered
    ``data: null`` (which says nothing happened) or a half answer. The scopes of the whole
    selection, fragments too, are checked before any mutation runs: refused, nothing runs."""
    key = tenant.key_with("enrollments:write")
    instance = tenant.instance()
    mutation = """mutation($i: ID!, $input: EnrollmentCreateInput!) {
      createEnrollment(programInstanceId: $i, input: $input) { id %s } }"""
    selections = {
        "history { action }": ["enrollments:read", "createEnrollment.history"],
        "customer { id }": ["customers:read", "createEnrollment.customer"],
        "...F } } fragment F on Enrollment { programInstance { id": [
            "program_instances:read",
            "createEnrollment.programInstance",
        ],
    }
    with tenant.server.client(key) as client:
        for selection, named in selections.items():
            body = gql(client, mutation % selection, i=instance["id"], input=person())
            err = error(body, "insufficient_scope", 403)
            assert body["data"] is None
            assert "path" not in err  # the operation is refused, not a field
            assert all(n in err["message"] for n in named), err
        assert rest(tenant.client, "GET", "/v1/enrollments")["totalItems"] == 0
        # Two mutations, the second selecting what the key may not read: neither runs.
        both = """mutation($i: ID!, $a: EnrollmentCreateInput!, $b: EnrollmentCreateInput!) {
          a: createEnrollment(programInstanceId: $i, input: $a) { id }
          b: createEnrollment(programInstanceId: $i, input: $b) { id customer { id } } }"""
        error(gql(client, both, i=instance["id"], a=person(), b=person()), "insufficient_scope")
        assert rest(tenant.client, "GET", "/v1/enrollments")["totalItems"] == 0
        # What it may read is answered, and committed.
        ok = gql(client, mutation % "status", i=instance["id"], input=person())
        assert data(ok)["createEnrollment"]["status"] == "eligible"
    assert rest(tenant.client, "GET", "/v1/enrollments")["totalItems"] == 1
    with tenant.server.client("enr_nope") as client:
        refused = gql(client, mutation % "", i=instance["id"], input=person())
        error(refused, "unauthorized", 401)


def test_a_query_still_answers_what_the_key_may_read(tenant: Tenant) -> None:
    """Queries change nothing: a field the key may not read is null with its error, the rest
    of the answer stands."""
    key = tenant.key_with("enrollments:read")
    enrollment = tenant.enroll(tenant.instance()["id"])
    with tenant.server.client(key) as client:
        body = gql(
            client,
            "query($id: ID!) { enrollment(id: $id) { id customer { id } } }",
            id=enrollment["id"],
        )
    err = error(body, "insufficient_scope", 403)
    assert err["path"] == ["enrollment", "customer"]
    assert body["data"]["enrollment"] == {"id": enrollment["id"], "customer": None}


# --- request errors, limits, transport ------------------------------------------------------


def test_document_errors_have_codes(tenant: Tenant) -> None:
    c = tenant.client
    syntax = gql(c, "{ enrollment(id: ")
    assert error(syntax, "malformed_query", 400)["extensions"]["detail"].startswith("Syntax Error")
    assert syntax["data"] is None
    error(gql(c, "{ enrollment(id: 1) { nope } }"), "validation_error", 422)
    error(gql(c, "query($id: ID!) { enrollment(id: $id) { id } }"), "validation_error", 422)
    error(
        gql(c, "query($f: Int!) { enrollments(first: $f) { pageInfo { hasNextPage } } }", f="many"),
        "validation_error",
        422,
    )


def test_nul_characters_are_refused_before_the_database(tenant: Tenant) -> None:
    """PostgreSQL cannot hold or compare U+0000: an id with one names nothing (REST: 404 for
    a path id), other text is invalid (REST: 422 for a query parameter)."""
    c = tenant.client
    one = "query($id: ID!) { enrollment(id: $id) { id } }"
    error(gql(c, one, id="c\x00x"), "not_found", 404)
    by_slug = "query($s: String!) { programInstance(slug: $s) { id } }"
    error(gql(c, by_slug, s="i-\x00"), "not_found", 404)
    enroll_in = gql(c, CREATE_ENROLLMENT, instance="i\x00", input=person())
    error(enroll_in, "not_found", 404)
    states = "query($s: String) { programs(state: $s) { totalCount } }"
    assert fields_of(error(gql(c, states, s="N\x00Y"), "validation_error", 422)) == ["state"]
    kinds = "query($t: String) { events(type: $t) { nextCursor } }"
    assert fields_of(error(gql(c, kinds, t="x\x00"), "validation_error", 422)) == ["type"]
    tags = "query($t: String) { enrollments(tag: $t) { totalCount } }"
    assert fields_of(error(gql(c, tags, t="x\x00"), "validation_error", 422)) == ["tag"]


def test_database_failures_and_bugs_map_as_in_rest() -> None:
    """What REST's handlers answer for a lost race and for a bug (a failing flush or commit
    in a mutation becomes such an error; the request is then rolled back)."""
    stale = format_error(GraphQLError("x", path=["m"], original_error=StaleDataError("s")))
    assert stale["extensions"]["code"] == "concurrent_modification"
    assert stale["extensions"]["status"] == 409
    clash = IntegrityError("INSERT", {}, Exception("unique"))
    assert format_error(GraphQLError("x", original_error=clash))["extensions"]["code"] == "conflict"
    bug = format_error(GraphQLError("secret detail", path=["q"], original_error=KeyError("k")))
    assert bug["message"] == "Internal server error" and "secret" not in json.dumps(bug)
    assert bug["extensions"]["code"] == "internal_error" and bug["extensions"]["status"] == 500


def _source_chain(depth: int) -> str:
    inner = "id"
    for _ in range(depth):
        inner = f"sourceEnrollment {{ {inner} }}"
    return f'{{ enrollment(id: "x") {{ {inner} }} }}'


def test_depth_limit(tenant: Tenant) -> None:
    # enrollment (depth 0) > n sourceEnrollment > id: n + 1 levels below the root field.
    allowed = gql(tenant.client, _source_chain(limits.MAX_DEPTH - 1))
    error(allowed, "not_found", 404)  # it ran
    refused = gql(tenant.client, _source_chain(limits.MAX_DEPTH))
    err = error(refused, "query_too_deep", 400)
    assert str(limits.MAX_DEPTH) in err["message"]
    assert refused["data"] is None


def test_complexity_limits(tenant: Tenant) -> None:
    c = tenant.client
    node = (
        "edges { node { id status customer { id email } programInstance { id program { id } } } }"
    )
    one = f"enrollments(first: 100) {{ {node} }}"
    data(gql(c, f"{{ {one} }}"))
    # Each alias of the page costs ~1,000: ten of them are over the cost limit.
    costly = gql(c, "{ " + " ".join(f"p{i}: {one}" for i in range(10)) + " }")
    err = error(costly, "query_too_complex", 400)
    assert "costs" in err["message"] and costly["data"] is None
    # A variable counts as the largest page.
    variable = gql(
        c,
        "query($f: Int!) { "
        + " ".join(f"p{i}: enrollments(first: $f) {{ {node} }}" for i in range(10))
        + " }",
        f=1,
    )
    error(variable, "query_too_complex", 400)
    aliases = gql(
        c,
        "{ "
        + " ".join(f'a{i}: program(slug: "x") {{ id }}' for i in range(limits.MAX_ALIASES + 1))
        + " }",
    )
    error(aliases, "query_too_complex", 400)
    tokens = gql(c, '{ program(slug: "x") { ' + "id " * limits.MAX_TOKENS + "} }")
    error(tokens, "query_too_complex", 400)


def test_transport(server: Server, tenant: Tenant) -> None:
    c = tenant.client
    ide = c.get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200 and "graphiql" in ide.text.lower()
    via_get = c.get("/graphql", params={"query": '{ program(slug: "core-test-program") { slug } }'})
    assert via_get.json() == {"data": {"program": {"slug": "core-test-program"}}}
    mutation = c.get("/graphql", params={"query": 'mutation { cancelEnrollment(id: "x") { id } }'})
    assert mutation.status_code == 400 and mutation.json()["code"] == "bad_request"
    broken = c.post("/graphql", content=b"{nope", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert broken.headers["content-type"].startswith("application/problem+json")
    assert broken.json()["code"] == "malformed_json"
    assert "/graphql" not in c.get("/openapi.json").json()["paths"]


def test_a_body_nested_100000_levels_is_malformed_json(tenant: Tenant) -> None:
    """Python's JSON parser recurses: such a body raised RecursionError and answered 500.
    It answers 400 ``malformed_json`` (REST answers 400 too), whether the body, its variables
    or the GET form's variables nest so."""
    c = tenant.client
    deep = "[" * 100_000 + "]" * 100_000
    bodies = [
        deep,
        '{"query": "{ programs { totalCount } }", "variables": {"v": ' + deep + "}}",
    ]
    answers = [
        c.post("/graphql", content=body, headers={"Content-Type": "application/json"})
        for body in bodies
    ]
    get_form = {"query": "{ programs { totalCount } }", "variables": "[" * 5000 + "]" * 5000}
    answers.append(c.get("/graphql", params=get_form))  # as deep as a URL may be
    for r in answers:
        where = f"{r.request.method} {r.request.url.path}"
        assert r.status_code == 400, (where, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), where
        assert r.json()["code"] == "malformed_json", (where, r.text)


# --- no N+1 ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quiet_server(database: Database, platform_key: str) -> Iterator[Server]:
    """A server of its own (same database) without the embedded worker, so every statement
    on its engine comes from the requests under test."""
    srv = start_server(database)
    yield srv
    srv.stop()


class StatementCounter:
    def __init__(self, server: Server) -> None:
        self.engine = server._server.config.app.state.ctx.db.engine.sync_engine
        self.statements: list[str] = []
        self._lock = threading.Lock()

    def _count(self, *args: Any) -> None:
        with self._lock:
            self.statements.append(args[2])

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def test_nested_page_costs_a_constant_number_of_statements(quiet_server: Server) -> None:
    tenant = make_tenant(quiet_server)
    try:
        instance = tenant.instance()
        for _ in range(100):
            tenant.enroll(instance["id"])
        query = """query($first: Int!) { enrollments(first: $first) {
          edges { node { id status
            programInstance { id name program { id slug } }
            customer { id email } } }
          pageInfo { hasNextPage } } }"""
        data(gql(tenant.client, query, first=1))  # authenticates: the key is cached afterwards
        quiet_server.drain()  # and its last use is recorded in the background
        counts = {}
        for first in (10, 100):
            with StatementCounter(quiet_server) as counter:
                page = data(gql(tenant.client, query, first=first))["enrollments"]["edges"]
            assert len(page) == first
            assert all(
                e["node"]["customer"] and e["node"]["programInstance"]["program"] for e in page
            )
            counts[first] = counter.statements
        assert len(counts[10]) == len(counts[100])
        # BEGIN (SQLite), the page, the instances (their programs joined), the customers.
        assert len(counts[100]) <= 4, counts[100]
    finally:
        tenant.client.close()

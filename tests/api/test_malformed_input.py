"""Malformed input that once answered 500 or lost good rows (issue 13, C7, C8 and C10): JSON
nested too deep, lone surrogates and times out of range are refused with a 422 naming the
field, through REST bodies and query strings, GraphQL and imports, on both databases."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from enroll.kit.schemas import METADATA_DEPTH
from enroll.servicetask.steps.command import command_answer
from tests.support.graphql import error, fields_of, gql
from tests.support.imports import jsonl, person, results, run_import
from tests.support.server import Tenant

PROBLEM_JSON = "application/problem+json"
CREATE_ENROLLMENT = """mutation($i: ID!, $input: EnrollmentCreateInput!) {
  createEnrollment(programInstanceId: $i, input: $input) { id } }"""


def nested(levels: int) -> dict[str, Any]:
    """``levels`` objects inside each other: ``{"a": {"a": … 1}}``."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    result: dict[str, Any] = value
    return result


def refused(r: httpx.Response, fields: list[str]) -> None:
    where = f"{r.request.method} {r.request.url}"
    assert r.status_code == 422, (where, r.text)
    assert r.headers["content-type"] == PROBLEM_JSON, where
    assert r.json()["code"] == "validation_error", where
    assert [e["field"] for e in r.json()["errors"]] == fields, (where, r.text)


def post_raw(client: httpx.Client, path: str, body: str) -> httpx.Response:
    """A JSON body written by hand: escapes such as a lone ``\\ud800`` go out as written."""
    return client.post(path, content=body.encode(), headers={"Content-Type": "application/json"})


def email() -> str:
    return f"pat.{uuid.uuid4().hex[:10]}@example.com"


# --- C7: nesting ----------------------------------------------------------------------------


def test_json_nested_260_levels_is_refused_naming_the_field(tenant: Tenant) -> None:
    """Nested 260 levels, ``metadata`` reached the JSON encoder and answered 500."""
    c = tenant.client
    instance = tenant.instance()
    enrollments = f"/v1/programInstances/{instance['id']}/enrollments"
    base = {"identificationType": "customerInfo", "firstName": "Pat", "lastName": "Doe"}
    refused(
        c.post(enrollments, json=base | {"email": email(), "metadata": nested(260)}), ["metadata"]
    )
    refused(c.post("/v1/leads", json={"email": email(), "metadata": nested(260)}), ["metadata"])
    refused(
        c.patch(f"/v1/programInstances/{instance['id']}", json={"metadata": nested(260)}),
        ["metadata"],
    )
    deep_rule = {"id": "deep", "description": "d", "reason": "r", "rule": {"!!": [nested(260)]}}
    refused(
        c.patch(
            f"/v1/programInstances/{instance['id']}", json={"eligibilityCriteria": [deep_rule]}
        ),
        ["eligibilityCriteria.0.rule"],
    )
    lists: Any = []
    for _ in range(300):
        lists = [lists]
    refused(
        c.post(enrollments, json=base | {"email": email(), "metadata": {"l": lists}}), ["metadata"]
    )
    # At the bound, it is kept and read back as sent.
    at_bound = nested(METADATA_DEPTH)  # metadata's own object is the first level
    made = c.post(enrollments, json=base | {"email": email(), "metadata": at_bound})
    assert made.status_code == 201, made.text
    assert c.get(f"/v1/enrollments/{made.json()['id']}").json()["metadata"] == at_bound
    refused(
        c.post(enrollments, json=base | {"email": email(), "metadata": nested(METADATA_DEPTH + 1)}),
        ["metadata"],
    )
    assert c.get(enrollments).json()["totalItems"] == 1


def test_graphql_json_nested_260_levels_is_refused(tenant: Tenant) -> None:
    instance = tenant.instance()
    input_ = {
        "identificationType": "customerInfo",
        "firstName": "Pat",
        "lastName": "Doe",
        "email": email(),
        "metadata": nested(260),
    }
    body = gql(tenant.client, CREATE_ENROLLMENT, i=instance["id"], input=input_)
    assert fields_of(error(body, "validation_error", 422)) == ["metadata"]
    assert body["data"] is None
    listed = tenant.client.get(f"/v1/programInstances/{instance['id']}/enrollments")
    assert listed.json()["totalItems"] == 0


def test_an_import_row_nested_too_deep_is_invalid_alone(tenant: Tenant) -> None:
    """One such JSON Lines row failed the whole import with all its valid rows."""
    instance = tenant.instance()
    deep = json.dumps(person(metadata=nested(260))).encode()  # orjson stops at 255 levels
    done = run_import(tenant, instance["id"], jsonl([person(), deep, person()]))
    assert done["status"] == "completed", done
    assert done["counts"]["created"] == 2, done
    assert done["counts"]["invalid"] == 1, done
    rows = {r["row"]: r for r in results(tenant, done["id"])}
    assert [rows[n]["outcome"] for n in (1, 2, 3)] == ["created", "invalid", "created"], rows
    assert [e["field"] for e in rows[2]["errors"]] == ["metadata"], rows[2]


def test_a_device_command_answer_too_deep_keeps_its_verdict() -> None:
    """The device-command endpoint's answer is stored on the action: a part nested too deep to
    store is dropped, the verdict and message are kept."""
    deep = b'{"a":' * 300 + b"1" + b"}" * 300
    answer = b'{"status": "succeeded", "message": "done", "detail": ' + deep + b"}"
    assert command_answer(200, answer) == (True, {"status": "succeeded", "message": "done"}, "done")


# --- C8: lone surrogates ----------------------------------------------------------------------


def test_lone_surrogates_are_refused_like_nul(tenant: Tenant) -> None:
    """``"a\\ud800b"`` (sent as the JSON escape) in a rule string or any text field answered
    500: no database and no JSON writer can keep it."""
    c = tenant.client
    instance = tenant.instance()
    path = f"/v1/programInstances/{instance['id']}"
    rule = (
        '{"eligibilityCriteria": [{"id": "s", "description": "d", "reason": "r",'
        ' "rule": {"==": [{"var": "address.state"}, "a\\ud800b"]}}]}'
    )
    refused(
        c.patch(path, content=rule.encode(), headers={"Content-Type": "application/json"}),
        ["eligibilityCriteria.0.rule"],
    )
    refused(
        post_raw(c, "/v1/leads", f'{{"email": "{email()}", "metadata": {{"k": "a\\ud800b"}}}}'),
        ["metadata"],
    )
    refused(
        post_raw(c, "/v1/leads", f'{{"email": "{email()}", "metadata": {{"a\\ud800b": 1}}}}'),
        ["metadata"],
    )
    refused(
        post_raw(
            c,
            f"{path}/enrollments",
            '{"identificationType": "customerInfo", "firstName": "a\\ud800b", "lastName": "b",'
            f' "email": "{email()}"}}',
        ),
        ["firstName"],
    )
    refused(
        post_raw(
            c,
            "/v1/programInstances",
            '{"programSlug": "core-test-program", "slug": "s-x", "name": "a\\ud800b"}',
        ),
        ["name"],
    )
    enrollment = tenant.enroll(instance["id"])
    tags = c.patch(
        f"/v1/enrollments/{enrollment['id']}",
        content=b'{"tags": ["a\\ud800b"]}',
        headers={"Content-Type": "application/json"},
    )
    refused(tags, ["tags.0"])
    # A query string can only carry it as bytes that are not UTF-8 (what Python would write).
    r = c.get("/v1/enrollments?tag=a%ED%A0%80b")
    refused(r, ["tag"])
    assert c.get("/v1/enrollments/a%ED%A0%80b").status_code == 404  # an id naming nothing
    assert c.get(f"{path}/enrollments").json()["totalItems"] == 1
    assert c.get(path).json()["eligibilityCriteria"] == instance["eligibilityCriteria"]


def test_graphql_lone_surrogates_are_refused(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance()

    def send(query: str, variables: str) -> dict[str, Any]:
        r = post_raw(c, "/graphql", f'{{"query": "{query}", "variables": {variables}}}')
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    tags = "query($t: String) { enrollments(tag: $t) { totalCount } }"
    body = send(tags, '{"t": "a\\ud800b"}')
    assert fields_of(error(body, "validation_error", 422)) == ["t"]
    assert body["data"] is None
    create = CREATE_ENROLLMENT.replace("\n", " ")
    person_ = (
        '{"identificationType": "customerInfo", "firstName": "Pat", "lastName": "Doe",'
        f' "email": "{email()}", "metadata": {{"k": ["a\\ud800b"]}}}}'
    )
    body = send(create, f'{{"i": "{instance["id"]}", "input": {person_}}}')
    assert fields_of(error(body, "validation_error", 422)) == ["input"]
    literal = send('{ enrollments(tag: \\"a\\\\ud800b\\") { totalCount } }', "{}")
    error(literal, "malformed_query", 400)
    assert c.get(f"/v1/programInstances/{instance['id']}/enrollments").json()["totalItems"] == 0


# --- C10: times out of range ----------------------------------------------------------------


def test_times_out_of_range_are_refused(tenant: Tenant) -> None:
    """``0001-01-01T00:00:00+14:00`` is before the first instant Python can hold in UTC: the
    replay answered 500 (OverflowError)."""
    c = tenant.client
    made = c.post(
        "/v1/webhookEndpoints",
        json={"url": "https://example.com/hook", "eventTypes": ["enrollment.created"]},
    )
    assert made.status_code == 201, made.text
    replay = f"/v1/webhookEndpoints/{made.json()['id']}/replay"
    refused(c.post(replay, json={"since": "0001-01-01T00:00:00+14:00"}), ["since"])
    refused(
        c.post(
            replay, json={"since": "2020-01-01T00:00:00Z", "until": "9999-12-31T23:59:59-05:00"}
        ),
        ["until"],
    )
    # Without an offset a time is UTC, as everywhere else.
    naive = c.post(replay, json={"since": "2020-01-01T00:00:00"})
    assert naive.status_code == 202, naive.text
    body = gql(
        c,
        "query($a: DateTime) { enrollments(createdAfter: $a) { totalCount } }",
        a="0001-01-01T00:00:00+14:00",
    )
    error(body, "validation_error", 422)


def test_every_request_time_is_a_timestamp() -> None:
    """Every datetime a request body accepts is kit's Timestamp (offset-less means UTC, and in
    range once converted), so a field added later cannot bring the overflow back."""
    import enroll.app  # noqa: F401  (imports every schema module)
    from enroll.kit.schemas import ApiModel

    seen = []
    stack = list(ApiModel.__subclasses__())
    while stack:
        model = stack.pop()
        stack.extend(model.__subclasses__())
        for name, info in model.model_fields.items():
            annotation = repr(info.annotation) + repr(info.metadata)
            if "datetime.datetime" in annotation:
                seen.append(f"{model.__name__}.{name}")
                assert "_as_utc" in annotation, f"{model.__name__}.{name} is no Timestamp"
    assert {"ApiKeyCreate.expires_at", "Replay.since", "Replay.until"} <= set(seen), seen


def test_null_lists_and_objects_on_a_create_are_empty_not_a_500(tenant: Tenant) -> None:
    """Schemathesis found it: `"tags": null` (or metadata, manufacturerSlugs) on a create
    reached the response model as None."""
    instance = tenant.instance()
    body = {"identificationType": "customerInfo", **person()}
    body |= {"tags": None, "metadata": None, "manufacturerSlugs": None}
    r = tenant.client.post(f"/v1/programInstances/{instance['id']}/enrollments", json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["tags"], made["metadata"], made["manufacturerSlugs"]) == ([], {}, [])


def test_a_webhook_host_idna_cannot_encode_is_not_a_500(tenant: Tenant) -> None:
    """Schemathesis found it: a host label over 63 characters made the resolver raise
    UnicodeError. It resolves to nothing, so it is saved like any name that does not
    resolve now (delivery checks again)."""
    url = f"https://{'a' * 70}.example.com/hook"
    r = tenant.client.post("/v1/webhookEndpoints", json={"url": url})
    assert r.status_code == 201, r.text

"""The GraphQL API over real HTTP: every query and mutation against the REST answers for the
same objects, cursor pagination, errors with REST's codes, one transaction per request, the
number of SQL statements a nested page costs, and the document limits.

Isolation, scopes and authentication are in test_isolation.py.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from enroll.graphql import limits
from enroll.graphql.errors import format_error
from graphql import GraphQLError
from tests.support.server import Database, Server, Tenant, make_tenant, start_server

ADDRESS = "address { streetOne streetTwo city state postalCode country }"
ENROLLMENT = f"""
  id identificationType programInstanceId leadId customerId enrollmentId
  firstName lastName email phone {ADDRESS}
  manufacturerSlugs metadata meta serialNumber referenceId referenceDescription tags
  enrollmentStartDate status eligibilityStatus eligibilityReason
  eligibility {{ status reason programInstanceId checks criteriaVersion evaluatedAt }}
  needsReview needsReviewReason version createdAt updatedAt
"""
PROGRAM = """
  id slug name description type category states manufacturerSlugs active year metadata
  eligibilityCriteria version createdAt updatedAt
"""
INSTANCE = """
  id programId slug name description branding terms startDate endDate capacity reviewMode
  reenrollmentPolicy screening status metadata eligibilityCriteria setupWorkflow criteriaVersion
  version createdAt updatedAt
"""
CUSTOMER = (
    f"id firstName lastName email phone {ADDRESS} metadata notificationsOptOut version createdAt "
    "updatedAt"
)
SERVICE_TASK = """
  id kind origin transactionId state errors { code message field } allowedOperations
  programInstanceId enrollmentId customerId subscriptionId deviceLocationId deviceIds
  setupActions { id taskId type sequence status attempts message result startedAt finishedAt }
  request expiresAt finishedAt version createdAt updatedAt
"""


# --- helpers --------------------------------------------------------------------------------


def uniq() -> str:
    return uuid.uuid4().hex[:10]


def gql(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    """The body of a GraphQL request (always HTTP 200 with a JSON body)."""
    r = client.post("/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body: dict[str, Any] = r.json()
    return body


def raw(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    """As gql, with what only Python's JSON writes: NaN."""
    content = json.dumps({"query": query, "variables": variables}, allow_nan=True)
    r = client.post("/graphql", content=content, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def data(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def error(body: dict[str, Any], code: str, status: int | None = None) -> dict[str, Any]:
    """The only error of ``body``, checked to carry ``code`` (and ``status``) as REST does."""
    errors = body.get("errors")
    assert errors and len(errors) == 1, body
    (err,) = errors
    ext = err["extensions"]
    assert ext["code"] == code, err
    assert ext["type"] == f"urn:enroll:problem:{code}", err
    if status is not None:
        assert ext["status"] == status, err
    assert err["message"] and ext["title"], err
    return dict(err)


def fields_of(err: dict[str, Any]) -> list[str]:
    return [e["field"] for e in err["extensions"].get("errors", [])]


def person(**fields: Any) -> dict[str, Any]:
    n = uniq()
    return {
        "identificationType": "customerInfo",
        "firstName": "Pat",
        "lastName": f"Doe{n}",
        "email": f"pat.{n}@example.com",
        "address": {"state": "NY"},
        "manufacturerSlugs": ["tesla"],
    } | fields


def rest(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    r = client.request(method, path, **kwargs)
    assert r.is_success, r.text
    return r.json() if r.content else None


def same_as_rest(graphql: dict[str, Any], rest_body: dict[str, Any]) -> None:
    """Every REST field has the same value in the GraphQL answer (an address lists every
    field there, null where REST leaves it out)."""
    for key, value in rest_body.items():
        assert key in graphql, key
        got = graphql[key]
        if key == "address" and got is not None:
            got = {k: v for k, v in got.items() if v is not None}
        assert got == value, (key, got, value)


CREATE_ENROLLMENT = f"""
mutation($instance: ID!, $input: EnrollmentCreateInput!) {{
  createEnrollment(programInstanceId: $instance, input: $input) {{ {ENROLLMENT} }}
}}"""


def enroll(tenant: Tenant, instance: str, **fields: Any) -> dict[str, Any]:
    body = gql(tenant.client, CREATE_ENROLLMENT, instance=instance, input=person(**fields))
    created: dict[str, Any] = data(body)["createEnrollment"]
    return created


def act(
    tenant: Tenant, action: str, enrollment_id: str, reason: str | None = None
) -> dict[str, Any]:
    query = f"""mutation($id: ID!, $reason: String) {{
      {action}Enrollment(id: $id, reason: $reason) {{ {ENROLLMENT} history {{ action }} }}
    }}"""
    if action == "reject":
        query = query.replace("$reason: String)", "$reason: String!)")
    return gql(tenant.client, query, id=enrollment_id, reason=reason)


# --- queries --------------------------------------------------------------------------------


def test_enrollment_and_its_relations_read_as_in_rest(tenant: Tenant) -> None:
    instance = tenant.instance()
    created = tenant.enroll(
        instance["id"],
        phone="+15551234567",
        address={"streetOne": "1 Broadway", "city": "New York", "state": "NY"},
        metadata={"year": 2025, "nested": {"a": [1, 2]}},
        serialNumber="SN-1",
        tags=["t1", "t2"],
    )
    body = gql(
        tenant.client,
        f"""query($id: ID!) {{ enrollment(id: $id) {{
          {ENROLLMENT}
          programInstance {{ {INSTANCE} program {{ {PROGRAM} }} }}
          customer {{ {CUSTOMER} }}
          history {{ id fromStatus toStatus action reason actor at }}
        }} }}""",
        id=created["id"],
    )
    got = data(body)["enrollment"]
    same_as_rest(got, rest(tenant.client, "GET", f"/v1/enrollments/{created['id']}"))
    same_as_rest(
        got["programInstance"], rest(tenant.client, "GET", f"/v1/programInstances/{instance['id']}")
    )
    same_as_rest(
        got["programInstance"]["program"],
        rest(tenant.client, "GET", f"/v1/programs/{instance['programId']}"),
    )
    same_as_rest(
        got["customer"], rest(tenant.client, "GET", f"/v1/customers/{created['customerId']}")
    )
    assert (
        got["history"]
        == rest(tenant.client, "GET", f"/v1/enrollments/{created['id']}/history")["data"]
    )
    assert got["createdAt"].endswith("Z")


def test_programs_by_id_slug_and_state(tenant: Tenant) -> None:
    c = tenant.client
    by_slug = data(gql(c, f'{{ program(slug: "core-test-program") {{ {PROGRAM} }} }}'))["program"]
    same_as_rest(by_slug, rest(c, "GET", "/v1/programs/core-test-program"))
    by_id = gql(c, "query($id: ID!) { program(id: $id) { slug } }", id=by_slug["id"])
    assert data(by_id)["program"]["slug"] == "core-test-program"

    query = """query($state: String, $after: String) {
      programs(state: $state, first: 100, after: $after) {
        edges { cursor node { slug states } } pageInfo { hasNextPage endCursor } totalCount
      } }"""
    page = data(gql(c, query, state="NJ"))["programs"]
    slugs = [e["node"]["slug"] for e in page["edges"]]
    assert "core-test-program" in slugs and "anywhere-program" in slugs  # no states: anywhere
    assert all("NJ" in e["node"]["states"] or not e["node"]["states"] for e in page["edges"])
    assert page["totalCount"] == len(slugs)
    texas = [e["node"]["slug"] for e in data(gql(c, query, state="TX"))["programs"]["edges"]]
    assert "core-test-program" not in texas and "anywhere-program" in texas

    missing = gql(c, '{ program(slug: "no-such-program") { id } }')
    assert missing["data"] == {"program": None}
    err = error(missing, "not_found", 404)
    assert err["path"] == ["program"]
    both = gql(c, '{ program(id: "x", slug: "y") { id } }')
    assert fields_of(error(both, "validation_error", 422)) == ["id"]


def test_program_instances_by_id_slug_and_status(tenant: Tenant) -> None:
    c = tenant.client
    active = tenant.instance()
    draft = tenant.instance(status="draft")
    query = f"""query($id: ID, $slug: String) {{
      programInstance(id: $id, slug: $slug) {{ {INSTANCE} }} }}"""
    by_id = data(gql(c, query, id=active["id"]))["programInstance"]
    same_as_rest(by_id, active)
    assert data(gql(c, query, slug=draft["slug"]))["programInstance"]["id"] == draft["id"]
    error(gql(c, query, id="c" + uniq()), "not_found", 404)

    listing = """query($status: ProgramInstanceStatus) {
      programInstances(status: $status) { edges { node { id status program { slug } } } totalCount }
    }"""
    drafts = data(gql(c, listing, status="draft"))["programInstances"]
    assert [e["node"]["id"] for e in drafts["edges"]] == [draft["id"]]
    assert drafts["edges"][0]["node"]["program"] == {"slug": "core-test-program"}
    every = data(gql(c, listing))["programInstances"]
    assert [e["node"]["id"] for e in every["edges"]] == [active["id"], draft["id"]]
    assert every["totalCount"] == 2
    unknown = gql(c, listing, status="sleeping")
    error(unknown, "validation_error", 422)
    assert unknown["data"] is None


def test_enrollments_cursor_pagination_and_filters(tenant: Tenant) -> None:
    c = tenant.client
    instance, other = tenant.instance(), tenant.instance()
    ids = [tenant.enroll(instance["id"], tags=["odd" if i % 2 else "even"])["id"] for i in range(5)]
    tenant.enroll(other["id"])
    ok = data(act(tenant, "submit", ids[0]))["submitEnrollment"]
    assert ok["status"] == "submitted"
    query = """query($instance: ID, $first: Int!, $after: String, $status: EnrollmentStatus,
                     $tag: String) {
      enrollments(programInstanceId: $instance, first: $first, after: $after, status: $status,
                  tag: $tag) {
        edges { cursor node { id programInstanceId } }
        pageInfo { hasNextPage endCursor }
      } }"""
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = data(gql(c, query, instance=instance["slug"], first=2, after=after))["enrollments"]
        seen += [e["node"]["id"] for e in page["edges"]]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ids and pages == 3
    # The cursor is REST's nextCursor: the same keyset on the id.
    rest_page = rest(
        c, "GET", f"/v1/programInstances/{instance['id']}/enrollments", params={"perPage": 2}
    )
    first_page = data(gql(c, query, instance=instance["id"], first=2))["enrollments"]
    assert first_page["pageInfo"]["endCursor"] == rest_page["nextCursor"]

    everything = data(gql(c, query, first=100))["enrollments"]
    assert len(everything["edges"]) == 6 and not everything["pageInfo"]["hasNextPage"]
    submitted = data(gql(c, query, first=10, status="submitted"))["enrollments"]["edges"]
    assert [e["node"]["id"] for e in submitted] == [ids[0]]
    odd = data(gql(c, query, instance=instance["id"], first=10, tag="odd"))["enrollments"]["edges"]
    assert [e["node"]["id"] for e in odd] == [ids[1], ids[3]]
    empty = data(
        gql(
            c,
            query,
            instance=instance["id"],
            first=10,
            after=first_page["pageInfo"]["endCursor"],
            tag="none",
        )
    )
    assert empty["enrollments"] == {
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }

    error(gql(c, query, first=2, after="!!not-a-cursor!!"), "invalid_cursor", 422)
    assert fields_of(error(gql(c, query, first=101), "validation_error", 422)) == ["first"]
    assert fields_of(error(gql(c, query, first=0), "validation_error", 422)) == ["first"]
    error(gql(c, query, first=2, instance="c" + uniq()), "not_found", 404)


def test_enrollments_created_window(tenant: Tenant) -> None:
    instance = tenant.instance()
    first = tenant.enroll(instance["id"])
    time.sleep(0.01)
    second = tenant.enroll(instance["id"])
    query = """query($after: DateTime, $before: DateTime) {
      enrollments(createdAfter: $after, createdBefore: $before) { edges { node { id } } } }"""
    at = second["createdAt"]
    window = data(gql(tenant.client, query, after=at))["enrollments"]["edges"]
    assert [e["node"]["id"] for e in window] == [second["id"]]
    before = data(gql(tenant.client, query, before=at))["enrollments"]["edges"]
    assert [e["node"]["id"] for e in before] == [first["id"]]
    naive = at.removesuffix("Z")  # no offset: UTC, as in REST
    assert data(gql(tenant.client, query, after=naive))["enrollments"]["edges"] == window
    error(gql(tenant.client, query, after="yesterday"), "validation_error", 422)


def test_events_feed(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = tenant.enroll(instance["id"])
    query = """query($after: String, $type: String, $limit: Int!) {
      events(after: $after, type: $type, limit: $limit) {
        data { id type version occurredAt workspaceId data } nextCursor } }"""
    deadline = time.monotonic() + 10
    while True:  # PostgreSQL shows an event once every older writing transaction ended
        feed = data(gql(tenant.client, query, type="enrollment.created", limit=10))["events"]
        if feed["data"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    (created,) = feed["data"]
    assert created["data"]["object"]["id"] == e["id"]
    assert created["workspaceId"] == tenant.id
    same = rest(tenant.client, "GET", "/v1/events", params={"type": "enrollment.created"})
    assert feed == {"data": same["data"], "nextCursor": same["nextCursor"]}
    later = data(
        gql(tenant.client, query, after=feed["nextCursor"], type="enrollment.created", limit=10)
    )
    assert later["events"] == {"data": [], "nextCursor": feed["nextCursor"]}
    assert fields_of(error(gql(tenant.client, query, limit=501), "validation_error")) == ["limit"]
    error(gql(tenant.client, query, after="garbage", limit=1), "invalid_cursor", 422)


# --- mutations ------------------------------------------------------------------------------

CREATE_INSTANCE = f"""mutation($input: ProgramInstanceCreateInput!) {{
  createProgramInstance(input: $input) {{ {INSTANCE} program {{ slug }} }} }}"""
UPDATE_INSTANCE = f"""mutation($id: ID!, $input: ProgramInstanceUpdateInput!) {{
  updateProgramInstance(id: $id, input: $input) {{ {INSTANCE} }} }}"""


def test_create_and_update_program_instance(tenant: Tenant) -> None:
    c = tenant.client
    slug = f"gq-{uniq()}"
    made = data(
        gql(
            c,
            CREATE_INSTANCE,
            input={
                "programSlug": "core-test-program",
                "slug": slug,
                "name": "GraphQL instance",
                "startDate": "2020-01-01",
                "capacity": 10,
                "branding": {"logoUrl": "https://example.com/logo.png"},
                "metadata": {"k": "v"},
            },
        )
    )["createProgramInstance"]
    assert made["status"] == "draft" and made["slug"] == slug and made["capacity"] == 10
    assert made["program"] == {"slug": "core-test-program"}
    same_as_rest(made, rest(c, "GET", f"/v1/programInstances/{made['id']}"))

    active = data(gql(c, UPDATE_INSTANCE, id=slug, input={"status": "active", "capacity": None}))
    assert active["updateProgramInstance"]["status"] == "active"
    assert active["updateProgramInstance"]["capacity"] is None
    assert rest(c, "GET", f"/v1/programInstances/{slug}")["status"] == "active"

    back = gql(c, UPDATE_INSTANCE, id=made["id"], input={"status": "draft"})
    err = error(back, "invalid_transition", 409)
    assert err["extensions"]["currentStatus"] == "active"
    assert err["extensions"]["allowedStatuses"] == ["closed", "paused"]
    assert back["data"] is None

    taken = gql(
        c,
        CREATE_INSTANCE,
        input={"programSlug": "core-test-program", "slug": slug, "name": "Again"},
    )
    error(taken, "slug_taken", 409)
    bad = gql(
        c,
        CREATE_INSTANCE,
        input={
            "programSlug": "core-test-program",
            "slug": "Not A Slug",
            "name": "",
            "status": "paused",
        },
    )
    assert sorted(fields_of(error(bad, "validation_error", 422))) == ["name", "slug", "status"]
    both = gql(c, CREATE_INSTANCE, input={"slug": f"gq-{uniq()}", "name": "N"})
    error(both, "validation_error", 422)  # neither programId nor programSlug
    error(
        gql(
            c,
            CREATE_INSTANCE,
            input={"programSlug": "no-such", "slug": f"gq-{uniq()}", "name": "N"},
        ),
        "not_found",
        404,
    )
    nul = gql(c, UPDATE_INSTANCE, id=made["id"], input={"name": "a\x00b"})
    assert fields_of(error(nul, "validation_error", 422)) == ["name"]
    assert (
        rest(c, "GET", f"/v1/programInstances/{made['id']}")["version"]
        == active["updateProgramInstance"]["version"]
    )


def test_create_enrollment_every_identification_type(tenant: Tenant) -> None:
    c = tenant.client
    first, second = tenant.instance(), tenant.instance()
    info = enroll(tenant, first["id"], phone="+15550000000", serialNumber="SN-9", tags=["x"])
    assert info["identificationType"] == "customerInfo"
    assert info["status"] == info["eligibility"]["status"] == "eligible"
    assert info["eligibility"]["checks"][0]["id"] == "instance-accepting"
    same_as_rest(info, rest(c, "GET", f"/v1/enrollments/{info['id']}"))

    by_customer = data(
        gql(
            c,
            CREATE_ENROLLMENT,
            instance=second["slug"],
            input={"identificationType": "customerId", "customerId": info["customerId"]},
        )
    )["createEnrollment"]
    assert by_customer["customerId"] == info["customerId"]
    assert (
        by_customer["email"] == info["email"] and by_customer["programInstanceId"] == second["id"]
    )

    lead = rest(
        c,
        "POST",
        "/v1/leads",
        json={"email": f"lee.{uniq()}@example.com", "firstName": "Lee", "lastName": "Lead"},
    )
    by_lead = data(
        gql(
            c,
            CREATE_ENROLLMENT,
            instance=first["id"],
            input={
                "identificationType": "leadId",
                "leadId": lead["id"],
                "address": {"state": "NJ"},
                "manufacturerSlugs": ["enphase"],
            },
        )
    )["createEnrollment"]
    assert by_lead["leadId"] == lead["id"] and by_lead["firstName"] == "Lee"
    assert by_lead["status"] == "eligible" and by_lead["customerId"]

    third = tenant.instance()
    copy = data(
        gql(
            c,
            CREATE_ENROLLMENT,
            instance=third["id"],
            input={"identificationType": "enrollmentId", "enrollmentId": info["id"]},
        )
    )["createEnrollment"]
    assert copy["enrollmentId"] == info["id"] and copy["serialNumber"] == "SN-9"
    source = gql(
        c, "query($id: ID!) { enrollment(id: $id) { sourceEnrollment { id } } }", id=copy["id"]
    )
    assert data(source)["enrollment"]["sourceEnrollment"] == {"id": info["id"]}

    again = gql(
        c,
        CREATE_ENROLLMENT,
        instance=first["id"],
        input={"identificationType": "customerId", "customerId": info["customerId"]},
    )
    err = error(again, "enrollment_exists", 409)
    assert err["extensions"]["enrollmentId"] == info["id"]
    outside = enroll(tenant, first["id"], address={"state": "TX"})
    assert outside["status"] == "ineligible"
    assert outside["eligibilityReason"] == "Outside service area"


def test_create_enrollment_refusals(tenant: Tenant) -> None:
    c = tenant.client
    instance = tenant.instance()
    missing = gql(
        c,
        CREATE_ENROLLMENT,
        instance=instance["id"],
        input={"identificationType": "customerInfo", "firstName": "A"},
    )
    assert sorted(fields_of(error(missing, "validation_error", 422))) == ["email", "lastName"]
    mixed = gql(c, CREATE_ENROLLMENT, instance=instance["id"], input=person(leadId="x"))
    assert fields_of(error(mixed, "validation_error", 422)) == ["leadId"]
    bad_email = gql(c, CREATE_ENROLLMENT, instance=instance["id"], input=person(email="nope"))
    assert fields_of(error(bad_email, "validation_error", 422)) == ["email"]
    nan = raw(
        c, CREATE_ENROLLMENT, instance=instance["id"], input=person(metadata={"x": float("nan")})
    )
    assert fields_of(error(nan, "validation_error", 422)) == ["metadata"]
    unknown_field = gql(c, CREATE_ENROLLMENT, instance=instance["id"], input=person(shoeSize=42))
    error(unknown_field, "validation_error", 422)
    unknown_type = gql(
        c, CREATE_ENROLLMENT, instance=instance["id"], input=person(identificationType="dna")
    )
    error(unknown_type, "validation_error", 422)
    lead_less = rest(c, "POST", "/v1/leads", json={"email": f"x.{uniq()}@example.com"})
    incomplete = gql(
        c,
        CREATE_ENROLLMENT,
        instance=instance["id"],
        input={"identificationType": "leadId", "leadId": lead_less["id"]},
    )
    assert sorted(fields_of(error(incomplete, "lead_incomplete", 409))) == ["firstName", "lastName"]
    draft = tenant.instance(status="draft")
    closed = gql(c, CREATE_ENROLLMENT, instance=draft["id"], input=person())
    assert "draft" in error(closed, "instance_not_accepting", 409)["message"]
    assert rest(c, "GET", "/v1/enrollments")["totalItems"] == 0


def test_every_transition(tenant: Tenant) -> None:
    instance = tenant.instance()
    e = enroll(tenant, instance["id"])
    submitted = data(act(tenant, "submit", e["id"], "Customer signed"))["submitEnrollment"]
    assert submitted["status"] == "submitted"
    approved = data(act(tenant, "approve", e["id"]))["approveEnrollment"]
    assert approved["status"] == "approved"
    assert approved["enrollmentStartDate"]  # the setup task ran, as the REST route runs it
    subscriptions = rest(
        tenant.client, "GET", "/v1/subscriptions", params={"enrollmentId": e["id"]}
    )["data"]
    assert [s["status"] for s in subscriptions] == ["active"]

    twice = act(tenant, "approve", e["id"])
    err = error(twice, "invalid_transition", 409)
    assert err["extensions"]["currentStatus"] == "approved"
    assert err["extensions"]["allowedActions"] == ["unenroll"]
    assert err["path"] == ["approveEnrollment"] and twice["data"] is None

    unenroll = f"""mutation($id: ID!, $input: UnenrollInput!) {{
      unenrollEnrollment(id: $id, input: $input) {{
        enrollment {{ {ENROLLMENT} }} serviceTask {{ {SERVICE_TASK} }} }} }}"""
    out = data(gql(tenant.client, unenroll, id=e["id"], input={"reason": "Moved out"}))[
        "unenrollEnrollment"
    ]
    assert out["enrollment"]["status"] == "unenrolled"
    assert out["enrollment"]["metadata"] == {"exitReason": "Moved out"}
    assert (
        out["serviceTask"]["kind"] == "unenrollment" and out["serviceTask"]["state"] == "completed"
    )
    same_as_rest(out["enrollment"], rest(tenant.client, "GET", f"/v1/enrollments/{e['id']}"))
    same_as_rest(
        out["serviceTask"],
        rest(tenant.client, "GET", f"/v1/serviceTasks/{out['serviceTask']['id']}"),
    )
    history = rest(tenant.client, "GET", f"/v1/enrollments/{e['id']}/history")["data"]
    assert [h["action"] for h in history] == ["create", "evaluate", "submit", "approve", "unenroll"]

    r = enroll(tenant, instance["id"])
    data(act(tenant, "submit", r["id"]))
    error(act(tenant, "reject", r["id"], ""), "validation_error", 422)
    missing_reason = gql(
        tenant.client, "mutation($id: ID!) { rejectEnrollment(id: $id) { id } }", id=r["id"]
    )
    error(missing_reason, "validation_error", 422)
    rejected = data(act(tenant, "reject", r["id"], "Failed verification"))["rejectEnrollment"]
    assert (
        rejected["status"] == "rejected" and rejected["eligibilityReason"] == "Failed verification"
    )
    # Rejected reopens only under new criteria (issue 13, item 23).
    error(act(tenant, "reevaluate", r["id"]), "criteria_unchanged", 409)
    rest(
        tenant.client,
        "PATCH",
        f"/v1/programInstances/{instance['id']}",
        json={"eligibilityCriteria": [{"id": "any", "reason": "Any", "rule": True}]},
    )
    reopened = data(act(tenant, "reevaluate", r["id"]))["reevaluateEnrollment"]
    assert reopened["status"] == "eligible"
    assert [h["action"] for h in reopened["history"]][-1] == "reevaluate"
    cancelled = data(act(tenant, "cancel", r["id"], "Changed mind"))["cancelEnrollment"]
    assert cancelled["status"] == "cancelled" and cancelled["eligibilityReason"] == "Changed mind"
    error(act(tenant, "submit", r["id"]), "invalid_transition", 409)
    error(act(tenant, "submit", "c" + uniq()), "not_found", 404)


def test_unenroll_with_a_setup_workflow_answers_the_running_task(tenant: Tenant) -> None:
    instance = tenant.instance(
        setupWorkflow={"unenrollReasons": [{"code": "REVIEW", "requiresApproval": True}]}
    )
    e = enroll(tenant, instance["id"])
    data(act(tenant, "submit", e["id"]))
    data(act(tenant, "approve", e["id"]))
    query = """mutation($id: ID!, $input: UnenrollInput!) {
      unenrollEnrollment(id: $id, input: $input) {
        enrollment { status } serviceTask { kind state enrollmentId } } }"""
    deadline = time.monotonic() + 15
    while rest(tenant.client, "GET", f"/v1/enrollments/{e['id']}")["enrollmentStartDate"] is None:
        assert time.monotonic() < deadline, "the setup task did not complete"
        time.sleep(0.05)
    bad = gql(
        tenant.client, query, id=e["id"], input={"reason": "REVIEW", "removalMethod": "teleport"}
    )
    error(bad, "validation_error", 422)
    out = data(gql(tenant.client, query, id=e["id"], input={"reason": "REVIEW"}))[
        "unenrollEnrollment"
    ]
    assert out["enrollment"]["status"] == "approved"  # REST answers 202 with the task here
    assert out["serviceTask"]["kind"] == "unenrollment"
    assert out["serviceTask"]["state"] not in ("completed", "canceled", "discarded")
    assert out["serviceTask"]["enrollmentId"] == e["id"]


def test_update_enrollment(tenant: Tenant) -> None:
    e = enroll(tenant, tenant.instance()["id"])
    query = f"""mutation($id: ID!, $input: EnrollmentUpdateInput!) {{
      updateEnrollment(id: $id, input: $input) {{ {ENROLLMENT} }} }}"""
    out = data(
        gql(
            tenant.client,
            query,
            id=e["id"],
            input={"address": {"state": "TX", "city": "Austin"}, "phone": None, "tags": ["moved"]},
        )
    )
    updated = out["updateEnrollment"]
    assert updated["address"]["state"] == "TX" and updated["tags"] == ["moved"]
    assert updated["version"] == e["version"] + 1
    same_as_rest(updated, rest(tenant.client, "GET", f"/v1/enrollments/{e['id']}"))
    nulled = gql(tenant.client, query, id=e["id"], input={"email": None})
    assert fields_of(error(nulled, "validation_error", 422)) == ["email"]
    reevaluated = data(act(tenant, "reevaluate", e["id"]))["reevaluateEnrollment"]
    assert reevaluated["status"] == "ineligible"


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
    srv, thread = start_server(database, embedded_worker=False)
    yield srv
    srv._server.should_exit = True
    thread.join(timeout=20)


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
        time.sleep(0.3)  # and its last use is recorded in the background
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


def test_decide_enrollment_as_rest_does(tenant: Tenant) -> None:
    """Issue 13, item 21: a person screens through GraphQL too."""
    instance = tenant.instance(screening="manual")
    e = enroll(tenant, instance["id"])
    assert e["status"] == "candidate"
    doc = """mutation($id: ID!, $reason: String!) {
      decideEnrollment(id: $id, status: eligible, reason: $reason) { id status eligibilityReason }
    }"""
    error(gql(tenant.client, doc, id=e["id"], reason=""), "validation_error", 422)
    decided = data(gql(tenant.client, doc, id=e["id"], reason="Verified"))["decideEnrollment"]
    assert (decided["status"], decided["eligibilityReason"]) == ("eligible", "Verified")
    error(gql(tenant.client, doc, id=e["id"], reason="Again"), "invalid_transition", 409)
    history = rest(tenant.client, "GET", f"/v1/enrollments/{e['id']}/history")["data"]
    assert [(h["action"], h["reason"]) for h in history][-1] == ("decide", "Verified")

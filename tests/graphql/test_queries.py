"""GraphQL queries over real HTTP against the REST answers for the same objects: relations,
lookups by id and slug, cursor pagination and filters, the event feed.

Isolation, scopes and authentication are in test_isolation.py.
"""

from __future__ import annotations

from datetime import timedelta

from tests.support.graphql import (
    CUSTOMER,
    ENROLLMENT,
    INSTANCE,
    PROGRAM,
    act,
    data,
    error,
    fields_of,
    gql,
    rest,
    same_as_rest,
)
from tests.support.helpers import uniq
from tests.support.server import Tenant

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
    with tenant.server.clock_shifted(timedelta(seconds=1)):  # made a second later
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
    tenant.server.database.settle()  # PostgreSQL shows an event once older transactions ended
    feed = data(gql(tenant.client, query, type="enrollment.created", limit=10))["events"]
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

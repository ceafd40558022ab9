"""Usage readings of a service location over real HTTP (both databases): posting them
(idempotent by period), reading them back, the event, ``hasUsageHistory``, every 4xx, and the
monthly history other domains read (``usage_by_month``, ``has_usage``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from enroll.context import AppContext
from enroll.location import repository
from tests.location.helpers import create
from tests.support.graphql import data, error, gql
from tests.support.rest_matrix import assert_problem
from tests.support.server import Tenant

JAN = datetime(2025, 1, 1, tzinfo=UTC)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def month(year: int, number: int, kwh: str | int) -> dict[str, Any]:
    """A calendar month's reading (UTC)."""
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return {"start": iso(start), "end": iso(end), "kwh": kwh}


def intervals(start: datetime, count: int, kwh: str, minutes: int = 15) -> list[dict[str, Any]]:
    step = timedelta(minutes=minutes)
    return [
        {"start": iso(start + i * step), "end": iso(start + (i + 1) * step), "kwh": kwh}
        for i in range(count)
    ]


def post(tenant: Tenant, location_id: str, readings: list[dict[str, Any]]) -> Any:
    return tenant.client.post(
        f"/v1/serviceLocations/{location_id}/usage", json={"readings": readings}
    )


def test_post_read_back_and_repost(tenant: Tenant) -> None:
    location = create(tenant)
    assert location["hasUsageHistory"] is False
    path = f"/v1/serviceLocations/{location['id']}/usage"
    readings = [month(2025, 1, "1000.5"), month(2025, 2, 900)]
    r = post(tenant, location["id"], readings)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "serviceLocationId": location["id"],
        "counts": {"created": 2, "updated": 0, "unchanged": 0},
        "periodStart": "2025-01-01T00:00:00Z",
        "periodEnd": "2025-03-01T00:00:00Z",
    }
    got = tenant.client.get(f"/v1/serviceLocations/{location['id']}")
    assert got.json()["hasUsageHistory"] is True
    assert got.json()["version"] == location["version"]  # derived: the location is unchanged

    listed = tenant.client.get(path).json()
    assert [(x["start"], x["kwh"], x["kind"]) for x in listed["data"]] == [
        ("2025-01-01T00:00:00Z", "1000.500", "monthly"),
        ("2025-02-01T00:00:00Z", "900.000", "monthly"),
    ]
    assert listed["totalItems"] == 2

    # the same again: nothing changes (200); one kWh changed, one period new (201)
    again = post(tenant, location["id"], readings)
    assert again.status_code == 200, again.text
    assert again.json()["counts"] == {"created": 0, "updated": 0, "unchanged": 2}
    changed = post(tenant, location["id"], [month(2025, 1, "1000.25"), month(2025, 3, "0")])
    assert changed.status_code == 201, changed.text
    assert changed.json()["counts"] == {"created": 1, "updated": 1, "unchanged": 0}
    rewritten = post(tenant, location["id"], [month(2025, 2, "901")])
    assert rewritten.status_code == 200
    assert rewritten.json()["counts"] == {"created": 0, "updated": 1, "unchanged": 0}
    data = tenant.client.get(path).json()["data"]
    assert [x["kwh"] for x in data] == ["1000.250", "901.000", "0.000"]

    # the same instant written with another offset is the same period; the last one wins
    offset = {"start": "2024-12-31T18:00:00-06:00", "end": "2025-01-31T18:00:00-06:00"}
    r = post(tenant, location["id"], [month(2025, 1, "1"), month(2025, 1, "2") | offset])
    assert r.json()["counts"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert tenant.client.get(path).json()["data"][0]["kwh"] == "2.000"


def test_intervals_filters_and_cursor(tenant: Tenant) -> None:
    location = create(tenant)
    path = f"/v1/serviceLocations/{location['id']}/usage"
    day = datetime(2025, 6, 1, tzinfo=UTC)
    r = post(tenant, location["id"], intervals(day, 96, "0.25"))
    assert r.status_code == 201 and r.json()["counts"]["created"] == 96, r.text
    c = tenant.client
    first = c.get(path, params={"perPage": 50}).json()
    assert len(first["data"]) == 50 and first["data"][0]["kind"] == "interval"
    rest = c.get(path, params={"perPage": 50, "cursor": first["nextCursor"]}).json()
    assert len(rest["data"]) == 46 and rest["nextCursor"] is None
    starts = [x["start"] for x in first["data"] + rest["data"]]
    assert starts == sorted(starts) and len(set(starts)) == 96
    window = {"from": iso(day + timedelta(hours=1)), "to": iso(day + timedelta(hours=2))}
    hour = c.get(path, params=window | {"perPage": 100}).json()["data"]
    assert [x["start"] for x in hour] == starts[4:8]
    assert c.get(path, params={"from": "2026-01-01T00:00:00Z"}).json()["data"] == []
    # an offset in a query: 19:00 in Chicago (CDT) is midnight UTC
    late = c.get(path, params={"to": "2025-05-31T19:00:00-05:00"}).json()["data"]
    assert late == []


def test_a_year_of_intervals_in_one_request(tenant: Tenant) -> None:
    """35,040 readings (a year of 15 minutes) go in at once, and again unchanged."""
    location = create(tenant)
    year = intervals(datetime(2024, 1, 1, tzinfo=UTC), 35_040, "0.3")
    r = post(tenant, location["id"], year)
    assert r.status_code == 201, r.text
    assert r.json()["counts"] == {"created": 35_040, "updated": 0, "unchanged": 0}
    again = post(tenant, location["id"], year)
    assert again.json()["counts"] == {"created": 0, "updated": 0, "unchanged": 35_040}
    got = tenant.client.get(f"/v1/serviceLocations/{location['id']}/usage").json()
    assert got["totalItems"] == 35_040


def test_the_event(tenant: Tenant) -> None:
    location = create(tenant)
    post(tenant, location["id"], [month(2025, 4, 700), month(2025, 5, 650)])
    post(tenant, location["id"], [month(2025, 4, 700)])  # nothing new: no event
    received = tenant.events(type="service_location.usage_received")
    assert len(received) == 1, received
    assert received[0]["data"] == {
        "serviceLocationId": location["id"],
        "counts": {"created": 2, "updated": 0, "unchanged": 0},
        "periodStart": "2025-04-01T00:00:00Z",
        "periodEnd": "2025-06-01T00:00:00Z",
    }


@pytest.mark.parametrize(
    "readings",
    [
        [],
        [month(2025, 1, "-1")],
        [month(2025, 1, -1)],
        [month(2025, 1, 1.5)],
        [month(2025, 1, "1.2345")],
        [month(2025, 1, "10000000")],
        [month(2025, 1, "abc")],
        [month(2025, 1, True)],
        [{"start": "2025-01-02T00:00:00Z", "end": "2025-01-02T00:00:00Z", "kwh": 1}],
        [{"start": "2025-01-02T00:00:00Z", "end": "2025-01-01T00:00:00Z", "kwh": 1}],
        [{"start": "2025-01-01T00:00:00Z", "end": "2025-03-05T00:00:00Z", "kwh": 1}],
        [{"start": "2025-01-01T00:00:00Z", "kwh": 1}],
        [{"start": 1735689600, "end": "2025-01-02T00:00:00Z", "kwh": 1}],
        [month(2024 + (i + 1) // 12, (i % 12) + 1, 1) for i in range(14)],
        intervals(datetime(2025, 1, 1, tzinfo=UTC), 35_041, "1"),
    ],
    ids=[
        "none",
        "negative",
        "negative-number",
        "fraction-as-number",
        "four-decimals",
        "too-large",
        "text",
        "boolean",
        "empty-period",
        "end-before-start",
        "longer-than-62-days",
        "no-end",
        "unix-time",
        "14-monthly",
        "35041-intervals",
    ],
)
def test_bad_readings(tenant: Tenant, readings: list[dict[str, Any]]) -> None:
    location = create(tenant)
    assert_problem(post(tenant, location["id"], readings), 422, "validation_error")
    r = tenant.client.get(f"/v1/serviceLocations/{location['id']}/usage")
    assert r.json()["data"] == []
    assert (
        tenant.client.get(f"/v1/serviceLocations/{location['id']}").json()["hasUsageHistory"]
        is False
    )


def test_13_monthly_readings_and_intervals_beside_them(tenant: Tenant) -> None:
    location = create(tenant)
    months = [month(2024 + (i + 1) // 12, (i % 12) + 1, 100 + i) for i in range(13)]
    r = post(tenant, location["id"], months + intervals(datetime(2026, 1, 1, tzinfo=UTC), 4, "1"))
    assert r.status_code == 201 and r.json()["counts"]["created"] == 17, r.text


def test_unknown_and_other_workspace_locations(tenant: Tenant, other_tenant: Tenant) -> None:
    location = create(tenant)
    for t, ref in ((tenant, "nope"), (other_tenant, location["id"])):
        assert_problem(post(t, ref, [month(2025, 1, 1)]), 404, "not_found")
        assert_problem(t.client.get(f"/v1/serviceLocations/{ref}/usage"), 404, "not_found")
    assert tenant.client.get(f"/v1/serviceLocations/{location['id']}/usage").json()["data"] == []
    assert_problem(
        tenant.client.get(
            f"/v1/serviceLocations/{location['id']}/usage", params={"from": "yesterday"}
        ),
        422,
        "validation_error",
    )


def test_scopes(tenant: Tenant) -> None:
    location = create(tenant)
    path = f"/v1/serviceLocations/{location['id']}/usage"
    with tenant.server.client(tenant.key_with("locations:read")) as reader:
        assert reader.get(path).status_code == 200
        r = reader.post(path, json={"readings": [month(2025, 1, 1)]})
        assert_problem(r, 403, "insufficient_scope")
    with tenant.server.client(tenant.key_with("locations:write")) as writer:
        assert writer.post(path, json={"readings": [month(2025, 1, 1)]}).status_code == 201
        assert_problem(writer.get(path), 403, "insufficient_scope")


def _history(tenant: Tenant, location_id: str, until: datetime) -> list[Decimal]:
    async def work(ctx: AppContext) -> list[Decimal]:
        async with ctx.db.transaction(write=False) as session:
            return await repository.usage_by_month(
                session, workspace_id=tenant.id, location_id=location_id, until=until
            )

    return tenant.server.database.run(work)


def _with_usage(tenant: Tenant, ids: list[str]) -> set[str]:
    async def work(ctx: AppContext) -> set[str]:
        async with ctx.db.transaction(write=False) as session:
            return await repository.has_usage(session, workspace_id=tenant.id, location_ids=ids)

    return tenant.server.database.run(work)


def test_usage_by_month_and_has_usage(tenant: Tenant, other_tenant: Tenant) -> None:
    location, bare = create(tenant), create(tenant)
    readings = [month(2024, 12, 5000)]  # 13 months before: left out
    readings += [month(2025, n, f"{n}00.125") for n in (1, 2, 3)]
    # March has a monthly reading too: it wins over March's intervals
    readings += intervals(datetime(2025, 3, 10, tzinfo=UTC), 4, "0.5")
    # April has only intervals: summed (96 x 0.333 = 31.968); a month without any is left out
    readings += intervals(datetime(2025, 4, 30, tzinfo=UTC), 96, "0.333")
    readings += [month(2026, 1, 42)]  # the month of `until` itself: not a whole month yet
    assert post(tenant, location["id"], readings).status_code == 201
    until = datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert _history(tenant, location["id"], until) == [
        Decimal("100.125"),
        Decimal("200.125"),
        Decimal("300.125"),
        Decimal("31.968"),
    ]
    assert _history(tenant, location["id"], datetime(2025, 3, 1, tzinfo=UTC)) == [
        Decimal(5000),
        Decimal("100.125"),
        Decimal("200.125"),
    ]
    assert _history(tenant, bare["id"], until) == []
    assert _with_usage(tenant, [location["id"], bare["id"], "nope"]) == {location["id"]}
    assert _with_usage(other_tenant, [location["id"]]) == set()
    assert _with_usage(tenant, []) == set()


RECORD = """mutation($id: ID!, $readings: [UsageReadingInput!]!) {
  recordServiceLocationUsage(id: $id, readings: $readings) {
    serviceLocationId counts { created updated unchanged } periodStart periodEnd } }"""
READINGS = """query($id: ID!, $from: DateTime, $after: String) {
  serviceLocationUsage(id: $id, from: $from, first: 2, after: $after) {
    totalCount edges { node { id start end kwh kind createdAt updatedAt } }
    pageInfo { hasNextPage endCursor } } }"""


def test_usage_over_graphql(tenant: Tenant, other_tenant: Tenant) -> None:
    c = tenant.client
    location = create(tenant)
    readings = [month(2025, n, f"{n}.5") for n in (1, 2, 3)]
    got = data(gql(c, RECORD, id=location["id"], readings=readings))["recordServiceLocationUsage"]
    assert got["counts"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert got["periodStart"] == "2025-01-01T00:00:00Z"
    again = data(gql(c, RECORD, id=location["id"], readings=readings[:1]))
    assert again["recordServiceLocationUsage"]["counts"]["unchanged"] == 1

    page = data(gql(c, READINGS, id=location["id"]))["serviceLocationUsage"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"] is True
    rest_page = c.get(f"/v1/serviceLocations/{location['id']}/usage").json()["data"]
    assert [e["node"]["id"] for e in page["edges"]] == [x["id"] for x in rest_page[:2]]
    assert page["edges"][0]["node"]["kwh"] == "1.500"
    after = page["pageInfo"]["endCursor"]
    tail = data(gql(c, READINGS, id=location["id"], after=after))["serviceLocationUsage"]
    assert [e["node"]["id"] for e in tail["edges"]] == [rest_page[2]["id"]]
    march = data(gql(c, READINGS, id=location["id"], **{"from": "2025-03-01T00:00:00Z"}))
    assert march["serviceLocationUsage"]["totalCount"] == 1

    bad = gql(c, RECORD, id=location["id"], readings=[month(2025, 1, "-1")])
    error(bad, "validation_error", 422)
    backwards = {"start": "2025-02-01T00:00:00Z", "end": "2025-01-01T00:00:00Z", "kwh": "1"}
    error(gql(c, RECORD, id=location["id"], readings=[backwards]), "validation_error", 422)
    error(gql(other_tenant.client, RECORD, id=location["id"], readings=readings), "not_found", 404)
    error(gql(other_tenant.client, READINGS, id=location["id"]), "not_found", 404)

"""Service locations over real HTTP: create, read, change, list, look up; every 4xx."""

from __future__ import annotations

import pytest

from tests.location.helpers import CENTERPOINT, create, esi, location
from tests.support.rest_matrix import assert_problem
from tests.support.server import Tenant


def test_create_derives_the_tdsp_and_reads_back(tenant: Tenant) -> None:
    created = create(tenant, attributes={"meterReadCycle": "07"}, metered=True)
    assert created["market"] == "ercot"
    assert created["utility"] == {"code": "oncor", "name": "Oncor Electric Delivery"}
    assert created["address"] == {
        "streetOne": "3227 Christian Dr",
        "streetTwo": None,
        "city": "Dallas",
        "state": "TX",
        "postalCode": "75201",
        "country": "US",
    }
    assert created["status"] == "active" and created["premiseType"] == "residential"
    assert created["source"] == "api" and created["version"] == 1
    assert created["lastSeenAt"] is not None
    r = tenant.client.get(f"/v1/serviceLocations/{created['id']}")
    assert r.status_code == 200 and r.json() == created
    centerpoint = create(tenant, servicePointId=esi(CENTERPOINT))
    assert centerpoint["utility"]["code"] == "centerpoint"


def test_an_explicit_utility_is_kept_and_other_markets_take_any_id(tenant: Tenant) -> None:
    body = location(
        servicePointId="PJM-000123", market="pjm", utility={"code": "peco", "name": "PECO"}
    )
    r = tenant.client.post("/v1/serviceLocations", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["utility"] == {"code": "peco", "name": "PECO"}
    assert r.json()["address"]["country"] is None


def test_update_changes_what_is_sent(tenant: Tenant) -> None:
    created = create(tenant)
    r = tenant.client.patch(
        f"/v1/serviceLocations/{created['id']}",
        json={"status": "de_energized", "address": {"streetTwo": "Apt 5"}, "county": None},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "de_energized" and body["version"] == 2
    assert body["address"]["streetTwo"] == "Apt 5" and body["address"]["city"] == "Dallas"
    same = tenant.client.patch(
        f"/v1/serviceLocations/{created['id']}", json={"status": "de_energized"}
    )
    assert same.status_code == 200 and same.json()["version"] == 2  # nothing changed


def test_lookup_by_service_point_id(tenant: Tenant, other_tenant: Tenant) -> None:
    created = create(tenant)
    r = tenant.client.post(
        "/v1/serviceLocations/lookup", json={"servicePointId": created["servicePointId"]}
    )
    assert r.status_code == 200 and r.json()["id"] == created["id"]
    for t in (tenant, other_tenant):
        assert_problem(
            t.client.post("/v1/serviceLocations/lookup", json={"servicePointId": esi()}),
            404,
            "not_found",
        )
    assert_problem(
        other_tenant.client.post(
            "/v1/serviceLocations/lookup", json={"servicePointId": created["servicePointId"]}
        ),
        404,
        "not_found",
    )


def test_list_filters_and_cursor_pagination(tenant: Tenant) -> None:
    made = [create(tenant) for _ in range(3)]
    other = create(
        tenant,
        servicePointId=esi(CENTERPOINT),
        status="inactive",
        address={"streetOne": "1 Main St", "city": "Houston", "postalCode": "77002-1234"},
    )
    c = tenant.client
    page = c.get("/v1/serviceLocations", params={"perPage": 2}).json()
    assert [x["id"] for x in page["data"]] == [made[0]["id"], made[1]["id"]]
    assert page["totalItems"] == 4
    rest = c.get("/v1/serviceLocations", params={"perPage": 2, "cursor": page["nextCursor"]})
    assert [x["id"] for x in rest.json()["data"]] == [made[2]["id"], other["id"]]
    assert rest.json()["nextCursor"] is None
    for params in (
        {"utility": "centerpoint"},
        {"status": "inactive"},
        {"postalCode": "77002"},
        {"postalCode": "77002-9999"},
        {"servicePointId": other["servicePointId"]},
    ):
        data = c.get("/v1/serviceLocations", params=params).json()["data"]
        assert [x["id"] for x in data] == [other["id"]], params
    assert c.get("/v1/serviceLocations", params={"postalCode": "zzz"}).json()["data"] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"servicePointId": "123"}, 422, "invalid_service_point"),
        ({"servicePointId": "1234567890123456789"}, 422, "invalid_service_point"),
        ({"servicePointId": "99999990000000001"}, 422, "invalid_service_point"),
        ({"address": {"city": "Dallas"}}, 422, "validation_error"),
        ({"address": {"streetOne": "  "}}, 422, "validation_error"),
        ({"status": "gone"}, 422, "validation_error"),
        ({"premiseType": "castle"}, 422, "validation_error"),
        ({"market": "Not A Market"}, 422, "validation_error"),
        ({"unknown": 1}, 422, "validation_error"),
    ],
)
def test_bad_creates(tenant: Tenant, body: dict[str, object], status: int, code: str) -> None:
    assert_problem(tenant.client.post("/v1/serviceLocations", json=location(**body)), status, code)


def test_conflicts_and_missing(tenant: Tenant) -> None:
    created = create(tenant)
    problem = assert_problem(
        tenant.client.post(
            "/v1/serviceLocations", json=location(servicePointId=created["servicePointId"])
        ),
        409,
        "service_location_exists",
    )
    assert problem["serviceLocationId"] == created["id"]
    assert_problem(tenant.client.get("/v1/serviceLocations/nope"), 404, "not_found")
    assert_problem(
        tenant.client.patch("/v1/serviceLocations/nope", json={"status": "active"}),
        404,
        "not_found",
    )
    assert_problem(
        tenant.client.patch(
            f"/v1/serviceLocations/{created['id']}", json={"address": {"streetOne": None}}
        ),
        422,
        "validation_error",
    )
    assert_problem(
        tenant.client.patch(f"/v1/serviceLocations/{created['id']}", json={"status": None}),
        422,
        "validation_error",
    )


def test_scopes(tenant: Tenant) -> None:
    created = create(tenant)
    with tenant.server.client(tenant.key_with("locations:read")) as reader:
        assert reader.get(f"/v1/serviceLocations/{created['id']}").status_code == 200
        r = reader.post("/v1/serviceLocations", json=location())
        assert_problem(r, 403, "insufficient_scope")
    with tenant.server.client(tenant.key_with("customers:read")) as nothing:
        r = nothing.post("/v1/serviceLocations/search", json={"query": "3227 chr"})
        assert_problem(r, 403, "insufficient_scope")

"""Listing enrollments over real HTTP: pages, filters, cursors, refused parameters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tests.support.enrollments import (
    PAGE_KEYS,
    create,
    fields_of,
    get,
    ok,
    page_ids,
    person,
    problem,
)
from tests.support.server import Tenant

# --- 8. listing -----------------------------------------------------------------------------------


def _populate(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    first, second = tenant.instance(), tenant.instance("anywhere-program")
    made = [
        ok(create(tenant, first["id"], person(tags=["red"])), 201),
        ok(create(tenant, first["id"], person(tags=["red", "blue"], address={"state": "CA"})), 201),
        ok(create(tenant, first["id"], person(tags=["blue"])), 201),
        ok(create(tenant, first["id"], person(email="Finder@Example.com")), 201),
        ok(create(tenant, first["id"], person(tags=["red"], manufacturerSlugs=["lg"])), 201),
        ok(create(tenant, second["id"], person(tags=["red"])), 201),
        ok(create(tenant, second["id"], person()), 201),
    ]
    return first, second, made


def test_list_pages_and_filters(tenant: Tenant, other_tenant: Tenant) -> None:
    first, second, made = _populate(tenant)
    in_first = [e["id"] for e in made[:5]]
    url = f"/v1/programInstances/{first['id']}/enrollments"

    page = ok(tenant.client.get(url))
    assert set(page) == PAGE_KEYS
    assert (page["page"], page["perPage"], page["totalItems"], page["totalPages"]) == (1, 20, 5, 1)
    assert page["nextCursor"] is None
    assert page_ids(page) == sorted(in_first)
    assert page["data"][0] == get(tenant, page["data"][0]["id"])

    page = ok(tenant.client.get(url, params={"perPage": 2, "page": 2}))
    assert (page["page"], page["perPage"], page["totalItems"], page["totalPages"]) == (2, 2, 5, 3)
    assert page_ids(page) == sorted(in_first)[2:4]
    assert page["nextCursor"] is not None
    page = ok(tenant.client.get(url, params={"perPage": 2, "page": 3}))
    assert page_ids(page) == sorted(in_first)[4:]
    assert page["nextCursor"] is None
    page = ok(tenant.client.get(url, params={"perPage": 2, "page": 4}))
    assert (page["data"], page["totalItems"], page["totalPages"]) == ([], 5, 3)

    def ids(params: dict[str, Any], path: str = url) -> list[str]:
        return page_ids(ok(tenant.client.get(path, params=params)))

    assert ids({"status": "ineligible"}) == sorted([made[1]["id"], made[4]["id"]])
    assert ids({"status": "eligible"}) == sorted([made[0]["id"], made[2]["id"], made[3]["id"]])
    assert ids({"status": "approved"}) == []
    assert ids({"tag": "red"}) == sorted([made[0]["id"], made[1]["id"], made[4]["id"]])
    assert ids({"tag": "blue", "status": "eligible"}) == [made[2]["id"]]
    assert ids({"tag": "re"}) == []
    assert ids({"email": "FINDER@example.COM"}) == [made[3]["id"]]
    assert ids({"email": "nobody@example.com"}) == []

    created = [e["createdAt"] for e in made]
    assert ids({"createdAfter": created[2]}) == sorted(e["id"] for e in made[2:5])
    assert ids({"createdBefore": created[2]}) == sorted(e["id"] for e in made[:2])
    assert ids({"createdAfter": created[1], "createdBefore": created[3]}) == sorted(
        e["id"] for e in made[1:3]
    )
    # Times without an offset are UTC; other offsets are converted.
    stamp = datetime.fromisoformat(created[2].replace("Z", "+00:00"))
    naive = stamp.replace(tzinfo=None).isoformat()
    assert ids({"createdAfter": naive}) == sorted(e["id"] for e in made[2:5])
    assert ids({"createdBefore": naive}) == sorted(e["id"] for e in made[:2])
    shifted = stamp.astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert ids({"createdAfter": shifted}) == sorted(e["id"] for e in made[2:5])
    assert ids({"createdAfter": "2000-01-01"}) == sorted(in_first)
    assert ids({"createdBefore": "2000-01-01T00:00:00"}) == []

    everywhere = "/v1/enrollments"
    page = ok(tenant.client.get(everywhere))
    assert (page["totalItems"], page_ids(page)) == (7, sorted(e["id"] for e in made))
    assert ids({"programInstanceId": second["id"]}, everywhere) == sorted(e["id"] for e in made[5:])
    assert ids({"programInstanceId": second["id"], "tag": "red"}, everywhere) == [made[5]["id"]]
    assert ids({"tag": "red"}, everywhere) == sorted(
        e["id"] for e in (made[0], made[1], made[4], made[5])
    )
    assert ids({"createdAfter": created[6]}, everywhere) == [made[6]["id"]]

    # Another workspace sees none of it.
    assert ok(other_tenant.client.get(everywhere))["totalItems"] == 0
    problem(other_tenant.client.get(url), 404, "not_found")
    problem(other_tenant.client.get(f"/v1/enrollments/{made[0]['id']}"), 404, "not_found")


def test_list_rejects_bad_parameters(tenant: Tenant) -> None:
    instance = tenant.instance()
    url = f"/v1/programInstances/{instance['id']}/enrollments"
    for path in (url, "/v1/enrollments"):
        for params, field in (
            ({"perPage": 101}, "perPage"),
            ({"perPage": 0}, "perPage"),
            ({"page": 0}, "page"),
            ({"page": "x"}, "page"),
            ({"status": "bogus"}, "status"),
            ({"createdAfter": "yesterday"}, "createdAfter"),
        ):
            body = problem(tenant.client.get(path, params=params), 422, "validation_error")
            assert fields_of(body) == [field], params
        assert ok(tenant.client.get(path, params={"perPage": 100}))["perPage"] == 100
        # Any id-like string is a keyset position; anything else is refused as the schema says.
        for cursor in ("!!!", "a" * 201, "../x", "a=", ""):
            body = problem(
                tenant.client.get(path, params={"cursor": cursor}), 422, "validation_error"
            )
            assert fields_of(body) == ["cursor"], cursor
        assert ok(tenant.client.get(path, params={"cursor": "zzz"}))["data"] == []
    problem(tenant.client.get("/v1/programInstances/nope/enrollments"), 404, "not_found")


def test_cursor_walk_visits_every_item_once(tenant: Tenant) -> None:
    first, _, made = _populate(tenant)
    for path, expected in (
        (f"/v1/programInstances/{first['id']}/enrollments", sorted(e["id"] for e in made[:5])),
        ("/v1/enrollments", sorted(e["id"] for e in made)),
    ):
        for per_page in (1, 2, 3, 100):
            seen: list[str] = []
            page = ok(tenant.client.get(path, params={"perPage": per_page}))
            seen += page_ids(page)
            pages = 1
            while page["nextCursor"] is not None:
                page = ok(
                    tenant.client.get(
                        path, params={"perPage": per_page, "cursor": page["nextCursor"]}
                    )
                )
                assert (page["page"], page["totalItems"], page["totalPages"]) == (None, None, None)
                assert page["perPage"] == per_page
                assert 0 < len(page["data"]) <= per_page
                seen += page_ids(page)
                pages += 1
                assert pages <= len(expected)
            assert seen == expected, (path, per_page)
            assert pages == -(-len(expected) // per_page)
    # A cursor combines with filters.
    page = ok(tenant.client.get("/v1/enrollments", params={"perPage": 1, "tag": "red"}))
    seen = page_ids(page)
    while page["nextCursor"]:
        page = ok(
            tenant.client.get(
                "/v1/enrollments", params={"perPage": 1, "tag": "red", "cursor": page["nextCursor"]}
            )
        )
        seen += page_ids(page)
    assert seen == sorted(e["id"] for e in (made[0], made[1], made[4], made[5]))

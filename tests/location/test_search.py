"""The address search on a generated set, over HTTP: one typo, a typed prefix, typo and city,
other suffixes and directionals, units in any form, ESI IDs; the filters and the 4xx."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from enroll.location.formats import LocationFormat
from enroll.location.search import parse
from enroll.location.synthetic import ercot_file, premises, queries
from tests.location.helpers import create, load_file
from tests.support.rest_matrix import assert_problem
from tests.support.server import Tenant

COUNT = 3000
SAMPLES = 60


def _search(tenant: Tenant, **body: Any) -> list[dict[str, Any]]:
    r = tenant.client.post("/v1/serviceLocations/search", json=body)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def test_quality_on_a_generated_set(tenant: Tenant, tmp_path: Path) -> None:
    made = list(premises(COUNT, seed=7))
    path = tmp_path / "extract.csv"
    path.write_bytes(ercot_file(made))
    assert load_file(tenant, path, LocationFormat.ERCOT)["created"] == COUNT
    rng = random.Random(3)
    hits: dict[str, list[bool]] = defaultdict(list)
    missed = []
    for p in rng.sample(made, SAMPLES) + [p for p in made if p.unit][:SAMPLES]:
        for cls, query in queries(p, rng).items():
            found = [x["servicePointId"] for x in _search(tenant, query=query)]
            hits[cls].append(p.esi_id in found)
            if p.esi_id not in found:
                missed.append((cls, query, p.street_one))
    rates = {cls: sum(h) / len(h) for cls, h in hits.items()}
    assert all(rate >= 0.99 for rate in rates.values()), (rates, missed[:10])


def test_answers_are_ranked_and_scored(tenant: Tenant) -> None:
    target = create(
        tenant,
        address={
            "streetOne": "3227 N Christian Dr",
            "streetTwo": "Apt 5",
            "city": "Dallas",
            "state": "TX",
            "postalCode": "75201",
        },
    )
    create(tenant, address={"streetOne": "3227 Christmas St", "city": "Plano"})
    create(
        tenant, address={"streetOne": "3227 Peñasco Trl", "city": "Austin", "postalCode": "78701"}
    )
    for query in (
        "3227 christan dr",
        "3227 CHRISTIAN DRIVE NORTH",
        "3227 christian dr #5",
        "3227 christian dr unit 5",
        "3227 christian 5",
        "3227 christian dalas",
        "christian dr dallas",
    ):
        data = _search(tenant, query=query)
        assert data and data[0]["id"] == target["id"], (query, data)
        assert 0 < data[0]["score"] <= 1
        assert [d["score"] for d in data] == sorted((d["score"] for d in data), reverse=True)
    typing = _search(tenant, query="3227 chr")  # Christmas St and Christian Dr, both fit
    assert target["id"] in [d["id"] for d in typing] and len(typing) == 2
    accented = _search(tenant, query="3227 penasco")
    assert accented[0]["address"]["streetOne"] == "3227 Peñasco Trl"
    assert _search(tenant, query="3227 penasco", postalCode="75201") == []
    assert [d["id"] for d in _search(tenant, query="3227 christian", state="tx")][:1] == [
        target["id"]
    ]
    assert len(_search(tenant, query="3227", limit=2)) == 2


def test_ten_or_more_digits_are_a_service_point_id(tenant: Tenant) -> None:
    target = create(tenant)
    spid = target["servicePointId"]
    exact = _search(tenant, query=spid)
    assert exact[0]["id"] == target["id"] and exact[0]["score"] == 1.0
    assert target["id"] in [d["id"] for d in _search(tenant, query=spid[:12], limit=50)]
    assert _search(tenant, query="5" * 17) == []


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""},
        {"query": "   "},
        {"query": "x" * 201},
        {"query": "1 main", "limit": 0},
        {"query": "1 main", "limit": 51},
        {"query": "1 main", "extra": True},
        {"limit": 5},
    ],
)
def test_bad_searches(tenant: Tenant, body: dict[str, Any]) -> None:
    assert_problem(
        tenant.client.post("/v1/serviceLocations/search", json=body), 422, "validation_error"
    )


def test_query_parsing() -> None:
    q = parse("3227 N Christian Dr Apt 5")
    assert (q.house, q.unit, q.partial) == ("3227", "5", False)
    assert parse("3227 chr").partial and parse("3227 chr ").partial is False
    assert [s.street for s in parse("3227 lake view dr dallas").splits] == [
        "lake",
        "lake",  # "view" alone is a suffix (Vw)
        "lake view",
        "lake view dr dallas",
    ]

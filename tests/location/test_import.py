"""Location imports: ERCOT's extract (a full file, then a daily change file), CSV and JSON
Lines in the platform's field names, the upload over HTTP and its 4xx."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from enroll.location import pipeline
from enroll.location.formats import LocationFormat
from enroll.location.synthetic import ercot_file, premises
from tests.location.helpers import esi, finished, load_file, upload
from tests.support.rest_matrix import assert_problem
from tests.support.server import Tenant


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


def _file(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _by_esi(tenant: Tenant, esi_id: str) -> dict[str, Any]:
    r = tenant.client.post("/v1/serviceLocations/lookup", json={"servicePointId": esi_id})
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.mark.parametrize("part_rows", [None, 2])
def test_ercot_full_then_daily_change_file(
    tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part_rows: int | None
) -> None:
    """With parts of two rows, a part after one that wrote most of its rows upserts first
    (PostgreSQL): every count and write comes out the same."""
    upserted_first: list[int] = []
    if part_rows:
        for name in ("FIRST_PART_ROWS", "MIN_PART_ROWS", "MAX_PART_ROWS"):
            monkeypatch.setattr(pipeline, name, part_rows)
        counted = pipeline.repository.upsert_counted

        async def spy(*args: Any, **kwargs: Any) -> tuple[int, int]:
            upserted_first.append(1)
            return await counted(*args, **kwargs)

        monkeypatch.setattr(pipeline.repository, "upsert_counted", spy)
    full = _rows(ercot_file(list(premises(60, seed=int(tenant.id[-6:], 36)))))
    full[0][7] = "957877905"  # a DUNS names the TDSP whatever the prefix says
    full[1] += ["NEWCOL", "", "LAST"]  # newer columns are kept
    bad = [
        ["123", "1 MAIN ST", "", "DALLAS", "TX", "75201"],  # not 17/22 digits
        [esi(), "", "", "DALLAS", "TX", "75201"],  # no address
        ["99999990000000001", "2 MAIN ST", "", "DALLAS", "TX", "75201"],  # unknown TDSP
    ]
    path = tmp_path / "full.csv"
    path.write_bytes(_file(full[:30] + bad + full[30:]))
    counts = load_file(tenant, path, LocationFormat.ERCOT)
    assert counts["status"] == "completed"
    assert {k: counts[k] for k in ("rows", "created", "updated", "unchanged", "invalid")} == {
        "rows": 63,
        "created": 60,
        "updated": 0,
        "unchanged": 0,
        "invalid": 3,
    }
    shown = tenant.client.get(f"/v1/serviceLocationImports/{counts['id']}").json()
    assert [e["line"] for e in shown["errors"]] == [31, 32, 33]
    assert [e["errors"][0]["field"] for e in shown["errors"]] == ["ESIID", "ADDRESS", "DUNS"]
    first = _by_esi(tenant, full[0][0])
    assert first["utility"]["code"] == "centerpoint"
    assert first["attributes"]["duns"] == "957877905" and first["source"] == "ercot"
    assert _by_esi(tenant, full[1][0])["attributes"]["column21"] == "NEWCOL"
    assert _by_esi(tenant, full[1][0])["attributes"]["column23"] == "LAST"
    unchanged_before = _by_esi(tenant, full[5][0])

    # The daily change file: two changed, one new, one repeated unchanged.
    changed = [list(full[2]), list(full[3]), list(full[5])]
    changed[0][9] = "De-Energized"
    changed[1][1] = changed[1][1] + " UNIT 9"
    new = list(full[4])
    new[0] = esi()
    daily = tmp_path / "daily.csv"
    # New first: in two-row parts, the second part (one changed, one unchanged) comes after a
    # part that wrote both its rows, so it is counted from the upsert's RETURNING.
    daily.write_bytes(_file([new, *changed]))
    counts = load_file(tenant, daily, LocationFormat.ERCOT)
    assert {k: counts[k] for k in ("created", "updated", "unchanged", "invalid")} == {
        "created": 1,
        "updated": 2,
        "unchanged": 1,
        "invalid": 0,
    }
    assert _by_esi(tenant, full[2][0])["status"] == "de_energized"
    assert _by_esi(tenant, full[2][0])["version"] == 2
    after = _by_esi(tenant, full[5][0])
    assert after["version"] == unchanged_before["version"]
    assert after["lastSeenAt"] > unchanged_before["lastSeenAt"]
    assert after["updatedAt"] == unchanged_before["updatedAt"]

    # The same full file again: nothing is deleted, every row is unchanged or updated back.
    counts = load_file(tenant, path, LocationFormat.ERCOT)
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 2, 58)
    assert _by_esi(tenant, new[0])["id"]  # not in the full file, still there
    postgresql = tenant.server.database.backend == "postgresql"
    assert bool(upserted_first) == bool(part_rows and postgresql)


def test_csv_and_jsonl_in_the_platforms_names(tenant: Tenant, tmp_path: Path) -> None:
    a, b = esi(), esi()
    path = tmp_path / "locations.csv"
    path.write_text(
        "servicePointId,address.streetOne,address.city,address.postalCode,premiseType,"
        "metered,attributes.meterReadCycle\n"
        f"{a},10 Elm St,Austin,78701,residential,true,05\n"
        f"{b},,Austin,78701,,,\n"
        "123,11 Elm St,Austin,78701,,,\n"
        f"{a},10 Elm Street,Austin,78701,residential,true,05\n"
    )
    counts = load_file(tenant, path, LocationFormat.CSV)
    assert (counts["created"], counts["invalid"], counts["duplicates"]) == (1, 2, 1)
    stored = _by_esi(tenant, a)
    assert stored["address"]["streetOne"] == "10 Elm Street"  # the last row of an id wins
    assert stored["metered"] is True and stored["attributes"] == {"meterReadCycle": "05"}

    jsonl = tmp_path / "locations.jsonl"
    rows: list[Any] = [
        {"servicePointId": b, "address": {"streetOne": "12 Elm St", "city": "Austin"}},
        {
            "servicePointId": a,
            "address": {"streetOne": "10 Elm Street", "city": "Austin", "postalCode": "78701"},
            "premiseType": "residential",
            "metered": True,
            "attributes": {"meterReadCycle": "06"},
        },
        {"servicePointId": "x"},
        [1, 2],
    ]
    jsonl.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows) + b"{not json\n")
    counts = load_file(tenant, jsonl, LocationFormat.JSONL)
    assert (counts["created"], counts["updated"], counts["invalid"]) == (1, 1, 3)
    assert _by_esi(tenant, a)["attributes"] == {"meterReadCycle": "06"}


def test_upload_runs_as_a_job(tenant: Tenant) -> None:
    content = ercot_file(list(premises(25, seed=int(tenant.id[-5:], 36))))
    r = upload(tenant, content)  # the format is sniffed: ERCOT (an ESI ID first)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/v1/serviceLocationImports/{r.json()['id']}"
    assert r.json()["format"] == "ercot" and r.json()["status"] == "queued"
    done = finished(tenant, r.json()["id"])
    assert done["status"] == "completed" and done["progress"] == 1.0
    assert done["counts"]["created"] == 25 and done["fileBytes"] == len(content)
    listed = tenant.client.get("/v1/serviceLocations", params={"perPage": 100}).json()
    assert listed["totalItems"] == 25


def test_upload_with_an_idempotency_key_imports_once(tenant: Tenant) -> None:
    content = ercot_file(list(premises(3, seed=int(tenant.id[-4:], 36))))
    headers = {"Idempotency-Key": f"k-{tenant.id}"}
    files = {"file": ("x.csv", content, "text/csv")}
    first = tenant.client.post("/v1/serviceLocationImports", files=files, headers=headers)
    again = tenant.client.post("/v1/serviceLocationImports", files=files, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    finished(tenant, first.json()["id"])


@pytest.mark.parametrize(
    ("content", "fmt", "status", "code"),
    [
        (b"", None, 422, "empty_import"),
        (b"\xff\xfe1,2\n", None, 422, "invalid_encoding"),
        (b"caf\xe9\n", "csv", 422, "invalid_encoding"),
        (b"1,2\n", "xml", 422, "validation_error"),
    ],
)
def test_refused_uploads(
    tenant: Tenant, content: bytes, fmt: str | None, status: int, code: str
) -> None:
    assert_problem(upload(tenant, content, fmt=fmt), status, code)


def test_upload_needs_a_file_and_the_scope(tenant: Tenant) -> None:
    r = tenant.client.post("/v1/serviceLocationImports", data={"format": "ercot"})
    assert_problem(r, 422, "validation_error")
    r = tenant.client.post("/v1/serviceLocationImports", json={"file": "x"})
    assert r.status_code in (415, 422), r.text
    assert_problem(tenant.client.get("/v1/serviceLocationImports/nope"), 404, "not_found")
    with tenant.server.client(tenant.key_with("locations:read")) as reader:
        r = reader.post("/v1/serviceLocationImports", files={"file": ("x", b"1", "text/csv")})
        assert_problem(r, 403, "insufficient_scope")


def test_the_cli_imports_a_file_and_prints_its_counts(tenant: Tenant, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from enroll.cli.main import app
    from enroll.config import get_settings

    path = tmp_path / "extract.txt"
    path.write_bytes(
        ercot_file(list(premises(12, seed=int(tenant.id[-5:], 36))))
        + b"123,1 MAIN ST,,DALLAS,TX,75201\n"
    )
    args = ["import", "locations", "--workspace", tenant.id, "--no-progress", str(path)]
    env = {"ENROLL_DATABASE_URL": tenant.server.database.url}
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, args, env=env)
        again = CliRunner().invoke(app, [*args[:4], "--format", "ercot", *args[4:]], env=env)
        missing = CliRunner().invoke(
            app, ["import", "locations", "--workspace", "nope", str(path)], env=env
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    counts = orjson.loads(result.stdout)
    assert (counts["created"], counts["updated"], counts["unchanged"], counts["invalid"]) == (
        12,
        0,
        0,
        1,
    )
    assert again.exit_code == 0 and orjson.loads(again.stdout)["unchanged"] == 12
    assert missing.exit_code == 1 and orjson.loads(missing.stdout)["error"] == "not_found"

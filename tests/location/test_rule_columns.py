"""``location/rule_columns.py`` (what set-based eligibility SQL reads of a location) against
``schemas.rule_view`` (what Python rules read): every mapped path gives the same value, on
both databases, so the two descriptions of a location cannot drift apart."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text

from enroll.context import AppContext
from enroll.location import rule_columns
from enroll.location.schemas import rule_view
from enroll.models import ServiceLocation
from tests.location.helpers import create
from tests.support.server import Tenant


def _at(view: dict[str, Any], path: str) -> Any:
    value: Any = view
    for part in path.split(".")[1:]:  # after "location"
        value = value.get(part) if isinstance(value, dict) else None
    return value


def test_every_mapped_path_reads_as_the_rule_view(tenant: Tenant) -> None:
    made = create(
        tenant,
        address={
            "streetOne": "3227 Christian Dr",
            "streetTwo": "Apt 5",
            "city": "Dallas",
            "state": "TX",
            "postalCode": "75201",
        },
        county="DALLAS",
        attributes={"switchHoldIndicator": "N", "meterReadCycle": "07"},
    )

    async def read(ctx: AppContext) -> tuple[dict[str, Any], dict[str, Any]]:
        async with ctx.db.transaction(write=False) as session:
            row = await session.get(ServiceLocation, made["id"])
            assert row is not None
            paths = {**rule_columns.TEXT, **rule_columns.JSON}
            selected = ", ".join(sql.format(l="l") for sql in paths.values())
            found = (
                await session.execute(
                    text(f"SELECT {selected} FROM service_location l WHERE l.id = :id"),
                    {"id": made["id"]},
                )
            ).one()
            return rule_view(row), dict(zip(paths, found, strict=True))

    view, columns = tenant.server.database.run(read)
    for path in rule_columns.JSON:
        value = columns[path]
        columns[path] = orjson.loads(value) if isinstance(value, str | bytes) else value
    assert columns == {path: _at(view, path) for path in columns}
    assert columns["location.address.streetTwo"] == "Apt 5"
    assert columns["location.utility.code"] == "oncor"

"""Service location tests' helpers: locations to create, files to upload, imports run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from enroll.context import AppContext
from enroll.location import imports, pipeline
from enroll.location.formats import LocationFormat
from tests.support.helpers import uniq
from tests.support.server import Tenant

ONCOR = "1044372"
CENTERPOINT = "1008901"
AEP = "1003278"


def esi(prefix: str = ONCOR) -> str:
    """A fresh 17-digit ESI ID with a TDSP's prefix."""
    return prefix + str(int(uniq(), 16))[-10:].rjust(10, "0")


def location(**fields: Any) -> dict[str, Any]:
    return {
        "servicePointId": esi(),
        "address": {
            "streetOne": "3227 Christian Dr",
            "city": "Dallas",
            "state": "TX",
            "postalCode": "75201",
        },
        "premiseType": "residential",
    } | fields


def create(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    r = tenant.client.post("/v1/serviceLocations", json=location(**fields))
    assert r.status_code == 201, r.text
    return dict(r.json())


def upload(
    tenant: Tenant, content: bytes, *, fmt: str | None = None, name: str = "extract.csv"
) -> httpx.Response:
    data = {"format": fmt} if fmt else None
    return tenant.client.post(
        "/v1/serviceLocationImports", files={"file": (name, content, "text/csv")}, data=data
    )


def finished(tenant: Tenant, import_id: str) -> dict[str, Any]:
    """The import once the worker has run it (``Server.drain``)."""
    tenant.server.drain()
    r = tenant.client.get(f"/v1/serviceLocationImports/{import_id}")
    assert r.status_code == 200, r.text
    body = dict(r.json())
    assert body["status"] in ("completed", "failed"), body
    return body


def load_file(tenant: Tenant, path: Path, fmt: LocationFormat) -> dict[str, Any]:
    """Run a file through the import pipeline in this process (as the CLI does): the counts."""

    size = path.stat().st_size

    async def work(ctx: AppContext) -> dict[str, Any]:
        imp = await imports.queue_local(
            ctx, workspace_id=tenant.id, fmt=fmt, size=size, actor="test"
        )
        done = await pipeline.run(ctx, import_id=imp.id, source=imports.read_file(path))
        return dict(done.counts) | {"id": done.id, "status": done.status}

    return tenant.server.database.run(work)

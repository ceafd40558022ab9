"""Import files that are not UTF-8 text are refused whole, with the offset of the first bad
byte (issue 13, C11): over HTTP while the upload arrives, from the CLI before the import
starts, and by the pipeline itself for a stored file that was never checked."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from enroll.context import AppContext
from enroll.importer import pipeline
from enroll.importer import service as imports
from enroll.importer.formats import ImportFormat
from enroll.models import EnrollmentImport, ImportChunk
from tests.support.helpers import PROBLEM
from tests.support.imports import CSV, enrollments, results, run_import, upload, wait
from tests.support.server import Tenant

HEADER = (
    "firstName,lastName,email,address.streetOne,address.state,address.postalCode,"
    "manufacturerSlugs\n"
)


def jose(n: str | None = None) -> str:
    n = n or uuid.uuid4().hex[:10]
    return f"José,Doe{n},jose.{n}@example.com,1 Elm St,NY,10001,tesla\n"


def refused(r: Any, offset: int) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    body = dict(r.json())
    assert body["code"] == "invalid_encoding" and body["offset"] == offset, body
    return body


def stored_imports(tenant: Tenant, instance_id: str) -> tuple[int, int]:
    """(imports, file chunks) of an instance: a refused upload leaves neither."""

    async def work(ctx: AppContext) -> tuple[int, int]:
        ours = select(EnrollmentImport.id).where(
            EnrollmentImport.program_instance_id == instance_id
        )
        async with ctx.db.transaction(write=False) as session:
            n = await session.scalar(select(func.count()).select_from(ours.subquery()))
            chunks = await session.scalar(
                select(func.count()).where(ImportChunk.import_id.in_(ours))
            )
        return int(n or 0), int(chunks or 0)

    return tenant.server.database.run(work)


def test_a_latin1_file_is_refused_with_the_offset_not_decoded_as_jos_fffd(tenant: Tenant) -> None:
    instance = tenant.instance()
    content = (HEADER + jose()).encode("latin-1")
    body = refused(upload(tenant, instance["id"], content, headers=CSV), len(HEADER) + 3)
    assert "0xe9" in body["detail"] and "UTF-8" in body["detail"]
    assert enrollments(tenant, instance["id"]) == []
    assert stored_imports(tenant, instance["id"]) == (0, 0)


@pytest.mark.parametrize(
    ("encoding", "offset"),
    [("utf-16", 0), ("utf-16-le", 1), ("utf-16-be", 0), ("utf-32", 0)],
)
def test_a_utf16_file_is_refused_not_completed_with_row_errors(
    tenant: Tenant, encoding: str, offset: int
) -> None:
    instance = tenant.instance()
    content = (HEADER + jose()).encode(encoding)
    body = refused(upload(tenant, instance["id"], content, headers=CSV), offset)
    if encoding in ("utf-16", "utf-32"):  # with a byte order mark: named
        assert encoding.upper() in body["detail"]
    assert enrollments(tenant, instance["id"]) == []


def test_utf8_with_a_bom_is_accepted(tenant: Tenant) -> None:
    instance = tenant.instance()
    n = uuid.uuid4().hex[:10]
    done = run_import(tenant, instance["id"], ("\ufeff" + HEADER + jose(n)).encode(), headers=CSV)
    assert done["status"] == "completed" and done["counts"]["created"] == 1, done
    [made] = enrollments(tenant, instance["id"])
    assert made["firstName"] == "José" and made["lastName"] == f"Doe{n}"
    # JSON Lines too, with a character split across the upload's pieces.
    row = orjson.dumps({**_person(), "firstName": "Zoë"})
    lines = b"\xef\xbb\xbf" + row + b"\n"
    split = lines.index("ë".encode()) + 1

    def pieces() -> Iterator[bytes]:
        yield lines[:split]
        yield lines[split:]

    r = tenant.client.post(
        f"/v1/programInstances/{instance['id']}/imports",
        content=pieces(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 202, r.text
    assert wait(tenant, r.json()["id"])["counts"]["created"] == 1
    assert {e["firstName"] for e in enrollments(tenant, instance["id"])} == {"José", "Zoë"}


def test_a_bad_byte_deep_in_a_streamed_upload_is_refused_and_nothing_stored(
    tenant: Tenant,
) -> None:
    """Over a megabyte of good rows (stored as chunks while they arrive), then a Latin-1 row:
    422 at that byte, and neither the import nor its stored chunks remain."""
    instance = tenant.instance()
    good = (HEADER + "".join(jose().replace("José", "Jose") for _ in range(40_000))).encode()
    assert len(good) > 2 * imports.CHUNK_BYTES
    bad = jose().encode("latin-1")

    def body() -> Iterator[bytes]:
        for start in range(0, len(good), 65_536):
            yield good[start : start + 65_536]
        yield bad

    r = tenant.client.post(
        f"/v1/programInstances/{instance['id']}/imports", content=body(), headers=CSV
    )
    refused(r, len(good) + 3)
    assert stored_imports(tenant, instance["id"]) == (0, 0)
    assert enrollments(tenant, instance["id"]) == []


def test_the_pipeline_fails_a_stored_file_at_its_bad_byte(tenant: Tenant) -> None:
    """A file that reached the pipeline unchecked (stored before this check existed) fails
    with the offset in its error; it is never decoded by replacement."""
    instance = tenant.instance()
    content = (HEADER + jose()).encode("latin-1")

    async def work(ctx: AppContext) -> EnrollmentImport:
        imp = await imports.create_local(
            ctx,
            workspace_id=tenant.id,
            instance_ref=instance["id"],
            size=len(content),
            fmt=ImportFormat.CSV,
            dry_run=False,
            emit_events=True,
            actor="test",
        )
        return await pipeline.run(ctx, import_id=imp.id, source=iter([content]))

    failed = tenant.server.database.run(work)
    assert failed.status == "failed"
    assert failed.error is not None and f"Byte {len(HEADER) + 3} (0xe9)" in failed.error
    assert enrollments(tenant, instance["id"]) == []
    assert results(tenant, failed.id) == []


def _cli(tenant: Tenant, instance: dict[str, Any], path: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"ENROLL_DATABASE_URL": tenant.server.database.url}
    args = ["import", "enrollments", "--program-instance", instance["slug"], str(path)]
    return subprocess.run(
        [sys.executable, "-m", "enroll.cli.main", *args, "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
    )


def test_cli_refuses_a_latin1_file_before_importing_and_takes_a_bom(
    tenant: Tenant, tmp_path: Path
) -> None:
    instance = tenant.instance()
    latin1 = tmp_path / "latin1.csv"
    # The bad row comes after good ones: nothing at all is imported, not the rows before it.
    latin1.write_bytes((HEADER + jose().replace("José", "Jose")).encode() + jose().encode("cp1252"))
    out = _cli(tenant, instance, latin1)
    assert out.returncode == 1, out.stderr
    printed = orjson.loads(out.stdout)
    good_bytes = len((HEADER + jose("x" * 10).replace("José", "Jose")).encode())
    assert printed["error"] == "invalid_encoding" and printed["offset"] == good_bytes + 3
    assert "Traceback" not in out.stderr
    assert enrollments(tenant, instance["id"]) == []
    assert stored_imports(tenant, instance["id"]) == (0, 0)

    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (HEADER + jose()).encode())
    out = _cli(tenant, instance, bom)
    assert out.returncode == 0, out.stdout + out.stderr
    assert orjson.loads(out.stdout)["counts"]["created"] == 1
    assert [e["firstName"] for e in enrollments(tenant, instance["id"])] == ["José"]


def _person() -> dict[str, Any]:
    n = uuid.uuid4().hex[:10]
    return {
        "lastName": f"Doe{n}",
        "email": f"zoe.{n}@example.com",
        "address": {"streetOne": f"{n} Main St", "state": "NY", "postalCode": "10001"},
        "manufacturerSlugs": ["tesla"],
    }


def test_a_20_gib_file_has_its_size_and_progress_stored(tenant: Tenant) -> None:
    """``file_bytes`` / ``bytes_done`` hold sizes up to ENROLL_MAX_IMPORT_BYTES (20 GiB; 32-bit
    columns on PostgreSQL refused anything over 2 GiB)."""
    instance = tenant.instance()
    size = 20 * 1024**3

    async def work(ctx: AppContext) -> str:
        imp = await imports.create_local(
            ctx,
            workspace_id=tenant.id,
            instance_ref=instance["id"],
            size=size,
            fmt=ImportFormat.CSV,
            dry_run=False,
            emit_events=True,
            actor="test",
        )
        async with ctx.db.transaction() as session:
            stored = await session.get(EnrollmentImport, imp.id)
            assert stored is not None
            stored.bytes_done = size - 1
        return imp.id

    import_id = tenant.server.database.run(work)
    r = tenant.client.get(f"/v1/imports/{import_id}")
    assert r.status_code == 200, r.text
    progress = r.json()["progress"]
    assert progress["bytesTotal"] == size and progress["bytesDone"] == size - 1

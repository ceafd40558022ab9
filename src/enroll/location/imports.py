"""Location import use cases: receive a file, queue and run its job, read its status.

As with enrollment imports (importer/service.py), the upload is stored in chunk rows of about
a megabyte, each in a short transaction, checked to be UTF-8 text as it arrives; only when it
is all in does the import become ``queued`` with its job, in one transaction that also stores
the answer for an Idempotency-Key. The job spools the chunks to a local file and runs
pipeline.py over it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from enroll.context import AppContext
from enroll.errors import EmptyImport, InvalidEncoding, NotFound
from enroll.idempotency import service as idempotency
from enroll.job import service as jobs
from enroll.job.registry import Payload
from enroll.kit import failures
from enroll.kit.textfile import EncodingError, Utf8Reader
from enroll.location import import_repository as repository
from enroll.location import pipeline
from enroll.location.formats import LocationFormat
from enroll.location.schemas import ERCOT, ImportIssueOut, ServiceLocationImportOut
from enroll.models import ServiceLocationImport, ServiceLocationImportChunk
from enroll.workflows.runs import RunStatus

log = logging.getLogger("enroll.location")
CHUNK_BYTES = 1 << 20
LOCATION_IMPORT_JOB = "location.import"
SHOWN_ISSUES = 100


class LocationImportPayload(Payload):
    import_id: str


def sniff(head: bytes, filename: str | None) -> LocationFormat:
    """The format of a file sent without one: JSON Lines by its name or first character,
    ERCOT's extract when its first cell is an ESI ID (digits), else a headered CSV."""
    name = (filename or "").lower()
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if name.endswith((".jsonl", ".ndjson")) or first.startswith(b"{"):
        return LocationFormat.JSONL
    cell = first.split(b",", 1)[0].strip(b"\"' ")
    return LocationFormat.ERCOT if cell.isdigit() else LocationFormat.CSV


async def get(
    session: AsyncSession, *, workspace_id: str, import_id: str
) -> ServiceLocationImportOut:
    imp = await repository.get(session, workspace_id=workspace_id, import_id=import_id)
    if imp is None:
        raise NotFound(f"No service location import {import_id!r}.")
    issues = await repository.first_issues(session, import_id=imp.id, limit=SHOWN_ISSUES)
    return ServiceLocationImportOut.of(
        imp, [ImportIssueOut(line=i.line, errors=i.errors) for i in issues]
    )


async def open_import(
    ctx: AppContext, *, workspace_id: str, fmt: LocationFormat, actor: str, size: int = 0
) -> ServiceLocationImport:
    now = ctx.clock.now()
    imp = ServiceLocationImport(
        workspace_id=workspace_id,
        status=RunStatus.RECEIVING,
        format=fmt.value,
        market=ERCOT if fmt == LocationFormat.ERCOT else "any",
        file_bytes=size,
        bytes_done=0,
        rows_done=0,
        counts=pipeline.Counts().as_json(),
        actor=actor,
        created_at=now,
        updated_at=now,
    )
    async with ctx.db.transaction() as session:
        session.add(imp)
    return imp


async def _receive(
    ctx: AppContext, imp: ServiceLocationImport, body: AsyncIterator[bytes], digest: Any
) -> None:
    """Store the body in chunks, refusing it at its first byte that is not UTF-8 text."""
    buffer, seq, size, reader = bytearray(), 0, 0, Utf8Reader()

    async def flush() -> None:
        nonlocal seq
        async with ctx.db.transaction() as session:
            session.add(
                ServiceLocationImportChunk(
                    import_id=imp.id, seq=seq, workspace_id=imp.workspace_id, data=bytes(buffer)
                )
            )
        seq += 1
        buffer.clear()

    async for piece in body:
        _check_text(reader, piece)
        digest.update(piece)
        size += len(piece)
        buffer += piece
        if len(buffer) >= CHUNK_BYTES:
            await flush()
    _check_text(reader, b"", final=True)
    if buffer:
        await flush()
    imp.file_bytes = size


def _check_text(reader: Utf8Reader, piece: bytes, *, final: bool = False) -> None:
    try:
        reader.decode(piece, final=final)
    except EncodingError as exc:
        raise refused_encoding(exc) from None


def refused_encoding(exc: EncodingError) -> InvalidEncoding:
    return InvalidEncoding(str(exc), offset=exc.offset)


async def discard(ctx: AppContext, import_id: str) -> None:
    async with ctx.db.transaction() as session:
        await repository.delete_import(session, import_id=import_id)


async def upload(
    ctx: AppContext,
    *,
    workspace_id: str,
    fmt: LocationFormat,
    actor: str,
    body: AsyncIterator[bytes],
    fingerprint_head: str,
    idempotency_key: str | None,
    idempotency_scope: str,
) -> ServiceLocationImport | Response:
    """Receive a file and queue its import; with an Idempotency-Key, a repeat of the same
    request (same file) answers the first one's response and imports nothing again."""
    imp = await open_import(ctx, workspace_id=workspace_id, fmt=fmt, actor=actor)
    digest = hashlib.sha256(fingerprint_head.encode())
    try:
        await _receive(ctx, imp, body, digest)
        if imp.file_bytes == 0:
            raise EmptyImport("The file is empty.")
        outcome = await idempotency.begin(
            ctx, scope=idempotency_scope, key=idempotency_key, fingerprint=digest.hexdigest()
        )
    except BaseException:
        await discard(ctx, imp.id)
        raise
    if isinstance(outcome, Response):
        await discard(ctx, imp.id)
        return outcome
    try:
        async with outcome as guard:
            return await _queue(ctx, imp, sha256=digest.hexdigest(), guard=guard)
    except BaseException:
        await discard(ctx, imp.id)
        raise


async def _queue(
    ctx: AppContext, imp: ServiceLocationImport, *, sha256: str, guard: idempotency.Guard
) -> ServiceLocationImport:
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        stored = await repository.stored_import(session, imp.id)
        assert stored is not None
        stored.status = RunStatus.QUEUED
        stored.file_bytes = imp.file_bytes
        stored.file_sha256 = sha256
        stored.updated_at = now
        await jobs.enqueue(
            session,
            kind=LOCATION_IMPORT_JOB,
            payload=LocationImportPayload(import_id=imp.id),
            workspace_id=imp.workspace_id,
            now=now,
            max_attempts=3,
        )
        await session.flush()
        await guard.complete(session, accepted_response(stored))
    return stored


def accepted_response(imp: ServiceLocationImport) -> Response:
    return Response(
        ServiceLocationImportOut.of(imp).model_dump_json(by_alias=True),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/v1/serviceLocationImports/{imp.id}"},
    )


# --- running ---------------------------------------------------------------------------------


@asynccontextmanager
async def _spooled(ctx: AppContext, import_id: str) -> AsyncIterator[Path]:
    """The uploaded file, copied chunk by chunk to a local temporary file for parsing."""
    fd, name = tempfile.mkstemp(prefix=f"enroll-locations-{import_id}-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            seq = 0
            while True:
                async with ctx.db.transaction(write=False) as session:
                    data = await repository.chunk(session, import_id=import_id, seq=seq)
                if data is None:
                    break
                out.write(data)
                seq += 1
        yield path
    finally:
        os.unlink(path)


def read_file(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while piece := f.read(CHUNK_BYTES):
            yield piece


async def run_stored(ctx: AppContext, import_id: str) -> ServiceLocationImport:
    """The job: process an uploaded file, then drop it."""
    try:
        async with _spooled(ctx, import_id) as path:
            imp = await pipeline.run(ctx, import_id=import_id, source=read_file(path))
    except Exception as exc:
        error = failures.describe(log, exc, f"location import {import_id} failed")
        imp = await pipeline.finish(ctx, import_id, None, error=error)
    seq = 0
    while True:  # 64 chunks (64 MB) a transaction: no long DELETE
        seq += 64
        async with ctx.db.transaction() as session:
            left = await repository.delete_chunks(session, import_id=import_id, before=seq)
        if not left:
            return imp


async def queue_local(
    ctx: AppContext, *, workspace_id: str, fmt: LocationFormat, size: int, actor: str
) -> ServiceLocationImport:
    """An import of a local file (the CLI): the same pipeline, no upload and no job."""
    async with ctx.db.transaction(write=False) as session:
        if not await repository.workspace_exists(session, workspace_id=workspace_id):
            raise NotFound(f"No workspace {workspace_id!r}.")
    imp = await open_import(ctx, workspace_id=workspace_id, fmt=fmt, actor=actor, size=size)
    async with ctx.db.transaction() as session:
        stored = await repository.stored_import(session, imp.id)
        assert stored is not None
        stored.status = RunStatus.QUEUED
    return stored

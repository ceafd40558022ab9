"""Import use cases: receive an upload, run it (as a job), read its status and results.

An upload is streamed into ``import_chunk`` rows of about a megabyte, each in a short
transaction of its own, so neither memory nor one transaction grows with the file. Only when
the whole body is in does the import become ``queued`` (with its job, in one transaction).
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from enroll.context import AppContext
from enroll.enrollment.errors import InstanceNotAccepting
from enroll.errors import NotFound
from enroll.idempotency import service as idempotency
from enroll.importer import pipeline, repository
from enroll.importer.errors import EmptyImport, InvalidEncoding
from enroll.importer.formats import EncodingError, ImportFormat, Utf8Reader
from enroll.importer.schemas import ImportOut, ResultRow
from enroll.job import service as jobs
from enroll.job.registry import Payload
from enroll.kit import failures
from enroll.models import EnrollmentImport, ImportChunk, ImportIssue, ProgramInstance
from enroll.program_instance import service as instances
from enroll.workflows.runs import RunStatus

log = logging.getLogger("enroll.importer")
CHUNK_BYTES = 1 << 20
IMPORT_JOB = "import.run"


class ImportPayload(Payload):
    import_id: str


async def get(session: AsyncSession, *, workspace_id: str, import_id: str) -> EnrollmentImport:
    return await repository.imports.require(session, workspace_id=workspace_id, id=import_id)


async def open_import(
    ctx: AppContext,
    *,
    workspace_id: str,
    instance_ref: str,
    fmt: ImportFormat,
    dry_run: bool,
    emit_events: bool,
    actor: str,
    evaluate: bool = True,
) -> EnrollmentImport:
    """A new import in ``receiving``, for an instance that accepts enrollments."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        instance = await instances.get(session, workspace_id=workspace_id, ref=instance_ref)
        refusal = await instances.refusal_reason(session, instance, today=now.date())
        if refusal:
            raise InstanceNotAccepting(refusal)
        imp = EnrollmentImport(
            workspace_id=workspace_id,
            program_instance_id=instance.id,
            status=RunStatus.RECEIVING,
            format=fmt.value,
            dry_run=dry_run,
            emit_events=emit_events,
            evaluate=evaluate,
            file_bytes=0,
            bytes_done=0,
            rows_done=0,
            counts=pipeline.Counts().as_json(),
            actor=actor,
            created_at=now,
            updated_at=now,
        )
        session.add(imp)
    return imp


def _chunk_aad(import_id: str, seq: int) -> bytes:
    """A chunk of an uploaded file is sealed with the data key (it may hold tax ids, and waits
    in the database until the worker runs the import): bound to its import and place."""
    return f"import_chunk:{import_id}:{seq}".encode()


async def receive(
    ctx: AppContext, imp: EnrollmentImport, body: AsyncIterator[bytes], digest: Any
) -> None:
    """Store the body in chunks; ``digest`` (a hashlib object) sees every byte.

    The bytes are checked to be UTF-8 text as they arrive: a file that is not is refused at
    its first bad byte (422 ``invalid_encoding`` with its ``offset``), before anything of it
    is imported, rather than failing a running import half-way (or worse, being decoded into
    replacement characters). The server reads and drops the rest of the body."""
    buffer = bytearray()
    seq = 0
    size = 0
    text = Utf8Reader()

    async def flush() -> None:
        nonlocal seq
        sealed = ctx.vault.seal(bytes(buffer), aad=_chunk_aad(imp.id, seq))
        async with ctx.db.transaction() as session:
            session.add(ImportChunk(import_id=imp.id, seq=seq, data=sealed))
        seq += 1
        buffer.clear()

    async for piece in body:
        _check_text(text, piece)
        digest.update(piece)
        size += len(piece)
        buffer += piece
        if len(buffer) >= CHUNK_BYTES:
            await flush()
    _check_text(text, b"", final=True)
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
    instance_ref: str,
    fmt: ImportFormat,
    dry_run: bool,
    emit_events: bool,
    actor: str,
    evaluate: bool = True,
    body: AsyncIterator[bytes],
    fingerprint_head: str,
    idempotency_key: str | None,
    idempotency_scope: str,
) -> EnrollmentImport | Response:
    """Receive a file and queue its import; with an Idempotency-Key, a repeat of the same
    request (same file) answers the first one's response and imports nothing again."""
    imp = await open_import(
        ctx,
        workspace_id=workspace_id,
        instance_ref=instance_ref,
        fmt=fmt,
        dry_run=dry_run,
        emit_events=emit_events,
        actor=actor,
        evaluate=evaluate,
    )
    digest = hashlib.sha256(fingerprint_head.encode())
    try:
        await receive(ctx, imp, body, digest)
        if imp.file_bytes == 0:
            raise EmptyImport("The import file is empty.")
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
            stored = await _queue(ctx, imp, sha256=digest.hexdigest(), guard=guard)
        return stored
    except BaseException:
        await discard(ctx, imp.id)
        raise


async def _queue(
    ctx: AppContext, imp: EnrollmentImport, *, sha256: str, guard: idempotency.Guard
) -> EnrollmentImport:
    """The received import, queued with its job; the request's answer stored with it."""
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
            kind=IMPORT_JOB,
            payload=ImportPayload(import_id=imp.id),
            workspace_id=imp.workspace_id,
            now=now,
            max_attempts=3,
        )
        await session.flush()
        await guard.complete(session, accepted_response(stored))
    return stored


def accepted_response(imp: EnrollmentImport) -> Response:
    return Response(
        ImportOut.of(imp).model_dump_json(by_alias=True),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/v1/imports/{imp.id}"},
    )


# --- running ---------------------------------------------------------------------------------


@asynccontextmanager
async def spooled(ctx: AppContext, import_id: str) -> AsyncIterator[Path]:
    """The uploaded file, copied chunk by chunk to a local temporary file for parsing."""
    fd, name = tempfile.mkstemp(prefix=f"enroll-import-{import_id}-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            seq = 0
            while True:
                async with ctx.db.transaction(write=False) as session:
                    data = await repository.chunk(session, import_id=import_id, seq=seq)
                if data is None:
                    break
                out.write(ctx.vault.open(data, aad=_chunk_aad(import_id, seq)))
                seq += 1
        yield path
    finally:
        os.unlink(path)


def read_file(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while piece := f.read(CHUNK_BYTES):
            yield piece


async def run_stored(ctx: AppContext, import_id: str) -> EnrollmentImport:
    """The job: process an uploaded import, then drop its file."""
    try:
        async with spooled(ctx, import_id) as path:
            imp = await pipeline.run(ctx, import_id=import_id, source=read_file(path))
    except Exception as exc:
        # A bug or a database error, not the file: retrying would meet it again. The batches
        # committed so far stay; the import says where and why it stopped.
        error = failures.describe(log, exc, f"import {import_id} failed")
        imp = await pipeline.fail(ctx, import_id, error)
    await drop_chunks(ctx, import_id)
    return imp


CHUNKS_PER_DELETE = 64  # 64 MB of file a transaction: a 20 GiB upload is no one long DELETE


async def drop_chunks(ctx: AppContext, import_id: str) -> None:
    seq = 0
    while True:
        seq += CHUNKS_PER_DELETE
        async with ctx.db.transaction() as session:
            await repository.delete_chunks(session, import_id=import_id, before=seq)
            left = await repository.any_chunk(session, import_id=import_id)
        if left is None:
            return


async def create_local(
    ctx: AppContext,
    *,
    workspace_id: str,
    instance_ref: str,
    size: int,
    fmt: ImportFormat,
    dry_run: bool,
    emit_events: bool,
    actor: str,
    evaluate: bool = True,
) -> EnrollmentImport:
    """An import of a local file (the CLI): same pipeline, no upload, no job."""
    imp = await open_import(
        ctx,
        workspace_id=workspace_id,
        instance_ref=instance_ref,
        fmt=fmt,
        dry_run=dry_run,
        emit_events=emit_events,
        actor=actor,
        evaluate=evaluate,
    )
    async with ctx.db.transaction() as session:
        stored = await repository.stored_import(session, imp.id)
        assert stored is not None
        stored.status = RunStatus.QUEUED
        stored.file_bytes = size
    return stored


async def instance_for_cli(ctx: AppContext, *, instance_ref: str) -> ProgramInstance:
    """The instance a local import goes to, by id or slug, in whichever workspace holds it
    (the CLI runs for the platform)."""
    async with ctx.db.transaction(write=False) as session:
        instance = await repository.instance_in_any_workspace(session, ref=instance_ref)
    if instance is None:
        raise NotFound(f"No program instance {instance_ref!r}.")
    return instance


# --- results ---------------------------------------------------------------------------------


async def results(ctx: AppContext, imp: EnrollmentImport) -> AsyncIterator[bytes]:
    """Every row's outcome as JSON Lines, by row number: created rows from the enrollments
    the import made, the others from its issues; read in pages so memory stays flat."""

    def created(session: AsyncSession, after: int) -> Awaitable[Sequence[Any]]:
        return repository.created_page(session, import_id=imp.id, after=after, limit=RESULTS_PAGE)

    def issues(session: AsyncSession, after: int) -> Awaitable[Sequence[Any]]:
        return repository.issue_page(session, import_id=imp.id, after=after, limit=RESULTS_PAGE)

    def created_row(r: Any) -> ResultRow:
        return ResultRow(row=r[0], outcome="created", enrollment_id=r[1], status=r[2])

    def issue_row(r: Any) -> ResultRow:
        issue: ImportIssue = r[1]
        return ResultRow(
            row=issue.row,
            outcome=issue.outcome,
            status=issue.status,
            duplicate_of=issue.duplicate_of,
            duplicate_key=issue.duplicate_key,
            errors=issue.errors,
        )

    streams = [_paged(ctx, created, created_row), _paged(ctx, issues, issue_row)]
    async for line in _merge(*streams):
        yield line.model_dump_json(by_alias=True, exclude_none=True).encode() + b"\n"


RESULTS_PAGE = 5000


async def _paged(
    ctx: AppContext,
    page_after: Callable[[AsyncSession, int], Awaitable[Sequence[Any]]],
    make: Callable[[Any], ResultRow],
) -> AsyncIterator[ResultRow]:
    """The pages ``page_after(session, after)`` reads (RESULTS_PAGE rows ordered by row
    number, their first column), a page per short read transaction, so memory and
    transactions stay small however long the file."""
    after = 0
    while True:
        async with ctx.db.transaction(write=False) as session:
            page = await page_after(session, after)
        for r in page:
            yield make(r)
        if len(page) < RESULTS_PAGE:
            return
        after = page[-1][0]


async def _merge(
    a: AsyncIterator[ResultRow], b: AsyncIterator[ResultRow]
) -> AsyncIterator[ResultRow]:
    """Two ascending streams of rows as one ascending stream."""
    heads: list[tuple[int, int, ResultRow]] = []
    streams = [a, b]
    for i, stream in enumerate(streams):
        first = await anext(stream, None)
        if first is not None:
            heads.append((first.row, i, first))
    heapq.heapify(heads)
    while heads:
        _row, i, item = heapq.heappop(heads)
        yield item
        following = await anext(streams[i], None)
        if following is not None:
            heapq.heappush(heads, (following.row, i, following))

"""Running a location import: the file's rows in batches, each part of a batch one short
transaction (kit/batching.py sizes them to about a second).

A thread reads the next batch while this task writes the last one: parsing, validation, the
search columns and the content digest of each row, and dropping a service point id a later
row of the batch repeats (the last one wins). A part is then set-based SQL
(import_repository.py): staged, compared by digest, unchanged rows touched (``last_seen_at``),
new and changed ones upserted. Invalid rows are recorded with their line number and reasons,
and never stop the file. The import's progress (``rows_done``: the last line done) commits
with each part, so a job that is restarted after a crash goes on after it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.context import AppContext
from enroll.kit.batching import Sizer
from enroll.kit.textfile import FileError
from enroll.location import import_repository as repository
from enroll.location.formats import LocationFormat, parse
from enroll.location.records import RecordError, row_ids
from enroll.models import ServiceLocationImport
from enroll.workflows.runs import FINAL, RunStatus

BATCH_ROWS = 20_000
FIRST_PART_ROWS, MIN_PART_ROWS, MAX_PART_ROWS = 5_000, 1_000, 50_000
# PostgreSQL: refresh the planner's statistics each time the import has doubled what it
# created (as the enrollment importer does): statistics of a nearly empty table make it scan
# the table for every batch's lookups.
STATISTICS_MIN_ROWS = 20_000


@dataclass
class Counts:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    duplicates: int = 0

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Counts:
        return cls(**{k: int(data.get(k, 0)) for k in cls().__dict__})


Progress = Callable[[int, int, Counts], None]  # (bytes done, lines done, counts)
# A prepared line: its stage row, its errors, or None (a later line repeats its id).
Prepared = list[tuple[int, tuple[Any, ...] | list[dict[str, str]] | None]]


def _prepare(rows: list[tuple[int, Any]]) -> Prepared:
    ids = row_ids(len(rows))
    seen: set[tuple[str, str]] = set()
    out: Prepared = []
    for i in range(len(rows) - 1, -1, -1):  # the last row of an id wins
        line, record = rows[i]
        if isinstance(record, RecordError):
            out.append((line, record.errors))
            continue
        key = (record.service_point_id, record.market)
        out.append((line, None if key in seen else record.staged(line, ids[i])))
        seen.add(key)
    out.reverse()
    return out


def _batches(
    fmt: LocationFormat, tracker: _ByteCounter, skip: int
) -> Generator[tuple[Prepared, int], None, None]:
    batch: list[tuple[int, Any]] = []
    for line, record in parse(fmt, tracker):
        if line <= skip:
            continue
        batch.append((line, record))
        if len(batch) >= BATCH_ROWS:
            yield _prepare(batch), tracker.done
            batch = []
    if batch:
        yield _prepare(batch), tracker.done


class _ByteCounter:
    def __init__(self, source: Iterable[bytes]) -> None:
        self.source = source
        self.done = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.source:
            self.done += len(chunk)
            yield chunk


async def run(
    ctx: AppContext, *, import_id: str, source: Iterable[bytes], progress: Progress | None = None
) -> ServiceLocationImport:
    """Process an import whose file ``source`` yields (from the start, in order)."""
    async with ctx.db.transaction() as session:
        imp = await repository.stored_import(session, import_id)
        assert imp is not None
        if imp.status in FINAL:
            return imp
        imp.status = RunStatus.RUNNING
        imp.started_at = imp.started_at or ctx.clock.now()
        skip, counts, fmt = imp.rows_done, Counts.of(imp.counts), LocationFormat(imp.format)
    tracker = _ByteCounter(source)
    batches = _batches(fmt, tracker, skip)
    loop = asyncio.get_running_loop()
    writer = _Writer(ctx, import_id, counts, progress)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="location-rows") as rows_thread:
        pending = loop.run_in_executor(rows_thread, next, batches, None)
        try:
            while (ready := await pending) is not None:
                prepared, bytes_done = ready
                pending = loop.run_in_executor(rows_thread, next, batches, None)
                await writer.write(prepared, bytes_done)
        except FileError as exc:
            return await finish(ctx, import_id, counts, error=str(exc))
        finally:
            await asyncio.gather(pending, return_exceptions=True)
            batches.close()
    if progress:
        progress(tracker.done, counts.rows, counts)
    return await finish(ctx, import_id, counts, error=None)


class _Writer:
    """Commits prepared batches in parts sized to their time."""

    def __init__(
        self, ctx: AppContext, import_id: str, counts: Counts, progress: Progress | None
    ) -> None:
        self.ctx, self.import_id, self.counts, self.progress = ctx, import_id, counts, progress
        self.sizer = Sizer(FIRST_PART_ROWS, MIN_PART_ROWS, MAX_PART_ROWS)
        self.analyzed_at = 0
        self.bytes_before = 0
        self.writing = False  # whether the last part wrote most of its rows (see _write)

    async def write(self, prepared: Prepared, bytes_done: int) -> None:
        start = 0
        while start < len(prepared):
            part = prepared[start : start + self.sizer.size]
            start += len(part)
            if self.counts.created >= max(2 * self.analyzed_at, STATISTICS_MIN_ROWS):
                async with self.ctx.db.transaction() as session:
                    await repository.analyze(session)
                self.analyzed_at = self.counts.created
            began = time.monotonic()
            done = bytes_done if start == len(prepared) else self.bytes_before
            await self._commit(part, done)
            self.sizer.took(time.monotonic() - began)
            if self.progress:
                self.progress(done, part[-1][0], self.counts)
        self.bytes_before = bytes_done

    async def _write(
        self, session: AsyncSession, ws: str, source: str, now: datetime, *, staged: int
    ) -> tuple[int, int, int]:
        """The staged rows written: (created, updated, unchanged). Where the last part wrote
        most of its rows (a first load, a change file), PostgreSQL upserts first and counts
        from what the upsert returns: one probe of the locations per row, not two. Where most
        came back unchanged (a monthly full file), the rows are counted first, the unchanged
        touched and the upsert skipped when nothing else is left (an upsert first would lock
        every unchanged row before touching it)."""
        if self.writing and repository.dialect_of(session) == "postgresql":
            created, updated = await repository.upsert_counted(
                session, workspace_id=ws, source=source, now=now
            )
            unchanged = staged - created - updated
            if unchanged:
                await repository.touch_unchanged(session, workspace_id=ws, now=now)
            return created, updated, unchanged
        stored, unchanged = await repository.existing(session, workspace_id=ws)
        if unchanged:
            await repository.touch_unchanged(session, workspace_id=ws, now=now)
        if stored > unchanged or staged > stored:
            await repository.upsert(session, workspace_id=ws, source=source, now=now)
        return staged - stored, stored - unchanged, unchanged

    async def _commit(self, part: Prepared, bytes_done: int) -> None:
        counts, now = self.counts, self.ctx.clock.now()
        rows = [p for _, p in part if isinstance(p, tuple)]
        issues = [(line, p) for line, p in part if isinstance(p, list)]
        async with self.ctx.db.transaction() as session:
            imp = await repository.lock_import(session, self.import_id)
            assert imp is not None
            if imp.status != RunStatus.RUNNING:
                raise RuntimeError(f"location import {self.import_id} is {imp.status}")
            ws = imp.workspace_id
            if rows:
                await repository.stage(session, rows)
                created, updated, unchanged = await self._write(
                    session, ws, imp.format, now, staged=len(rows)
                )
                self.writing = created + updated > len(rows) // 2
                counts.created += created
                counts.updated += updated
                counts.unchanged += unchanged
            if issues:
                await repository.insert_issues(
                    session, import_id=self.import_id, workspace_id=ws, issues=issues
                )
            counts.rows += len(part)
            counts.invalid += len(issues)
            counts.duplicates += sum(1 for _, p in part if p is None)
            imp.rows_done = part[-1][0]
            imp.bytes_done = bytes_done
            imp.counts = counts.as_json()
            imp.updated_at = now


async def finish(
    ctx: AppContext, import_id: str, counts: Counts | None, *, error: str | None
) -> ServiceLocationImport:
    """Mark the import completed (or failed with ``error``; what committed stays in)."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        imp = await repository.stored_import(session, import_id)
        assert imp is not None
        imp.status = RunStatus.FAILED if error else RunStatus.COMPLETED
        imp.error = error
        if counts is not None:
            imp.counts = counts.as_json()
        imp.finished_at = now
        imp.updated_at = now
    return imp

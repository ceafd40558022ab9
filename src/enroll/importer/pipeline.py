"""Running an import: rows in batches, each batch one transaction.

Per batch: validate the rows (exactly as the create endpoint would), drop duplicates (within
the file and against the instance's enrollments), find or create the customers, load the
candidates into a temporary stage table, evaluate them set-based (``eligibility/bulk.py``),
insert them as enrollments in their final state, and write history rows and events with
INSERT … SELECT. The import's progress (``rows_done``) commits with the batch, so a job that
is restarted after a crash skips what is already in and continues.

A dry run does the same up to the evaluation, writes nothing but the per-row outcomes and
the import's counts, and remembers the rows it would have created in ``import_key`` so later
batches still see them as duplicates.

This module runs the batches and keeps the import's row; a batch's own work is loader.py,
its queries are repository.py and staging_repository.py (the set-based SQL).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from enroll.context import AppContext
from enroll.errors import FieldError
from enroll.event import service as events
from enroll.importer import formats, repository
from enroll.importer import staging_repository as staging
from enroll.importer.loader import Batch, Loader
from enroll.importer.rows import Candidate, prepare
from enroll.kit.batching import TARGET_SECONDS, Sizer
from enroll.models import EnrollmentImport
from enroll.program_instance import service as instances
from enroll.workflows.runs import FINAL, RunStatus

log = logging.getLogger("enroll.importer")
BATCH_ROWS = 5_000
# Rows per transaction: from FIRST_COMMIT_ROWS, following the time each took (kit/batching.py),
# never below MIN_COMMIT_ROWS: each part has a fixed cost (its temporary tables, a dozen
# statements), and on a starved machine (~2 s) smaller parts only made the import crawl.
FIRST_COMMIT_ROWS, MIN_COMMIT_ROWS = 1_000, 500
# PostgreSQL: refresh the planner's statistics each time the import has doubled what it wrote
# (5k, 10k, 20k, … rows: a dozen ANALYZEs for millions). Statistics taken while the instance
# was nearly empty make the planner answer each batch's key lookups by scanning every row of
# the instance instead of probing the (instance, key) indexes: the import slowed to a crawl as
# it grew (1M rows: 2 s per lookup at the end, 816 rows/s overall).
STATISTICS_MIN_ROWS = BATCH_ROWS


@dataclass
class Counts:
    rows: int = 0
    created: int = 0
    duplicates: int = 0
    invalid: int = 0
    eligible: int = 0
    ineligible: int = 0

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Counts:
        return cls(**{k: int(data.get(k, 0)) for k in cls().__dict__})


Progress = Callable[[int, int, Counts], None]  # (bytes done, rows done, counts)


async def run(
    ctx: AppContext,
    *,
    import_id: str,
    source: Iterable[bytes],
    progress: Progress | None = None,
) -> EnrollmentImport:
    """Process an import whose file ``source`` yields (from the start, in order)."""
    async with ctx.db.transaction() as session:
        imp = await repository.stored_import(session, import_id)
        assert imp is not None
        if imp.status in FINAL:
            return imp
        imp.status = RunStatus.RUNNING
        imp.started_at = imp.started_at or ctx.clock.now()
        skip, counts = imp.rows_done, Counts.of(imp.counts)
        fmt, workspace_id = formats.ImportFormat(imp.format), imp.workspace_id
    tracker = _ByteCounter(source)
    batches = _prepared_batches(fmt, tracker, skip)
    loop = asyncio.get_running_loop()
    # Reading, parsing and validating (pure Python) run in a thread, one batch ahead, while
    # this task waits on the database for the batch before.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-rows") as rows_thread:
        analyzed_at = 0  # rows this run had written when the statistics were last refreshed
        sizer = Sizer(min(FIRST_COMMIT_ROWS, BATCH_ROWS), MIN_COMMIT_ROWS, BATCH_ROWS)
        bytes_before = 0
        try:
            pending = loop.run_in_executor(rows_thread, next, batches, None)
            while (ready := await pending) is not None:
                rows, bytes_done = ready
                pending = loop.run_in_executor(rows_thread, next, batches, None)
                # Committed in parts sized to their time: rows the SQL cannot evaluate, or
                # that take the one-at-a-time path, would make 5,000 a long transaction.
                start = 0
                while start < len(rows):
                    part = rows[start : start + sizer.size]
                    start += len(part)
                    if counts.created >= max(2 * analyzed_at, STATISTICS_MIN_ROWS):
                        await _refresh_statistics(ctx)
                        analyzed_at = counts.created
                    began = time.monotonic()
                    done = bytes_done if start == len(rows) else bytes_before
                    await _commit_batch(ctx, import_id, part, counts, done)
                    took = time.monotonic() - began
                    if took > 2 * TARGET_SECONDS:
                        log.info("import %s: %d rows took %.1f s", import_id, len(part), took)
                    sizer.took(took)
                    if progress:
                        progress(done, part[-1][0], counts)
                bytes_before = bytes_done
        except formats.FileError as exc:
            return await _finish(ctx, import_id, counts, error=str(exc))
        finally:
            # An error above leaves the thread mid-batch: let it finish (its own error, if
            # any, is moot now), then stop reading.
            await asyncio.gather(pending, return_exceptions=True)
            batches.close()
    if progress:
        progress(tracker.done, counts.rows, counts)
    return await _finish(ctx, import_id, counts, error=None, workspace_id=workspace_id)


Prepared = list[tuple[int, Candidate | list[FieldError]]]  # (row number, candidate or errors)


def _prepared_batches(
    fmt: formats.ImportFormat, tracker: _ByteCounter, skip: int
) -> Generator[tuple[Prepared, int], None, None]:
    """The file's rows after ``skip``, validated, in batches with the bytes read so far."""
    batch: Prepared = []
    for number, parsed in formats.parse(fmt, tracker):
        if number <= skip:
            continue
        batch.append((number, prepare(number, parsed)))
        if len(batch) >= BATCH_ROWS:
            yield batch, tracker.done
            batch = []
    if batch:
        yield batch, tracker.done


class _ByteCounter:
    def __init__(self, source: Iterable[bytes]) -> None:
        self.source = source
        self.done = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.source:
            self.done += len(chunk)
            yield chunk


async def _refresh_statistics(ctx: AppContext) -> None:
    """See STATISTICS_MIN_ROWS. SQLite's planner prefers the indexes without statistics."""
    async with ctx.db.transaction() as session:
        await staging.analyze_stored(session)


async def fail(ctx: AppContext, import_id: str, error: str) -> EnrollmentImport:
    """Record that an import stopped on an unexpected error (what committed stays in)."""
    async with ctx.db.transaction(write=False) as session:
        imp = await repository.stored_import(session, import_id)
        assert imp is not None
        counts = Counts.of(imp.counts)
    return await _finish(ctx, import_id, counts, error=error)


async def _finish(
    ctx: AppContext,
    import_id: str,
    counts: Counts,
    *,
    error: str | None,
    workspace_id: str | None = None,
) -> EnrollmentImport:
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        imp = await repository.stored_import(session, import_id)
        assert imp is not None
        imp.status = RunStatus.FAILED if error else RunStatus.COMPLETED
        imp.error = error
        imp.counts = counts.as_json()
        imp.finished_at = now
        imp.updated_at = now
        if imp.dry_run:
            await repository.delete_keys(session, import_id=import_id)
        await events.record(
            session,
            workspace_id=imp.workspace_id,
            occurred_at=now,
            events=[
                events.NewEvent(
                    type="import.completed" if not error else "import.failed",
                    data={"object": import_snapshot(imp)},
                    subject_id=imp.id,
                )
            ],
        )
    return imp


def import_snapshot(imp: EnrollmentImport) -> dict[str, Any]:
    from enroll.importer.schemas import ImportOut

    return ImportOut.of(imp).model_dump(mode="json", by_alias=True)


async def _commit_batch(
    ctx: AppContext,
    import_id: str,
    rows: Prepared,
    counts: Counts,
    bytes_done: int,
) -> None:
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        imp = await repository.lock_import(session, import_id)
        assert imp is not None
        if imp.status != RunStatus.RUNNING:
            raise RuntimeError(f"import {import_id} is {imp.status}")
        instance = await instances.get(
            session, workspace_id=imp.workspace_id, ref=imp.program_instance_id
        )
        batch = Batch()
        for number, prepared in rows:
            if isinstance(prepared, list):
                batch.invalid(number, prepared)
            else:
                batch.candidates.append(prepared)
        loader = Loader(session, imp, instance, batch, now)
        await loader.load()
        counts.rows += len(rows)
        counts.invalid += sum(1 for i in batch.issues if i["outcome"] == "invalid")
        counts.duplicates += sum(1 for i in batch.issues if i["outcome"] == "duplicate")
        counts.created += loader.created
        counts.eligible += loader.eligible
        counts.ineligible += loader.ineligible
        if batch.issues:
            await repository.insert_issues(session, import_id=import_id, issues=batch.issues)
        imp.rows_done = rows[-1][0]
        imp.bytes_done = bytes_done
        imp.counts = counts.as_json()
        imp.updated_at = now

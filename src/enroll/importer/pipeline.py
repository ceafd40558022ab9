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
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.context import AppContext
from enroll.db import json_dumps
from enroll.eligibility import bulk
from enroll.enrollment import bulk_sql
from enroll.enrollment import service as enrollments
from enroll.enrollment.identity import DEDUPE_KEYS
from enroll.errors import FieldError, ProblemError
from enroll.event import service as events
from enroll.ids import new_id
from enroll.importer import formats
from enroll.importer.rows import Candidate, prepare
from enroll.kit.batching import TARGET_SECONDS, Sizer
from enroll.models import Customer, Enrollment, EnrollmentImport, ProgramInstance
from enroll.models.base import UtcDateTime
from enroll.models.enrollment import OPEN_STATUSES_LIST
from enroll.models.enrollment_import import import_issue_table, import_key_table
from enroll.program_instance import service as instances

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

_stage_meta = MetaData()
_JsonCol = JSON().with_variant(JSONB(), "postgresql")
STAGE = Table(
    "import_stage",
    _stage_meta,
    Column("id", String(32), primary_key=True),
    Column("import_row", Integer),
    Column("customer_id", String(32)),
    Column("identification_type", String(20)),
    Column("lead_id", String(32)),
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("email", String(320)),
    Column("phone", String(40)),
    Column("address", _JsonCol),
    Column("manufacturer_slugs", _JsonCol),
    Column("metadata", _JsonCol),
    Column("serial_number", String(200)),
    Column("reference_id", String(200)),
    Column("reference_description", Text),
    Column("tags", _JsonCol),
    Column("dedupe_key", String(64)),
    Column("mask", Text),
    prefixes=["TEMPORARY"],
)
_STAGE_COLUMNS = [c.name for c in STAGE.columns if c.name not in ("mask",)]


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


@dataclass
class _Batch:
    """One batch's outcome, written in its transaction."""

    issues: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)

    def invalid(self, row: int, errors: list[FieldError]) -> None:
        self.issues.append(
            {
                "row": row,
                "outcome": "invalid",
                "status": None,
                "duplicate_of": None,
                "duplicate_key": None,
                "errors": [e.model_dump() for e in errors],
            }
        )

    def duplicate(self, row: int, of: str, key: str) -> None:
        self.issues.append(
            {
                "row": row,
                "outcome": "duplicate",
                "status": None,
                "duplicate_of": of,
                "duplicate_key": key,
                "errors": None,
            }
        )


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
        imp = await session.get(EnrollmentImport, import_id)
        assert imp is not None
        if imp.status in ("completed", "failed"):
            return imp
        imp.status = "running"
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
        if bulk.dialect_of(session) == "postgresql":
            # The row counts and the columns the lookups filter on; the JSON ones cost the most.
            await bulk.exec_sql(
                session,
                "ANALYZE enrollment (program_instance_id, workspace_id, customer_id, status,"
                " email, reference_id, dedupe_key), customer (workspace_id, email)",
            )


async def fail(ctx: AppContext, import_id: str, error: str) -> EnrollmentImport:
    """Record that an import stopped on an unexpected error (what committed stays in)."""
    async with ctx.db.transaction(write=False) as session:
        imp = await session.get(EnrollmentImport, import_id)
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
        imp = await session.get(EnrollmentImport, import_id)
        assert imp is not None
        imp.status = "failed" if error else "completed"
        imp.error = error
        imp.counts = counts.as_json()
        imp.finished_at = now
        imp.updated_at = now
        if imp.dry_run:
            await session.execute(
                delete(import_key_table).where(import_key_table.c.import_id == import_id)
            )
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
        imp = await session.get(EnrollmentImport, import_id, with_for_update=True)
        assert imp is not None
        if imp.status != "running":
            raise RuntimeError(f"import {import_id} is {imp.status}")
        instance = await instances.get(
            session, workspace_id=imp.workspace_id, ref=imp.program_instance_id
        )
        batch = _Batch()
        for number, prepared in rows:
            if isinstance(prepared, list):
                batch.invalid(number, prepared)
            else:
                batch.candidates.append(prepared)
        loader = _Loader(session, imp, instance, batch, now)
        await loader.load()
        counts.rows += len(rows)
        counts.invalid += sum(1 for i in batch.issues if i["outcome"] == "invalid")
        counts.duplicates += sum(1 for i in batch.issues if i["outcome"] == "duplicate")
        counts.created += loader.created
        counts.eligible += loader.eligible
        counts.ineligible += loader.ineligible
        if batch.issues:
            await session.execute(
                insert(import_issue_table), [{"import_id": import_id, **i} for i in batch.issues]
            )
        imp.rows_done = rows[-1][0]
        imp.bytes_done = bytes_done
        imp.counts = counts.as_json()
        imp.updated_at = now


class _Loader:
    """Deduplicate, identify, evaluate and insert one batch's valid candidates."""

    def __init__(
        self,
        session: AsyncSession,
        imp: EnrollmentImport,
        instance: ProgramInstance,
        batch: _Batch,
        now: datetime,
    ) -> None:
        self.session = session
        self.imp = imp
        self.instance = instance
        self.batch = batch
        self.now = now
        self.dialect = bulk.dialect_of(session)
        self.created = self.eligible = self.ineligible = 0
        # Rows stay candidates: unevaluated (evaluate false), or with the rules' checks as
        # advice for the person who decides (manual screening).
        self.advice = instance.screening == "manual"
        self.candidates_only = not imp.evaluate or self.advice

    async def load(self) -> None:
        fresh = await self._deduplicate(self.batch.candidates)
        bulk_rows = await self._check_customer_ids([c for c in fresh if c.bulk])
        if bulk_rows:
            await self._stage_and_insert(bulk_rows)
        for candidate in (c for c in fresh if not c.bulk):
            await self._create_one(candidate)

    @property
    def _stage_join(self) -> str:
        """How a statement joins the stage to a table of stored rows: the stage must be the
        outer loop, probing the table's index, so a batch costs the same however much is
        stored. SQLite's planner, without statistics for the temporary stage, preferred to
        walk the stored rows and look each up in the stage (an import of 300k rows fell from
        ~950 rows/s to 109 rows/s and on); on SQLite only CROSS JOIN fixes the order. The
        PostgreSQL planner has the stage's statistics (ANALYZE after staging)."""
        return "CROSS JOIN" if self.dialect == "sqlite" else "JOIN"

    # --- duplicates --------------------------------------------------------------------------

    async def _deduplicate(self, candidates: list[Candidate]) -> list[Candidate]:
        """Keep the first row per key; report the rest, and rows matching existing data."""
        known = await self._existing_keys(candidates)
        seen: dict[tuple[str, str], str] = {}
        fresh = []
        for candidate in candidates:
            match = next(
                (
                    (k, known.get(k) or seen.get(k))
                    for k in candidate.keys
                    if k in known or k in seen
                ),
                None,
            )
            if match is not None:
                self.batch.duplicate(candidate.row, match[1] or "", match[0][0])
                continue
            for key in candidate.keys:
                seen[key] = f"row:{candidate.row}"
            fresh.append(candidate)
        return fresh

    async def _existing_keys(self, candidates: list[Candidate]) -> dict[tuple[str, str], str]:
        by_kind: dict[str, set[str]] = {kind: set() for kind in DEDUPE_KEYS}
        for candidate in candidates:
            for kind, value in candidate.keys:
                by_kind[kind].add(value)
        columns: dict[str, Any] = {
            "email": Enrollment.email,
            "referenceId": Enrollment.reference_id,
            "nameAddress": Enrollment.dedupe_key,
        }
        known: dict[tuple[str, str], str] = {}
        for kind, values in by_kind.items():
            if not values:
                continue
            column = columns[kind]
            rows = await self.session.execute(
                select(column, Enrollment.id).where(
                    Enrollment.program_instance_id == self.instance.id,
                    bulk_sql.among(column, values, self.dialect),
                )
            )
            for value, enrollment_id in rows:
                known.setdefault((kind, value), enrollment_id)
        if self.imp.dry_run:
            keys = {f"{k}:{v}" for c in candidates for k, v in c.keys}
            if keys:
                rows = await self.session.execute(
                    select(import_key_table.c.key, import_key_table.c.row).where(
                        import_key_table.c.import_id == self.imp.id,
                        bulk_sql.among(import_key_table.c.key, keys, self.dialect),
                    )
                )
                for key, row in rows:
                    kind, _, value = key.partition(":")
                    known.setdefault((kind, value), f"row:{row}")
        return known

    # --- customers ---------------------------------------------------------------------------

    async def _check_customer_ids(self, candidates: list[Candidate]) -> list[Candidate]:
        """customerId rows: the customer must exist; its details fill what the row leaves
        out (what the row says wins, as in create). customerInfo rows are matched to their
        customers set-based once staged (``_find_or_create_customers``)."""
        by_id = [c for c in candidates if c.body.customer_id]
        if not by_id:
            return candidates
        found = {
            row.id: row
            for row in (
                await self.session.scalars(
                    select(Customer).where(
                        Customer.workspace_id == self.imp.workspace_id,
                        Customer.id.in_({c.body.customer_id for c in by_id}),
                    )
                )
            )
        }
        kept = []
        for candidate in candidates:
            customer = found.get(candidate.body.customer_id or "")
            if candidate.body.customer_id and customer is None:
                self.batch.invalid(
                    candidate.row, [FieldError(field="customerId", message="No such customer.")]
                )
                continue
            if customer is not None:
                sent = {k: v for k, v in candidate.values.items() if v not in (None, [], {})}
                candidate.values.update(enrollments.from_customer(customer))
                candidate.values.update(sent)
            kept.append(candidate)
        return kept

    async def _find_or_create_customers(self) -> None:
        """Staged customerInfo rows get the workspace's customer with their email, created
        from the row when there is none yet (not in a dry run). Emails are unique within the
        stage: ``_deduplicate`` keeps one row per email."""
        params = {"workspace_id": self.imp.workspace_id}
        if not self.imp.dry_run:
            empty = "'{}'::jsonb" if self.dialect == "postgresql" else "'{}'"
            await self.session.execute(
                text(
                    "INSERT INTO customer (id, workspace_id, first_name, last_name, email, phone,"
                    " address, metadata, created_at, updated_at, version)"
                    f" SELECT {bulk_sql.derived_id('s.id', 'c')}, :workspace_id, s.first_name,"
                    f" s.last_name, s.email, s.phone, s.address, {empty}, :now, :now, 1"
                    " FROM import_stage s WHERE s.customer_id IS NULL AND s.email IS NOT NULL"
                    " ON CONFLICT (workspace_id, email) DO NOTHING"
                ).bindparams(bindparam("now", self.now, type_=UtcDateTime())),
                params,
            )
        await self.session.execute(
            text(
                "UPDATE import_stage SET customer_id = (SELECT c.id FROM customer c"
                " WHERE c.workspace_id = :workspace_id AND c.email = import_stage.email)"
                " WHERE customer_id IS NULL AND email IS NOT NULL"
            ),
            params,
        )

    async def _drop_open(self) -> None:
        """A customer holds one open enrollment per instance: staged rows whose customer
        already has one here, or appears on an earlier row of this batch, are duplicates.

        Each staged row probes the (instance, customer) index of open enrollments (the status
        list repeats the partial index's condition, so SQLite can use it)."""
        found = (
            await self.session.execute(
                text(
                    f"SELECT s.id, s.import_row, e.id FROM import_stage s {self._stage_join}"
                    " enrollment e"
                    " ON e.customer_id = s.customer_id"
                    " WHERE e.program_instance_id = :instance_id"
                    f" AND e.status IN {OPEN_STATUSES_LIST}"
                    " UNION ALL SELECT f.id, f.import_row, 'row:' || f.first_row FROM"
                    " (SELECT id, import_row, min(import_row) OVER (PARTITION BY customer_id)"
                    " AS first_row FROM import_stage WHERE customer_id IS NOT NULL) f"
                    " WHERE f.import_row > f.first_row"
                ),
                {"instance_id": self.instance.id},
            )
        ).all()
        dropped: dict[str, tuple[int, str]] = {}
        for stage_id, row, holder in found:
            dropped.setdefault(stage_id, (row, holder))
        for row, holder in dropped.values():
            self.batch.duplicate(row, holder, "customer")
        if dropped:
            await self.session.execute(
                delete(STAGE).where(STAGE.c.id == bindparam("b_id")),
                [{"b_id": i} for i in dropped],
            )

    # --- evaluation and insert -------------------------------------------------------------

    async def _stage(self, candidates: list[Candidate]) -> None:
        """Load the candidates into the temporary stage table: COPY on PostgreSQL, the
        driver's executemany on SQLite (SQLAlchemy's per-row parameter handling would cost
        more than the insert). JSON values are serialised as the engine's JSON columns are."""
        session = self.session
        await bulk.exec_sql(session, "DROP TABLE IF EXISTS import_stage")
        await session.run_sync(lambda s: STAGE.create(s.connection()))
        records = []
        for candidate in candidates:
            v = candidate.values
            records.append(
                (
                    new_id(),
                    candidate.row,
                    v["customer_id"],
                    v["identification_type"],
                    v["lead_id"],
                    v["first_name"],
                    v["last_name"],
                    v["email"],
                    v["phone"],
                    json_dumps(v["address"]),
                    json_dumps(v["manufacturer_slugs"]),
                    json_dumps(v["metadata_"]),
                    v["serial_number"],
                    v["reference_id"],
                    v["reference_description"],
                    json_dumps(v["tags"]),
                    candidate.dedupe_key,
                )
            )
        connection = await (await session.connection()).get_raw_connection()
        driver: Any = connection.driver_connection
        if self.dialect == "postgresql":
            await driver.copy_records_to_table(
                "import_stage", records=records, columns=_STAGE_COLUMNS
            )
        else:
            marks = ", ".join("?" * len(_STAGE_COLUMNS))
            await driver.executemany(
                f"INSERT INTO import_stage ({', '.join(_STAGE_COLUMNS)}) VALUES ({marks})",
                records,
            )

    async def _stage_and_insert(self, candidates: list[Candidate]) -> None:
        session, dialect = self.session, self.dialect
        await self._stage(candidates)
        if dialect == "postgresql":
            # A fresh temporary table has no statistics: without them the planner may scan the
            # whole enrollment table to join a few thousand rows. The row count and the join
            # columns are what it needs; the wide JSON columns would only cost time.
            await bulk.exec_sql(session, "ANALYZE import_stage (id, customer_id, email)")
        await self._find_or_create_customers()
        await self._drop_open()
        plan = bulk.plan(self.instance, alias="import_stage", dialect=dialect, refusal=None)
        if plan.mask_sql is not None:
            await bulk.exec_sql(session, f"UPDATE import_stage SET mask = {plan.mask_sql}")

        async def load(ids: list[str]) -> list[Mapping[str, Any]]:
            columns = [STAGE.c[name] for name in bulk.ROW_COLUMNS]
            found = await session.execute(select(*columns).where(STAGE.c.id.in_(ids)))
            return [dict(row) for row in found.mappings()]

        decisions = await bulk.decide_table(
            session,
            instance=self.instance,
            plan_=plan,
            table="import_stage",
            load=load,
            now=self.now,
        )
        staged = 0
        for mask, count in (
            await session.execute(text("SELECT mask, count(*) FROM import_stage GROUP BY mask"))
        ).all():
            staged += count
            if self.candidates_only:
                continue
            if decisions[mask].eligible:
                self.eligible += count
            else:
                self.ineligible += count
        self.created += staged
        if self.imp.dry_run:
            await self._remember(candidates)
            return
        await self._insert_enrollments()
        if not self.imp.evaluate:
            return
        await bulk.enqueue_async_checks(
            session,
            instance=self.instance,
            plan_=plan,
            decisions=decisions,
            table="import_stage",
            now=self.now,
        )

    async def _remember(self, candidates: list[Candidate]) -> None:
        """Dry run: each staged row's would-be outcome, and its keys for later batches."""
        outcomes = (
            await self.session.execute(
                text(
                    "SELECT s.import_row, d.status FROM import_stage s"
                    " JOIN bulk_decision d ON d.mask = s.mask"
                )
            )
        ).all()
        staged = {row for row, _status in outcomes}
        keys = [
            {"import_id": self.imp.id, "key": f"{k}:{v}", "row": c.row}
            for c in candidates
            if c.row in staged
            for k, v in c.keys
        ]
        if keys:
            await self.session.execute(insert(import_key_table), keys)
        self.batch.issues += [
            {
                "row": row,
                "outcome": "would_create",
                "status": status,
                "duplicate_of": None,
                "duplicate_key": None,
                "errors": None,
            }
            for row, decided in outcomes
            for status in ["candidate" if self.candidates_only else decided]
        ]

    async def _insert_enrollments(self) -> None:
        params = {
            "workspace_id": self.imp.workspace_id,
            "instance_id": self.instance.id,
            "import_id": self.imp.id,
            "actor": self.imp.actor,
        }
        now = bindparam("now", self.now, type_=UtcDateTime())
        columns = ", ".join(_STAGE_COLUMNS)
        stage_columns = ", ".join(f"s.{c}" for c in _STAGE_COLUMNS)
        false = "false" if self.dialect == "postgresql" else "0"
        status, reason, eligibility = "d.status", "d.reason", "d.eligibility"
        if self.candidates_only:
            status = "'candidate'"
            if not self.advice:  # unevaluated: nothing the rules said
                empty = "'{}'::jsonb" if self.dialect == "postgresql" else "'{}'"
                reason, eligibility = "NULL", empty
        await self.session.execute(
            text(
                f"INSERT INTO enrollment ({columns}, workspace_id, program_instance_id, import_id,"
                " status, eligibility_reason, eligibility, needs_review, created_at, updated_at,"
                f" version) SELECT {stage_columns}, :workspace_id, :instance_id, :import_id,"
                f" {status}, {reason}, {eligibility}, {false}, :now, :now, 1"
                " FROM import_stage s JOIN bulk_decision d ON d.mask = s.mask"
            ).bindparams(now),
            params,
        )
        evaluated = (
            ""
            if self.candidates_only
            else f" UNION ALL SELECT {bulk_sql.derived_id('s.id', 'v')}, :workspace_id, s.id,"
            " 'candidate', d.status, 'evaluate', d.reason, :actor, :now"
            " FROM import_stage s JOIN bulk_decision d ON d.mask = s.mask"
        )
        await self.session.execute(
            text(
                "INSERT INTO enrollment_history (id, workspace_id, enrollment_id, from_status,"
                " to_status, action, reason, actor, at)"
                f" SELECT {bulk_sql.derived_id('s.id', 'h')}, :workspace_id, s.id, NULL,"
                f" 'candidate', 'create', NULL, :actor, :now FROM import_stage s{evaluated}"
            ).bindparams(now),
            {"workspace_id": self.imp.workspace_id, "actor": self.imp.actor},
        )
        if not self.imp.emit_events:
            return
        await self._insert_events()

    async def _insert_events(self) -> None:
        dialect = self.dialect
        obj = "jsonb_build_object" if dialect == "postgresql" else "json_object"
        # SQLite forgets a value is JSON once it passes through a CTE: json() says so again.
        snap = "n.obj" if dialect == "postgresql" else "json(n.obj)"
        change = (
            f"{obj}('object', {snap}, 'previousStatus', 'candidate', 'status', n.status,"
            " 'reason', n.reason, 'importId', n.import_id)"
        )
        now = bindparam("now", self.now, type_=UtcDateTime())
        kinds = [
            ("a", "'enrollment.created'", f"{obj}('object', {snap}, 'importId', n.import_id)"),
            ("b", "'enrollment.status_changed'", change),
            ("d", "'enrollment.' || n.status", change),
        ]
        if self.candidates_only:  # created, and no status change
            kinds = kinds[:1]
        # Each enrollment's snapshot is built once (the CTE), then used by its three events.
        # The batch's enrollments are found by id from the stage: see _stage_join.
        snapshots = (
            f"SELECT e.id AS id, e.workspace_id AS workspace_id, e.status AS status,"
            f" e.eligibility_reason AS reason, e.import_id AS import_id,"
            f" {bulk_sql.snapshot(dialect, 'e')} AS obj"
            f" FROM import_stage s {self._stage_join} enrollment e ON e.id = s.id"
        )
        # Ordered so each enrollment's events are consecutive in the feed, in this order.
        branches = " UNION ALL ".join(
            f"SELECT {bulk_sql.derived_id('n.id', tag)} AS id, n.workspace_id AS workspace_id,"
            f" {kind} AS type, n.id AS subject_id, {data} AS data, '{tag}' AS tag FROM n"
            for tag, kind, data in kinds
        )
        materialized = "MATERIALIZED " if dialect == "postgresql" else ""
        await self.session.execute(
            text(
                "INSERT INTO event (id, workspace_id, type, version, occurred_at, subject_id, data)"
                f" WITH n AS {materialized}({snapshots})"
                f" SELECT x.id, x.workspace_id, x.type, {events.ENVELOPE_VERSION}, :now,"
                f" x.subject_id, x.data FROM ({branches}) x ORDER BY x.subject_id, x.tag"
            ).bindparams(now)
        )

    async def _create_one(self, candidate: Candidate) -> None:
        """leadId / enrollmentId rows: the create endpoint's own service, one at a time."""
        if self.imp.dry_run:
            self.created += 1
            return
        try:
            async with self.session.begin_nested():
                enrollment, _ = await enrollments.create(
                    self.session,
                    workspace_id=self.imp.workspace_id,
                    instance_ref=self.instance.id,
                    body=candidate.body,
                    actor=self.imp.actor,
                    now=self.now,
                    evaluate=self.imp.evaluate,
                )
        except ProblemError as exc:
            if exc.code == "enrollment_exists":
                self.batch.duplicate(
                    candidate.row, str(exc.extensions.get("enrollmentId") or ""), "customer"
                )
            else:
                self.batch.invalid(
                    candidate.row,
                    list(exc.errors or [FieldError(field="row", message=exc.detail or exc.title)]),
                )
            return
        await self.session.execute(
            update(Enrollment)
            .where(Enrollment.id == enrollment.id)
            .values(import_id=self.imp.id, import_row=candidate.row)
        )
        self.created += 1
        if enrollment.status == "eligible":
            self.eligible += 1
        elif enrollment.status == "ineligible":
            self.ineligible += 1

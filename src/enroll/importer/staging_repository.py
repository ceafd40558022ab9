"""The import's set-based SQL: the temporary ``import_stage`` table a batch's candidates are
loaded into, and the statements that take them from there into customers, enrollments,
history rows and events (``INSERT … SELECT``), joined to the batch's decisions
(``bulk_decision``, eligibility/bulk.py). The batch's orchestration is importer/loader.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    bindparam,
    delete,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.db import json_dumps
from enroll.eligibility import bulk, bulk_repository
from enroll.eligibility.bulk import Dialect
from enroll.enrollment import bulk_sql
from enroll.event import service as events
from enroll.ids import new_id
from enroll.importer.rows import Candidate
from enroll.kit.codegen import define
from enroll.models import Enrollment
from enroll.models.base import UtcDateTime
from enroll.models.enrollment import OPEN_STATUSES_LIST
from enroll.models.enrollment_fields import FIELDS, EnrollmentField
from enroll.workflows.enrollment import Status

_stage_meta = MetaData()
# The enrollment's columns an import takes (models/enrollment_fields.py), after the ones that
# identify the person; typed as on the enrollment table.
_IMPORTED = [f for f in FIELDS if f.imported]
_enrollment_columns = Enrollment.__table__.c
STAGE = Table(
    "import_stage",
    _stage_meta,
    Column("id", String(32), primary_key=True),
    Column("import_row", Integer),
    Column("customer_id", String(32)),
    Column("identification_type", String(20)),
    Column("lead_id", String(32)),
    *(Column(f.column, _enrollment_columns[f.column].type) for f in _IMPORTED),
    Column("dedupe_key", String(64)),
    Column("mask", Text),
    prefixes=["TEMPORARY"],
)
_STAGE_COLUMNS = [c.name for c in STAGE.columns if c.name not in ("mask",)]


def stage_join(dialect: Dialect) -> str:
    """How a statement joins the stage to a table of stored rows: the stage must be the
    outer loop, probing the table's index, so a batch costs the same however much is
    stored. SQLite's planner, without statistics for the temporary stage, preferred to
    walk the stored rows and look each up in the stage (an import of 300k rows fell from
    ~950 rows/s to 109 rows/s and on); on SQLite only CROSS JOIN fixes the order. The
    PostgreSQL planner has the stage's statistics (ANALYZE after staging)."""
    return "CROSS JOIN" if dialect == "sqlite" else "JOIN"


def _empty_json(dialect: Dialect) -> str:
    return "'{}'::jsonb" if dialect == "postgresql" else "'{}'"


async def analyze_stored(session: AsyncSession) -> None:
    """PostgreSQL: refresh the statistics of what imports write and look up (importer/
    pipeline.py STATISTICS_MIN_ROWS). SQLite's planner prefers the indexes without them."""
    if bulk.dialect_of(session) == "postgresql":
        # The row counts and the columns the lookups filter on; the JSON ones cost the most.
        await bulk_repository.exec_sql(
            session,
            "ANALYZE enrollment (program_instance_id, workspace_id, customer_id, status,"
            " email, reference_id, dedupe_key), customer (workspace_id, email)",
        )


# --- the stage -------------------------------------------------------------------------------


def _stage_value(field: EnrollmentField) -> str:
    value = f"v[{field.attr!r}]"
    return f"json_dumps({value})" if field.json else value


# The candidates as stage rows, in ``_STAGE_COLUMNS`` order, JSON values serialised as the
# engine's JSON columns are: for each candidate, (new_id(), candidate.row,
# v["customer_id"], v["identification_type"], v["lead_id"], v["first_name"], ...,
# json_dumps(v["tags"]), candidate.dedupe_key) with v = candidate.values, written out as that
# literal: this runs for every row (kit/codegen.py).
_records: Callable[[list[Candidate]], list[tuple[Any, ...]]] = define(
    "_records",
    "def _records(candidates):\n"
    "    records = []\n"
    "    for candidate in candidates:\n"
    "        v = candidate.values\n"
    "        records.append(\n"
    "            (\n"
    "                new_id(),\n"
    "                candidate.row,\n"
    '                v["customer_id"],\n'
    '                v["identification_type"],\n'
    '                v["lead_id"],\n'
    + "".join(f"                {_stage_value(f)},\n" for f in _IMPORTED)
    + "                candidate.dedupe_key,\n"
    "            )\n"
    "        )\n"
    "    return records\n",
    {"new_id": new_id, "json_dumps": json_dumps},
)


async def stage(session: AsyncSession, *, candidates: list[Candidate], dialect: Dialect) -> None:
    """Load the candidates into a fresh temporary stage table: COPY on PostgreSQL, the
    driver's executemany on SQLite (SQLAlchemy's per-row parameter handling would cost
    more than the insert)."""
    await bulk_repository.exec_sql(session, "DROP TABLE IF EXISTS import_stage")
    await session.run_sync(lambda s: STAGE.create(s.connection()))
    records = _records(candidates)
    connection = await (await session.connection()).get_raw_connection()
    driver: Any = connection.driver_connection
    if dialect == "postgresql":
        await driver.copy_records_to_table("import_stage", records=records, columns=_STAGE_COLUMNS)
    else:
        marks = ", ".join("?" * len(_STAGE_COLUMNS))
        await driver.executemany(
            f"INSERT INTO import_stage ({', '.join(_STAGE_COLUMNS)}) VALUES ({marks})",
            records,
        )


async def analyze_stage(session: AsyncSession, *, dialect: Dialect) -> None:
    if dialect == "postgresql":
        # A fresh temporary table has no statistics: without them the planner may scan the
        # whole enrollment table to join a few thousand rows. The row count and the join
        # columns are what it needs; the wide JSON columns would only cost time.
        await bulk_repository.exec_sql(session, "ANALYZE import_stage (id, customer_id, email)")


async def find_or_create_customers(
    session: AsyncSession, *, workspace_id: str, now: datetime, dialect: Dialect, create: bool
) -> None:
    """Staged customerInfo rows get the workspace's customer with their email, created from
    the row when there is none yet (``create``)."""
    params = {"workspace_id": workspace_id}
    if create:
        empty = _empty_json(dialect)
        await session.execute(
            text(
                "INSERT INTO customer (id, workspace_id, first_name, last_name, email, phone,"
                " address, metadata, created_at, updated_at, version)"
                f" SELECT {bulk_sql.derived_id('s.id', 'c')}, :workspace_id, s.first_name,"
                f" s.last_name, s.email, s.phone, s.address, {empty}, :now, :now, 1"
                " FROM import_stage s WHERE s.customer_id IS NULL AND s.email IS NOT NULL"
                " ON CONFLICT (workspace_id, email) DO NOTHING"
            ).bindparams(bindparam("now", now, type_=UtcDateTime())),
            params,
        )
    await session.execute(
        text(
            "UPDATE import_stage SET customer_id = (SELECT c.id FROM customer c"
            " WHERE c.workspace_id = :workspace_id AND c.email = import_stage.email)"
            " WHERE customer_id IS NULL AND email IS NOT NULL"
        ),
        params,
    )


async def open_holders(
    session: AsyncSession, *, instance_id: str, dialect: Dialect
) -> Sequence[Row[Any, Any, Any]]:
    """(stage id, row, holder) of staged rows whose customer already has an open enrollment
    in the instance (holder: its id), or appears on an earlier staged row ('row:N').

    Each staged row probes the (instance, customer) index of open enrollments (the status
    list repeats the partial index's condition, so SQLite can use it)."""
    return (
        await session.execute(
            text(
                f"SELECT s.id, s.import_row, e.id FROM import_stage s {stage_join(dialect)}"
                " enrollment e"
                " ON e.customer_id = s.customer_id"
                " WHERE e.program_instance_id = :instance_id"
                f" AND e.status IN {OPEN_STATUSES_LIST}"
                " UNION ALL SELECT f.id, f.import_row, 'row:' || f.first_row FROM"
                " (SELECT id, import_row, min(import_row) OVER (PARTITION BY customer_id)"
                " AS first_row FROM import_stage WHERE customer_id IS NOT NULL) f"
                " WHERE f.import_row > f.first_row"
            ),
            {"instance_id": instance_id},
        )
    ).all()


async def unstage(session: AsyncSession, *, stage_ids: Iterable[str]) -> None:
    await session.execute(
        delete(STAGE).where(STAGE.c.id == bindparam("b_id")),
        [{"b_id": i} for i in stage_ids],
    )


# --- evaluation ------------------------------------------------------------------------------


async def set_masks(session: AsyncSession, *, mask_sql: str) -> None:
    await bulk_repository.exec_sql(session, f"UPDATE import_stage SET mask = {mask_sql}")


async def staged_rows(session: AsyncSession, *, ids: list[str]) -> list[Mapping[str, Any]]:
    """The staged rows ``ids`` with the columns the Python evaluator reads."""
    columns = [STAGE.c[name] for name in bulk.ROW_COLUMNS]
    found = await session.execute(select(*columns).where(STAGE.c.id.in_(ids)))
    return [dict(row) for row in found.mappings()]


async def mask_counts(session: AsyncSession) -> Sequence[Row[Any, Any]]:
    """(mask, staged rows with it)."""
    return (
        await session.execute(text("SELECT mask, count(*) FROM import_stage GROUP BY mask"))
    ).all()


async def outcomes(session: AsyncSession) -> Sequence[Row[Any, Any]]:
    """(row, decided status) of each staged row."""
    return (
        await session.execute(
            text(
                "SELECT s.import_row, d.status FROM import_stage s"
                " JOIN bulk_decision d ON d.mask = s.mask"
            )
        )
    ).all()


# --- writing ---------------------------------------------------------------------------------


async def insert_enrollments(
    session: AsyncSession,
    *,
    workspace_id: str,
    instance_id: str,
    import_id: str,
    actor: str,
    now: datetime,
    dialect: Dialect,
    candidates_only: bool,
    advice: bool,
) -> None:
    """The staged rows as enrollments in their decided state, or as candidates
    (``candidates_only``: with the rules' checks as ``advice``, or unevaluated)."""
    params = {
        "workspace_id": workspace_id,
        "instance_id": instance_id,
        "import_id": import_id,
        "actor": actor,
    }
    columns = ", ".join(_STAGE_COLUMNS)
    stage_columns = ", ".join(f"s.{c}" for c in _STAGE_COLUMNS)
    false = "false" if dialect == "postgresql" else "0"
    status, reason, eligibility = "d.status", "d.reason", "d.eligibility"
    if candidates_only:
        status = f"'{Status.CANDIDATE.value}'"
        if not advice:  # unevaluated: nothing the rules said
            reason, eligibility = "NULL", _empty_json(dialect)
    await session.execute(
        text(
            f"INSERT INTO enrollment ({columns}, workspace_id, program_instance_id, import_id,"
            " status, eligibility_reason, eligibility, needs_review, created_at, updated_at,"
            f" version) SELECT {stage_columns}, :workspace_id, :instance_id, :import_id,"
            f" {status}, {reason}, {eligibility}, {false}, :now, :now, 1"
            " FROM import_stage s JOIN bulk_decision d ON d.mask = s.mask"
        ).bindparams(bindparam("now", now, type_=UtcDateTime())),
        params,
    )


async def insert_history(
    session: AsyncSession, *, workspace_id: str, actor: str, now: datetime, candidates_only: bool
) -> None:
    """Each staged enrollment's creation, and (evaluated) its move to the decided status."""
    evaluated = (
        ""
        if candidates_only
        else f" UNION ALL SELECT {bulk_sql.derived_id('s.id', 'v')}, :workspace_id, s.id,"
        " 'candidate', d.status, 'evaluate', d.reason, :actor, :now"
        " FROM import_stage s JOIN bulk_decision d ON d.mask = s.mask"
    )
    await session.execute(
        text(
            "INSERT INTO enrollment_history (id, workspace_id, enrollment_id, from_status,"
            " to_status, action, reason, actor, at)"
            f" SELECT {bulk_sql.derived_id('s.id', 'h')}, :workspace_id, s.id, NULL,"
            f" 'candidate', 'create', NULL, :actor, :now FROM import_stage s{evaluated}"
        ).bindparams(bindparam("now", now, type_=UtcDateTime())),
        {"workspace_id": workspace_id, "actor": actor},
    )


async def insert_events(
    session: AsyncSession, *, now: datetime, dialect: Dialect, candidates_only: bool
) -> None:
    """Each staged enrollment's events: created, and (evaluated) its status change."""
    obj = "jsonb_build_object" if dialect == "postgresql" else "json_object"
    # SQLite forgets a value is JSON once it passes through a CTE: json() says so again.
    snap = "n.obj" if dialect == "postgresql" else "json(n.obj)"
    change = (
        f"{obj}('object', {snap}, 'previousStatus', 'candidate', 'status', n.status,"
        " 'reason', n.reason, 'importId', n.import_id)"
    )
    kinds = [
        ("a", "'enrollment.created'", f"{obj}('object', {snap}, 'importId', n.import_id)"),
        ("b", "'enrollment.status_changed'", change),
        ("d", "'enrollment.' || n.status", change),
    ]
    if candidates_only:  # created, and no status change
        kinds = kinds[:1]
    # Each enrollment's snapshot is built once (the CTE), then used by its three events.
    # The batch's enrollments are found by id from the stage: see stage_join.
    snapshots = (
        f"SELECT e.id AS id, e.workspace_id AS workspace_id, e.status AS status,"
        f" e.eligibility_reason AS reason, e.import_id AS import_id,"
        f" {bulk_sql.snapshot(dialect, 'e')} AS obj"
        f" FROM import_stage s {stage_join(dialect)} enrollment e ON e.id = s.id"
    )
    # Ordered so each enrollment's events are consecutive in the feed, in this order.
    branches = " UNION ALL ".join(
        f"SELECT {bulk_sql.derived_id('n.id', tag)} AS id, n.workspace_id AS workspace_id,"
        f" {kind} AS type, n.id AS subject_id, {data} AS data, '{tag}' AS tag FROM n"
        for tag, kind, data in kinds
    )
    materialized = "MATERIALIZED " if dialect == "postgresql" else ""
    await session.execute(
        text(
            "INSERT INTO event (id, workspace_id, type, version, occurred_at, subject_id, data)"
            f" WITH n AS {materialized}({snapshots})"
            f" SELECT x.id, x.workspace_id, x.type, {events.ENVELOPE_VERSION}, :now,"
            f" x.subject_id, x.data FROM ({branches}) x ORDER BY x.subject_id, x.tag"
        ).bindparams(bindparam("now", now, type_=UtcDateTime()))
    )

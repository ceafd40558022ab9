"""A location import's queries: the import row, its file chunks and issues, and a batch's
set-based statements over the temporary ``location_stage`` table (COPY into it on
PostgreSQL, one multi-row INSERT on SQLite; then at most three statements whatever the
batch's size).

Per batch: how many staged rows exist already and how many of those are unchanged (their
content digest equal); the unchanged ones get ``last_seen_at`` only; then one
``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE the digest differs`` creates the new rows
and rewrites the changed ones (their version moves on). On PostgreSQL the upsert may come
first and count what it wrote itself (``upsert_counted``; the pipeline chooses the order).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.location.records import STAGE_COLUMNS, STORED_COLUMNS
from enroll.models import (
    ServiceLocationImport,
    ServiceLocationImportChunk,
    ServiceLocationImportIssue,
    Workspace,
)
from enroll.models.base import UtcDateTime
from enroll.models.location import location_issue_table

Dialect = Literal["postgresql", "sqlite"]
STAGE = "location_stage"


def dialect_of(session: AsyncSession) -> Dialect:
    return "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"


# --- imports, their files and issues -------------------------------------------------------


async def stored_import(session: AsyncSession, import_id: str) -> ServiceLocationImport | None:
    """An import by id alone, from the session's identity map when it holds it: for the
    pipeline and the upload, whose id names an import already found in its workspace."""
    return await session.get(ServiceLocationImport, import_id)


async def lock_import(session: AsyncSession, import_id: str) -> ServiceLocationImport | None:
    """``stored_import``, its row locked (PostgreSQL): a batch commits only while the import
    still runs."""
    return await session.get(ServiceLocationImport, import_id, with_for_update=True)


async def get(
    session: AsyncSession, *, workspace_id: str, import_id: str
) -> ServiceLocationImport | None:
    return await session.scalar(
        select(ServiceLocationImport).where(
            ServiceLocationImport.workspace_id == workspace_id,
            ServiceLocationImport.id == import_id,
        )
    )


async def workspace_exists(session: AsyncSession, *, workspace_id: str) -> bool:
    """The CLI's check (it runs for the platform, in no workspace)."""
    return (
        await session.scalar(select(Workspace.id).where(Workspace.id == workspace_id)) is not None
    )


async def delete_import(session: AsyncSession, *, import_id: str) -> None:
    await session.execute(
        delete(ServiceLocationImport).where(ServiceLocationImport.id == import_id)
    )


async def chunk(session: AsyncSession, *, import_id: str, seq: int) -> bytes | None:
    C = ServiceLocationImportChunk
    return await session.scalar(select(C.data).where(C.import_id == import_id, C.seq == seq))


async def delete_chunks(session: AsyncSession, *, import_id: str, before: int) -> bool:
    """Delete the chunks numbered below ``before``; whether any is left."""
    C = ServiceLocationImportChunk
    await session.execute(delete(C).where(C.import_id == import_id, C.seq < before))
    left = await session.scalar(select(C.seq).where(C.import_id == import_id).limit(1))
    return left is not None


async def insert_issues(
    session: AsyncSession, *, import_id: str, workspace_id: str, issues: list[tuple[int, Any]]
) -> None:
    await session.execute(
        insert(location_issue_table),
        [
            {"import_id": import_id, "line": line, "workspace_id": workspace_id, "errors": e}
            for line, e in issues
        ],
    )


async def first_issues(
    session: AsyncSession, *, import_id: str, limit: int
) -> Sequence[ServiceLocationImportIssue]:
    I = ServiceLocationImportIssue  # noqa: E741
    stmt = select(I).where(I.import_id == import_id).order_by(I.line).limit(limit)
    return (await session.scalars(stmt)).all()


# --- a batch ---------------------------------------------------------------------------------

_STAGE_TYPES = {"line": "INTEGER", "metered": "BOOLEAN", "attributes": "TEXT"}


def _stage_ddl(dialect: Dialect) -> str:
    columns = ", ".join(f"{c} {_STAGE_TYPES.get(c, 'TEXT')}" for c in STAGE_COLUMNS)
    suffix = " ON COMMIT DELETE ROWS" if dialect == "postgresql" else ""
    return f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} ({columns}){suffix}"


async def stage(session: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
    """The batch's rows into the (emptied) stage: COPY on PostgreSQL. Not analyzed: the
    planner sizes a table it has no statistics of by its pages, which is enough to probe the
    locations by index for each staged row (an ANALYZE per part cost 40 % of the staging)."""
    dialect = dialect_of(session)
    await session.execute(text(_stage_ddl(dialect)))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection  # the rows go to the driver as they are: tuples
    if dialect == "postgresql":
        await driver.copy_records_to_table(STAGE, records=rows, columns=list(STAGE_COLUMNS))
        return
    await session.execute(text(f"DELETE FROM {STAGE}"))
    placeholders = ", ".join("?" for _ in STAGE_COLUMNS)
    await driver.executemany(f"INSERT INTO {STAGE} VALUES ({placeholders})", rows)


_NOW = bindparam("now", type_=UtcDateTime())
_MATCH = (
    "l.workspace_id = :workspace_id AND l.service_point_id = s.service_point_id"
    " AND l.market = s.market"
)


async def existing(session: AsyncSession, *, workspace_id: str) -> tuple[int, int]:
    """(staged rows stored already, those of them unchanged)."""
    row: Any = (
        await session.execute(
            text(
                "SELECT count(*), coalesce(sum(CASE WHEN l.content_hash = s.content_hash"
                f" THEN 1 ELSE 0 END), 0) FROM {STAGE} s CROSS JOIN service_location l"
                f" WHERE {_MATCH}"
            ),
            {"workspace_id": workspace_id},
        )
    ).one()
    return int(row[0]), int(row[1])


async def touch_unchanged(session: AsyncSession, *, workspace_id: str, now: datetime) -> None:
    """``last_seen_at`` of the stored rows the stage brings again unchanged (a row an upsert
    of this part wrote has it already)."""
    await session.execute(
        text(
            "UPDATE service_location SET last_seen_at = :now WHERE workspace_id = :workspace_id"
            f" AND id IN (SELECT l.id FROM {STAGE} s CROSS JOIN service_location l"
            f" WHERE {_MATCH} AND l.content_hash = s.content_hash"
            " AND (l.last_seen_at IS NULL OR l.last_seen_at <> :now))"
        ).bindparams(_NOW),
        {"workspace_id": workspace_id, "now": now},
    )


def _upsert_sql(dialect: Dialect) -> str:
    json = "CAST(s.attributes AS jsonb)" if dialect == "postgresql" else "s.attributes"
    selected = ", ".join(json if c == "attributes" else f"s.{c}" for c in STORED_COLUMNS)
    changed = [c for c in STORED_COLUMNS if c not in ("id", "market", "service_point_id")]
    sets = ", ".join(f"{c} = excluded.{c}" for c in changed)
    return (
        f"INSERT INTO service_location ({', '.join(STORED_COLUMNS)}, workspace_id, source,"
        " last_seen_at, created_at, updated_at, version)"
        f" SELECT {selected}, :workspace_id, :source, :now, :now, :now, 1 FROM {STAGE} s"
        " WHERE true"  # SQLite: an INSERT … SELECT before ON CONFLICT needs a WHERE
        " ON CONFLICT (workspace_id, service_point_id, market) DO UPDATE SET"
        f" {sets}, source = excluded.source, last_seen_at = excluded.last_seen_at,"
        " updated_at = excluded.updated_at, version = service_location.version + 1"
        " WHERE service_location.content_hash <> excluded.content_hash"
    )


async def upsert(session: AsyncSession, *, workspace_id: str, source: str, now: datetime) -> None:
    """Create the staged rows that are new, rewrite those whose content changed."""
    await session.execute(
        text(_upsert_sql(dialect_of(session))).bindparams(_NOW),
        {"workspace_id": workspace_id, "source": source, "now": now},
    )


async def upsert_counted(
    session: AsyncSession, *, workspace_id: str, source: str, now: datetime
) -> tuple[int, int]:
    """PostgreSQL: ``upsert``, and (rows it created, rows it rewrote): a row the INSERT made
    has no ``xmax``, one ON CONFLICT updated has."""
    sql = (
        f"WITH written AS ({_upsert_sql('postgresql')} RETURNING (xmax = 0) AS created)"
        " SELECT count(*) FILTER (WHERE created), count(*) FROM written"
    )
    row: Any = (
        await session.execute(
            text(sql).bindparams(_NOW),
            {"workspace_id": workspace_id, "source": source, "now": now},
        )
    ).one()
    return int(row[0]), int(row[1]) - int(row[0])


async def analyze(session: AsyncSession) -> None:
    """PostgreSQL: refresh the planner's statistics of the locations (see pipeline.py)."""
    if dialect_of(session) == "postgresql":
        await session.execute(text("ANALYZE service_location"))

"""The importer's queries on rows: imports, their file chunks, issues and (dry run) keys, and
the lookups an import batch makes of stored enrollments and customers. The set-based SQL of a
batch is staging_repository.py."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import Row, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.eligibility.bulk import Dialect
from enroll.enrollment import bulk_sql
from enroll.kit.repository import WorkspaceRepository
from enroll.models import (
    Customer,
    Enrollment,
    EnrollmentImport,
    ImportChunk,
    ImportIssue,
    ProgramInstance,
)
from enroll.models.enrollment_import import import_issue_table, import_key_table

# --- imports and their files -----------------------------------------------------------------

imports = WorkspaceRepository(EnrollmentImport, not_found="No import {id!r}.")


async def stored_import(session: AsyncSession, import_id: str) -> EnrollmentImport | None:
    """An import by id alone, from the session's identity map when it holds it: for the
    pipeline and the upload, whose id names an import already found in its workspace."""
    return await session.get(EnrollmentImport, import_id)


async def lock_import(session: AsyncSession, import_id: str) -> EnrollmentImport | None:
    """``stored_import``, its row locked (PostgreSQL): a batch commits only while the import
    still runs."""
    return await session.get(EnrollmentImport, import_id, with_for_update=True)


async def delete_import(session: AsyncSession, *, import_id: str) -> None:
    await session.execute(delete(EnrollmentImport).where(EnrollmentImport.id == import_id))


async def chunk(session: AsyncSession, *, import_id: str, seq: int) -> bytes | None:
    return await session.scalar(
        select(ImportChunk.data).where(ImportChunk.import_id == import_id, ImportChunk.seq == seq)
    )


async def delete_chunks(session: AsyncSession, *, import_id: str, before: int) -> None:
    """The import's chunks numbered below ``before``."""
    await session.execute(
        delete(ImportChunk).where(ImportChunk.import_id == import_id, ImportChunk.seq < before)
    )


async def any_chunk(session: AsyncSession, *, import_id: str) -> int | None:
    """The number of one chunk the import still has, if any."""
    return await session.scalar(
        select(ImportChunk.seq).where(ImportChunk.import_id == import_id).limit(1)
    )


# --- outcomes --------------------------------------------------------------------------------


async def insert_issues(
    session: AsyncSession, *, import_id: str, issues: list[dict[str, Any]]
) -> None:
    await session.execute(
        insert(import_issue_table), [{"import_id": import_id, **i} for i in issues]
    )


async def created_page(
    session: AsyncSession, *, import_id: str, after: int, limit: int
) -> Sequence[Row[int | None, str, str]]:
    """(row, enrollment id, status) of the enrollments the import made, from row ``after``."""
    return (
        await session.execute(
            select(Enrollment.import_row, Enrollment.id, Enrollment.status)
            .where(Enrollment.import_id == import_id, Enrollment.import_row > after)
            .order_by(Enrollment.import_row)
            .limit(limit)
        )
    ).all()


async def issue_page(
    session: AsyncSession, *, import_id: str, after: int, limit: int
) -> Sequence[Row[int, ImportIssue]]:
    """(row, issue) of the import's issues, from row ``after``."""
    return (
        await session.execute(
            select(ImportIssue.row, ImportIssue)
            .where(ImportIssue.import_id == import_id, ImportIssue.row > after)
            .order_by(ImportIssue.row)
            .limit(limit)
        )
    ).all()


# --- a dry run's keys ------------------------------------------------------------------------


async def insert_keys(session: AsyncSession, *, keys: list[dict[str, Any]]) -> None:
    await session.execute(insert(import_key_table), keys)


async def remembered_keys(
    session: AsyncSession, *, import_id: str, keys: Collection[str], dialect: Dialect
) -> Sequence[Row[Any, Any]]:
    """(key, row) of the ``keys`` an earlier batch of this dry run would have created."""
    return (
        await session.execute(
            select(import_key_table.c.key, import_key_table.c.row).where(
                import_key_table.c.import_id == import_id,
                bulk_sql.among(import_key_table.c.key, keys, dialect),
            )
        )
    ).all()


async def delete_keys(session: AsyncSession, *, import_id: str) -> None:
    await session.execute(delete(import_key_table).where(import_key_table.c.import_id == import_id))


# --- what a batch looks up -------------------------------------------------------------------


async def enrollments_with_key(
    session: AsyncSession,
    *,
    instance_id: str,
    kind: str,
    values: Collection[str],
    dialect: Dialect,
) -> Sequence[Row[Any, Any]]:
    """(value, enrollment id) of the instance's enrollments whose dedupe key ``kind`` (email,
    referenceId, nameAddress) is one of ``values``."""
    columns: dict[str, Any] = {
        "email": Enrollment.email,
        "referenceId": Enrollment.reference_id,
        "nameAddress": Enrollment.dedupe_key,
    }
    column = columns[kind]
    return (
        await session.execute(
            select(column, Enrollment.id).where(
                Enrollment.program_instance_id == instance_id,
                bulk_sql.among(column, values, dialect),
            )
        )
    ).all()


async def customers(
    session: AsyncSession, *, workspace_id: str, ids: Iterable[str]
) -> Sequence[Customer]:
    return (
        await session.scalars(
            select(Customer).where(Customer.workspace_id == workspace_id, Customer.id.in_(ids))
        )
    ).all()


async def mark_imported(
    session: AsyncSession, *, enrollment_id: str, import_id: str, row: int
) -> None:
    await session.execute(
        update(Enrollment)
        .where(Enrollment.id == enrollment_id)
        .values(import_id=import_id, import_row=row)
    )


async def instance_in_any_workspace(session: AsyncSession, *, ref: str) -> ProgramInstance | None:
    """The CLI's lookup (it runs for the platform, in no workspace): an instance by id or
    slug, in whichever workspace holds it."""
    return await session.scalar(
        select(ProgramInstance).where(or_(ProgramInstance.id == ref, ProgramInstance.slug == ref))
    )

"""The queries of documents and document types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.kit.repository import WorkspaceRepository, insert_unless_exists
from enroll.models import Document, DocumentType

documents = WorkspaceRepository(Document, not_found="No document {id!r}.")
document_types = WorkspaceRepository(DocumentType)


async def of_enrollment(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str
) -> list[Document]:
    """The enrollment's documents, oldest first."""
    stmt = (
        documents.readable(workspace_id)
        .where(Document.enrollment_id == enrollment_id)
        .order_by(Document.id)
    )
    return list((await session.scalars(stmt)).all())


async def one_of_enrollment(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str, document_id: str
) -> Document | None:
    stmt = documents.readable(workspace_id).where(
        Document.enrollment_id == enrollment_id, Document.id == document_id
    )
    return await session.scalar(stmt)


async def by_content(session: AsyncSession, *, enrollment_id: str, sha256: str) -> Document | None:
    """The enrollment's document with these bytes (the enrollment is the caller's)."""
    stmt = select(Document).where(
        Document.enrollment_id == enrollment_id, Document.sha256 == sha256
    )
    return await session.scalar(stmt)


async def insert_unless_duplicate(session: AsyncSession, document: Document) -> bool:
    """Insert ``document``; False (nothing written) when the enrollment holds its bytes
    already, a concurrent upload's included."""
    return await insert_unless_exists(session, document, unique=("enrollment_id", "sha256"))


async def remove(session: AsyncSession, document: Document) -> None:
    await session.execute(delete(Document).where(Document.id == document.id))


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    """What a requirement asks of a document."""

    id: str
    owner: str
    type: str
    issued_at: date


async def facts_of_enrollment(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str
) -> list[DocumentFacts]:
    """(owner, type, issued_at) of each of the enrollment's documents, oldest first: one
    narrow query for requirement checks."""
    stmt = (
        select(Document.id, Document.owner, Document.type, Document.issued_at)
        .where(Document.workspace_id == workspace_id, Document.enrollment_id == enrollment_id)
        .order_by(Document.id)
    )
    return [DocumentFacts(*row) for row in (await session.execute(stmt)).all()]


# --- document types ---------------------------------------------------------------------------


async def types_of(session: AsyncSession, *, workspace_id: str) -> list[DocumentType]:
    stmt = document_types.readable(workspace_id).order_by(DocumentType.code)
    return list((await session.scalars(stmt)).all())


async def type_exists(session: AsyncSession, *, workspace_id: str, code: str) -> bool:
    stmt = document_types.readable(workspace_id).where(DocumentType.code == code)
    return await session.scalar(stmt) is not None


async def insert_type(session: AsyncSession, document_type: DocumentType) -> bool:
    """False (nothing written) when the workspace has the code already."""
    return await insert_unless_exists(session, document_type, unique=("workspace_id", "code"))


# --- housekeeping: every workspace's rows (key rotation, the orphan sweeper) ------------------


async def sealed_under_other_keys(
    session: AsyncSession, *, active: str, after: str, limit: int
) -> list[Document]:
    """The next ``limit`` documents (by id, after ``after``) not sealed under ``active``."""
    stmt = (
        select(Document)
        .where(Document.key_id != active, Document.id > after)
        .order_by(Document.id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def set_key(session: AsyncSession, *, document_id: str, key_id: str) -> bool:
    """Record the key that sealed the document's object; False when the row is gone."""
    result = await session.execute(
        update(Document).where(Document.id == document_id).values(key_id=key_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def known_storage_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Those of ``keys`` some document row names."""
    stmt = select(Document.storage_key).where(Document.storage_key.in_(keys))
    return set((await session.scalars(stmt)).all())

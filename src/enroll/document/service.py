"""Document use cases below the enrollment (enrollment/documents.py calls them with an
enrollment it has loaded): check a file, store it sealed, read, open and remove documents;
the workspace's document types.

A document's contents are sealed under the active data key, with the document's id as the
associated data (so an object copied under another document's key does not open), and put in
object storage (``stage``, outside any transaction) before its row is written (``record``,
in the caller's transaction). A failed write to storage raises before any row exists; a
transaction that rolls back after the object was written removes it (``after_rollback``),
and what a crash leaves between the two is an object with no row, which the sweeper
(sweeper.py) removes after a grace period.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.db import after_commit, after_rollback
from enroll.document import repository
from enroll.document.errors import (
    DocumentTooLarge,
    DocumentTypeExists,
    UnknownDocumentType,
    UnsupportedDocument,
)
from enroll.document.formats import FORMAT_NAMES, DocumentFormat, sniff
from enroll.document.repository import DocumentFacts
from enroll.document.schemas import BUILT_IN_TYPES, DocumentTypeCreate
from enroll.errors import FieldError, NotFound, Unprocessable
from enroll.ids import new_id
from enroll.models import Document, DocumentType
from enroll.models.document import new_document_id
from enroll.storage.base import ObjectStorage
from enroll.storage.errors import UNAVAILABLE, ObjectMissing, StorageUnavailable
from enroll.vault.keyring import KeyRing

log = logging.getLogger("enroll.document")
STORAGE_PREFIX = "documents/"
MAX_FILENAME = 255
# The latest time zone is UTC+14: a date after today there is in the future everywhere.
_LATEST_OFFSET = timedelta(hours=14)


@dataclass(frozen=True, slots=True)
class Upload:
    """A received file: its name as the client gave it (or None) and its bytes."""

    filename: str | None
    data: bytes


def storage_key(workspace_id: str, document_id: str) -> str:
    return f"{STORAGE_PREFIX}{workspace_id}/{document_id}"


def aad(document_id: str) -> bytes:
    """The associated data sealing a document's contents: its id."""
    return document_id.encode()


# --- checks -----------------------------------------------------------------------------------


def check_file(upload: Upload, *, max_bytes: int) -> DocumentFormat:
    """The file's format, by its bytes; 413 over ``max_bytes``, 422 when not a document."""
    if len(upload.data) > max_bytes:
        raise too_large(max_bytes)
    fmt = sniff(upload.data)
    if fmt is None:
        raise UnsupportedDocument(
            f"The file is not a {FORMAT_NAMES} document (told by its bytes, not its name).",
            formats=[f.value for f in DocumentFormat],
        )
    return fmt


def too_large(max_bytes: int) -> DocumentTooLarge:
    return DocumentTooLarge(f"Documents are limited to {max_bytes} bytes.", maxBytes=max_bytes)


def check_issued(issued_at: date, *, now: datetime) -> None:
    if issued_at > (now + _LATEST_OFFSET).date():
        raise Unprocessable(
            "issuedAt: a document cannot be issued in the future.",
            errors=[FieldError(field="issuedAt", message="Must not be in the future.")],
        )


async def check_type(session: AsyncSession, *, workspace_id: str, code: str) -> None:
    if code in BUILT_IN_TYPES:
        return
    if not await repository.type_exists(session, workspace_id=workspace_id, code=code):
        raise UnknownDocumentType(
            f"No document type {code!r}: use a built-in one or add it (POST /v1/documentTypes).",
            errors=[FieldError(field="type", message="Not a document type of this workspace.")],
        )


def clean_filename(name: str | None, fmt: DocumentFormat, document_id: str) -> str:
    """The client's file name without any directory, control characters or text a database
    cannot keep, at most 255 characters; the id and the format's extension when none is left."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    base = base.encode("utf-8", "ignore").decode("utf-8").strip()
    if not base:
        return f"{document_id}.{fmt.extension}"
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        if dot and stem and len(ext) <= 16:
            return stem[: MAX_FILENAME - len(ext) - 1] + "." + ext
        return base[:MAX_FILENAME]
    return base


# --- documents --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """The enrollment a document is for, as the enrollment domain loaded it."""

    workspace_id: str
    enrollment_id: str
    customer_id: str | None


async def digest(upload: Upload) -> str:
    """The SHA-256 of the file's bytes, hex (in a thread: up to 20 MiB)."""
    return await asyncio.to_thread(lambda: hashlib.sha256(upload.data).hexdigest())


async def find_copy(session: AsyncSession, *, enrollment_id: str, sha256: str) -> Document | None:
    """The enrollment's document with these bytes, if it has one."""
    return await repository.by_content(session, enrollment_id=enrollment_id, sha256=sha256)


@dataclass(frozen=True, slots=True)
class Staged:
    """A document whose contents are in storage and whose row is not written yet."""

    document: Document


async def stage(
    *,
    storage: ObjectStorage,
    vault: KeyRing,
    target: Target,
    owner: str,
    type_: str,
    issued_at: date,
    upload: Upload,
    sha256: str,
    max_bytes: int,
    now: datetime,
) -> Staged:
    """Seal the file under the active key and put it in storage; the row ``record`` writes.
    Call it outside any transaction: no write lock (SQLite) nor the event feed (PostgreSQL)
    waits on storage. A failure of storage raises ``StorageUnavailable`` (503), and nothing
    is stored."""
    fmt = check_file(upload, max_bytes=max_bytes)
    document_id = new_document_id()
    document = Document(
        id=document_id,
        workspace_id=target.workspace_id,
        enrollment_id=target.enrollment_id,
        customer_id=target.customer_id,
        owner=owner,
        type=type_,
        issued_at=issued_at,
        filename=clean_filename(upload.filename, fmt, document_id),
        content_type=fmt.media_type,
        size=len(upload.data),
        sha256=sha256,
        storage_key=storage_key(target.workspace_id, document_id),
        key_id=vault.active,
        created_at=now,
    )
    sealed = await asyncio.to_thread(vault.seal, upload.data, aad=aad(document_id))
    try:
        await storage.put(document.storage_key, sealed)
    except BaseException:
        await _discard(storage, document.storage_key)  # a put that failed half-way
        raise
    return Staged(document)


async def record(
    session: AsyncSession, *, storage: ObjectStorage, staged: Staged
) -> tuple[Document, bool]:
    """Write the staged document's row in the caller's transaction; the document and whether
    it is new. If the transaction rolls back (a failed commit included), the object is
    removed; so it is when the enrollment holds the same bytes already (a concurrent upload
    won): then that document is the answer."""
    document, key = staged.document, staged.document.storage_key
    after_rollback(session, lambda: _discard(storage, key))
    if await repository.insert_unless_duplicate(session, document):
        return document, True
    after_commit(session, lambda: _discard(storage, key))
    raced = await repository.by_content(
        session, enrollment_id=document.enrollment_id, sha256=document.sha256
    )
    assert raced is not None  # the conflicting row has committed: it is visible now
    return raced, False


async def _discard(storage: ObjectStorage, key: str) -> None:
    """Remove an object whose row did not commit (or no longer exists); the sweeper removes
    it later when storage cannot be reached now."""
    try:
        await storage.delete(key)
    except StorageUnavailable:
        log.warning("could not remove %s now; the orphan sweeper will", key)


async def of_enrollment(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str
) -> list[Document]:
    return await repository.of_enrollment(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id
    )


async def get(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str, document_id: str
) -> Document:
    """The enrollment's document, or 404 (another enrollment's or workspace's reads alike)."""
    found = await repository.one_of_enrollment(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id, document_id=document_id
    )
    if found is None:
        raise NotFound(f"No document {document_id!r}.")
    return found


async def contents(storage: ObjectStorage, vault: KeyRing, document: Document) -> bytes:
    """The document's bytes, opened (any key of the ring opens what it sealed)."""
    try:
        sealed = await storage.get(document.storage_key)
    except ObjectMissing:
        log.error("document %s: no object at %s", document.id, document.storage_key)
        raise StorageUnavailable(UNAVAILABLE) from None
    return await asyncio.to_thread(vault.open, sealed, aad=aad(document.id))


async def remove(session: AsyncSession, *, storage: ObjectStorage, document: Document) -> None:
    """Delete the row; its object goes once the deletion has committed."""
    await repository.remove(session, document)
    key = document.storage_key
    after_commit(session, lambda: _discard(storage, key))


async def facts(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str
) -> list[DocumentFacts]:
    """(id, owner, type, issued_at) of each of the enrollment's documents, oldest first."""
    return await repository.facts_of_enrollment(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id
    )


# --- document types ---------------------------------------------------------------------------


async def types(session: AsyncSession, *, workspace_id: str) -> list[DocumentType]:
    """The workspace's own types, by code (the built-in ones are BUILT_IN_TYPES)."""
    return await repository.types_of(session, workspace_id=workspace_id)


async def create_type(
    session: AsyncSession, *, workspace_id: str, body: DocumentTypeCreate, now: datetime
) -> DocumentType:
    taken = DocumentTypeExists(
        f"The document type {body.code!r} exists already.",
        errors=[FieldError(field="code", message="Taken.")],
    )
    if body.code in BUILT_IN_TYPES:
        raise taken
    row = DocumentType(
        id=new_id(), workspace_id=workspace_id, code=body.code, label=body.label, created_at=now
    )
    if not await repository.insert_type(session, row):
        raise taken
    return row

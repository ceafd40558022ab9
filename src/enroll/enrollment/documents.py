"""An enrollment's documents (docs/documents.md): upload, list, read, download and delete,
over the document domain (document/service.py) with the enrollment loaded here, so another
workspace's enrollment reads as a missing one (404) as on every enrollment route.

Documents may be deleted while the enrollment has not been submitted (``UNSUBMITTED``, from
the workflow table); afterwards they are part of what was submitted (409 ``document_locked``).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from enroll.context import AppContext
from enroll.document import service as documents
from enroll.document.errors import DocumentLocked
from enroll.document.schemas import APPLICANT, OWNER, DocumentFields, DocumentOut
from enroll.document.service import Target, Upload
from enroll.enrollment import repository, requirement_actions, requirement_check
from enroll.errors import FieldError, Unprocessable
from enroll.idempotency import service as idempotency
from enroll.models import Document, Enrollment
from enroll.storage.base import ObjectStorage
from enroll.vault.keyring import KeyRing
from enroll.workflows.enrollment import OPEN_STATUSES, TRANSITIONS, Action, Status


def _before_submission() -> frozenset[Status]:
    """The open statuses an enrollment can hold before it is first submitted: those reached
    from ``candidate`` without the submit action."""
    seen, frontier = {Status.CANDIDATE}, [Status.CANDIDATE]
    while frontier:
        status = frontier.pop()
        for (source, action), reached in TRANSITIONS.items():
            if source == status and action != Action.SUBMIT:
                new = reached - seen
                seen |= new
                frontier += new
    return frozenset(seen) & OPEN_STATUSES


UNSUBMITTED = _before_submission()  # candidate, eligible, ineligible


async def _enrollment(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str, for_update: bool = False
) -> Enrollment:
    return await repository.enrollments.require(
        session, workspace_id=workspace_id, id=enrollment_id, for_update=for_update
    )


def check_owner(owner: str) -> None:
    """``applicant``, or a household member's id (the member itself is checked with the
    enrollment: ``requirement_check.check_document``)."""
    if owner != APPLICANT and not re.fullmatch(OWNER, owner):
        raise Unprocessable(
            "owner: `applicant` or a household member's id.",
            errors=[FieldError(field="owner", message="Not `applicant` or a member's id.")],
        )


def document_response(document: Document, *, created: bool) -> Response:
    """201 with its Location for a new document, 200 for the existing one with these bytes."""
    where = f"/v1/enrollments/{document.enrollment_id}/documents/{document.id}"
    return Response(
        DocumentOut.of(document).model_dump_json(by_alias=True),
        status_code=201 if created else 200,
        media_type="application/json",
        headers={"Location": where},
    )


def _fingerprint(head: str, fields: DocumentFields, filename: str | None, sha256: str) -> str:
    digest = hashlib.sha256(head.encode())
    digest.update(fields.model_dump_json(by_alias=True).encode())
    digest.update(f"\n{filename}\n{sha256}".encode())
    return digest.hexdigest()


async def upload(
    ctx: AppContext,
    *,
    workspace_id: str,
    enrollment_id: str,
    fields: DocumentFields,
    file: Upload,
    idempotency_key: str | None,
    idempotency_scope: str,
    fingerprint_head: str,
) -> Response:
    """Store a document for the enrollment: its answer (201 new, 200 the existing document
    with the same bytes), or the stored answer of an earlier request with the same
    Idempotency-Key. A refused file, type or date stores nothing; so does a storage failure
    (503). The contents go to storage between a read transaction (the enrollment, the type,
    a copy) and the write one (the row), so no transaction waits on storage; a write that
    fails after the object was stored removes it."""
    now = ctx.clock.now()
    documents.check_file(file, max_bytes=ctx.settings.max_document_bytes)  # before any claim
    documents.check_issued(fields.issued_at, now=now)
    check_owner(fields.owner)
    sha256 = await documents.digest(file)
    fingerprint = (
        _fingerprint(fingerprint_head, fields, file.filename, sha256) if idempotency_key else ""
    )
    outcome = await idempotency.begin(
        ctx, scope=idempotency_scope, key=idempotency_key, fingerprint=fingerprint
    )
    if isinstance(outcome, Response):
        return outcome
    async with outcome as guard:
        target, copy = await _target(ctx, workspace_id, enrollment_id, fields, sha256)
        if copy is not None:  # stores nothing: a retry answers the same
            return document_response(copy, created=False)
        staged = await documents.stage(
            storage=ctx.storage,
            vault=ctx.vault,
            target=target,
            owner=fields.owner,
            type_=fields.type,
            issued_at=fields.issued_at,
            upload=file,
            sha256=sha256,
            max_bytes=ctx.settings.max_document_bytes,
            now=now,
        )
        async with ctx.db.transaction() as session:
            document, created = await documents.record(session, storage=ctx.storage, staged=staged)
            if created:  # in the transaction that stores it
                await _refresh(session, workspace_id, enrollment_id, now=now)
            response = document_response(document, created=created)
            await guard.complete(session, response)
    return response


async def _target(
    ctx: AppContext, workspace_id: str, enrollment_id: str, fields: DocumentFields, sha256: str
) -> tuple[Target, Document | None]:
    """The enrollment a document is for (404), its type and owner checked (a member of its
    customer's household; no income document beside an IRS authorisation), and the
    enrollment's document with these bytes if it has one."""
    async with ctx.db.transaction(write=False) as session:
        enrollment = await _enrollment(
            session, workspace_id=workspace_id, enrollment_id=enrollment_id
        )
        await documents.check_type(session, workspace_id=workspace_id, code=fields.type)
        await requirement_check.check_document(
            session, enrollment, owner=fields.owner, type_=fields.type
        )
        copy = await documents.find_copy(session, enrollment_id=enrollment.id, sha256=sha256)
    return Target(workspace_id, enrollment.id, enrollment.customer_id), copy


async def _refresh(
    session: AsyncSession, workspace_id: str, enrollment_id: str, *, now: datetime
) -> None:
    enrollment = await _enrollment(session, workspace_id=workspace_id, enrollment_id=enrollment_id)
    await requirement_actions.refresh(session, enrollment, now=now)


async def list_documents(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str
) -> list[Document]:
    """The enrollment's documents, oldest first."""
    await _enrollment(session, workspace_id=workspace_id, enrollment_id=enrollment_id)
    return await documents.of_enrollment(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id
    )


async def get_document(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str, document_id: str
) -> Document:
    await _enrollment(session, workspace_id=workspace_id, enrollment_id=enrollment_id)
    return await documents.get(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id, document_id=document_id
    )


async def download(
    session: AsyncSession,
    *,
    storage: ObjectStorage,
    vault: KeyRing,
    workspace_id: str,
    enrollment_id: str,
    document_id: str,
) -> tuple[Document, bytes]:
    """The document and its bytes, opened."""
    document = await get_document(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id, document_id=document_id
    )
    return document, await documents.contents(storage, vault, document)


async def delete_document(
    session: AsyncSession,
    *,
    storage: ObjectStorage,
    workspace_id: str,
    enrollment_id: str,
    document_id: str,
    now: datetime,
) -> None:
    """Delete a document of an enrollment not yet submitted (409 ``document_locked`` after);
    its stored object goes once the deletion has committed."""
    enrollment = await _enrollment(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id, for_update=True
    )
    document = await documents.get(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id, document_id=document_id
    )
    if enrollment.status not in UNSUBMITTED:
        raise DocumentLocked(
            f"The enrollment is {enrollment.status}: its documents were submitted with it.",
            currentStatus=enrollment.status,
        )
    await documents.remove(session, storage=storage, document=document)
    await requirement_actions.refresh(session, enrollment, now=now)

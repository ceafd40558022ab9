"""An enrollment's documents and the workspace's document types (docs/documents.md)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.responses import Response

from enroll.api.dependencies import app_context, get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute, own_transactions
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.document import service as documents
from enroll.document.errors import (
    DocumentLocked,
    DocumentTooLarge,
    DocumentTypeExists,
    UnknownDocumentType,
    UnsupportedDocument,
)
from enroll.document.formats import MEDIA_TYPES
from enroll.document.schemas import (
    OWNER,
    TYPE_CODE,
    DocumentFields,
    DocumentList,
    DocumentOut,
    DocumentTypeCreate,
    DocumentTypeList,
    DocumentTypeOut,
)
from enroll.document.service import Upload
from enroll.enrollment import documents as enrollment_documents
from enroll.enrollment.errors import IncomeCertificationConflict
from enroll.errors import Unprocessable, UnsupportedMediaType, field_errors_of, raises
from enroll.storage.errors import StorageUnavailable

router = APIRouter(prefix="/v1", tags=["documents"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Ctx = Annotated[AppContext, Depends(get_ctx)]
Reader = Annotated[Principal, require(Scope.ENROLLMENTS_READ)]
Writer = Annotated[Principal, require(Scope.ENROLLMENTS_WRITE)]
TypeReader = Annotated[Principal, require(Scope.PROGRAM_INSTANCES_READ)]
TypeWriter = Annotated[Principal, require(Scope.PROGRAM_INSTANCES_WRITE)]
DOCUMENTS = "/enrollments/{enrollment_id}/documents"
# The upload's path: its route limits the body itself (document_too_large), so the app's body
# limit middleware gives it no limit of its own.
DOCUMENT_UPLOAD_PATH = r"^/v1/enrollments/[^/]+/documents$"
# What a form may add to the file: its boundaries, part headers and the short text fields.
FORM_SLACK = 64 * 1024

_UPLOAD = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "type", "issuedAt"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "A PDF, PNG, JPEG or HEIC file of up to "
                        "`ENROLL_MAX_DOCUMENT_BYTES` (20 MiB), told by its bytes.",
                    },
                    "type": {"type": "string", "pattern": TYPE_CODE},
                    "issuedAt": {"type": "string", "format": "date"},
                    "owner": {"type": "string", "pattern": OWNER, "default": "applicant"},
                },
                "additionalProperties": False,
            },
            "encoding": {"file": {"contentType": ", ".join(sorted(MEDIA_TYPES))}},
        }
    },
}
_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file as uploaded, as an attachment.",
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in MEDIA_TYPES},
    }
}


async def _counted(
    body: AsyncIterator[bytes], limit: int, max_bytes: int
) -> AsyncGenerator[bytes, None]:
    """The body, refused (413) as soon as it passes ``limit`` bytes: never read whole."""
    received = 0
    async for piece in body:
        received += len(piece)
        if received > limit:
            raise documents.too_large(max_bytes)
        yield piece


def _form_error(detail: str) -> Unprocessable:
    return Unprocessable(f"{detail} Send multipart/form-data: `file`, `type`, `issuedAt`, `owner`.")


async def _read_form(request: Request, *, max_bytes: int) -> tuple[dict[str, Any], Upload]:
    """The form's text fields and its one file, read while counting: a Content-Length over
    the limit is refused before any of the body is read, a longer body as soon as it passes."""
    limit = max_bytes + FORM_SLACK
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise documents.too_large(max_bytes)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise UnsupportedMediaType("Send the document as multipart/form-data.")
    parser = MultiPartParser(
        request.headers,
        _counted(request.stream(), limit, max_bytes),
        max_files=1,
        max_fields=8,
        max_part_size=FORM_SLACK,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise _form_error(f"The form cannot be read: {exc.message}") from None
    try:
        fields: dict[str, Any] = {}
        file: UploadFile | None = None
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != "file":
                    raise _form_error(f"A file part named {name!r}: the file is `file`.")
                file = value
            else:
                fields[name] = value
        if file is None:
            raise _form_error("No `file` part (a part with a filename).")
        return fields, Upload(filename=file.filename, data=await file.read())
    finally:
        await form.close()


def _fields(values: dict[str, Any]) -> DocumentFields:
    try:
        return DocumentFields.model_validate(values)
    except ValidationError as exc:
        _, errors = field_errors_of(exc.errors())
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise Unprocessable(detail, errors=errors) from None


@router.post(
    DOCUMENTS,
    status_code=201,
    responses={200: {"model": DocumentOut, "description": "The existing document (same bytes)."}},
    openapi_extra={"requestBody": _UPLOAD},
)
@own_transactions
@raises(
    DocumentTooLarge,
    UnsupportedMediaType,
    UnsupportedDocument,
    UnknownDocumentType,
    StorageUnavailable,
    IncomeCertificationConflict,
)
async def upload_document(enrollment_id: str, request: Request, principal: Writer) -> DocumentOut:
    """Upload a document (multipart: `file`, `type`, `issuedAt`, `owner`). Its bytes decide
    what it is: PDF, PNG, JPEG or HEIC (422 `unsupported_document` otherwise), at most
    `ENROLL_MAX_DOCUMENT_BYTES` (413 `document_too_large`, refused before the rest is read).
    The same bytes again for the enrollment answer the existing document (200, not 201).
    Contents are encrypted at rest; a storage outage answers 503 `storage_unavailable` and
    stores nothing."""
    ctx = app_context(request)
    values, file = await _read_form(request, max_bytes=ctx.settings.max_document_bytes)
    return await enrollment_documents.upload(  # type: ignore[return-value]  # as stored
        ctx,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        fields=_fields(values),
        file=file,
        idempotency_key=request.headers.get("idempotency-key"),
        idempotency_scope=principal.idempotency_scope,
        fingerprint_head=f"{request.method} {request.url.path}?{request.url.query}\n",
    )


@router.get(DOCUMENTS)
async def list_documents(enrollment_id: str, session: Session, principal: Reader) -> DocumentList:
    """The enrollment's documents, oldest first."""
    rows = await enrollment_documents.list_documents(
        session, workspace_id=workspace_id_of(principal), enrollment_id=enrollment_id
    )
    return DocumentList(data=[DocumentOut.of(d) for d in rows])


@router.get(DOCUMENTS + "/{document_id}")
async def get_document(
    enrollment_id: str, document_id: str, session: Session, principal: Reader
) -> DocumentOut:
    """A document's metadata."""
    document = await enrollment_documents.get_document(
        session,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        document_id=document_id,
    )
    return DocumentOut.of(document)


def _attachment(filename: str) -> str:
    """``Content-Disposition`` for ``filename`` (RFC 6266: an ASCII name, and the exact one)."""
    plain = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get(DOCUMENTS + "/{document_id}/content", response_class=Response, responses=_CONTENT)
@raises(StorageUnavailable)
async def download_document(
    enrollment_id: str, document_id: str, session: Session, principal: Reader, ctx: Ctx
) -> Response:
    """The file, decrypted, as uploaded: its content type (from its bytes) and
    `Content-Disposition: attachment` with its file name."""
    document, data = await enrollment_documents.download(
        session,
        storage=ctx.storage,
        vault=ctx.vault,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        document_id=document_id,
    )
    return Response(
        data,
        media_type=document.content_type,
        headers={
            "Content-Disposition": _attachment(document.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.delete(DOCUMENTS + "/{document_id}", status_code=204)
@raises(DocumentLocked)
async def delete_document(
    enrollment_id: str, document_id: str, session: Session, principal: Writer, ctx: Ctx
) -> Response:
    """Delete a document while the enrollment has not been submitted (candidate, eligible or
    ineligible); afterwards 409 `document_locked`. Its stored contents are removed."""
    await enrollment_documents.delete_document(
        session,
        storage=ctx.storage,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        document_id=document_id,
        now=ctx.clock.now(),
    )
    return Response(status_code=204)


@router.get("/documentTypes")
async def list_document_types(session: Session, principal: TypeReader) -> DocumentTypeList:
    """The built-in document types, then the workspace's own by code."""
    own = await documents.types(session, workspace_id=workspace_id_of(principal))
    return DocumentTypeList(
        data=DocumentTypeOut.built_in_types() + [DocumentTypeOut.of(t) for t in own]
    )


@router.post("/documentTypes", status_code=201)
@raises(DocumentTypeExists)
async def create_document_type(
    body: DocumentTypeCreate, session: Session, principal: TypeWriter, ctx: Ctx
) -> DocumentTypeOut:
    """Add a document type of the workspace's own (`code`: `^[A-Z][A-Z0-9_]{1,39}$`, not a
    built-in one nor one the workspace has: 409 `document_type_exists`)."""
    row = await documents.create_type(
        session, workspace_id=workspace_id_of(principal), body=body, now=ctx.clock.now()
    )
    return DocumentTypeOut.of(row)

"""The problems of documents and document types."""

from __future__ import annotations

from enroll.errors import Conflict, PayloadTooLarge, Unprocessable


class DocumentTooLarge(PayloadTooLarge):
    code, title = "document_too_large", "Document too large"
    description = (
        "a document file over `ENROLL_MAX_DOCUMENT_BYTES` (20 MiB; `maxBytes`), refused before"
        " the rest of the body is read"
    )


class UnsupportedDocument(Unprocessable):
    code, title = "unsupported_document", "Not a supported document"
    description = (
        "a file whose bytes are not a PDF, PNG, JPEG or HEIC image (`formats`), whatever its"
        " name or declared type"
    )


class UnknownDocumentType(Unprocessable):
    code, title = "unknown_document_type", "Unknown document type"
    description = "a document `type` that is neither built in nor one of the workspace's own"


class DocumentTypeExists(Conflict):
    code = "document_type_exists"
    description = "a document type whose code is built in or the workspace's already"


class DocumentLocked(Conflict):
    code, title = "document_locked", "Document locked"
    description = (
        "deleting a document of an enrollment that was submitted (documents may be deleted"
        " while it is a candidate, eligible or ineligible)"
    )

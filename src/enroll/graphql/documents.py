"""Documents (REST: /v1/enrollments/{id}/documents) and document types (/v1/documentTypes),
over the same service functions and scopes. An enrollment's documents are its ``documents``
field (enrollments:read); ``deleteDocument`` needs enrollments:write. Uploading and
downloading a file stay REST's (multipart and binary bodies, which GraphQL has no transport
for): see tests/graphql/test_parity.py.

This module imports nothing of types.py (which imports it for ``Enrollment.documents``).
"""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID

from enroll.auth.scopes import Scope
from enroll.document import service as documents
from enroll.document.schemas import DocumentOut, DocumentTypeCreate, DocumentTypeOut
from enroll.enrollment import documents as enrollment_documents
from enroll.errors import NotFound
from enroll.graphql.context import GraphQLContext, info_context
from enroll.graphql.fields import field, mutation
from enroll.graphql.inputs import parse, wire

Info = strawberry.Info[GraphQLContext, None]


def _ref(value: str) -> str:
    if "\x00" in value:  # as common.ref: NUL names nothing
        raise NotFound("No such resource.")
    return value


@strawberry.type(description="A document of an enrollment (REST: DocumentOut).")
class Document:
    id: ID
    enrollment_id: ID
    customer_id: ID | None
    owner: str = strawberry.field(description="`applicant`, or a household member's id.")
    type: str
    issued_at: date
    filename: str
    content_type: str = strawberry.field(description="From the file's bytes.")
    size: int
    sha256: str
    created_at: datetime

    @classmethod
    def of(cls, out: DocumentOut) -> Document:
        return cls(
            id=ID(out.id),
            enrollment_id=ID(out.enrollment_id),
            customer_id=ID(out.customer_id) if out.customer_id else None,
            owner=out.owner,
            type=out.type,
            issued_at=out.issued_at,
            filename=out.filename,
            content_type=out.content_type,
            size=out.size,
            sha256=out.sha256,
            created_at=out.created_at,
        )


@strawberry.type(description="A document type, built in or the workspace's own.")
class DocumentType:
    code: str
    label: str
    built_in: bool
    created_at: datetime | None

    @classmethod
    def of(cls, out: DocumentTypeOut) -> DocumentType:
        return cls(code=out.code, label=out.label, built_in=out.built_in, created_at=out.created_at)


@strawberry.input(description="A document type of the workspace's own (REST: DocumentTypeCreate).")
class DocumentTypeCreateInput:
    code: str
    label: str


async def enrollment_documents_of(info: Info, enrollment_id: str) -> list[Document]:
    """``Enrollment.documents``: the enrollment's documents, oldest first."""
    ctx = info_context(info)
    workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)

    async def work(session: AsyncSession) -> list[Document]:
        rows = await documents.of_enrollment(
            session, workspace_id=workspace_id, enrollment_id=enrollment_id
        )
        return [Document.of(DocumentOut.of(row)) for row in rows]

    return await ctx.read(work)


@strawberry.type
class DocumentsQuery:
    @field(
        "The built-in document types, then the workspace's own (scope program_instances:read).",
        Scope.PROGRAM_INSTANCES_READ,
    )
    async def document_types(self, info: Info) -> list[DocumentType]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.PROGRAM_INSTANCES_READ)

        async def work(session: AsyncSession) -> list[DocumentType]:
            own = await documents.types(session, workspace_id=workspace_id)
            outs = DocumentTypeOut.built_in_types() + [DocumentTypeOut.of(t) for t in own]
            return [DocumentType.of(o) for o in outs]

        return await ctx.read(work)


@strawberry.type
class DocumentsMutation:
    @mutation(
        "Add a document type of the workspace's own (scope program_instances:write).",
        Scope.PROGRAM_INSTANCES_WRITE,
    )
    async def create_document_type(
        self, info: Info, input: DocumentTypeCreateInput
    ) -> DocumentType:
        ctx = info_context(info)

        async def work(session: AsyncSession) -> DocumentType:
            principal = await ctx.principal(Scope.PROGRAM_INSTANCES_WRITE)
            row = await documents.create_type(
                session,
                workspace_id=principal.workspace_id or "",
                body=parse(DocumentTypeCreate, wire(input)),
                now=ctx.now(),
            )
            return DocumentType.of(DocumentTypeOut.of(row))

        return await ctx.mutate(work)

    @mutation(
        "Delete a document of an enrollment not yet submitted (then `document_locked`); "
        "answers its id (scope enrollments:write).",
        Scope.ENROLLMENTS_WRITE,
    )
    async def delete_document(self, info: Info, enrollment_id: ID, id: ID) -> ID:
        ctx = info_context(info)

        async def work(session: AsyncSession) -> ID:
            principal = await ctx.principal(Scope.ENROLLMENTS_WRITE)
            await enrollment_documents.delete_document(
                session,
                storage=ctx.app.storage,
                workspace_id=principal.workspace_id or "",
                enrollment_id=_ref(enrollment_id),
                document_id=_ref(id),
                now=ctx.now(),
            )
            return ID(id)

        return await ctx.mutate(work)

"""The wire of documents and document types."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from enroll.kit.fields import IsoDate, Name
from enroll.kit.schemas import ApiModel, OutModel
from enroll.models import Document, DocumentType

# The types seed 004 names for an income certification, and the common ones beside them.
BUILT_IN_TYPES: dict[str, str] = {
    "PAY_STUB": "Pay stub",
    "OFFER_LETTER": "Offer letter",
    "DETERMINATION_SUMMARY": "Unemployment determination summary",
    "TAX_RETURN": "Federal tax return",
    "TAX_TRANSCRIPT": "IRS tax transcript",
    "UTILITY_BILL": "Utility bill",
    "ID_DOCUMENT": "Identity document",
    "OTHER": "Other document",
}
TYPE_CODE = r"^[A-Z][A-Z0-9_]{1,39}$"
APPLICANT = "applicant"
# The applicant, or a household member of the customer by id (ids.py: lower-case base36).
OWNER = r"^(applicant|[a-z0-9]{1,32})$"

TypeCode = Annotated[
    str,
    StringConstraints(pattern=TYPE_CODE),
    Field(description="A built-in type (`PAY_STUB`, `TAX_RETURN`…) or the workspace's own."),
]
Owner = Annotated[
    str,
    StringConstraints(pattern=OWNER),
    Field(description="`applicant`, or the id of a household member of the customer."),
]


class DocumentFields(ApiModel):
    """The form fields of an upload, beside the file."""

    type: TypeCode
    issued_at: IsoDate = Field(description="The date on the document; not in the future.")
    owner: Owner = APPLICANT


class DocumentOut(OutModel):
    id: str
    enrollment_id: str
    customer_id: str | None
    owner: str
    type: str
    issued_at: date
    filename: str
    content_type: str = Field(description="From the file's bytes, not from what was declared.")
    size: int = Field(description="Bytes of the file.")
    sha256: str = Field(description="Of the file's bytes, hex.")
    created_at: datetime

    @classmethod
    def of(cls, d: Document) -> DocumentOut:
        return cls(
            id=d.id,
            enrollment_id=d.enrollment_id,
            customer_id=d.customer_id,
            owner=d.owner,
            type=d.type,
            issued_at=d.issued_at,
            filename=d.filename,
            content_type=d.content_type,
            size=d.size,
            sha256=d.sha256,
            created_at=d.created_at,
        )


class DocumentList(OutModel):
    data: list[DocumentOut]


class DocumentTypeCreate(ApiModel):
    code: Annotated[str, StringConstraints(pattern=TYPE_CODE)]
    label: Name


class DocumentTypeOut(OutModel):
    code: str
    label: str
    built_in: bool
    created_at: datetime | None = Field(description="Null for the built-in types.")

    @classmethod
    def of(cls, t: DocumentType) -> DocumentTypeOut:
        return cls(code=t.code, label=t.label, built_in=False, created_at=t.created_at)

    @classmethod
    def built_in_types(cls) -> list[DocumentTypeOut]:
        return [
            cls(code=code, label=label, built_in=True, created_at=None)
            for code, label in BUILT_IN_TYPES.items()
        ]


class DocumentTypeList(OutModel):
    data: list[DocumentTypeOut]

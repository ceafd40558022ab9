"""Documents uploaded for an enrollment (pay stubs, tax returns, utility bills…) and the
document types a workspace adds to the built-in ones (docs/documents.md).

A document's contents are not in the database: they are sealed with a data key (vault/) and
kept in object storage (storage/) under ``storage_key``; ``key_id`` names the key that sealed
them, so a key rotation finds what is left to re-seal. ``sha256`` is of the plaintext: one
enrollment holds given bytes once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from enroll.ids import new_id
from enroll.models.base import Base, utcnow

DOCUMENT_ID_PREFIX = "doc_"


def new_document_id() -> str:
    """``doc_`` and a CUID: a document id says what it names (storage keys, logs)."""
    return DOCUMENT_ID_PREFIX + new_id()


class Document(Base):
    __tablename__ = "document"
    __table_args__ = (
        Index(None, "enrollment_id", "sha256", unique=True),
        Index(None, "workspace_id", "id"),
        Index(None, "storage_key", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_document_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    enrollment_id: Mapped[str] = mapped_column(ForeignKey("enrollment.id", ondelete="CASCADE"))
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL"), index=True
    )
    # "applicant", or the id of a household member of the customer.
    owner: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(40))  # a built-in code or the workspace's own
    issued_at: Mapped[date] = mapped_column(Date)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))  # from the bytes, not the client
    size: Mapped[int] = mapped_column(Integer)  # of the plaintext
    sha256: Mapped[str] = mapped_column(String(64))  # of the plaintext, hex
    storage_key: Mapped[str] = mapped_column(String(300))
    key_id: Mapped[str] = mapped_column(String(32))  # the data key that sealed the contents
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DocumentType(Base):
    """A workspace's own document type, beside the built-in ones."""

    __tablename__ = "document_type"
    __table_args__ = (Index(None, "workspace_id", "code", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

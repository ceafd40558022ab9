from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Table, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, BigInt, IdMixin, Json, TimestampMixin


class EnrollmentImport(IdMixin, TimestampMixin, Base):
    """A bulk import of candidate enrollments into one program instance.

    The uploaded file is kept in ``import_chunk`` rows (the database is the only state API
    replicas and workers share); the job that processes it records its progress here, in the
    transaction of every batch it commits, so a restarted job resumes after ``rows_done``.
    """

    __tablename__ = "enrollment_import"
    __table_args__ = (Index(None, "workspace_id", "id"),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    program_instance_id: Mapped[str] = mapped_column(
        ForeignKey("program_instance.id", ondelete="CASCADE")
    )
    # receiving | queued | running | completed | failed
    status: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(8))  # csv | jsonl
    dry_run: Mapped[bool] = mapped_column(Boolean)
    emit_events: Mapped[bool] = mapped_column(Boolean)
    # False: rows stay candidates, unevaluated (a person or a later re-evaluation decides).
    evaluate: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Files reach ENROLL_MAX_IMPORT_BYTES (20 GiB): sizes and offsets are 64-bit.
    file_bytes: Mapped[int] = mapped_column(BigInt, default=0)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    bytes_done: Mapped[int] = mapped_column(BigInt, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    # {"rows", "created", "duplicates", "invalid", "eligible", "ineligible"}
    counts: Mapped[dict[str, Any]] = mapped_column(Json)
    error: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ImportChunk(Base):
    """One piece (about a megabyte) of an uploaded import file, in order."""

    __tablename__ = "import_chunk"

    import_id: Mapped[str] = mapped_column(
        ForeignKey("enrollment_import.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportIssue(Base):
    """A row of an import that created nothing: invalid (with its field errors) or a
    duplicate; in a dry run also each row that would have been created (``would_create``).

    Created rows are found through ``enrollment.import_id`` / ``import_row``; the results
    file merges both by row number.
    """

    __tablename__ = "import_issue"

    import_id: Mapped[str] = mapped_column(
        ForeignKey("enrollment_import.id", ondelete="CASCADE"), primary_key=True
    )
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))  # invalid | duplicate | would_create
    status: Mapped[str | None] = mapped_column(String(16))  # would_create: eligible | ineligible
    # For duplicates: the enrollment (or earlier row) it duplicates and the key that matched.
    duplicate_of: Mapped[str | None] = mapped_column(String(32))
    duplicate_key: Mapped[str | None] = mapped_column(String(16))
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)


import_issue_table: Table = ImportIssue.__table__  # type: ignore[assignment]
import_chunk_table: Table = ImportChunk.__table__  # type: ignore[assignment]


class ImportKey(Base):
    """During a dry run: the duplicate-detection keys of rows it would have created, so later
    batches of the same file still find them (nothing else is written). Deleted at the end."""

    __tablename__ = "import_key"

    import_id: Mapped[str] = mapped_column(
        ForeignKey("enrollment_import.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    row: Mapped[int] = mapped_column(Integer)


import_key_table: Table = ImportKey.__table__  # type: ignore[assignment]

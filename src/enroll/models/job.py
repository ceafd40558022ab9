from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, TimestampMixin


class Job(IdMixin, TimestampMixin, Base):
    """The work queue. Enqueued in the transaction of the change that needs it."""

    __tablename__ = "job"
    __table_args__ = (
        Index(None, "status", "run_at"),
        Index(None, "workspace_id", "status", "id"),
    )

    workspace_id: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))  # queued | running | succeeded | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    run_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]


# The table itself, for plain Core inserts (no ORM bookkeeping per row).
job_table: Table = Job.__table__  # type: ignore[assignment]

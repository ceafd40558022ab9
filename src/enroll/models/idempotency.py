from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, utcnow


class IdempotencyRecord(IdMixin, Base):
    """A claimed Idempotency-Key and, once the request succeeded, its stored response."""

    __tablename__ = "idempotency_record"
    __table_args__ = (Index(None, "scope", "key", unique=True), Index(None, "expires_at"))

    scope: Mapped[str] = mapped_column(String(40))  # workspace id, or "platform"
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # in_progress | completed
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_headers: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

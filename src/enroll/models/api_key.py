from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, utcnow


class ApiKey(IdMixin, Base):
    """A bearer key. Only the SHA-256 of the secret is stored; the prefix stays visible."""

    __tablename__ = "api_key"
    __table_args__ = (Index(None, "workspace_id", "id"),)

    # NULL for platform keys, which manage the Program catalog and belong to no workspace.
    workspace_id: Mapped[str | None] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(24))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, Json, utcnow


class CriteriaVersion(IdMixin, Base):
    """An instance's effective criteria as they were from ``created_at`` on; never changed."""

    __tablename__ = "criteria_version"
    __table_args__ = (Index(None, "program_instance_id", "version", unique=True),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    program_instance_id: Mapped[str] = mapped_column(
        ForeignKey("program_instance.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    requirements: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

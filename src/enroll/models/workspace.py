from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, utcnow


class Workspace(IdMixin, Base):
    __tablename__ = "workspace"

    name: Mapped[str] = mapped_column(String(200))
    # Signs the platform's outbound calls that are not webhooks (asynchronous eligibility
    # checks), Standard Webhooks style; generated on first use.
    signing_secret: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

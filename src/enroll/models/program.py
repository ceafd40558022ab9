from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, Json, TimestampMixin, VersionedMixin


class Program(IdMixin, TimestampMixin, VersionedMixin, Base):
    """A platform catalog entry; readable by every workspace, written with platform keys."""

    __tablename__ = "program"

    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(100))
    states: Mapped[list[str]]
    manufacturer_slugs: Mapped[list[str]]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    year: Mapped[int | None] = mapped_column(Integer)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    # JsonLogic criteria every instance of the program checks (see eligibility/criteria.py).
    eligibility_criteria: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)

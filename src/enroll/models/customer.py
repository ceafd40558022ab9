from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Table, false
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, TimestampMixin, VersionedMixin


class Customer(IdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "customer"
    __table_args__ = (
        Index(None, "workspace_id", "email", unique=True),
        Index(None, "workspace_id", "id"),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))  # stored lower-cased
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[dict[str, Any] | None]
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    # Set by the customer (PATCH /v1/customers/{id}): no notification is sent to them.
    notifications_opt_out: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class Lead(IdMixin, TimestampMixin, VersionedMixin, Base):
    """A person known only by an email so far; becomes a Customer on enrollment."""

    __tablename__ = "lead"
    __table_args__ = (Index(None, "workspace_id", "id"),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), index=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[dict[str, Any] | None]
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    converted_at: Mapped[datetime | None]


customer_table: Table = Customer.__table__  # type: ignore[assignment]

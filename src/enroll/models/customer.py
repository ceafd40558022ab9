from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Numeric, String, Table, false
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
    # The applicant's data programs such as seed 004's need (docs/requirements.md). The tax
    # id is sealed (vault/keyring.py, aad b"customer.tax_id"); only its last 4 are shown.
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    tax_id_sealed: Mapped[str | None] = mapped_column(String(200))
    tax_id_last4: Mapped[str | None] = mapped_column(String(4))
    marital_status: Mapped[str | None] = mapped_column(String(32))
    student_status: Mapped[str | None] = mapped_column(String(32))
    employment_status: Mapped[str | None] = mapped_column(String(32))
    agi: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    has_taxable_income: Mapped[bool | None] = mapped_column(Boolean)
    income_decreased: Mapped[bool | None] = mapped_column(Boolean)
    irs_authorized_at: Mapped[datetime | None]
    # {"sameAsServiceAddress": bool, "address": {...}, "confirmedAt": iso}: confirmed by the
    # applicant (seed 003's blocking component).
    billing_address: Mapped[dict[str, Any] | None]


class HouseholdMember(IdMixin, TimestampMixin, VersionedMixin, Base):
    """A member of a customer's household: a spouse whose income counts, a dependent."""

    __tablename__ = "household_member"
    __table_args__ = (Index(None, "customer_id", "created_at"),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    tax_id_sealed: Mapped[str | None] = mapped_column(String(200))  # aad b"household_member.tax_id"
    tax_id_last4: Mapped[str | None] = mapped_column(String(4))
    has_taxable_income: Mapped[bool | None] = mapped_column(Boolean)
    agi: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    has_federal_loans: Mapped[bool | None] = mapped_column(Boolean)


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

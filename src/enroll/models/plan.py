"""Plans a program instance offers (retail electricity plans, repayment plans, DR tiers), the
codes that name them, and a workspace's delivery (TDU) charges by utility over time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from enroll.models.base import Base, IdMixin, TimestampMixin, VersionedMixin


class DecimalText(TypeDecorator[Decimal]):
    """An exact decimal kept as its text: SQLite has no decimal type (its NUMERIC is a float),
    and money must never pass through a float."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else format(value, "f")

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


# A JSON column that may hold any JSON value, null included (a JsonLogic rule may be `true`).
AnyJson = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class Plan(IdMixin, TimestampMixin, VersionedMixin, Base):
    """One offer of a program instance. Prices are decimal strings inside ``pricing`` (never
    floats); ``plan_code`` holds the code and every alias, unique within the instance."""

    __tablename__ = "plan"
    __table_args__ = (
        Index(None, "workspace_id", "id"),
        Index(None, "program_instance_id", "id"),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    program_instance_id: Mapped[str] = mapped_column(
        ForeignKey("program_instance.id", ondelete="CASCADE")
    )
    code: Mapped[str] = mapped_column(String(100))
    aliases: Mapped[list[str]]
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # workflows/plan.py: PlanStatus
    # A JsonLogic rule over {location, applicant}; null: available everywhere.
    availability: Mapped[Any] = mapped_column(AnyJson, nullable=True)
    unavailable_reason: Mapped[str | None] = mapped_column(String(500))
    earliest_days: Mapped[int] = mapped_column(Integer)
    latest_days: Mapped[int] = mapped_column(Integer)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(AnyJson)
    pricing: Mapped[dict[str, Any] | None] = mapped_column(AnyJson, nullable=True)


class PlanCode(Base):
    """A code naming a plan in its instance: the plan's own (``canonical``) or an alias. The
    primary key makes every code, alias or not, name one plan of the instance."""

    __tablename__ = "plan_code"
    __table_args__ = (Index(None, "plan_id"),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    program_instance_id: Mapped[str] = mapped_column(
        ForeignKey("program_instance.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    canonical: Mapped[bool] = mapped_column(Boolean)


class DeliveryCharge(IdMixin, TimestampMixin, VersionedMixin, Base):
    """A utility's delivery (TDU) charges from ``effective_from`` on, until a later row of the
    same utility takes over."""

    __tablename__ = "delivery_charge"
    __table_args__ = (
        Index(None, "workspace_id", "utility_code", "effective_from", unique=True),
        Index(None, "workspace_id", "id"),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    utility_code: Mapped[str] = mapped_column(String(100))
    effective_from: Mapped[date] = mapped_column(Date)
    monthly_dollars: Mapped[Decimal] = mapped_column(DecimalText)
    cents_per_kwh: Mapped[Decimal] = mapped_column(DecimalText)

"""What a completed enrollment sets up (seed 002): the program subscription linking customer
and program, the device location, and the controllable devices there."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, TimestampMixin, VersionedMixin


class ProgramSubscription(IdMixin, TimestampMixin, VersionedMixin, Base):
    """inactive (set up) → active (enrollment completed) → inactive (unenrolled, with end)."""

    __tablename__ = "program_subscription"
    __table_args__ = (Index(None, "workspace_id", "id"),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    # One subscription per enrollment: a second setup of the same enrollment finds this one.
    enrollment_id: Mapped[str] = mapped_column(ForeignKey("enrollment.id"), unique=True)
    program_instance_id: Mapped[str] = mapped_column(
        ForeignKey("program_instance.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    device_location_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]


class DeviceLocation(IdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "device_location"
    __table_args__ = (Index(None, "workspace_id", "id"),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    # The task that made it: a re-run of that task's setup finds it instead of making another.
    task_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # active | inactive
    address: Mapped[dict[str, Any] | None]
    premise_id: Mapped[str | None] = mapped_column(String(100))
    service_point_id: Mapped[str | None] = mapped_column(String(100))
    division: Mapped[str | None] = mapped_column(String(100))


class Device(IdMixin, TimestampMixin, VersionedMixin, Base):
    """A controllable device: the utility's inventory (in_stock → reserved → installed) or the
    customer's own (installed); active while enrolled, deactivated after."""

    __tablename__ = "device"
    __table_args__ = (
        Index(None, "workspace_id", "status", "id"),
        Index(None, "device_location_id"),
        Index(
            None,
            "workspace_id",
            "manufacturer",
            "serial_number",
            unique=True,
            postgresql_where=text("serial_number IS NOT NULL"),
            sqlite_where=text("serial_number IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    manufacturer: Mapped[str] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))
    serial_number: Mapped[str | None] = mapped_column(String(200))
    ownership: Mapped[str] = mapped_column(String(16))  # customer | utility
    status: Mapped[str] = mapped_column(String(16))
    device_location_id: Mapped[str | None] = mapped_column(String(32))
    subscription_id: Mapped[str | None] = mapped_column(String(32))
    # The task holding a utility device for its customer (validation reserves it).
    reserved_by_task_id: Mapped[str | None] = mapped_column(String(32))
    # The task that created a customer's device, so a re-run finds it.
    task_id: Mapped[str | None] = mapped_column(String(32))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")

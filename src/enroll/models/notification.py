"""Notification templates (per program instance, or the workspace's default) and the log of
every message sent, stored or suppressed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, TimestampMixin, VersionedMixin


class NotificationTemplate(IdMixin, TimestampMixin, VersionedMixin, Base):
    """Jinja2 (sandboxed) subject and body for one audience and one trigger. No instance: the
    workspace's default for that audience and trigger."""

    __tablename__ = "notification_template"
    __table_args__ = (
        Index(
            "ix_notification_template_lookup",
            "workspace_id",
            "program_instance_id",
            "audience",
            "trigger",
        ),
        Index(None, "workspace_id", "id"),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    program_instance_id: Mapped[str | None] = mapped_column(
        ForeignKey("program_instance.id", ondelete="CASCADE")
    )
    audience: Mapped[str] = mapped_column(String(20))  # customer | administrator
    trigger: Mapped[str] = mapped_column(String(40))  # eligible, submitted, approved, ...
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # Administrators' addresses (the administrator audience); customers are the enrollment's.
    recipients: Mapped[list[str]]
    enabled: Mapped[bool] = mapped_column(Boolean)


class Notification(IdMixin, TimestampMixin, Base):
    """One message: queued, then sent, stored (no SMTP configured), suppressed (opted out) or
    failed after its retries."""

    __tablename__ = "notification"
    __table_args__ = (
        Index(None, "workspace_id", "created_at", "id"),
        Index(None, "workspace_id", "enrollment_id"),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    enrollment_id: Mapped[str | None] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(32))
    program_instance_id: Mapped[str | None] = mapped_column(String(32))
    template_id: Mapped[str | None] = mapped_column(String(32))
    audience: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))  # email
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # queued|sent|stored|suppressed|failed
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(1000))
    sent_at: Mapped[datetime | None]

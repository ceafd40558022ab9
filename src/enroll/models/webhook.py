"""Webhook endpoints, and the deliveries of events to them with every attempt (saleor's shape:
endpoint, delivery, attempt)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, TimestampMixin, VersionedMixin


class WebhookEndpoint(IdMixin, TimestampMixin, VersionedMixin, Base):
    """Where a workspace's events go. ``cursor_*`` is how far into the event feed the endpoint's
    deliveries have been written; ``locked_*`` is the lease of the worker delivering to it (one
    at a time, so each endpoint receives its events in order)."""

    __tablename__ = "webhook_endpoint"
    __table_args__ = (Index(None, "workspace_id", "id"), Index(None, "enabled", "locked_until"))

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]]  # empty: every type
    enabled: Mapped[bool] = mapped_column(Boolean)
    secret: Mapped[str] = mapped_column(String(100))
    # After a rotation the old secret signs too, until this time.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    # The first failed attempt since the last success: five days of failure disable it.
    failing_since: Mapped[datetime | None]
    cursor_txid: Mapped[int] = mapped_column(BigInteger)
    cursor_seq: Mapped[int] = mapped_column(BigInteger)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None]


class WebhookDelivery(IdMixin, Base):
    """One event for one endpoint, delivered in ``(created_at, event_txid, event_seq)`` order."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index(
            "ix_webhook_delivery_queue",
            "endpoint_id",
            "status",
            "created_at",
            "event_txid",
            "event_seq",
        ),
        Index(None, "workspace_id", "id"),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(80))
    event_txid: Mapped[int] = mapped_column(BigInteger)
    event_seq: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))  # pending | succeeded | failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookAttempt(IdMixin, Base):
    __tablename__ = "webhook_attempt"
    __table_args__ = (Index(None, "delivery_id", "attempted_at"),)

    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_delivery.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(String(32))
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(1000))
    error: Mapped[str | None] = mapped_column(String(500))


webhook_delivery_table: Table = WebhookDelivery.__table__  # type: ignore[assignment]
webhook_attempt_table: Table = WebhookAttempt.__table__  # type: ignore[assignment]

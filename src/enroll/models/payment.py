"""Payment methods (seed 003, docs/payments.md): the provider customer made once per customer
and provider (``payment_profile``), the setups started for an enrollment (``payment_setup``,
what a provider's ``setup_intent.succeeded`` event is traced back through), and the methods
stored: provider ids, brand, last 4 digits and expiry only, never a card number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, TimestampMixin, VersionedMixin, utcnow


class PaymentProfile(IdMixin, Base):
    """A customer as a payment provider knows them: made once, on the first payment session."""

    __tablename__ = "payment_profile"
    __table_args__ = (Index(None, "customer_id", "provider", unique=True),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    provider_customer_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentSetup(IdMixin, Base):
    """A setup started for an enrollment (Stripe: a SetupIntent); the provider's id is unique."""

    __tablename__ = "payment_setup"
    __table_args__ = (
        Index(None, "provider", "setup_intent_id", unique=True),
        Index(None, "enrollment_id", "created_at"),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    enrollment_id: Mapped[str] = mapped_column(ForeignKey("enrollment.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    setup_intent_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentMethod(IdMixin, TimestampMixin, VersionedMixin, Base):
    """A method the provider verified for an enrollment; one row per enrollment and method."""

    __tablename__ = "payment_method"
    __table_args__ = (
        Index(None, "enrollment_id", "provider", "provider_method_id", unique=True),
        Index(None, "provider", "provider_method_id"),
        Index(None, "workspace_id", "id"),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    enrollment_id: Mapped[str] = mapped_column(ForeignKey("enrollment.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    provider_method_id: Mapped[str] = mapped_column(String(255))
    brand: Mapped[str] = mapped_column(String(32))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # workflows/payment.py: PaymentMethodStatus
    detached_at: Mapped[datetime | None]

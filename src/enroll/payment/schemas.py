"""The wire shapes of payment methods (docs/payments.md)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from pydantic import Field

from enroll.gateway import ProviderName
from enroll.kit.schemas import ApiModel, OutModel
from enroll.models import PaymentMethod
from enroll.workflows.payment import PaymentMethodStatus

PROVIDER_ID = r"^[A-Za-z0-9_]+$"
Provider = ProviderName


class PaymentMethodAdd(ApiModel):
    payment_method_id: str = Field(
        min_length=1,
        max_length=255,
        pattern=PROVIDER_ID,
        description="The provider's id of the method, as its browser component returned it "
        "(Stripe: `setupIntent.payment_method` after `confirmSetup`). The sandbox takes "
        "Stripe's test ids: `pm_card_visa`, `pm_card_chargeDeclined`… (docs/payments.md).",
    )


class PaymentSessionOut(OutModel):
    provider: Provider = Field(description="ENROLL_PAYMENT_PROVIDER: the browser component to use.")
    client_secret: str = Field(
        description="For the provider's browser component (Stripe Elements: `clientSecret` of "
        "`stripe.confirmSetup`): a setup for off-session use on the customer."
    )
    publishable_key: str = Field(description="The provider's publishable key (Stripe.js).")


class PaymentMethodOut(OutModel):
    """A method the provider verified: its ids, brand, last 4 digits and expiry only."""

    id: str
    enrollment_id: str
    customer_id: str
    provider: Provider
    provider_method_id: str
    brand: str = Field(description="As the provider names it: `visa`, `mastercard`, `amex`…")
    last4: str
    exp_month: int
    exp_year: int
    status: PaymentMethodStatus = Field(
        description="`detached` once the provider says the method was removed."
    )
    created_at: datetime
    updated_at: datetime
    detached_at: datetime | None

    @classmethod
    def of(cls, m: PaymentMethod) -> PaymentMethodOut:
        return cls(
            id=m.id,
            enrollment_id=m.enrollment_id,
            customer_id=m.customer_id,
            provider=cast(Provider, m.provider),
            provider_method_id=m.provider_method_id,
            brand=m.brand,
            last4=m.last4,
            exp_month=m.exp_month,
            exp_year=m.exp_year,
            status=PaymentMethodStatus(m.status),
            created_at=m.created_at,
            updated_at=m.updated_at,
            detached_at=m.detached_at,
        )


class PaymentMethodList(OutModel):
    data: list[PaymentMethodOut]


class ProviderEventReceipt(OutModel):
    received: bool = True
    applied: bool = Field(
        description="Whether the event changed something here; events for customers, setups "
        "or methods this service does not know are acknowledged and ignored."
    )

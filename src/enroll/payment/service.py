"""Payment methods: a provider customer made once per customer, setups for the provider's
browser component, and methods stored once the provider vouches for them (docs/payments.md).

The provider is asked inside the request's transaction (its answer decides what is written),
each call bounded by ``ENROLL_STRIPE_TIMEOUT_SECONDS``. Its refusals become 422
``payment_method_unverified`` with its reason; its failures 503 ``payment_provider_unavailable``.
Nothing here charges. What an enrollment may do (its status, the requirement it meets) is the
enrollment domain's: ``enrollment/payments.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.gateway import GatewayEvent, PaymentGateway, VerifiedMethod
from enroll.gateway.errors import BadSignature, ProviderUnavailable, Unverified
from enroll.ids import new_id
from enroll.models import PaymentMethod, PaymentProfile, PaymentSetup
from enroll.payment import repository
from enroll.payment.errors import (
    InvalidProviderSignature,
    PaymentMethodUnverified,
    PaymentProviderUnavailable,
)
from enroll.payment.schemas import PaymentSessionOut
from enroll.workflows.payment import PaymentMethodStatus

T = TypeVar("T")
SETUPS_SEARCHED = 5  # the newest setups of an enrollment a method's setup is looked for in


@dataclass(frozen=True, slots=True)
class Payer:
    """Whose method it is: the enrollment and its customer, as the provider is told them."""

    workspace_id: str
    customer_id: str
    enrollment_id: str
    email: str
    name: str


async def _ask(call: Awaitable[T]) -> T:
    """A provider call; its failure becomes 503 ``payment_provider_unavailable``."""
    try:
        return await call
    except ProviderUnavailable as exc:
        raise PaymentProviderUnavailable(f"The payment provider failed: {exc.reason}") from None


async def start_session(
    session: AsyncSession, *, payer: Payer, gateway: PaymentGateway, now: datetime
) -> PaymentSessionOut:
    """A setup for the provider's browser component, on the customer's provider customer (made
    on their first session, once per customer and provider)."""
    profile = await repository.profile_of(
        session,
        workspace_id=payer.workspace_id,
        customer_id=payer.customer_id,
        provider=gateway.name,
    )
    if profile is None:
        provider_customer_id = await _ask(
            gateway.ensure_customer(reference=payer.customer_id, email=payer.email, name=payer.name)
        )
        profile = PaymentProfile(
            id=new_id(),
            workspace_id=payer.workspace_id,
            customer_id=payer.customer_id,
            provider=gateway.name,
            provider_customer_id=provider_customer_id,
            created_at=now,
        )
        await repository.add(session, profile)
    setup_id = new_id()
    setup = await _ask(
        gateway.create_setup(provider_customer_id=profile.provider_customer_id, reference=setup_id)
    )
    await repository.add(
        session,
        PaymentSetup(
            id=setup_id,
            workspace_id=payer.workspace_id,
            enrollment_id=payer.enrollment_id,
            customer_id=payer.customer_id,
            provider=gateway.name,
            setup_intent_id=setup.setup_intent_id,
            created_at=now,
        ),
    )
    return PaymentSessionOut(
        provider=gateway.name,
        client_secret=setup.client_secret,
        publishable_key=gateway.publishable_key,
    )


async def add_method(
    session: AsyncSession,
    *,
    payer: Payer,
    payment_method_id: str,
    gateway: PaymentGateway,
    now: datetime,
) -> PaymentMethod:
    """Store the method once the provider vouches for it (exists, attached to the customer,
    a setup of the enrollment succeeded with it); 422 with the provider's reason otherwise.
    The same method again answers the stored row (active again if it was detached)."""
    profile = await repository.profile_of(
        session,
        workspace_id=payer.workspace_id,
        customer_id=payer.customer_id,
        provider=gateway.name,
    )
    if profile is None:
        raise PaymentMethodUnverified(
            "No payment session was started for this customer: start one (paymentSession) and "
            "confirm its setup with the payment method first.",
            providerCode="setup_missing",
        )
    setup_ids = await repository.setup_ids(
        session,
        workspace_id=payer.workspace_id,
        enrollment_id=payer.enrollment_id,
        provider=gateway.name,
        limit=SETUPS_SEARCHED,
    )
    try:
        verified = await _ask(
            gateway.verify(
                payment_method_id=payment_method_id,
                provider_customer_id=profile.provider_customer_id,
                setup_intent_ids=setup_ids,
            )
        )
    except Unverified as exc:
        raise PaymentMethodUnverified(exc.reason, providerCode=exc.code) from None
    return await _store(session, payer=payer, provider=gateway.name, verified=verified, now=now)


async def _store(
    session: AsyncSession, *, payer: Payer, provider: str, verified: VerifiedMethod, now: datetime
) -> PaymentMethod:
    row = await repository.method_of(
        session,
        workspace_id=payer.workspace_id,
        enrollment_id=payer.enrollment_id,
        provider=provider,
        provider_method_id=verified.provider_method_id,
    )
    card = {
        "brand": verified.brand,
        "last4": verified.last4,
        "exp_month": verified.exp_month,
        "exp_year": verified.exp_year,
        "status": PaymentMethodStatus.ACTIVE.value,
        "detached_at": None,
    }
    if row is None:
        row = PaymentMethod(
            id=new_id(),
            workspace_id=payer.workspace_id,
            customer_id=payer.customer_id,
            enrollment_id=payer.enrollment_id,
            provider=provider,
            provider_method_id=verified.provider_method_id,
            created_at=now,
            updated_at=now,
            **card,
        )
        await repository.add(session, row)
    elif any(getattr(row, k) != v for k, v in card.items()):
        for key, value in card.items():
            setattr(row, key, value)
        row.updated_at = now
        await session.flush()
    return row


async def detach(
    session: AsyncSession, *, provider: str, provider_method_id: str, now: datetime
) -> list[PaymentMethod]:
    """The provider removed the method: every active row of it is detached (the rows changed)."""
    rows = await repository.methods_by_provider_id(
        session, provider=provider, provider_method_id=provider_method_id
    )
    for row in rows:
        row.status = PaymentMethodStatus.DETACHED.value
        row.detached_at = now
        row.updated_at = now
    await session.flush()
    return rows


def parse_event(
    gateway: PaymentGateway, payload: bytes, headers: Mapping[str, str]
) -> GatewayEvent:
    """The provider's event, its signature verified; 400 ``invalid_provider_signature``."""
    try:
        return gateway.parse_event(payload, headers)
    except BadSignature as exc:
        raise InvalidProviderSignature(exc.reason) from None


async def setup_by_provider_id(
    session: AsyncSession, *, provider: str, setup_intent_id: str
) -> PaymentSetup | None:
    return await repository.setup_by_provider_id(
        session, provider=provider, setup_intent_id=setup_intent_id
    )


async def methods(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str
) -> list[PaymentMethod]:
    return await repository.methods_of(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id
    )


async def has_active_method(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str
) -> bool:
    """Whether the enrollment holds an active method (the ``paymentMethod`` requirement)."""
    return await repository.has_active(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id
    )

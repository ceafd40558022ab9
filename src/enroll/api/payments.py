"""An enrollment's payment method (seed 003, docs/payments.md), and the provider's events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.enrollment import payments
from enroll.errors import InvalidTransition, raises
from enroll.gateway.events import SIGNATURE_HEADER
from enroll.payment.errors import (
    InvalidProviderSignature,
    PaymentCustomerMissing,
    PaymentMethodUnverified,
    PaymentProviderUnavailable,
)
from enroll.payment.schemas import (
    PaymentMethodAdd,
    PaymentMethodList,
    PaymentMethodOut,
    PaymentSessionOut,
    ProviderEventReceipt,
)

router = APIRouter(prefix="/v1", tags=["payments"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Ctx = Annotated[AppContext, Depends(get_ctx)]
Reader = Annotated[Principal, require(Scope.ENROLLMENTS_READ)]
Writer = Annotated[Principal, require(Scope.ENROLLMENTS_WRITE)]

_EVENT_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object"}}},
    "description": "A Stripe event, exactly as Stripe sent it (the signature covers its bytes).",
}


@router.post("/enrollments/{enrollment_id}/paymentSession")
@raises(InvalidTransition, PaymentCustomerMissing, PaymentProviderUnavailable)
async def start_payment_session(
    enrollment_id: str, session: Session, principal: Writer, ctx: Ctx
) -> PaymentSessionOut:
    """A setup for the provider's browser component (Stripe Elements: pass `clientSecret` to
    `stripe.confirmSetup` with `publishableKey`), for off-session use on the customer's
    provider customer, made on their first session. Nothing is charged."""
    return await payments.start_payment_session(
        session,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        gateway=ctx.gateway,
        now=ctx.clock.now(),
    )


@router.post("/enrollments/{enrollment_id}/paymentMethod")
@raises(
    PaymentMethodUnverified, InvalidTransition, PaymentCustomerMissing, PaymentProviderUnavailable
)
async def add_payment_method(
    enrollment_id: str, body: PaymentMethodAdd, session: Session, principal: Writer, ctx: Ctx
) -> PaymentMethodOut:
    """Confirm the method the browser component added: the provider is asked that it exists,
    is attached to the customer and a setup of this enrollment succeeded with it; then its
    ids, brand, last 4 digits and expiry are stored. A declined or unverified method answers
    422 `payment_method_unverified` with the provider's reason and stores nothing. The same
    method again answers the stored one. Nothing is charged."""
    method = await payments.add_payment_method(
        session,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        payment_method_id=body.payment_method_id,
        gateway=ctx.gateway,
        now=ctx.clock.now(),
    )
    return PaymentMethodOut.of(method)


@router.get("/enrollments/{enrollment_id}/paymentMethods")
async def list_payment_methods(
    enrollment_id: str, session: Session, principal: Reader
) -> PaymentMethodList:
    """The enrollment's payment methods, oldest first, detached ones included."""
    rows = await payments.payment_methods(
        session, workspace_id=workspace_id_of(principal), enrollment_id=enrollment_id
    )
    return PaymentMethodList(data=[PaymentMethodOut.of(m) for m in rows])


@router.post("/providers/stripe/events", openapi_extra={"requestBody": _EVENT_BODY})
@raises(InvalidProviderSignature, PaymentProviderUnavailable)
async def receive_stripe_event(
    request: Request,
    session: Session,
    ctx: Ctx,
    signature: Annotated[
        str,
        Header(
            alias=SIGNATURE_HEADER,
            max_length=4096,
            description='`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the '
            "endpoint's signing secret (ENROLL_STRIPE_WEBHOOK_SECRET).",
        ),
    ],
) -> ProviderEventReceipt:
    """Stripe's webhook (no API key: Stripe's signature authenticates it; 400
    `invalid_provider_signature` otherwise). `setup_intent.succeeded` stores the method for
    the enrollment of that setup, `payment_method.detached` detaches the stored method; other
    events, and those naming customers or methods this service does not hold, are
    acknowledged and ignored."""
    applied = await payments.receive_gateway_event(
        session,
        payload=await request.body(),
        headers={SIGNATURE_HEADER: signature},
        gateway=ctx.gateway,
        now=ctx.clock.now(),
    )
    return ProviderEventReceipt(applied=applied)

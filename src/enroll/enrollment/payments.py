"""An enrollment's payment method (seed 003's blocking component, docs/payments.md): the
payment session for the provider's browser component, the method the provider vouches for,
and the provider's events (``POST /v1/providers/stripe/events``). The payment domain does the
provider's part (``payment/service.py``); this module decides what an enrollment allows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.enrollment import repository, requirement_actions
from enroll.errors import InvalidTransition, NotFound
from enroll.gateway import GatewayEvent, PaymentGateway
from enroll.gateway.base import METHOD_DETACHED, SETUP_SUCCEEDED
from enroll.models import Enrollment, PaymentMethod
from enroll.payment import service as payments
from enroll.payment.errors import PaymentCustomerMissing, PaymentMethodUnverified
from enroll.payment.schemas import PaymentSessionOut
from enroll.workflows.enrollment import CLOSED_STATUSES, INTERNAL_ACTIONS, Status, allowed_actions


async def _payer(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str, doing: str
) -> tuple[Enrollment, payments.Payer]:
    """The enrollment, and its customer as the provider is told them; 404 for an unknown
    enrollment, 409 for one that has ended (rejected, cancelled, unenrolled, unprocessable)."""
    enrollment = await repository.enrollments.require(
        session, workspace_id=workspace_id, id=enrollment_id
    )
    _check_open(enrollment, doing)
    if enrollment.customer_id is None:
        raise PaymentCustomerMissing(f"Enrollment {enrollment.id!r} has no customer.")
    name = " ".join(n for n in (enrollment.first_name, enrollment.last_name) if n)
    return enrollment, payments.Payer(
        workspace_id=workspace_id,
        customer_id=enrollment.customer_id,
        enrollment_id=enrollment.id,
        email=enrollment.email or "",
        name=name,
    )


def _check_open(enrollment: Enrollment, doing: str) -> None:
    current = Status(enrollment.status)
    if current in CLOSED_STATUSES:
        raise InvalidTransition(
            f"Cannot {doing} an enrollment that is {current.value}.",
            currentStatus=current.value,
            allowedActions=[a.value for a in allowed_actions(current) if a not in INTERNAL_ACTIONS],
        )


async def start_payment_session(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    gateway: PaymentGateway,
    now: datetime,
) -> PaymentSessionOut:
    """``{provider, clientSecret, publishableKey}`` for the provider's browser component (a
    SetupIntent for off-session use, on a provider customer made once per customer)."""
    enrollment, payer = await _payer(
        session,
        workspace_id=workspace_id,
        enrollment_id=enrollment_id,
        doing="start a payment session for",
    )
    started = await payments.start_session(session, payer=payer, gateway=gateway, now=now)
    await requirement_actions.refresh(session, enrollment, now=now)  # a method is on its way
    return started


async def add_payment_method(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    payment_method_id: str,
    gateway: PaymentGateway,
    now: datetime,
) -> PaymentMethod:
    """The seed's ensure-payment-method-added: the method stored once the provider vouches for
    it (422 ``payment_method_unverified`` with its reason otherwise); the same method again
    answers the stored one."""
    enrollment, payer = await _payer(
        session,
        workspace_id=workspace_id,
        enrollment_id=enrollment_id,
        doing="add a payment method to",
    )
    method = await payments.add_method(
        session, payer=payer, payment_method_id=payment_method_id, gateway=gateway, now=now
    )
    await requirement_actions.refresh(session, enrollment, now=now)
    return method


async def payment_methods(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str
) -> list[PaymentMethod]:
    """The enrollment's methods, oldest first (404 for an unknown enrollment)."""
    enrollment = await repository.enrollments.require(
        session, workspace_id=workspace_id, id=enrollment_id
    )
    return await payments.methods(session, workspace_id=workspace_id, enrollment_id=enrollment.id)


async def receive_gateway_event(
    session: AsyncSession,
    *,
    payload: bytes,
    headers: Mapping[str, str],
    gateway: PaymentGateway,
    now: datetime,
) -> bool:
    """A provider's webhook: its signature verified (400 ``invalid_provider_signature``), then
    applied (``apply_gateway_event``)."""
    event = payments.parse_event(gateway, payload, headers)
    return await apply_gateway_event(session, event=event, gateway=gateway, now=now)


async def apply_gateway_event(
    session: AsyncSession, *, event: GatewayEvent, gateway: PaymentGateway, now: datetime
) -> bool:
    """A provider's event, its signature verified: ``setup_intent.succeeded`` stores the method
    for the enrollment of that setup (as ``add_payment_method`` does; again: no change),
    ``payment_method.detached`` detaches the stored method. Whether anything changed: events
    for setups, methods or enrollments this service does not hold (or no longer accepts) are
    ignored, so the provider stops sending them. A provider failure while verifying raises
    (503), so the provider sends the event again."""
    if event.type == SETUP_SUCCEEDED and event.setup_intent_id and event.payment_method_id:
        setup = await payments.setup_by_provider_id(
            session, provider=gateway.name, setup_intent_id=event.setup_intent_id
        )
        if setup is None:
            return False
        try:
            await add_payment_method(
                session,
                workspace_id=setup.workspace_id,
                enrollment_id=setup.enrollment_id,
                payment_method_id=event.payment_method_id,
                gateway=gateway,
                now=now,
            )
        except (NotFound, InvalidTransition, PaymentCustomerMissing, PaymentMethodUnverified):
            return False
        return True
    if event.type == METHOD_DETACHED and event.payment_method_id:
        detached = await payments.detach(
            session, provider=gateway.name, provider_method_id=event.payment_method_id, now=now
        )
        for row in detached:
            found = await repository.get(
                session, workspace_id=row.workspace_id, enrollment_id=row.enrollment_id
            )
            if found is not None:
                await requirement_actions.refresh(session, found, now=now)
        return bool(detached)
    return False

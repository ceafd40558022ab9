"""What follows a change that may meet or unmeet an enrollment's requirements: the states
recomputed, ``enrollment.requirement_met`` / ``enrollment.requirements_completed``, and, on an
instance with ``submitWhenComplete``, the submission the last one met makes (seed 003: "after
… accepted a plan, confirmed their billing address, and added a payment method, the
enrollment … will be processed"). All in the caller's transaction.

Every door changes these things through the functions here (an enrollment's update, its
billing address, its customer and household; documents and payment methods call ``refresh``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.customer import household
from enroll.customer import service as customers
from enroll.customer.schemas import (
    BillingAddressIn,
    CustomerUpdate,
    HouseholdMemberCreate,
    HouseholdMemberUpdate,
)
from enroll.enrollment import acceptance, changes, repository, requirement_check, service
from enroll.enrollment.schemas import EnrollmentUpdate
from enroll.errors import Unprocessable
from enroll.models import Customer, Enrollment, HouseholdMember
from enroll.program_instance import service as instances
from enroll.vault.keyring import KeyRing
from enroll.workflows.enrollment import OPEN_STATUSES, Action, Status

REQUIREMENT_MET = "enrollment.requirement_met"
REQUIREMENTS_COMPLETED = "enrollment.requirements_completed"


async def refresh(session: AsyncSession, enrollment: Enrollment, *, now: datetime) -> Enrollment:
    """Recompute the enrollment's requirement states; their events; and the platform's
    submission where the last one was just met."""
    instance = await instances.get(
        session, workspace_id=enrollment.workspace_id, ref=enrollment.program_instance_id
    )
    if not instance.requirements or Status(enrollment.status) not in OPEN_STATUSES:
        return enrollment
    facts = await requirement_check.gather(session, enrollment, now=now)
    outcome = requirement_check.evaluate(instance, enrollment, facts, now=now)
    if outcome.states != enrollment.requirements:
        enrollment.requirements = outcome.states
        enrollment.updated_at = now
        await session.flush()
        items: list[tuple[str, dict[str, Any]]] = [
            (REQUIREMENT_MET, {"requirement": state}) for state in outcome.newly_met
        ]
        if outcome.completed:
            items.append((REQUIREMENTS_COMPLETED, {}))
        await changes.emit(session, changes.Pending(enrollment, items), now)
    if requirement_check.submits(instance, enrollment, outcome) and not (
        await instances.refusal_reason(session, instance, today=now.date())
    ):  # an instance not accepting submissions leaves it eligible, complete, to submit later
        return await service.act(
            session,
            workspace_id=enrollment.workspace_id,
            enrollment_id=enrollment.id,
            action=Action.SUBMIT,
            reason=None,
            actor=service.PLATFORM,
            now=now,
        )
    return enrollment


async def refresh_customer(session: AsyncSession, *, customer_id: str, now: datetime) -> None:
    """A change of the customer (applicant data, household, billing address): each of their
    open enrollments' requirements."""
    for enrollment in await repository.open_of_customer(session, customer_id=customer_id):
        await refresh(session, enrollment, now=now)


async def update(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    body: EnrollmentUpdate,
    ring: KeyRing,
    now: datetime,
) -> Enrollment:
    """PATCH /v1/enrollments/{id}: its fields, the applicant's data (stored on its customer)
    and consents given now (kept as records); then its requirements, and its customer's other
    open enrollments'."""
    enrollment = await service.update(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id, body=body, now=now
    )
    if body.irs_authorized_at is not None:
        await requirement_check.check_irs_authorization(session, enrollment)
    customer = await requirement_check.customer_of(session, enrollment)
    changed = requirement_check.store_applicant(customer, body, ring=ring)
    for record in acceptance.consent_records(
        enrollment, acceptance.given(body), plan=None, documents=[], now=now
    ):
        await repository.insert_consent(session, record)
    if changed and enrollment.customer_id:
        await session.flush()
        await refresh_customer(session, customer_id=enrollment.customer_id, now=now)
        return enrollment
    return await refresh(session, enrollment, now=now)


async def set_billing_address(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    body: BillingAddressIn,
    now: datetime,
) -> Enrollment:
    """PUT /v1/enrollments/{id}/billingAddress (seed 003's ``PUT /account/billing/address``):
    the applicant confirms where bills go: the service address, or another one."""
    enrollment = await service.get(session, workspace_id=workspace_id, enrollment_id=enrollment_id)
    if enrollment.customer_id is None:
        raise Unprocessable("The billing address is the customer's; this enrollment has none.")
    service_address = enrollment.address
    await customers.confirm_billing_address(
        session,
        workspace_id=workspace_id,
        customer_id=enrollment.customer_id,
        body=body,
        service_address=service_address,
        now=now,
    )
    await refresh_customer(session, customer_id=enrollment.customer_id, now=now)
    return enrollment


# --- the customer's side: what every door calls to change a customer or their household ----


async def update_customer(
    session: AsyncSession,
    *,
    workspace_id: str,
    customer_id: str,
    body: CustomerUpdate,
    ring: KeyRing,
    now: datetime,
) -> Customer:
    customer = await customers.update(
        session, workspace_id=workspace_id, customer_id=customer_id, body=body, ring=ring
    )
    if body.irs_authorized_at is not None:
        for enrollment in await repository.open_of_customer(session, customer_id=customer.id):
            await requirement_check.check_irs_authorization(session, enrollment)
    await refresh_customer(session, customer_id=customer.id, now=now)
    return customer


async def add_member(
    session: AsyncSession,
    *,
    workspace_id: str,
    customer_id: str,
    body: HouseholdMemberCreate,
    ring: KeyRing,
    now: datetime,
) -> HouseholdMember:
    member = await household.add(
        session,
        workspace_id=workspace_id,
        customer_id=customer_id,
        body=body,
        ring=ring,
        now=now,
    )
    await refresh_customer(session, customer_id=customer_id, now=now)
    return member


async def update_member(
    session: AsyncSession,
    *,
    workspace_id: str,
    customer_id: str,
    member_id: str,
    body: HouseholdMemberUpdate,
    ring: KeyRing,
    now: datetime,
) -> HouseholdMember:
    member = await household.update(
        session,
        workspace_id=workspace_id,
        customer_id=customer_id,
        member_id=member_id,
        body=body,
        ring=ring,
        now=now,
    )
    await refresh_customer(session, customer_id=customer_id, now=now)
    return member


async def remove_member(
    session: AsyncSession, *, workspace_id: str, customer_id: str, member_id: str, now: datetime
) -> None:
    await household.remove(
        session, workspace_id=workspace_id, customer_id=customer_id, member_id=member_id
    )
    await refresh_customer(session, customer_id=customer_id, now=now)

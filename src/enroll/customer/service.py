from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.customer import applicant, repository
from enroll.customer.errors import CustomerExists
from enroll.customer.schemas import BillingAddressIn, CustomerCreate, CustomerUpdate, LeadCreate
from enroll.ids import new_id
from enroll.models import Customer, Lead
from enroll.vault.keyring import KeyRing


async def get(session: AsyncSession, *, workspace_id: str, customer_id: str) -> Customer:
    return await repository.customers.require(session, workspace_id=workspace_id, id=customer_id)


async def _ensure_email_free(session: AsyncSession, *, workspace_id: str, email: str) -> None:
    if await repository.get_by_email(session, workspace_id=workspace_id, email=email):
        raise CustomerExists(f"A customer with email {email} exists.")


def _new(
    *,
    workspace_id: str,
    first_name: str,
    last_name: str,
    email: str,
    phone: str | None,
    address: dict[str, Any] | None,
    metadata: dict[str, Any],
    now: datetime,
) -> Customer:
    """A complete new row (id, version, timestamps set), ready for any way of inserting it."""
    return Customer(
        id=new_id(),
        workspace_id=workspace_id,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        address=address,
        metadata_=metadata,
        version=1,
        created_at=now,
        updated_at=now,
    )


async def create(
    session: AsyncSession, *, workspace_id: str, body: CustomerCreate, ring: KeyRing, now: datetime
) -> Customer:
    await _ensure_email_free(session, workspace_id=workspace_id, email=body.email)
    customer = _new(
        workspace_id=workspace_id,
        first_name=body.first_name,
        last_name=body.last_name,
        email=body.email,
        phone=body.phone,
        address=body.address.model_dump(by_alias=True) if body.address else None,
        metadata=body.metadata,
        now=now,
    )
    for column, value in applicant.columns(body, ring=ring).items():
        setattr(customer, column, value)
    session.add(customer)
    await session.flush()
    return customer


async def find_or_create(
    session: AsyncSession,
    *,
    workspace_id: str,
    first_name: str,
    last_name: str,
    email: str,
    phone: str | None,
    address: dict[str, Any] | None,
    now: datetime,
) -> tuple[str, bool]:
    """The id of the workspace's customer with ``email``, created if there is none; and
    whether it was created. One statement for a new customer, two for a known one."""
    customer = _new(
        workspace_id=workspace_id,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        address=address,
        metadata={},
        now=now,
    )
    if await repository.insert_unless_known(session, customer):
        return customer.id, True
    existing = await repository.get_by_email(session, workspace_id=workspace_id, email=email)
    assert existing is not None  # the conflict was on this very row
    return existing.id, False


async def update(
    session: AsyncSession,
    *,
    workspace_id: str,
    customer_id: str,
    body: CustomerUpdate,
    ring: KeyRing,
) -> Customer:
    customer = await get(session, workspace_id=workspace_id, customer_id=customer_id)
    changes = body.changes()
    if "email" in changes and changes["email"] != customer.email:
        await _ensure_email_free(session, workspace_id=workspace_id, email=changes["email"])
    set_applicant(customer, applicant.columns(body, ring=ring))
    for field, value in changes.items():
        if field in applicant.APPLICANT_FIELDS:
            continue
        if field == "address":
            value = body.address.model_dump(by_alias=True) if body.address else None
        setattr(customer, "metadata_" if field == "metadata" else field, value)
    await session.flush()
    return customer


def set_applicant(customer: Customer, columns: dict[str, Any]) -> list[str]:
    """Write applicant columns (applicant.columns); the ones that changed."""
    changed = [c for c, v in columns.items() if getattr(customer, c) != v]
    for column in changed:
        setattr(customer, column, columns[column])
    return changed


async def confirm_billing_address(
    session: AsyncSession,
    *,
    workspace_id: str,
    customer_id: str,
    body: BillingAddressIn,
    service_address: dict[str, Any] | None,
    now: datetime,
) -> Customer:
    customer = await get(session, workspace_id=workspace_id, customer_id=customer_id)
    if body.same_as_service_address:
        address = service_address
    else:
        assert body.address is not None  # BillingAddressIn's rule
        address = body.address.model_dump(by_alias=True, exclude_none=True)
    customer.billing_address = {
        "sameAsServiceAddress": body.same_as_service_address,
        "address": address,
        "confirmedAt": now.isoformat(),
    }
    customer.updated_at = now
    await session.flush()
    return customer


async def create_lead(session: AsyncSession, *, workspace_id: str, body: LeadCreate) -> Lead:
    lead = Lead(
        workspace_id=workspace_id,
        email=body.email,
        first_name=body.first_name,
        last_name=body.last_name,
        phone=body.phone,
        address=body.address.model_dump(by_alias=True) if body.address else None,
        metadata_=body.metadata,
    )
    session.add(lead)
    await session.flush()
    return lead


async def get_lead(session: AsyncSession, *, workspace_id: str, lead_id: str) -> Lead:
    return await repository.leads.require(session, workspace_id=workspace_id, id=lead_id)


def mark_converted(lead: Lead, *, customer_id: str, at: datetime) -> None:
    lead.customer_id = customer_id
    lead.converted_at = at

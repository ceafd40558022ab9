"""A customer's household members (issue 16, section 2): whose income and signature an
application may need. Their tax ids are sealed like the customer's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.customer import applicant, repository
from enroll.customer.schemas import HouseholdMemberCreate, HouseholdMemberUpdate
from enroll.errors import NotFound
from enroll.ids import new_id
from enroll.models import HouseholdMember
from enroll.vault.keyring import KeyRing

_PLAIN = ("first_name", "last_name", "date_of_birth", "has_taxable_income", "has_federal_loans")


def _columns(
    body: HouseholdMemberCreate | HouseholdMemberUpdate, ring: KeyRing
) -> dict[str, object]:
    values: dict[str, object] = {}
    sent = body.model_fields_set
    for name in sent & set(_PLAIN):
        values[name] = getattr(body, name)
    if "role" in sent and body.role is not None:
        values["role"] = body.role.value
    if "agi" in sent:
        values["agi"] = applicant.decimal(body.agi)
    if "tax_id" in sent:
        values |= applicant.sealed_tax_id(body.tax_id, ring=ring, aad=applicant.MEMBER_TAX_ID)
    return values


async def members(
    session: AsyncSession, *, workspace_id: str, customer_id: str
) -> list[HouseholdMember]:
    """The customer's members, oldest first (404 for an unknown customer)."""
    await repository.customers.require(session, workspace_id=workspace_id, id=customer_id)
    return await repository.household_of(session, customer_id=customer_id)


async def get(
    session: AsyncSession, *, workspace_id: str, customer_id: str, member_id: str
) -> HouseholdMember:
    member = await repository.members.require(session, workspace_id=workspace_id, id=member_id)
    if member.customer_id != customer_id:
        raise NotFound(repository.members.not_found.format(id=member_id))
    return member


async def add(
    session: AsyncSession,
    *,
    workspace_id: str,
    customer_id: str,
    body: HouseholdMemberCreate,
    ring: KeyRing,
    now: datetime,
) -> HouseholdMember:
    await repository.customers.require(session, workspace_id=workspace_id, id=customer_id)
    member = HouseholdMember(
        id=new_id(),
        workspace_id=workspace_id,
        customer_id=customer_id,
        version=1,
        created_at=now,
        updated_at=now,
        **{name: None for name in (*_PLAIN, "agi", "tax_id_sealed", "tax_id_last4")},
    )
    for column, value in _columns(body, ring).items():
        setattr(member, column, value)
    session.add(member)
    await session.flush()
    return member


async def update(
    session: AsyncSession,
    *,
    workspace_id: str,
    customer_id: str,
    member_id: str,
    body: HouseholdMemberUpdate,
    ring: KeyRing,
    now: datetime,
) -> HouseholdMember:
    member = await get(
        session, workspace_id=workspace_id, customer_id=customer_id, member_id=member_id
    )
    body.changes()  # refuses an explicit null role
    for column, value in _columns(body, ring).items():
        setattr(member, column, value)
    member.updated_at = now
    await session.flush()
    return member


async def remove(
    session: AsyncSession, *, workspace_id: str, customer_id: str, member_id: str
) -> None:
    member = await get(
        session, workspace_id=workspace_id, customer_id=customer_id, member_id=member_id
    )
    await session.delete(member)
    await session.flush()

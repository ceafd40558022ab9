from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.kit.repository import WorkspaceRepository, insert_unless_exists
from enroll.models import Customer, HouseholdMember, Lead

customers = WorkspaceRepository(Customer, not_found="No customer {id!r}.")
leads = WorkspaceRepository(Lead, not_found="No lead {id!r}.")
members = WorkspaceRepository(HouseholdMember, not_found="No household member {id!r}.")


async def get(session: AsyncSession, *, workspace_id: str, customer_id: str) -> Customer | None:
    return await customers.get(session, workspace_id=workspace_id, id=customer_id)


async def get_by_email(session: AsyncSession, *, workspace_id: str, email: str) -> Customer | None:
    return await session.scalar(customers.search(workspace_id, email=email))


def search(*, workspace_id: str, email: str | None) -> Select[Customer]:
    return customers.search(workspace_id, email=email.lower() if email else None)


async def get_lead(session: AsyncSession, *, workspace_id: str, lead_id: str) -> Lead | None:
    return await leads.get(session, workspace_id=workspace_id, id=lead_id)


def search_leads(*, workspace_id: str, email: str | None) -> Select[Lead]:
    return leads.search(workspace_id, email=email.lower() if email else None)


async def insert_unless_known(session: AsyncSession, customer: Customer) -> bool:
    """INSERT a new customer unless the workspace knows its email already (then nothing is
    written and False comes back): one statement either way, safe under concurrency."""
    return await insert_unless_exists(session, customer, unique=("workspace_id", "email"))


async def household_of(session: AsyncSession, *, customer_id: str) -> list[HouseholdMember]:
    stmt = (
        select(HouseholdMember)
        .where(HouseholdMember.customer_id == customer_id)
        .order_by(HouseholdMember.created_at, HouseholdMember.id)
    )
    return list((await session.scalars(stmt)).all())


async def households_of(
    session: AsyncSession, *, workspace_id: str, customer_ids: Sequence[str]
) -> list[HouseholdMember]:
    """The members of many customers of the workspace (a data loader's batch), each
    customer's oldest first."""
    stmt = (
        members.readable(workspace_id)
        .where(HouseholdMember.customer_id.in_(customer_ids))
        .order_by(HouseholdMember.customer_id, HouseholdMember.created_at, HouseholdMember.id)
    )
    return list((await session.scalars(stmt)).all())

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.kit import persistence
from enroll.models import Customer, Lead


async def get(session: AsyncSession, *, workspace_id: str, customer_id: str) -> Customer | None:
    return await session.scalar(
        select(Customer).where(Customer.workspace_id == workspace_id, Customer.id == customer_id)
    )


async def get_by_email(session: AsyncSession, *, workspace_id: str, email: str) -> Customer | None:
    return await session.scalar(
        select(Customer).where(Customer.workspace_id == workspace_id, Customer.email == email)
    )


def search(*, workspace_id: str, email: str | None) -> Select[Customer]:
    stmt = select(Customer).where(Customer.workspace_id == workspace_id)
    if email:
        stmt = stmt.where(Customer.email == email.lower())
    return stmt


async def get_lead(session: AsyncSession, *, workspace_id: str, lead_id: str) -> Lead | None:
    return await session.scalar(
        select(Lead).where(Lead.workspace_id == workspace_id, Lead.id == lead_id)
    )


def search_leads(*, workspace_id: str, email: str | None) -> Select[Lead]:
    stmt = select(Lead).where(Lead.workspace_id == workspace_id)
    if email:
        stmt = stmt.where(Lead.email == email.lower())
    return stmt


async def insert_unless_known(session: AsyncSession, customer: Customer) -> bool:
    """INSERT a new customer unless the workspace knows its email already (then nothing is
    written and False comes back): one statement either way, safe under concurrency."""
    return await persistence.insert_unless_exists(
        session, customer, unique=("workspace_id", "email")
    )

"""The queries of payment methods. Every query of a workspace's rows filters on it, except the
two a provider's event starts from (``setup_by_provider_id``, ``methods_by_provider_id``): an
event names the provider's ids only, which are unique at the provider."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.kit.repository import WorkspaceRepository
from enroll.models import PaymentMethod, PaymentProfile, PaymentSetup
from enroll.workflows.payment import PaymentMethodStatus

methods = WorkspaceRepository(PaymentMethod, not_found="No payment method {id!r}.")
profiles = WorkspaceRepository(PaymentProfile)
setups = WorkspaceRepository(PaymentSetup)


async def profile_of(
    session: AsyncSession, *, workspace_id: str, customer_id: str, provider: str
) -> PaymentProfile | None:
    stmt = profiles.readable(workspace_id).where(
        PaymentProfile.customer_id == customer_id, PaymentProfile.provider == provider
    )
    return await session.scalar(stmt)


async def add(session: AsyncSession, row: PaymentProfile | PaymentSetup | PaymentMethod) -> None:
    session.add(row)
    await session.flush()


async def setup_ids(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    provider: str | None,
    limit: int,
) -> list[str]:
    """The provider's ids of the enrollment's setups (any provider's: None), newest first."""
    stmt = (
        select(PaymentSetup.setup_intent_id)
        .where(
            PaymentSetup.workspace_id == workspace_id,
            PaymentSetup.enrollment_id == enrollment_id,
        )
        .order_by(PaymentSetup.created_at.desc(), PaymentSetup.id.desc())
        .limit(limit)
    )
    if provider is not None:
        stmt = stmt.where(PaymentSetup.provider == provider)
    return list((await session.scalars(stmt)).all())


async def setup_by_provider_id(
    session: AsyncSession, *, provider: str, setup_intent_id: str
) -> PaymentSetup | None:
    """The setup a provider's event names (any workspace: the provider's ids are unique)."""
    stmt = select(PaymentSetup).where(
        PaymentSetup.provider == provider, PaymentSetup.setup_intent_id == setup_intent_id
    )
    return await session.scalar(stmt)


async def method_of(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    provider: str,
    provider_method_id: str,
) -> PaymentMethod | None:
    stmt = methods.readable(workspace_id).where(
        PaymentMethod.enrollment_id == enrollment_id,
        PaymentMethod.provider == provider,
        PaymentMethod.provider_method_id == provider_method_id,
    )
    return await session.scalar(stmt)


async def methods_of(
    session: AsyncSession, *, workspace_id: str, enrollment_id: str
) -> list[PaymentMethod]:
    """The enrollment's methods, oldest first."""
    stmt = (
        methods.readable(workspace_id)
        .where(PaymentMethod.enrollment_id == enrollment_id)
        .order_by(PaymentMethod.created_at, PaymentMethod.id)
    )
    return list((await session.scalars(stmt)).all())


async def methods_by_provider_id(
    session: AsyncSession, *, provider: str, provider_method_id: str
) -> list[PaymentMethod]:
    """The active rows of a provider's method, in every enrollment that holds it (any
    workspace: the provider's ids are unique)."""
    stmt = (
        select(PaymentMethod)
        .where(
            PaymentMethod.provider == provider,
            PaymentMethod.provider_method_id == provider_method_id,
            PaymentMethod.status == PaymentMethodStatus.ACTIVE.value,
        )
        .order_by(PaymentMethod.id)
    )
    return list((await session.scalars(stmt)).all())


async def has_active(session: AsyncSession, *, workspace_id: str, enrollment_id: str) -> bool:
    stmt = (
        select(PaymentMethod.id)
        .where(
            PaymentMethod.workspace_id == workspace_id,
            PaymentMethod.enrollment_id == enrollment_id,
            PaymentMethod.status == PaymentMethodStatus.ACTIVE.value,
        )
        .limit(1)
    )
    return await session.scalar(stmt) is not None

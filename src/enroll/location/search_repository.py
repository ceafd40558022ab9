"""The address search's queries: candidates by exact house number (or by the start of the
street's name), read from the search index alone, and the chosen rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.location.repository import locations
from enroll.models import ServiceLocation

L = ServiceLocation
_CANDIDATE_COLUMNS = (
    L.id,
    L.search_street,
    L.search_unit,
    L.search_city,
    L.search_zip,
    L.address_state,
)
Candidate = Any  # a row: (id, street, unit, city, zip, state)


def _filtered(stmt: Any, *, zip5: str | None, state: str | None) -> Any:
    if zip5:
        stmt = stmt.where(L.search_zip == zip5)
    if state:
        stmt = stmt.where(L.address_state == state)
    return stmt


async def by_house(
    session: AsyncSession,
    *,
    workspace_id: str,
    house: str,
    zip5: str | None,
    state: str | None,
    limit: int,
) -> Sequence[Candidate]:
    stmt = select(*_CANDIDATE_COLUMNS).where(
        L.workspace_id == workspace_id, L.search_house == house
    )
    stmt = _filtered(stmt, zip5=zip5, state=state)
    return (await session.execute(stmt.limit(limit))).all()


async def by_street_prefix(
    session: AsyncSession,
    *,
    workspace_id: str,
    prefix: str,
    zip5: str | None,
    state: str | None,
    limit: int,
) -> Sequence[Candidate]:
    stmt = select(*_CANDIDATE_COLUMNS).where(
        L.workspace_id == workspace_id,
        L.search_street >= prefix,
        L.search_street < prefix + "\uffff",
    )
    stmt = _filtered(stmt, zip5=zip5, state=state)
    return (await session.execute(stmt.order_by(L.search_street).limit(limit))).all()


async def by_service_point_prefix(
    session: AsyncSession, *, workspace_id: str, prefix: str, limit: int
) -> list[ServiceLocation]:
    """Locations whose service point id is ``prefix`` or starts with it, in id order of
    the service point (the exact one first)."""
    stmt = (
        locations.readable(workspace_id)
        .where(L.service_point_id >= prefix, L.service_point_id < prefix + "\uffff")
        .order_by(L.service_point_id, L.market)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def rows(
    session: AsyncSession, *, workspace_id: str, ids: Sequence[str]
) -> list[ServiceLocation]:
    return await locations.many(session, workspace_id=workspace_id, ids=ids)

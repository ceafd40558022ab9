"""The queries of service locations (the search's are search_repository.py, an import's
import_repository.py)."""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.kit.repository import WorkspaceRepository, insert_unless_exists
from enroll.location.normalize import zip5
from enroll.models import ServiceLocation

locations = WorkspaceRepository(ServiceLocation)


async def get(
    session: AsyncSession, *, workspace_id: str, location_id: str
) -> ServiceLocation | None:
    return await locations.get(session, workspace_id=workspace_id, id=location_id)


async def by_service_point(
    session: AsyncSession, *, workspace_id: str, service_point_id: str, market: str | None
) -> ServiceLocation | None:
    stmt = locations.search(workspace_id, service_point_id=service_point_id, market=market)
    return await session.scalar(stmt.order_by(ServiceLocation.id).limit(1))


def search(
    *,
    workspace_id: str,
    service_point_id: str | None,
    postal_code: str | None,
    utility: str | None,
    status: str | None,
    market: str | None,
) -> Select[ServiceLocation]:
    """The list's filters: equal values; a postal code matches its first five digits."""
    return locations.search(
        workspace_id,
        service_point_id=service_point_id,
        search_zip=(zip5(postal_code) or postal_code) if postal_code else None,
        utility_code=utility,
        status=status,
        market=market,
    )


async def insert_unless_known(session: AsyncSession, location: ServiceLocation) -> bool:
    """INSERT unless the workspace has the market's service point id (then False)."""
    return await insert_unless_exists(
        session, location, unique=("workspace_id", "service_point_id", "market")
    )

"""The queries of service locations and their usage readings (the search's are
search_repository.py, an import's import_repository.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Insert, Select, and_, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.kit.repository import WorkspaceRepository, insert_unless_exists
from enroll.location.normalize import zip5
from enroll.models import ServiceLocation, UsageReading
from enroll.models.location import service_location_table, usage_reading_table
from enroll.workflows.service_location import ReadingKind

locations = WorkspaceRepository(ServiceLocation)
readings = WorkspaceRepository(UsageReading)
USAGE_MONTHS = 12


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


# --- usage readings ---------------------------------------------------------------------------


@cache
def _upsert_readings(dialect: str) -> Insert:
    # Built once; the rows go in as executemany parameters, which SQLAlchemy sends as multi-row
    # INSERTs (insertmanyvalues, about a thousand rows a statement) with their RETURNING.
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(usage_reading_table)
    table = usage_reading_table
    return stmt.on_conflict_do_update(
        index_elements=["service_location_id", "period_start", "period_end"],
        set_={"kwh": stmt.excluded.kwh, "updated_at": stmt.excluded.updated_at},
        where=table.c.kwh != stmt.excluded.kwh,
    ).returning(table.c.id)


async def upsert_readings(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Insert the readings whose period is new and rewrite those whose kWh changed; the ids of
    the rows written come back (a new row's is the id sent, a rewritten one keeps its own), an
    unchanged reading returns nothing. ``rows``: one per period (the unique key), with every
    column."""
    if not rows:
        return []
    stmt = _upsert_readings(session.get_bind().dialect.name)
    result = await session.execute(stmt, list(rows))
    return list(result.scalars().all())


async def mark_has_usage(session: AsyncSession, *, workspace_id: str, location_id: str) -> None:
    """``has_usage`` on (once): a Core UPDATE, so the location's version does not move."""
    table = service_location_table
    await session.execute(
        update(table)
        .where(
            table.c.workspace_id == workspace_id,
            table.c.id == location_id,
            table.c.has_usage.is_(False),
        )
        .values(has_usage=True)
    )


def search_readings(
    *,
    workspace_id: str,
    location_id: str,
    start_from: datetime | None,
    until: datetime | None,
) -> Select[UsageReading]:
    """A location's readings overlapping [start_from, until), for ``paginate`` by
    ``period_key`` (chronological)."""
    stmt = readings.readable(workspace_id).where(UsageReading.service_location_id == location_id)
    if start_from is not None:
        stmt = stmt.where(UsageReading.period_end > start_from)
    if until is not None:
        stmt = stmt.where(UsageReading.period_start < until)
    return stmt


def _month_starts(until: datetime) -> list[datetime]:
    """The first instants (UTC) of the 12 whole months before ``until``'s month, and of that
    month: 13 bounds (fewer in year 1, where the calendar starts)."""
    at = until.astimezone(UTC)
    index = at.year * 12 + at.month - 1
    first = max(index - USAGE_MONTHS, 12)  # 12: January of year 1
    return [datetime(i // 12, i % 12 + 1, 1, tzinfo=UTC) for i in range(first, index + 1)]


async def usage_by_month(
    session: AsyncSession, *, workspace_id: str, location_id: str, until: datetime
) -> list[Decimal]:
    """The location's kWh per month over the 12 whole months (UTC) before ``until``'s month,
    oldest first, for the months that have readings (a month without any is left out, not
    counted as 0 kWh). A reading counts in the month its period starts. A month with monthly
    readings sums those; one with only interval readings sums the intervals (both kinds in one
    month would count its usage twice)."""
    bounds = _month_starts(until)
    if len(bounds) < 2:
        return []
    start = UsageReading.period_start
    month = case(
        *[(and_(start >= bounds[i], start < bounds[i + 1]), i) for i in range(len(bounds) - 1)]
    )
    # Summed as whole Wh·1000 (milli-kWh): exact on PostgreSQL's numeric and on SQLite, whose
    # NUMERIC is a float but adds whole numbers below 2**53 exactly.
    inner = (
        select(
            month.label("month"),
            UsageReading.kind.label("kind"),
            func.round(UsageReading.kwh * 1000).label("milli"),
        )
        .where(
            UsageReading.workspace_id == workspace_id,
            UsageReading.service_location_id == location_id,
            start >= bounds[0],
            start < bounds[-1],
        )
        .subquery()
    )
    # Grouped over the subquery's column: PostgreSQL would not match a CASE with bound
    # parameters in GROUP BY to the same CASE in the select list.
    rows = await session.execute(
        select(inner.c.month, inner.c.kind, func.sum(inner.c.milli)).group_by(
            inner.c.month, inner.c.kind
        )
    )
    sums: dict[int, dict[str, Decimal]] = {}
    for month_index, kind, milli in rows.all():
        sums.setdefault(int(month_index), {})[kind] = Decimal(int(milli)) / 1000
    return [
        by_kind.get(ReadingKind.MONTHLY.value, by_kind.get(ReadingKind.INTERVAL.value, Decimal(0)))
        for _, by_kind in sorted(sums.items())
    ]


async def has_usage(
    session: AsyncSession, *, workspace_id: str, location_ids: Sequence[str]
) -> set[str]:
    """Which of these locations of the workspace have usage readings."""
    if not location_ids:
        return set()
    found = await session.scalars(
        select(ServiceLocation.id).where(
            ServiceLocation.workspace_id == workspace_id,
            ServiceLocation.id.in_(list(location_ids)),
            ServiceLocation.has_usage.is_(True),
        )
    )
    return set(found.all())

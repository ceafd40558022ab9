"""A service location's usage readings: receiving them (idempotent by period) and the history
other domains read (plan quotes' ``estimatedMonthlyDollars``, an enrollment's
``hasUsageHistory``) through ``repository.usage_by_month`` and ``repository.has_usage``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.event import service as events
from enroll.ids import new_id
from enroll.location import repository, service
from enroll.location.schemas import UsageCounts, UsagePost, UsageReceipt, kind_of
from enroll.models import UsageReading

USAGE_RECEIVED = "service_location.usage_received"


def period_key(start: datetime, end: datetime) -> str:
    """The period as 40 digits (UTC): sorts as the periods do (the list's keyset)."""
    return f"{start:%Y%m%d%H%M%S%f}{end:%Y%m%d%H%M%S%f}"


async def receive(
    session: AsyncSession, *, workspace_id: str, location_id: str, body: UsagePost, now: datetime
) -> UsageReceipt:
    """Store the readings, one per period: a new period is created, a known one whose kWh
    differs is rewritten, the same kWh again changes nothing. Within the request the last
    reading of a period wins. 404 for an unknown location (or another workspace's). Writes
    ``service_location.usage_received`` when anything was created or rewritten."""
    location = await service.get(session, workspace_id=workspace_id, location_id=location_id)
    latest = {(r.start, r.end): r for r in body.readings}  # the last of a period wins
    rows = [
        {
            "id": new_id(),
            "workspace_id": workspace_id,
            "service_location_id": location.id,
            "period_start": start,
            "period_end": end,
            "period_key": period_key(start, end),
            "kwh": reading.kwh,
            "kind": kind_of(start, end).value,
            "created_at": now,
            "updated_at": now,
        }
        for (start, end), reading in sorted(latest.items())
    ]
    sent = {row["id"] for row in rows}
    written = await repository.upsert_readings(session, rows)
    created = sum(1 for i in written if i in sent)
    counts = UsageCounts(
        created=created, updated=len(written) - created, unchanged=len(rows) - len(written)
    )
    receipt = UsageReceipt(
        service_location_id=location.id,
        counts=counts,
        period_start=min(start for start, _ in latest),
        period_end=max(end for _, end in latest),
    )
    if created:
        await repository.mark_has_usage(session, workspace_id=workspace_id, location_id=location.id)
    if written:
        await events.record(
            session,
            workspace_id=workspace_id,
            occurred_at=now,
            events=[
                events.NewEvent(
                    type=USAGE_RECEIVED,
                    data=receipt.model_dump(mode="json", by_alias=True),
                    subject_id=location.id,
                )
            ],
        )
    return receipt


async def search(
    session: AsyncSession,
    *,
    workspace_id: str,
    location_id: str,
    start_from: datetime | None,
    until: datetime | None,
) -> Select[UsageReading]:
    """The location's readings overlapping [start_from, until) (404 for an unknown location),
    for ``paginate`` by ``period_key``."""
    await service.get(session, workspace_id=workspace_id, location_id=location_id)
    return repository.search_readings(
        workspace_id=workspace_id, location_id=location_id, start_from=start_from, until=until
    )

"""Service location use cases: create, read, change, look up by service point id. The address
search is search.py; imports are imports.py (upload and job) and pipeline.py (the batches)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.errors import FieldError, NotFound, Unprocessable
from enroll.ids import new_id
from enroll.location import repository
from enroll.location.errors import InvalidServicePoint, ServiceLocationExists
from enroll.location.records import Record, RecordError, from_create
from enroll.location.schemas import ServiceLocationCreate, ServiceLocationUpdate
from enroll.models import ServiceLocation

API_SOURCE = "api"


async def get(session: AsyncSession, *, workspace_id: str, location_id: str) -> ServiceLocation:
    found = await repository.get(session, workspace_id=workspace_id, location_id=location_id)
    if found is None:
        raise NotFound(f"No service location {location_id!r}.")
    return found


async def lookup(
    session: AsyncSession, *, workspace_id: str, service_point_id: str, market: str | None = None
) -> ServiceLocation:
    """The workspace's location with this service point id (ERCOT: ESI ID), or 404."""
    found = await repository.by_service_point(
        session, workspace_id=workspace_id, service_point_id=service_point_id, market=market
    )
    if found is None:
        raise NotFound(f"No service location with servicePointId {service_point_id!r}.")
    return found


def _refused(exc: RecordError) -> InvalidServicePoint:
    return InvalidServicePoint(
        str(exc), errors=[FieldError(field=e["field"], message=e["message"]) for e in exc.errors]
    )


async def create(
    session: AsyncSession, *, workspace_id: str, body: ServiceLocationCreate, now: datetime
) -> ServiceLocation:
    try:
        record = from_create(body)
    except RecordError as exc:
        raise _refused(exc) from None
    location = ServiceLocation(
        id=new_id(),
        workspace_id=workspace_id,
        **record.columns(),
        source=API_SOURCE,
        last_seen_at=now,
        version=1,
        created_at=now,
        updated_at=now,
    )
    if not await repository.insert_unless_known(session, location):
        existing = await repository.by_service_point(
            session,
            workspace_id=workspace_id,
            service_point_id=body.service_point_id,
            market=body.market,
        )
        raise ServiceLocationExists(
            f"The workspace has {body.market} service point {body.service_point_id}.",
            serviceLocationId=existing.id if existing else None,
        )
    return location


def record_of(location: ServiceLocation) -> Record:
    return Record(
        market=location.market,
        service_point_id=location.service_point_id,
        utility_code=location.utility_code,
        utility_name=location.utility_name,
        street_one=location.street_one,
        street_two=location.street_two,
        city=location.city,
        address_state=location.address_state,
        postal_code=location.postal_code,
        country=location.country,
        county=location.county,
        premise_type=location.premise_type,
        status=location.status,
        metered=location.metered,
        attributes=dict(location.attributes),
    )


_ADDRESS = {
    "street_one": "street_one",
    "street_two": "street_two",
    "city": "city",
    "state": "address_state",
    "postal_code": "postal_code",
    "country": "country",
}


def _apply(record: Record, changes: dict[str, Any], body: ServiceLocationUpdate) -> None:
    for name, value in changes.items():
        if name == "utility":
            record.utility_code, record.utility_name = value["code"], value.get("name")
        elif name == "address":
            assert body.address is not None
            sent = body.address.model_dump(exclude_unset=True)
            if "street_one" in sent and sent["street_one"] is None:
                raise Unprocessable(
                    "A location's address needs a first line.",
                    errors=[FieldError(field="address.streetOne", message="Cannot be null.")],
                )
            for field, column in _ADDRESS.items():
                if field in sent:
                    setattr(record, column, sent[field])
        elif name in ("premise_type", "status"):
            setattr(record, name, value.value if value is not None else None)
        else:
            setattr(record, name, value)


async def update(
    session: AsyncSession,
    *,
    workspace_id: str,
    location_id: str,
    body: ServiceLocationUpdate,
    now: datetime,
) -> ServiceLocation:
    """Change what is sent; a change that leaves everything as it was writes nothing."""
    location = await get(session, workspace_id=workspace_id, location_id=location_id)
    record = record_of(location)
    _apply(record, body.changes(), body)
    columns = record.columns()
    if columns["content_hash"] == location.content_hash:
        return location
    for column, value in columns.items():
        if getattr(location, column) != value:
            setattr(location, column, value)
    location.updated_at = now
    await session.flush()
    return location

"""Service locations (REST: /v1/serviceLocations, /v1/serviceLocationImports), over the same
service functions. Starting an import is a file upload and stays REST only; the import it
makes is readable here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

import strawberry
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID, UNSET
from strawberry.scalars import JSON

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.graphql.common import Info, connection, mutate, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import field, mutation
from enroll.graphql.inputs import AddressInput, check_text, parse, wire
from enroll.graphql.types import Address, Connection, fields_of
from enroll.location import imports, repository, search, service, usage
from enroll.location.schemas import (
    LookupRequest,
    SearchRequest,
    ServiceLocationCreate,
    ServiceLocationImportOut,
    ServiceLocationOut,
    ServiceLocationUpdate,
    UsagePost,
    UsageReadingOut,
    UsageReceipt,
    UsageWindow,
)
from enroll.models import ServiceLocation as LocationRow
from enroll.models import UsageReading as ReadingRow

READ, WRITE = Scope.LOCATIONS_READ, Scope.LOCATIONS_WRITE


@strawberry.type(description="A location's utility (ERCOT: its TDSP).")
class Utility:
    code: str
    name: str | None


@strawberry.type(description="A premise of a market (REST: ServiceLocationOut).")
class ServiceLocation:
    id: ID
    service_point_id: str = strawberry.field(description="ERCOT: the ESI ID.")
    market: str
    utility: Utility | None
    address: Address
    county: str | None
    premise_type: str | None
    status: str = strawberry.field(description="active, inactive or de_energized.")
    metered: bool | None
    attributes: JSON
    last_seen_at: datetime | None
    source: str
    has_usage_history: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: LocationRow) -> ServiceLocation:
        out = ServiceLocationOut.of(row)
        address = Address.of(out.address.model_dump(by_alias=True))
        assert address is not None
        return cls(
            **fields_of(out, exclude={"utility", "address", "premise_type", "status"}),
            utility=Utility(code=out.utility.code, name=out.utility.name) if out.utility else None,
            address=address,
            premise_type=out.premise_type.value if out.premise_type else None,
            status=out.status.value,
        )


@strawberry.type(description="A search result: the location and how well it matches (0..1).")
class ServiceLocationMatch:
    score: float
    location: ServiceLocation


@strawberry.type(description="A location import's counts (REST: ImportCounts).")
class ServiceLocationImportCounts:
    rows: int
    created: int
    updated: int
    unchanged: int
    invalid: int
    duplicates: int


@strawberry.type(description="An invalid row of a location file: its line and the reasons.")
class ServiceLocationImportIssue:
    line: int
    errors: JSON


@strawberry.type(description="A location import (REST: ServiceLocationImportOut).")
class ServiceLocationImport:
    id: ID
    status: str
    format: str
    market: str
    file_bytes: float
    bytes_done: float
    rows_done: int
    progress: float
    counts: ServiceLocationImportCounts
    errors: list[ServiceLocationImportIssue]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, out: ServiceLocationImportOut) -> ServiceLocationImport:
        return cls(
            **fields_of(out, exclude={"counts", "errors", "status"}),
            status=out.status.value,
            counts=ServiceLocationImportCounts(**fields_of(out.counts)),
            errors=[
                ServiceLocationImportIssue(line=e.line, errors=cast(JSON, e.errors))
                for e in out.errors
            ],
        )


@strawberry.type(description="A usage reading (REST: UsageReadingOut); kWh a decimal string.")
class UsageReading:
    id: ID
    start: datetime
    end: datetime
    kwh: str
    kind: str = strawberry.field(description="monthly (longer than a day) or interval.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ReadingRow) -> UsageReading:
        out = UsageReadingOut.of(row)
        return cls(
            **fields_of(out, exclude={"id", "kwh", "kind"}),
            id=ID(out.id),
            kwh=format(out.kwh, "f"),
            kind=out.kind.value,
        )


@strawberry.type(description="What a post of readings did (REST: UsageReceipt.counts).")
class UsageCounts:
    created: int
    updated: int
    unchanged: int


@strawberry.type(description="A post of usage readings received (REST: UsageReceipt).")
class UsageReceived:
    service_location_id: ID
    counts: UsageCounts
    period_start: datetime
    period_end: datetime

    @classmethod
    def of(cls, out: UsageReceipt) -> UsageReceived:
        return cls(
            service_location_id=ID(out.service_location_id),
            counts=UsageCounts(**fields_of(out.counts)),
            period_start=out.period_start,
            period_end=out.period_end,
        )


@strawberry.input(
    description="A reading over [start, end): kwh a decimal string (up to 3 decimals) or a "
    "whole number as a string."
)
class UsageReadingInput:
    start: datetime
    end: datetime
    kwh: str


@strawberry.input(description="A location's utility.")
class UtilityInput:
    code: str
    name: str | None = UNSET


@strawberry.input(description="A new service location (REST: ServiceLocationCreate).")
class ServiceLocationCreateInput:
    service_point_id: str
    address: AddressInput
    market: str | None = UNSET
    utility: UtilityInput | None = UNSET
    county: str | None = UNSET
    premise_type: str | None = UNSET
    status: str | None = UNSET
    metered: bool | None = UNSET
    attributes: JSON | None = UNSET


@strawberry.input(description="A change to a location (REST: ServiceLocationUpdate).")
class ServiceLocationUpdateInput:
    utility: UtilityInput | None = UNSET
    address: AddressInput | None = UNSET
    county: str | None = UNSET
    premise_type: str | None = UNSET
    status: str | None = UNSET
    metered: bool | None = UNSET
    attributes: JSON | None = UNSET


@strawberry.type
class LocationsQuery:
    @field("A service location (scope locations:read).", READ)
    async def service_location(self, info: Info, id: ID) -> ServiceLocation | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(READ)
        location_id = ref(id)

        async def work(session: AsyncSession) -> ServiceLocation:
            row = await service.get(session, workspace_id=workspace_id, location_id=location_id)
            return ServiceLocation.of(row)

        return await ctx.read(work)

    @field("The workspace's service locations, by id (scope locations:read).", READ)
    async def service_locations(
        self,
        info: Info,
        service_point_id: str | None = None,
        postal_code: str | None = None,
        utility: str | None = None,
        status: str | None = None,
        market: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[ServiceLocation]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(READ)
        for name, value, most in (
            ("servicePointId", service_point_id, 64),
            ("postalCode", postal_code, 20),
            ("utility", utility, 64),
            ("market", market, 32),
        ):
            check_text(name, value, max_length=most)
        if status is not None:
            status = parse(ServiceLocationUpdate, {"status": status}).status
        stmt = repository.search(
            workspace_id=workspace_id,
            service_point_id=service_point_id,
            postal_code=postal_code,
            utility=utility,
            status=status,
            market=market,
        )
        return await connection(
            ctx, stmt, LocationRow.id, ServiceLocation.of, first=first, after=after
        )

    @field(
        "The locations best matching what a customer typed, best first (scope locations:read; "
        "REST: POST /v1/serviceLocations/search).",
        READ,
    )
    async def search_service_locations(
        self,
        info: Info,
        query: str,
        state: str | None = None,
        postal_code: str | None = None,
        limit: int = 10,
    ) -> list[ServiceLocationMatch]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(READ)
        body = parse(
            SearchRequest,
            {"query": query, "state": state, "postalCode": postal_code, "limit": limit},
        )

        async def work(session: AsyncSession) -> list[ServiceLocationMatch]:
            found = await search.search(session, workspace_id=workspace_id, body=body)
            return [ServiceLocationMatch(score=s, location=ServiceLocation.of(r)) for r, s in found]

        return await ctx.read(work)

    @field(
        "The location with this service point id (scope locations:read; REST: POST "
        "/v1/serviceLocations/lookup).",
        READ,
    )
    async def lookup_service_location(
        self, info: Info, service_point_id: str, market: str | None = None
    ) -> ServiceLocation | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(READ)
        body = parse(LookupRequest, {"servicePointId": service_point_id, "market": market})

        async def work(session: AsyncSession) -> ServiceLocation:
            row = await service.lookup(
                session,
                workspace_id=workspace_id,
                service_point_id=body.service_point_id,
                market=body.market,
            )
            return ServiceLocation.of(row)

        return await ctx.read(work)

    @field(
        "A location's usage readings, oldest period first, overlapping [from, to) when given "
        "(scope locations:read; REST: GET /v1/serviceLocations/{id}/usage).",
        READ,
    )
    async def service_location_usage(
        self,
        info: Info,
        id: ID,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[UsageReading]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(READ)
        location_id = ref(id)
        window = parse(UsageWindow, {"from": from_, "to": to})

        async def work(session: AsyncSession) -> Select[ReadingRow]:
            return await usage.search(
                session,
                workspace_id=workspace_id,
                location_id=location_id,
                start_from=window.start_from,
                until=window.until,
            )

        stmt = await ctx.read(work)
        return await connection(
            ctx, stmt, ReadingRow.period_key, UsageReading.of, first=first, after=after
        )

    @field("A location import: status, counts, invalid rows (scope locations:read).", READ)
    async def service_location_import(self, info: Info, id: ID) -> ServiceLocationImport | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(READ)
        import_id = ref(id)

        async def work(session: AsyncSession) -> ServiceLocationImport:
            out = await imports.get(session, workspace_id=workspace_id, import_id=import_id)
            return ServiceLocationImport.of(out)

        return await ctx.read(work)


@strawberry.type
class LocationsMutation:
    @mutation("Add a service location (scope locations:write).", WRITE)
    async def create_service_location(
        self, info: Info, input: ServiceLocationCreateInput
    ) -> ServiceLocation:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> ServiceLocation:
            body = parse(ServiceLocationCreate, wire(input))
            row = await service.create(
                session, workspace_id=principal.workspace_id or "", body=body, now=ctx.now()
            )
            return ServiceLocation.of(row)

        return await mutate(info, WRITE, work)

    @mutation("Change a service location (scope locations:write).", WRITE)
    async def update_service_location(
        self, info: Info, id: ID, input: ServiceLocationUpdateInput
    ) -> ServiceLocation:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> ServiceLocation:
            body = parse(ServiceLocationUpdate, wire(input))
            row = await service.update(
                session,
                workspace_id=principal.workspace_id or "",
                location_id=ref(id),
                body=body,
                now=ctx.now(),
            )
            return ServiceLocation.of(row)

        return await mutate(info, WRITE, work)

    @mutation(
        "Receive usage readings of a location, idempotent by period (scope locations:write; "
        "REST: POST /v1/serviceLocations/{id}/usage).",
        WRITE,
    )
    async def record_service_location_usage(
        self, info: Info, id: ID, readings: list[UsageReadingInput]
    ) -> UsageReceived:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> UsageReceived:
            body = parse(UsagePost, {"readings": wire(readings)})
            receipt = await usage.receive(
                session,
                workspace_id=principal.workspace_id or "",
                location_id=ref(id),
                body=body,
                now=ctx.now(),
            )
            return UsageReceived.of(receipt)

        return await mutate(info, WRITE, work)

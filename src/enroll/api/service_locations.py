"""Service locations (location/): the registry, the two lookups of an enrollment flow (the
address search, the service point id), and the bulk imports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from enroll.api.dependencies import app_context, get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute, own_transactions
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.errors import EmptyImport, InvalidEncoding, raises
from enroll.kit.fields import Timestamp
from enroll.kit.pagination import Page, PageParams, page_params
from enroll.kit.repository import paginate
from enroll.location import imports, repository, search, service, usage
from enroll.location.errors import InvalidServicePoint, ServiceLocationExists
from enroll.location.formats import LocationFormat, UploadFormat
from enroll.location.schemas import (
    LookupRequest,
    SearchRequest,
    SearchResults,
    ServiceLocationCreate,
    ServiceLocationHit,
    ServiceLocationImportOut,
    ServiceLocationOut,
    ServiceLocationUpdate,
    UsagePost,
    UsageReadingOut,
    UsageReceipt,
)
from enroll.models import ServiceLocation, UsageReading
from enroll.workflows.service_location import ServiceLocationStatus

router = APIRouter(prefix="/v1", tags=["service locations"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Ctx = Annotated[AppContext, Depends(get_ctx)]
Reader = Annotated[Principal, require(Scope.LOCATIONS_READ)]
Writer = Annotated[Principal, require(Scope.LOCATIONS_WRITE)]
Pages = Annotated[PageParams, Depends(page_params)]
LOCATION_IMPORT_PATH = r"^/v1/serviceLocationImports$"
# A year of 15-minute readings is about 3 MB of JSON: the usage route's bodies may be larger
# than the default megabyte.
USAGE_PATH = r"^/v1/serviceLocations/[^/]+/usage$"
USAGE_MAX_BYTES = 16 * 1024 * 1024


@router.post("/serviceLocations", status_code=201)
@raises(ServiceLocationExists, InvalidServicePoint)
async def create_service_location(
    body: ServiceLocationCreate, session: Session, principal: Writer, ctx: Ctx
) -> ServiceLocationOut:
    """Add a location. ERCOT (the default market): the service point id is the ESI ID, and the
    utility comes from its prefix when left out."""
    location = await service.create(
        session, workspace_id=workspace_id_of(principal), body=body, now=ctx.clock.now()
    )
    return ServiceLocationOut.of(location)


@router.get("/serviceLocations")
async def list_service_locations(
    session: Session,
    principal: Reader,
    params: Pages,
    service_point_id: Annotated[str | None, Query(alias="servicePointId", max_length=64)] = None,
    postal_code: Annotated[
        str | None,
        Query(alias="postalCode", max_length=20, description="Matches the first five digits."),
    ] = None,
    utility: Annotated[str | None, Query(max_length=64, description="A utility code.")] = None,
    status: ServiceLocationStatus | None = None,
    market: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[ServiceLocationOut]:
    stmt = repository.search(
        workspace_id=workspace_id_of(principal),
        service_point_id=service_point_id,
        postal_code=postal_code,
        utility=utility,
        status=status,
        market=market,
    )
    result = await paginate(session, stmt, params, ServiceLocation.id)
    return result.to_page([ServiceLocationOut.of(row) for row in result.items])


@router.get("/serviceLocations/{location_id}")
async def get_service_location(
    location_id: str, session: Session, principal: Reader
) -> ServiceLocationOut:
    location = await service.get(
        session, workspace_id=workspace_id_of(principal), location_id=location_id
    )
    return ServiceLocationOut.of(location)


@router.patch("/serviceLocations/{location_id}")
@raises(InvalidServicePoint)
async def update_service_location(
    location_id: str, body: ServiceLocationUpdate, session: Session, principal: Writer, ctx: Ctx
) -> ServiceLocationOut:
    """Change what is sent (an address's fields replace the stored ones one by one)."""
    location = await service.update(
        session,
        workspace_id=workspace_id_of(principal),
        location_id=location_id,
        body=body,
        now=ctx.clock.now(),
    )
    return ServiceLocationOut.of(location)


@router.post("/serviceLocations/lookup")
async def lookup_service_location(
    body: LookupRequest, session: Session, principal: Reader
) -> ServiceLocationOut:
    """The location with this service point id (ERCOT: the ESI ID from a bill), or 404."""
    location = await service.lookup(
        session,
        workspace_id=workspace_id_of(principal),
        service_point_id=body.service_point_id,
        market=body.market,
    )
    return ServiceLocationOut.of(location)


@router.post("/serviceLocations/search")
async def search_service_locations(
    body: SearchRequest, session: Session, principal: Reader
) -> SearchResults:
    """The locations best matching what a customer typed, best first, each with its `score`
    (0..1): typos, missing or other suffixes and directionals, units with or without their
    designator, an unfinished last word, any case and accents are forgiven. 10 or more digits
    look up a service point id (exact or by prefix)."""
    found = await search.search(session, workspace_id=workspace_id_of(principal), body=body)
    return SearchResults(data=[ServiceLocationHit.scored(row, s) for row, s in found])


@router.post(
    "/serviceLocations/{location_id}/usage",
    status_code=201,
    responses={
        200: {
            "model": UsageReceipt,
            "description": "No period was new: readings rewritten or unchanged.",
        }
    },
)
async def post_usage(
    location_id: str,
    body: UsagePost,
    session: Session,
    principal: Writer,
    ctx: Ctx,
    response: Response,
) -> UsageReceipt:
    """Receive usage readings (monthly or interval), idempotent by period: a period sent
    again replaces its kWh. 201 when a period was new, else 200; `counts` says what each
    reading did. Bodies up to 16 MiB (a year of 15-minute readings is about 3 MB)."""
    receipt = await usage.receive(
        session,
        workspace_id=workspace_id_of(principal),
        location_id=location_id,
        body=body,
        now=ctx.clock.now(),
    )
    if not receipt.counts.created:
        response.status_code = 200
    return receipt


@router.get("/serviceLocations/{location_id}/usage")
async def list_usage(
    location_id: str,
    session: Session,
    principal: Reader,
    params: Pages,
    start_from: Annotated[
        Timestamp | None,
        Query(alias="from", description="Only readings ending after this time."),
    ] = None,
    until: Annotated[
        Timestamp | None,
        Query(alias="to", description="Only readings starting before this time."),
    ] = None,
) -> Page[UsageReadingOut]:
    """The location's readings, oldest period first."""
    stmt = await usage.search(
        session,
        workspace_id=workspace_id_of(principal),
        location_id=location_id,
        start_from=start_from,
        until=until,
    )
    result = await paginate(session, stmt, params, UsageReading.period_key)
    return result.to_page([UsageReadingOut.of(row) for row in result.items])


async def _pieces(file: UploadFile, head: bytes) -> AsyncIterator[bytes]:
    if head:
        yield head
    while piece := await file.read(imports.CHUNK_BYTES):
        yield piece


_UPLOAD = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    # An empty file is refused: 422 empty_import.
                    "file": {"type": "string", "format": "binary", "minLength": 1},
                    "format": {"enum": [f.value for f in UploadFormat], "default": "auto"},
                },
            }
        }
    },
}


@router.post("/serviceLocationImports", status_code=202, openapi_extra={"requestBody": _UPLOAD})
@own_transactions
@raises(EmptyImport, InvalidEncoding)
async def create_service_location_import(
    request: Request,
    principal: Writer,
    file: Annotated[
        UploadFile,
        File(
            description="UTF-8 text: ERCOT's TDSP ESI ID extract (no header), a CSV with a "
            "header of field names (`servicePointId`, `address.streetOne`, …) or JSON Lines "
            "(a create body per line). Up to `ENROLL_MAX_IMPORT_BYTES` (20 GiB)."
        ),
    ],
    format: Annotated[
        UploadFormat,
        Form(
            description="`auto` (the default): JSON Lines by name or content, ERCOT when the "
            "first cell is an ESI ID, else CSV."
        ),
    ] = UploadFormat.AUTO,
) -> ServiceLocationImportOut:
    """Upload a location file (multipart, field `file`); answers 202 at once and loads it in
    the background: poll `Location`. Rows are upserted by service point id; a row that cannot
    be a location is counted invalid with its line number and reasons, and never stops the
    file."""
    ctx = app_context(request)
    head = await file.read(imports.CHUNK_BYTES)
    fmt = (
        imports.sniff(head, file.filename)
        if format == UploadFormat.AUTO
        else LocationFormat(format.value)
    )
    outcome = await imports.upload(
        ctx,
        workspace_id=workspace_id_of(principal),
        fmt=fmt,
        actor=principal.actor,
        body=_pieces(file, head),
        fingerprint_head=f"{request.method} {request.url.path}?{request.url.query}\n{fmt}\n",
        idempotency_key=request.headers.get("idempotency-key"),
        idempotency_scope=principal.idempotency_scope,
    )
    if isinstance(outcome, Response):
        return outcome  # type: ignore[return-value]  # a replayed response, as first sent
    return imports.accepted_response(outcome)  # type: ignore[return-value]


@router.get("/serviceLocationImports/{import_id}")
async def get_service_location_import(
    import_id: str, session: Session, principal: Reader
) -> ServiceLocationImportOut:
    """Status, progress, counts and the first invalid rows."""
    return await imports.get(session, workspace_id=workspace_id_of(principal), import_id=import_id)

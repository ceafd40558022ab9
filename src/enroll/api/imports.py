from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from enroll.api.dependencies import app_context, get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute, own_transactions
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.enrollment.errors import InstanceNotAccepting
from enroll.errors import UnsupportedMediaType, raises
from enroll.importer import service
from enroll.importer.errors import EmptyImport, InvalidEncoding
from enroll.importer.formats import MEDIA_TYPES, ImportFormat
from enroll.importer.schemas import ImportOut

router = APIRouter(prefix="/v1", tags=["imports"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Ctx = Annotated[AppContext, Depends(get_ctx)]
Reader = Annotated[Principal, require(Scope.IMPORTS_READ)]
Writer = Annotated[Principal, require(Scope.IMPORTS_WRITE)]
IMPORT_PATH = r"^/v1/programInstances/[^/]+/imports$"

_BODY = {
    "required": True,
    "content": {
        # An empty (or blank) file is refused: 422 empty_import.
        "text/csv": {"schema": {"type": "string", "minLength": 1, "pattern": "\\S"}},
        "application/x-ndjson": {"schema": {"type": "string", "minLength": 1, "pattern": "\\S"}},
    },
    "description": "The file: CSV (headers are field names, nested fields dotted, lists "
    "separated by |) or JSON Lines (one create-enrollment body per line).",
}


def _format(request: Request) -> ImportFormat:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = MEDIA_TYPES.get(media)
    if fmt is None:
        raise UnsupportedMediaType(
            "Send the file as text/csv or application/x-ndjson (JSON Lines).",
            accepted=sorted(MEDIA_TYPES),
        )
    return fmt


@router.post(
    "/programInstances/{instance_id}/imports",
    status_code=202,
    openapi_extra={"requestBody": _BODY},
)
@own_transactions
@raises(UnsupportedMediaType, InstanceNotAccepting, EmptyImport, InvalidEncoding)
async def create_import(
    instance_id: str,
    request: Request,
    principal: Writer,
    dry_run: Annotated[bool, Query(alias="dryRun")] = False,
    events: Annotated[bool, Query(description="Write per-enrollment events.")] = True,
    evaluate: Annotated[
        bool,
        Query(description="false: the rows stay candidates, unevaluated (manual screening)."),
    ] = True,
) -> ImportOut:
    """Upload candidates to import; answers 202 at once and imports in the background.

    The file must be UTF-8 (a leading BOM is dropped): anything else is refused whole with
    422 `invalid_encoding`, whose `offset` is the first bad byte; an empty file is 422
    `empty_import`."""
    ctx = app_context(request)
    fmt = _format(request)
    outcome = await service.upload(
        ctx,
        workspace_id=workspace_id_of(principal),
        instance_ref=instance_id,
        fmt=fmt,
        dry_run=dry_run,
        emit_events=events,
        evaluate=evaluate,
        actor=principal.actor,
        body=request.stream(),
        fingerprint_head=f"{request.method} {request.url.path}?{request.url.query}\n",
        idempotency_key=request.headers.get("idempotency-key"),
        idempotency_scope=principal.idempotency_scope,
    )
    if isinstance(outcome, Response):
        return outcome  # type: ignore[return-value]  # a replayed response, as first sent
    return service.accepted_response(outcome)  # type: ignore[return-value]


@router.get("/imports/{import_id}")
async def get_import(import_id: str, session: Session, principal: Reader) -> ImportOut:
    """Status, counts and progress."""
    imp = await service.get(session, workspace_id=workspace_id_of(principal), import_id=import_id)
    return ImportOut.of(imp)


@router.get(
    "/imports/{import_id}/results",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
)
async def get_import_results(
    import_id: str, session: Session, principal: Reader, ctx: Ctx
) -> StreamingResponse:
    """Every row's outcome, one JSON object per line (row, outcome, enrollmentId or errors)."""
    imp = await service.get(session, workspace_id=workspace_id_of(principal), import_id=import_id)
    return StreamingResponse(service.results(ctx, imp), media_type="application/x-ndjson")

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import app_context, get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute, own_transactions
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.errors import raises
from enroll.idempotency import service as idempotency
from enroll.kit.pagination import Page, PageParams, page_params
from enroll.kit.repository import paginate
from enroll.models import WebhookDelivery, WebhookEndpoint
from enroll.webhook import event_types, repository, service
from enroll.webhook.errors import DeliverySucceeded, UrlRefused
from enroll.webhook.schemas import (
    Replay,
    ReplayQueued,
    RotateSecret,
    SecretRotated,
    WebhookDeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
)

router = APIRouter(prefix="/v1", tags=["webhooks"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Manager = Annotated[Principal, require(Scope.WEBHOOKS_MANAGE)]
Pages = Annotated[PageParams, Depends(page_params)]
Ctx = Annotated[AppContext, Depends(get_ctx)]
DeliveryStatus = Literal["pending", "succeeded", "failed"]
# On the routes that send an endpoint events (or choose where they go): beside webhooks:manage,
# the key needs the scope that reads each event type's data (a 403 names what is missing).
EVENT_TYPE_SCOPES: dict[str, Any] = {
    "x-event-type-scopes": {t: s.value for t, s in event_types.READ_SCOPES.items()}
}


@router.post("/webhookEndpoints", status_code=201, openapi_extra=EVENT_TYPE_SCOPES)
@raises(UrlRefused)
async def create_endpoint(
    body: WebhookEndpointCreate, session: Session, principal: Manager, ctx: Ctx
) -> WebhookEndpointCreated:
    """Every event of the workspace written from now on (of `eventTypes`) is POSTed to `url`,
    signed with `secret` as the Standard Webhooks spec defines. The secret is shown here only.

    The key also needs the read scope of every type subscribed (`x-event-type-scopes`;
    `[]` is every type)."""
    endpoint = await service.create(
        session,
        workspace_id=workspace_id_of(principal),
        body=body,
        allow_private=ctx.settings.webhook_allow_private,
        scopes=principal.scopes,
        now=ctx.clock.now(),
    )
    return WebhookEndpointCreated(
        **WebhookEndpointOut.of(endpoint).model_dump(), secret=endpoint.secret
    )


@router.get("/webhookEndpoints")
async def list_endpoints(
    session: Session, principal: Manager, params: Pages, enabled: bool | None = None
) -> Page[WebhookEndpointOut]:
    stmt = repository.list_endpoints(workspace_id=workspace_id_of(principal), enabled=enabled)
    result = await paginate(session, stmt, params, WebhookEndpoint.id)
    return result.to_page([WebhookEndpointOut.of(e) for e in result.items])


@router.get("/webhookEndpoints/{endpoint_id}")
async def get_endpoint(
    endpoint_id: str, session: Session, principal: Manager
) -> WebhookEndpointOut:
    endpoint = await service.get(
        session, workspace_id=workspace_id_of(principal), endpoint_id=endpoint_id
    )
    return WebhookEndpointOut.of(endpoint)


@router.patch("/webhookEndpoints/{endpoint_id}", openapi_extra=EVENT_TYPE_SCOPES)
@raises(UrlRefused)
async def update_endpoint(
    endpoint_id: str, body: WebhookEndpointUpdate, session: Session, principal: Manager, ctx: Ctx
) -> WebhookEndpointOut:
    """Changing `url` or `eventTypes` also needs the read scope of every type the endpoint then
    receives (`x-event-type-scopes`)."""
    endpoint = await service.update(
        session,
        workspace_id=workspace_id_of(principal),
        endpoint_id=endpoint_id,
        body=body,
        allow_private=ctx.settings.webhook_allow_private,
        scopes=principal.scopes,
        now=ctx.clock.now(),
    )
    return WebhookEndpointOut.of(endpoint)


@router.delete("/webhookEndpoints/{endpoint_id}", status_code=204)
async def delete_endpoint(endpoint_id: str, session: Session, principal: Manager) -> Response:
    """The endpoint and its delivery log."""
    await service.delete(session, workspace_id=workspace_id_of(principal), endpoint_id=endpoint_id)
    return Response(status_code=204)


@router.post("/webhookEndpoints/{endpoint_id}/rotateSecret")
async def rotate_secret(
    endpoint_id: str,
    session: Session,
    principal: Manager,
    ctx: Ctx,
    body: RotateSecret | None = None,
) -> SecretRotated:
    """A new secret signs from now on; the old one signs too until `previousSecretExpiresAt`
    (each delivery carries both signatures meanwhile)."""
    endpoint = await service.rotate_secret(
        session,
        workspace_id=workspace_id_of(principal),
        endpoint_id=endpoint_id,
        body=body or RotateSecret(),
        default_overlap_seconds=ctx.settings.webhook_secret_overlap_seconds,
        now=ctx.clock.now(),
    )
    return SecretRotated(
        secret=endpoint.secret, previous_secret_expires_at=endpoint.previous_secret_expires_at
    )


@router.get("/webhookEndpoints/{endpoint_id}/deliveries")
async def list_deliveries(
    endpoint_id: str,
    session: Session,
    principal: Manager,
    params: Pages,
    status: DeliveryStatus | None = None,
    event_type: Annotated[str | None, Query(alias="eventType", max_length=80)] = None,
) -> Page[WebhookDeliveryOut]:
    """The endpoint's deliveries, oldest first, each with every attempt (time, status code,
    latency, the start of the answer)."""
    workspace_id = workspace_id_of(principal)
    await service.get(session, workspace_id=workspace_id, endpoint_id=endpoint_id)
    stmt = repository.list_deliveries(
        workspace_id=workspace_id, endpoint_id=endpoint_id, status=status, event_type=event_type
    )
    result = await paginate(session, stmt, params, WebhookDelivery.id)
    attempts = await service.attempts_of(session, result.items)
    return result.to_page([WebhookDeliveryOut.of(d, attempts[d.id]) for d in result.items])


@router.post("/webhookEndpoints/{endpoint_id}/test", status_code=202)
async def send_test(
    endpoint_id: str, session: Session, principal: Manager, ctx: Ctx
) -> WebhookDeliveryOut:
    """Queue a `webhook.test` event for this endpoint only (it carries no workspace data, so
    `webhooks:manage` suffices)."""
    delivery = await service.send_test(
        session,
        workspace_id=workspace_id_of(principal),
        endpoint_id=endpoint_id,
        now=ctx.clock.now(),
    )
    return WebhookDeliveryOut.of(delivery, [])


@router.post(
    "/webhookEndpoints/{endpoint_id}/replay", status_code=202, openapi_extra=EVENT_TYPE_SCOPES
)
@own_transactions
async def replay(
    endpoint_id: str, body: Replay, request: Request, principal: Manager
) -> ReplayQueued:
    """Send again, in order, the events of a period that the endpoint subscribes to. The key
    also needs the read scope of every type the endpoint receives (`x-event-type-scopes`).

    Queued in slices, each its own short transaction (a long period must not hold back the
    event feed); an interrupted replay may have queued part of the period: replay it again."""
    ctx = app_context(request)
    outcome = await idempotency.begin(
        ctx,
        scope=principal.idempotency_scope,
        key=request.headers.get("idempotency-key"),
        fingerprint=idempotency.fingerprint(
            request.method, request.url.path, request.url.query, await request.body()
        ),
    )
    if isinstance(outcome, Response):
        return outcome  # type: ignore[return-value]  # the first response, as sent
    guard = outcome

    async def finish(session: AsyncSession, count: int) -> None:
        await guard.complete(session, _replayed(count))  # in the last slice's transaction

    async with guard:
        count = await service.replay(
            ctx.db,
            workspace_id=workspace_id_of(principal),
            endpoint_id=endpoint_id,
            body=body,
            scopes=principal.scopes,
            now=ctx.clock.now(),
            finish=finish,
        )
    return _replayed(count)  # type: ignore[return-value]


def _replayed(count: int) -> Response:
    return Response(
        ReplayQueued(deliveries=count).model_dump_json(by_alias=True),
        status_code=202,
        media_type="application/json",
    )


@router.get("/webhookDeliveries/{delivery_id}")
async def get_delivery(
    delivery_id: str, session: Session, principal: Manager
) -> WebhookDeliveryOut:
    delivery = await service.get_delivery(
        session, workspace_id=workspace_id_of(principal), delivery_id=delivery_id
    )
    attempts = await service.attempts_of(session, [delivery])
    return WebhookDeliveryOut.of(delivery, attempts[delivery.id])


@router.post(
    "/webhookDeliveries/{delivery_id}/retry", status_code=202, openapi_extra=EVENT_TYPE_SCOPES
)
@raises(DeliverySucceeded)
async def retry_delivery(
    delivery_id: str, session: Session, principal: Manager, ctx: Ctx
) -> WebhookDeliveryOut:
    """Attempt the delivery again now (a failed one gets one more attempt). The key also needs
    the read scope of the delivery's event type (`x-event-type-scopes`)."""
    delivery = await service.retry(
        session,
        workspace_id=workspace_id_of(principal),
        delivery_id=delivery_id,
        scopes=principal.scopes,
        now=ctx.clock.now(),
    )
    attempts = await service.attempts_of(session, [delivery])
    return WebhookDeliveryOut.of(delivery, attempts[delivery.id])

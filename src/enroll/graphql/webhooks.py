"""Webhook endpoints and their deliveries (REST: /v1/webhookEndpoints…, /v1/webhookDeliveries…)
and the workspace's signing secret (REST: POST /v1/workspace/signingSecret), over the same
service functions and scopes.

Secrets appear once, as in REST: an endpoint's in what createWebhookEndpoint and
rotateWebhookSecret answer (``WebhookEndpoint`` has no secret field), the workspace's in what
signingSecret answers. Subscribing, replaying and retrying also need the scope that reads each
event type's data; the services refuse that (403) as they do for REST.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import TypeVar

import strawberry
from graphql import FieldNode
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID, UNSET

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.errors import FieldError
from enroll.graphql.common import Info, connection, mutate, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import field, mutation
from enroll.graphql.inputs import check_text, invalid, parse, wire
from enroll.graphql.types import Connection, fields_of
from enroll.models import WebhookAttempt as AttemptRow
from enroll.models import WebhookDelivery as DeliveryRow
from enroll.models import WebhookEndpoint as EndpointRow
from enroll.webhook import repository as webhooks_repo
from enroll.webhook import service as webhooks
from enroll.webhook.schemas import (
    Replay,
    RotateSecret,
    WebhookAttemptOut,
    WebhookDeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
)
from enroll.workspace import service as workspaces

T = TypeVar("T")


@strawberry.enum(description="A delivery's state (REST: status).", graphql_name_from="value")
class WebhookDeliveryStatus(Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@strawberry.type(description="A webhook endpoint, never its secret (REST: WebhookEndpointOut).")
class WebhookEndpoint:
    id: ID
    url: str
    description: str | None
    event_types: list[str] = strawberry.field(
        description="Types received, exactly or by prefix (`enrollment.*`); [] for all."
    )
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until then deliveries carry a signature by the secret before the rotation."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: EndpointRow) -> WebhookEndpoint:
        return cls(**fields_of(WebhookEndpointOut.of(row)))


@strawberry.type(description="A new endpoint and its secret, shown only in this answer.")
class WebhookEndpointCreated:
    endpoint: WebhookEndpoint
    secret: str = strawberry.field(description="whsec_…; shown here and on rotation only.")


@strawberry.type(description="What rotateWebhookSecret answers (REST: SecretRotated).")
class WebhookSecretRotated:
    secret: str = strawberry.field(description="The new secret; shown only here.")
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="The old secret signs too until then (null: it stopped at once)."
    )


@strawberry.type(description="One HTTP attempt of a delivery (REST: WebhookAttemptOut).")
class WebhookAttempt:
    id: ID
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None

    @classmethod
    def of(cls, out: WebhookAttemptOut) -> WebhookAttempt:
        return cls(**fields_of(out))


@strawberry.type(description="One event's delivery to an endpoint (REST: WebhookDeliveryOut).")
class WebhookDelivery:
    id: ID
    endpoint_id: ID
    event_id: ID
    event_type: str
    status: WebhookDeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    attempts: list[WebhookAttempt] = strawberry.field(description="Every attempt, oldest first.")

    @classmethod
    def of(cls, row: DeliveryRow, attempts: list[AttemptRow]) -> WebhookDelivery:
        out = WebhookDeliveryOut.of(row, attempts)
        return cls(
            **fields_of(out, exclude={"status", "attempts"}),
            status=WebhookDeliveryStatus(out.status),
            attempts=[WebhookAttempt.of(a) for a in out.attempts],
        )


@strawberry.type(description="What replayWebhookEvents queued (REST: ReplayQueued).")
class WebhookReplayQueued:
    deliveries: int = strawberry.field(description="Deliveries queued, one per matching event.")


@strawberry.input(description="A new endpoint (REST: WebhookEndpointCreate).")
class WebhookEndpointCreateInput:
    url: str = strawberry.field(description="https:// with a host name.")
    description: str | None = UNSET
    event_types: list[str] | None = strawberry.field(
        default=UNSET, description="Exactly or by prefix (`enrollment.*`); [] (the default): all."
    )
    enabled: bool | None = UNSET
    secret: str | None = strawberry.field(
        default=UNSET, description="whsec_…; generated when not given."
    )


@strawberry.input(
    description="A change to an endpoint (REST: WebhookEndpointUpdate); null clears description."
)
class WebhookEndpointUpdateInput:
    url: str | None = UNSET
    description: str | None = UNSET
    event_types: list[str] | None = UNSET
    enabled: bool | None = strawberry.field(
        default=UNSET, description="true also clears an automatic disabling."
    )


@strawberry.input(description="How to rotate (REST: RotateSecret).")
class WebhookSecretRotateInput:
    secret: str | None = strawberry.field(
        default=UNSET, description="whsec_…; generated when not given."
    )
    overlap_seconds: int | None = strawberry.field(
        default=UNSET,
        description="How long the old secret keeps signing too (default: "
        "ENROLL_WEBHOOK_SECRET_OVERLAP_SECONDS).",
    )


@strawberry.input(description="The period to send again (REST: Replay).")
class WebhookReplayInput:
    since: datetime = strawberry.field(description="Events that occurred at or after this time…")
    until: datetime | None = strawberry.field(default=UNSET, description="…and before this one.")


def _no_store(info: Info) -> None:
    """An answer holding a secret is kept by no cache (REST's signing secret says so too)."""
    response = info_context(info).response
    if response is not None:
        response.headers["Cache-Control"] = "no-store"


def _without_attempts(row: DeliveryRow) -> WebhookDelivery:
    return WebhookDelivery.of(row, [])


async def _delivery(session: AsyncSession, row: DeliveryRow) -> WebhookDelivery:
    attempts = await webhooks.attempts_of(session, [row])
    return WebhookDelivery.of(row, attempts[row.id])


@strawberry.type
class WebhooksQuery:
    @field("A webhook endpoint (scope webhooks:manage).", Scope.WEBHOOKS_MANAGE)
    async def webhook_endpoint(self, info: Info, id: ID) -> WebhookEndpoint | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.WEBHOOKS_MANAGE)
        endpoint_id = ref(id)

        async def work(session: AsyncSession) -> WebhookEndpoint:
            return WebhookEndpoint.of(
                await webhooks.get(session, workspace_id=workspace_id, endpoint_id=endpoint_id)
            )

        return await ctx.read(work)

    @field(
        "The workspace's webhook endpoints, by id (scope webhooks:manage).",
        Scope.WEBHOOKS_MANAGE,
    )
    async def webhook_endpoints(
        self, info: Info, enabled: bool | None = None, first: int = 20, after: str | None = None
    ) -> Connection[WebhookEndpoint]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.WEBHOOKS_MANAGE)
        stmt = webhooks_repo.list_endpoints(workspace_id=workspace_id, enabled=enabled)
        return await connection(
            ctx, stmt, EndpointRow.id, WebhookEndpoint.of, first=first, after=after
        )

    @field(
        "An endpoint's deliveries, oldest first, each with every attempt (scope webhooks:manage).",
        Scope.WEBHOOKS_MANAGE,
    )
    async def webhook_deliveries(
        self,
        info: Info,
        endpoint_id: ID,
        status: WebhookDeliveryStatus | None = None,
        event_type: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.WEBHOOKS_MANAGE)
        check_text("eventType", event_type, max_length=80)
        endpoint = ref(endpoint_id)
        async with ctx.use() as session:  # another workspace's endpoint: not_found, as REST
            await webhooks.get(session, workspace_id=workspace_id, endpoint_id=endpoint)
        stmt = webhooks_repo.list_deliveries(
            workspace_id=workspace_id,
            endpoint_id=endpoint,
            status=status.value if status else None,
            event_type=event_type,
        )
        page = await connection(
            ctx, stmt, DeliveryRow.id, _without_attempts, first=first, after=after
        )
        # The page's attempts in one query, as REST reads them.
        async with ctx.use() as session:
            attempts = await webhooks_repo.attempts_of(session, [e.node.id for e in page.edges])
        for edge in page.edges:
            edge.node.attempts = [
                WebhookAttempt.of(WebhookAttemptOut.of(a)) for a in attempts[edge.node.id]
            ]
        return page

    @field("A webhook delivery with its attempts (scope webhooks:manage).", Scope.WEBHOOKS_MANAGE)
    async def webhook_delivery(self, info: Info, id: ID) -> WebhookDelivery | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.WEBHOOKS_MANAGE)
        delivery_id = ref(id)

        async def work(session: AsyncSession) -> WebhookDelivery:
            row = await webhooks.get_delivery(
                session, workspace_id=workspace_id, delivery_id=delivery_id
            )
            return await _delivery(session, row)

        return await ctx.read(work)


def _alone(info: Info) -> None:
    """Refuse (422) an operation with other root fields than this one: they would share its
    transactions, or its own would wait behind theirs (one writer on SQLite)."""
    selections = info.operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        raise invalid(
            [
                FieldError(
                    field=info.field_name,
                    message="Runs in transactions of its own: send it as the only field of "
                    "its operation.",
                )
            ]
        )


async def _own_transactions(info: Info, work: Callable[[Principal], Awaitable[T]]) -> T:
    """Run a mutation that commits as it goes (``work`` opens its transactions), outside the
    request's one transaction, which it never opens; a failure still makes ``data`` null."""
    ctx = info_context(info)
    try:
        _alone(info)
        return await work(await ctx.principal(Scope.WEBHOOKS_MANAGE))
    except BaseException:
        ctx.mutation_failed = True
        raise


@strawberry.type
class WebhooksMutation:
    @mutation(
        "Add an endpoint: every event written from now on (of eventTypes) is POSTed to url, "
        "signed with the secret, which is answered here only (scope webhooks:manage, and the "
        "read scope of every type received).",
        Scope.WEBHOOKS_MANAGE,
    )
    async def create_webhook_endpoint(
        self, info: Info, input: WebhookEndpointCreateInput
    ) -> WebhookEndpointCreated:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> WebhookEndpointCreated:
            body = parse(WebhookEndpointCreate, wire(input))
            endpoint = await webhooks.create(
                session,
                workspace_id=principal.workspace_id or "",
                body=body,
                allow_private=ctx.app.settings.webhook_allow_private,
                scopes=principal.scopes,
                now=ctx.now(),
            )
            _no_store(info)
            return WebhookEndpointCreated(
                endpoint=WebhookEndpoint.of(endpoint), secret=endpoint.secret
            )

        return await mutate(info, Scope.WEBHOOKS_MANAGE, work)

    @mutation(
        "Change an endpoint; a new url or eventTypes also needs the read scope of every type "
        "it then receives (scope webhooks:manage).",
        Scope.WEBHOOKS_MANAGE,
    )
    async def update_webhook_endpoint(
        self, info: Info, id: ID, input: WebhookEndpointUpdateInput
    ) -> WebhookEndpoint:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> WebhookEndpoint:
            body = parse(WebhookEndpointUpdate, wire(input))
            endpoint = await webhooks.update(
                session,
                workspace_id=principal.workspace_id or "",
                endpoint_id=ref(id),
                body=body,
                allow_private=ctx.app.settings.webhook_allow_private,
                scopes=principal.scopes,
                now=ctx.now(),
            )
            return WebhookEndpoint.of(endpoint)

        return await mutate(info, Scope.WEBHOOKS_MANAGE, work)

    @mutation(
        "Delete an endpoint and its delivery log; answers its id (scope webhooks:manage).",
        Scope.WEBHOOKS_MANAGE,
    )
    async def delete_webhook_endpoint(self, info: Info, id: ID) -> ID:
        async def work(session: AsyncSession, principal: Principal) -> ID:
            endpoint_id = ref(id)
            await webhooks.delete(
                session, workspace_id=principal.workspace_id or "", endpoint_id=endpoint_id
            )
            return ID(endpoint_id)

        return await mutate(info, Scope.WEBHOOKS_MANAGE, work)

    @mutation(
        "A new secret signs from now on; the old one signs too until previousSecretExpiresAt "
        "(scope webhooks:manage).",
        Scope.WEBHOOKS_MANAGE,
    )
    async def rotate_webhook_secret(
        self, info: Info, id: ID, input: WebhookSecretRotateInput | None = None
    ) -> WebhookSecretRotated:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> WebhookSecretRotated:
            body = parse(RotateSecret, wire(input) if input is not None else {})
            endpoint = await webhooks.rotate_secret(
                session,
                workspace_id=principal.workspace_id or "",
                endpoint_id=ref(id),
                body=body,
                default_overlap_seconds=ctx.app.settings.webhook_secret_overlap_seconds,
                now=ctx.now(),
            )
            _no_store(info)
            return WebhookSecretRotated(
                secret=endpoint.secret,
                previous_secret_expires_at=endpoint.previous_secret_expires_at,
            )

        return await mutate(info, Scope.WEBHOOKS_MANAGE, work)

    @mutation(
        "Queue a webhook.test event for this endpoint only; answers its delivery "
        "(scope webhooks:manage).",
        Scope.WEBHOOKS_MANAGE,
    )
    async def test_webhook_endpoint(self, info: Info, id: ID) -> WebhookDelivery:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> WebhookDelivery:
            delivery = await webhooks.send_test(
                session,
                workspace_id=principal.workspace_id or "",
                endpoint_id=ref(id),
                now=ctx.now(),
            )
            return WebhookDelivery.of(delivery, [])

        return await mutate(info, Scope.WEBHOOKS_MANAGE, work)

    @mutation(
        "Send again, in order, the endpoint's events of a period (scope webhooks:manage, and "
        "the read scope of every type it receives). Queued in slices, each committed by "
        "itself as in REST, so it must be the only field of its operation.",
        Scope.WEBHOOKS_MANAGE,
    )
    async def replay_webhook_events(
        self, info: Info, id: ID, input: WebhookReplayInput
    ) -> WebhookReplayQueued:
        ctx = info_context(info)

        async def work(principal: Principal) -> WebhookReplayQueued:
            count = await webhooks.replay(
                ctx.app.db,
                workspace_id=principal.workspace_id or "",
                endpoint_id=ref(id),
                body=parse(Replay, wire(input)),
                scopes=principal.scopes,
                now=ctx.now(),
            )
            return WebhookReplayQueued(deliveries=count)

        return await _own_transactions(info, work)

    @mutation(
        "Attempt a delivery again now: a failed one gets one more attempt (scope "
        "webhooks:manage, and the read scope of its event type).",
        Scope.WEBHOOKS_MANAGE,
    )
    async def retry_webhook_delivery(self, info: Info, id: ID) -> WebhookDelivery:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> WebhookDelivery:
            delivery = await webhooks.retry(
                session,
                workspace_id=principal.workspace_id or "",
                delivery_id=ref(id),
                scopes=principal.scopes,
                now=ctx.now(),
            )
            return await _delivery(session, delivery)

        return await mutate(info, Scope.WEBHOOKS_MANAGE, work)

    @mutation(
        "The secret that signs the platform's calls to your endpoints (asynchronous "
        "eligibility checks): made on the first call, the same one afterwards "
        "(scope api_keys:manage).",
        Scope.API_KEYS_MANAGE,
    )
    async def signing_secret(self, info: Info) -> str:
        async def work(session: AsyncSession, principal: Principal) -> str:
            _no_store(info)
            return await workspaces.signing_secret(
                session, workspace_id=principal.workspace_id or ""
            )

        return await mutate(info, Scope.API_KEYS_MANAGE, work)

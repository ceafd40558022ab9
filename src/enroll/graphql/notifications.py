"""Notification templates and the notification log (REST: /v1/notificationTemplates,
/v1/notifications), over the same service functions and scopes: templates are read and
written with the program instance scopes, the log with customers:read."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID, UNSET

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.enrollment import notification_templates
from enroll.graphql.common import Info, connection, mutate, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import field, mutation
from enroll.graphql.inputs import check_text, parse, wire
from enroll.graphql.types import Connection, fields_of
from enroll.models import Notification as NotificationRow
from enroll.models import NotificationTemplate as TemplateRow
from enroll.notification import repository as notifications_repo
from enroll.notification import service as notifications
from enroll.notification.schemas import (
    Audience,
    NotificationOut,
    NotificationStatus,
    TemplateCreate,
    TemplateOut,
    TemplateUpdate,
    Trigger,
)

for _enum, _name in (
    (Audience, "NotificationAudience"),
    (Trigger, "NotificationTrigger"),
    (NotificationStatus, "NotificationStatus"),
):
    if not hasattr(_enum, "__strawberry_definition__"):
        strawberry.enum(_enum, name=_name, graphql_name_from="value")


@strawberry.type(description="A notification template (REST: TemplateOut).")
class NotificationTemplate:
    id: ID
    program_instance_id: ID | None = strawberry.field(description="Null: the workspace default.")
    audience: Audience
    trigger: Trigger
    subject: str
    body: str
    recipients: list[str]
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: TemplateRow) -> NotificationTemplate:
        return cls(**fields_of(TemplateOut.of(row)))


@strawberry.type(description="One message of the notification log (REST: NotificationOut).")
class Notification:
    id: ID
    enrollment_id: ID | None
    customer_id: ID | None
    program_instance_id: ID | None
    template_id: ID | None
    audience: Audience
    trigger: Trigger
    channel: str
    recipient: str
    subject: str
    body: str
    status: NotificationStatus
    attempts: int
    error: str | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: NotificationRow) -> Notification:
        return cls(**fields_of(NotificationOut.of(row)))


@strawberry.input(
    description="A new template (REST: TemplateCreate): Jinja2 subject and body, checked "
    "against a sample context (422 invalid_template)."
)
class NotificationTemplateCreateInput:
    program_instance_id: ID | None = UNSET
    audience: Audience
    trigger: Trigger
    subject: str
    body: str
    recipients: list[str] | None = UNSET
    enabled: bool | None = UNSET


@strawberry.input(description="A change to a template (REST: TemplateUpdate).")
class NotificationTemplateUpdateInput:
    subject: str | None = UNSET
    body: str | None = UNSET
    recipients: list[str] | None = UNSET
    enabled: bool | None = UNSET


@strawberry.type
class NotificationsQuery:
    @field("A notification template (scope program_instances:read).", Scope.PROGRAM_INSTANCES_READ)
    async def notification_template(self, info: Info, id: ID) -> NotificationTemplate | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.PROGRAM_INSTANCES_READ)
        template_id = ref(id)

        async def work(session: AsyncSession) -> NotificationTemplate:
            return NotificationTemplate.of(
                await notification_templates.get_template(
                    session, workspace_id=workspace_id, template_id=template_id
                )
            )

        return await ctx.read(work)

    @field(
        "The workspace's notification templates, by id (scope program_instances:read).",
        Scope.PROGRAM_INSTANCES_READ,
    )
    async def notification_templates(
        self,
        info: Info,
        program_instance_id: ID | None = None,
        audience: Audience | None = None,
        trigger: Trigger | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[NotificationTemplate]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.PROGRAM_INSTANCES_READ)
        check_text("programInstanceId", program_instance_id, max_length=100)
        stmt = notifications_repo.search_templates(
            workspace_id=workspace_id,
            instance_id=program_instance_id,
            audience=audience.value if audience else None,
            trigger=trigger.value if trigger else None,
        )
        return await connection(
            ctx, stmt, TemplateRow.id, NotificationTemplate.of, first=first, after=after
        )

    @field("One message of the notification log (scope customers:read).", Scope.CUSTOMERS_READ)
    async def notification(self, info: Info, id: ID) -> Notification | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.CUSTOMERS_READ)
        notification_id = ref(id)

        async def work(session: AsyncSession) -> Notification:
            return Notification.of(
                await notifications.get(
                    session, workspace_id=workspace_id, notification_id=notification_id
                )
            )

        return await ctx.read(work)

    @field(
        "The notification log: every message sent, stored, suppressed, failed or queued "
        "(scope customers:read).",
        Scope.CUSTOMERS_READ,
    )
    async def notifications(
        self,
        info: Info,
        enrollment_id: ID | None = None,
        status: NotificationStatus | None = None,
        audience: Audience | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Notification]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.CUSTOMERS_READ)
        check_text("enrollmentId", enrollment_id, max_length=100)
        stmt = notifications_repo.search(
            workspace_id=workspace_id,
            enrollment_id=enrollment_id,
            status=status.value if status else None,
            audience=audience.value if audience else None,
        )
        return await connection(
            ctx, stmt, NotificationRow.id, Notification.of, first=first, after=after
        )


@strawberry.type
class NotificationsMutation:
    @mutation(
        "Add a notification template; one per instance (or default), audience and trigger "
        "(scope program_instances:write).",
        Scope.PROGRAM_INSTANCES_WRITE,
    )
    async def create_notification_template(
        self, info: Info, input: NotificationTemplateCreateInput
    ) -> NotificationTemplate:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> NotificationTemplate:
            body = parse(TemplateCreate, wire(input))
            template = await notification_templates.create_template(
                session, workspace_id=principal.workspace_id or "", body=body, now=ctx.now()
            )
            return NotificationTemplate.of(template)

        return await mutate(info, Scope.PROGRAM_INSTANCES_WRITE, work)

    @mutation(
        "Change a template's subject, body, recipients or enabled (scope program_instances:write).",
        Scope.PROGRAM_INSTANCES_WRITE,
    )
    async def update_notification_template(
        self, info: Info, id: ID, input: NotificationTemplateUpdateInput
    ) -> NotificationTemplate:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> NotificationTemplate:
            body = parse(TemplateUpdate, wire(input))
            template = await notification_templates.update_template(
                session,
                workspace_id=principal.workspace_id or "",
                template_id=ref(id),
                body=body,
                now=ctx.now(),
            )
            return NotificationTemplate.of(template)

        return await mutate(info, Scope.PROGRAM_INSTANCES_WRITE, work)

    @mutation(
        "Delete a template; answers its id (scope program_instances:write).",
        Scope.PROGRAM_INSTANCES_WRITE,
    )
    async def delete_notification_template(self, info: Info, id: ID) -> ID:
        async def work(session: AsyncSession, principal: Principal) -> ID:
            template_id = ref(id)
            await notification_templates.delete_template(
                session, workspace_id=principal.workspace_id or "", template_id=template_id
            )
            return ID(template_id)

        return await mutate(info, Scope.PROGRAM_INSTANCES_WRITE, work)

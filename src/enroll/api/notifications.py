from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.enrollment import notification_templates
from enroll.enrollment.errors import InvalidTemplate, NotificationTemplateExists
from enroll.errors import raises
from enroll.kit.pagination import Page, PageParams, page_params
from enroll.kit.repository import paginate
from enroll.models import Notification, NotificationTemplate
from enroll.notification import repository, service
from enroll.notification.schemas import (
    Audience,
    NotificationOut,
    NotificationStatus,
    TemplateCreate,
    TemplateOut,
    TemplateUpdate,
    Trigger,
)

router = APIRouter(prefix="/v1", tags=["notifications"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Ctx = Annotated[AppContext, Depends(get_ctx)]
Pages = Annotated[PageParams, Depends(page_params)]
TemplateReader = Annotated[Principal, require(Scope.PROGRAM_INSTANCES_READ)]
TemplateWriter = Annotated[Principal, require(Scope.PROGRAM_INSTANCES_WRITE)]
LogReader = Annotated[Principal, require(Scope.CUSTOMERS_READ)]


@router.post("/notificationTemplates", status_code=201)
@raises(InvalidTemplate, NotificationTemplateExists)
async def create_notification_template(
    body: TemplateCreate, session: Session, principal: TemplateWriter, ctx: Ctx, response: Response
) -> TemplateOut:
    """A subject and body (Jinja2, sandboxed) sent to an audience when an enrollment moves to
    `trigger`; without `programInstanceId`, the workspace default. A template that does not
    render against a sample context is refused (422 `invalid_template`); one per instance (or
    default), audience and trigger (409 `notification_template_exists`)."""
    template = await notification_templates.create_template(
        session, workspace_id=workspace_id_of(principal), body=body, now=ctx.clock.now()
    )
    response.headers["Location"] = f"/v1/notificationTemplates/{template.id}"
    return TemplateOut.of(template)


@router.get("/notificationTemplates")
async def list_notification_templates(
    session: Session,
    principal: TemplateReader,
    params: Pages,
    program_instance_id: Annotated[
        str | None, Query(alias="programInstanceId", max_length=100)
    ] = None,
    audience: Annotated[Audience | None, Query()] = None,
    trigger: Annotated[Trigger | None, Query()] = None,
) -> Page[TemplateOut]:
    stmt = repository.search_templates(
        workspace_id=workspace_id_of(principal),
        instance_id=program_instance_id,
        audience=audience.value if audience else None,
        trigger=trigger.value if trigger else None,
    )
    result = await paginate(session, stmt, params, NotificationTemplate.id)
    return result.to_page([TemplateOut.of(t) for t in result.items])


@router.get("/notificationTemplates/{template_id}")
async def get_notification_template(
    template_id: str, session: Session, principal: TemplateReader
) -> TemplateOut:
    template = await notification_templates.get_template(
        session, workspace_id=workspace_id_of(principal), template_id=template_id
    )
    return TemplateOut.of(template)


@router.patch("/notificationTemplates/{template_id}")
@raises(InvalidTemplate)
async def update_notification_template(
    template_id: str, body: TemplateUpdate, session: Session, principal: TemplateWriter, ctx: Ctx
) -> TemplateOut:
    """Change the subject, body, recipients or `enabled` (checked as on create)."""
    template = await notification_templates.update_template(
        session,
        workspace_id=workspace_id_of(principal),
        template_id=template_id,
        body=body,
        now=ctx.clock.now(),
    )
    return TemplateOut.of(template)


@router.delete("/notificationTemplates/{template_id}", status_code=204)
async def delete_notification_template(
    template_id: str, session: Session, principal: TemplateWriter
) -> Response:
    await notification_templates.delete_template(
        session, workspace_id=workspace_id_of(principal), template_id=template_id
    )
    return Response(status_code=204)


@router.get("/notifications")
async def list_notifications(
    session: Session,
    principal: LogReader,
    params: Pages,
    enrollment_id: Annotated[str | None, Query(alias="enrollmentId", max_length=100)] = None,
    status: Annotated[NotificationStatus | None, Query()] = None,
    audience: Annotated[Audience | None, Query()] = None,
) -> Page[NotificationOut]:
    """The notification log: every message sent, stored, suppressed, failed or queued."""
    stmt = repository.search(
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        status=status.value if status else None,
        audience=audience.value if audience else None,
    )
    result = await paginate(session, stmt, params, Notification.id)
    return result.to_page([NotificationOut.of(n) for n in result.items])


@router.get("/notifications/{notification_id}")
async def get_notification(
    notification_id: str, session: Session, principal: LogReader
) -> NotificationOut:
    notification = await service.get(
        session, workspace_id=workspace_id_of(principal), notification_id=notification_id
    )
    return NotificationOut.of(notification)

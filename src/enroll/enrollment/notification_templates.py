"""Notification templates: what an enrollment's status change sends (notification/service.py
renders and queues them). A template is checked on save by rendering it with a sample of the
context a real status change gives it, so it lives beside the enrollment it renders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.customer.schemas import CustomerOut
from enroll.enrollment.errors import InvalidTemplate, NotificationTemplateExists
from enroll.enrollment.schemas import EnrollmentOut
from enroll.errors import FieldError, Unprocessable
from enroll.ids import new_id
from enroll.models import NotificationTemplate
from enroll.notification import repository, templates
from enroll.notification.schemas import Audience, TemplateCreate, TemplateUpdate, Trigger
from enroll.program.schemas import ProgramOut
from enroll.program_instance import service as instances
from enroll.program_instance.schemas import Branding, ProgramInstanceOut, Terms
from enroll.workflows.program_instance import InstanceStatus

# The status an enrollment usually comes from, for the sample context a template is checked with.
_SAMPLE_PREVIOUS = {
    Trigger.ELIGIBLE: "candidate",
    Trigger.INELIGIBLE: "candidate",
    Trigger.SUBMITTED: "eligible",
    Trigger.APPROVED: "submitted",
    Trigger.REJECTED: "submitted",
    Trigger.UNENROLLED: "approved",
    Trigger.CANCELLED: "submitted",
    Trigger.UNPROCESSABLE: "submitted",
}


async def get_template(
    session: AsyncSession, *, workspace_id: str, template_id: str
) -> NotificationTemplate:
    return await repository.templates.require(session, workspace_id=workspace_id, id=template_id)


def sample_context(trigger: Trigger) -> dict[str, Any]:
    """What a template is rendered with on save: every variable and field the real context
    has (see ``context``), with made-up values."""
    enrollment = templates.sample_of(EnrollmentOut)
    enrollment.update(status=trigger.value, eligibilityStatus=trigger.value)
    enrollment["eligibility"]["status"] = trigger.value
    instance = templates.sample_of(ProgramInstanceOut)
    # Stored as their request models dump them: every key present.
    instance.update(
        status=InstanceStatus.ACTIVE,
        branding=templates.sample_of(Branding),
        terms=templates.sample_of(Terms),
    )
    return {
        "enrollment": enrollment,
        "customer": templates.sample_of(CustomerOut),
        "program": templates.sample_of(ProgramOut),
        "programInstance": instance,
        "previousStatus": _SAMPLE_PREVIOUS[trigger],
        "status": trigger.value,
    }


def _check_template(
    *, audience: Audience, trigger: Trigger, subject: str, body: str, recipients: list[str]
) -> None:
    if audience == Audience.ADMINISTRATOR and not recipients:
        raise Unprocessable(
            "An administrator template needs recipients.",
            errors=[FieldError(field="recipients", message="At least one address.")],
        )
    if audience == Audience.CUSTOMER and recipients:
        raise Unprocessable(
            "Customer templates go to the enrollment's address; recipients are for "
            "administrator templates.",
            errors=[FieldError(field="recipients", message="Only for the administrator audience.")],
        )
    try:
        templates.check({"subject": subject, "body": body}, sample_context(trigger))
    except templates.TemplateInvalid as exc:
        raise InvalidTemplate(
            "The template does not render: " + str(exc),
            errors=[FieldError(field=field, message=message) for field, message in exc.errors],
        ) from None


async def create_template(
    session: AsyncSession, *, workspace_id: str, body: TemplateCreate, now: datetime
) -> NotificationTemplate:
    instance_id = None
    if body.program_instance_id is not None:
        instance = await instances.get(
            session, workspace_id=workspace_id, ref=body.program_instance_id
        )
        instance_id = instance.id
    recipients = list(dict.fromkeys(body.recipients))
    _check_template(
        audience=body.audience,
        trigger=body.trigger,
        subject=body.subject,
        body=body.body,
        recipients=recipients,
    )
    await repository.lock_workspace(session, workspace_id=workspace_id)
    existing = await repository.template_id_for(
        session,
        workspace_id=workspace_id,
        instance_id=instance_id,
        audience=body.audience.value,
        trigger=body.trigger.value,
    )
    if existing:
        where = "this program instance" if instance_id else "the workspace default"
        raise NotificationTemplateExists(
            f"{where.capitalize()} already has a {body.audience.value} template for "
            f"{body.trigger.value}; change it instead.",
            notificationTemplateId=existing,
        )
    template = NotificationTemplate(
        id=new_id(),
        workspace_id=workspace_id,
        program_instance_id=instance_id,
        audience=body.audience.value,
        trigger=body.trigger.value,
        subject=body.subject,
        body=body.body,
        recipients=recipients,
        enabled=body.enabled,
        created_at=now,
        updated_at=now,
    )
    session.add(template)
    await session.flush()
    return template


async def update_template(
    session: AsyncSession,
    *,
    workspace_id: str,
    template_id: str,
    body: TemplateUpdate,
    now: datetime,
) -> NotificationTemplate:
    template = await get_template(session, workspace_id=workspace_id, template_id=template_id)
    changes = body.changes()
    if "recipients" in changes:
        changes["recipients"] = list(dict.fromkeys(changes["recipients"]))
    merged = {
        "subject": template.subject,
        "body": template.body,
        "recipients": template.recipients,
    } | {k: v for k, v in changes.items() if k != "enabled"}
    _check_template(
        audience=Audience(template.audience), trigger=Trigger(template.trigger), **merged
    )
    changed = False
    for name, value in changes.items():
        if getattr(template, name) != value:
            setattr(template, name, value)
            changed = True
    if changed:
        template.updated_at = now
        await session.flush()
    return template


async def delete_template(session: AsyncSession, *, workspace_id: str, template_id: str) -> None:
    template = await get_template(session, workspace_id=workspace_id, template_id=template_id)
    await session.delete(template)
    await session.flush()

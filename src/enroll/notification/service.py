"""Notification use cases: the messages an enrollment's status change writes to the notification
log and queues for sending, in the change's transaction. (The templates are managed, and checked
on save, by enrollment/notification_templates.py: what they render is an enrollment.)

Sending is the worker's (``delivery.py``): SMTP is network I/O and never happens inside a
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.customer import repository as customers_repo
from enroll.customer.schemas import CustomerOut
from enroll.ids import new_id
from enroll.job import service as jobs
from enroll.job.registry import Payload
from enroll.models import (
    Customer,
    Enrollment,
    Notification,
    NotificationTemplate,
    ProgramInstance,
)
from enroll.notification import repository, templates
from enroll.notification.schemas import (
    Audience,
    NotificationStatus,
    Trigger,
)
from enroll.program.schemas import ProgramOut
from enroll.program_instance import repository as instances_repo
from enroll.program_instance import service as instances
from enroll.program_instance.schemas import ProgramInstanceOut

SEND_JOB = "notification.send"


class SendPayload(Payload):
    notification_id: str
    job_id: str | None = None  # the job itself (jobs.is_final_attempt)


# With the worker's backoff (1 s, 2 s, 4 s … capped at an hour) the last attempt comes about
# four and a half hours after the first: an SMTP relay down for a while loses nothing.
SEND_ATTEMPTS = 15
CHANNEL = "email"
_TRIGGERS = frozenset(t.value for t in Trigger)
# --- the notification log -------------------------------------------------------------------


async def get(session: AsyncSession, *, workspace_id: str, notification_id: str) -> Notification:
    return await repository.notifications.require(
        session, workspace_id=workspace_id, id=notification_id
    )


# --- the trigger ----------------------------------------------------------------------------


def _chosen(found: Sequence[NotificationTemplate]) -> list[NotificationTemplate]:
    """Per audience, the instance's template, else the workspace default; a disabled one
    (the instance's, which then hides the default) sends nothing."""
    by_audience: dict[str, NotificationTemplate] = {}
    for template in found:
        held = by_audience.get(template.audience)
        if held is None or (held.program_instance_id is None and template.program_instance_id):
            by_audience[template.audience] = template
    return [t for t in by_audience.values() if t.enabled]


async def status_changed(
    session: AsyncSession,
    enrollment: Enrollment,
    snapshot: dict[str, Any],
    *,
    previous: str | None,
    now: datetime,
) -> None:
    """An enrollment moved to a new status (``snapshot``: its REST representation): write the
    notifications its templates ask for and queue their sending, in the caller's transaction.

    Costs one indexed query when no template applies, and none when the request loaded the
    instance by reference and found no template then (the common case: no templates at all).
    """
    if enrollment.status not in _TRIGGERS or instances_repo.without_notification_templates(
        session, enrollment.program_instance_id
    ):
        return
    chosen = _chosen(
        await repository.applicable(
            session,
            workspace_id=enrollment.workspace_id,
            instance_id=enrollment.program_instance_id,
            trigger=enrollment.status,
        )
    )
    if not chosen:
        return
    instance = await instances.get(
        session, workspace_id=enrollment.workspace_id, ref=enrollment.program_instance_id
    )
    customer = (
        await customers_repo.get(
            session, workspace_id=enrollment.workspace_id, customer_id=enrollment.customer_id
        )
        if enrollment.customer_id
        else None
    )
    context = _context(snapshot, customer, instance, previous=previous, status=enrollment.status)
    rows = [
        row
        for template in sorted(chosen, key=lambda t: t.audience)
        for row in _messages(template, context, enrollment, customer, now)
    ]
    await repository.insert_many(session, rows)
    for row in rows:
        if row["status"] == NotificationStatus.QUEUED:
            job_id = new_id()
            await jobs.enqueue(
                session,
                kind=SEND_JOB,
                payload=SendPayload(notification_id=row["id"], job_id=job_id),
                workspace_id=enrollment.workspace_id,
                now=now,
                max_attempts=SEND_ATTEMPTS,
                job_id=job_id,
            )


def _context(
    snapshot: dict[str, Any],
    customer: Customer | None,
    instance: ProgramInstance,
    *,
    previous: str | None,
    status: str,
) -> dict[str, Any]:
    """What a template renders with (sample_context in enrollment/notification_templates.py
    builds the same shape for the check on save)."""
    return {
        "enrollment": snapshot,
        "customer": _dump(CustomerOut.of(customer)) if customer else None,
        "program": _dump(ProgramOut.of(instance.program)),
        "programInstance": _dump(ProgramInstanceOut.of(instance)),
        "previousStatus": previous,
        "status": status,
    }


def _messages(
    template: NotificationTemplate,
    context: dict[str, Any],
    enrollment: Enrollment,
    customer: Customer | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The notification rows one template writes: to the enrollment's address (customer
    templates; suppressed when the customer opted out), or to each recipient."""
    subject, body, error = _render(template, context)
    base = {
        "workspace_id": enrollment.workspace_id,
        "enrollment_id": enrollment.id,
        "customer_id": enrollment.customer_id,
        "program_instance_id": enrollment.program_instance_id,
        "template_id": template.id,
        "audience": template.audience,
        "trigger": template.trigger,
        "channel": CHANNEL,
        "subject": subject,
        "body": body,
        "attempts": 0,
        "error": error,
        "sent_at": None,
        "created_at": now,
        "updated_at": now,
    }
    status = NotificationStatus.FAILED if error else NotificationStatus.QUEUED
    if template.audience != Audience.CUSTOMER:
        return [
            base | {"id": new_id(), "recipient": address, "status": status}
            for address in template.recipients
        ]
    address = enrollment.email or (customer.email if customer else None)
    if customer is not None and customer.notifications_opt_out:
        status = NotificationStatus.SUPPRESSED
    elif not address:
        status, base["error"] = NotificationStatus.FAILED, "No email address."
    return [base | {"id": new_id(), "recipient": address or "", "status": status}]


def _dump(model: CustomerOut | ProgramOut | ProgramInstanceOut) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def _render(template: NotificationTemplate, context: dict[str, Any]) -> tuple[str, str, str | None]:
    """Subject, body and the error that stopped them (a template that checked on save can
    still fail on real data: an attribute of a null address, a limit)."""
    try:
        rendered = templates.render(template.subject, template.body, context)
    except templates.RenderFailed as exc:
        return "", "", f"The template failed to render: {exc}"[:1000]
    return rendered.subject, rendered.body, None

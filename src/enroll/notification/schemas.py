from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from enroll.kit.fields import Email, Reference
from enroll.kit.schemas import ApiModel, OutModel, PatchModel
from enroll.models import Notification, NotificationTemplate
from enroll.workflows.enrollment import Status

SubjectSource = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2_000),
    Field(description="Jinja2 template of the subject line (see docs/notifications.md)."),
]
BodySource = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50_000),
    Field(description="Jinja2 template of the plain-text body (see docs/notifications.md)."),
]
Recipients = Annotated[
    list[Email],
    Field(
        max_length=50,
        description="Administrators' addresses: required for the administrator audience, "
        "refused for the customer audience (customers get the enrollment's address).",
    ),
]


class Audience(StrEnum):
    CUSTOMER = "customer"
    ADMINISTRATOR = "administrator"


class Trigger(StrEnum):
    """The enrollment status a change moves to. ``candidate`` is not one: an enrollment is
    evaluated as it is created and never rests there."""

    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    UNENROLLED = "unenrolled"
    CANCELLED = "cancelled"
    UNPROCESSABLE = "unprocessable"


assert {t.value for t in Trigger} == {s.value for s in Status} - {Status.CANDIDATE.value}


class NotificationStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    STORED = "stored"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


def _recipients_by_audience(schema: dict[str, Any]) -> None:
    """The rule of service._check_template: administrator templates name recipients,
    customer templates none."""
    schema["oneOf"] = [
        {
            "properties": {"audience": {"const": "administrator"}, "recipients": {"minItems": 1}},
            "required": ["recipients"],
        },
        {"properties": {"audience": {"const": "customer"}, "recipients": {"maxItems": 0}}},
    ]


class TemplateCreate(ApiModel, json_schema_extra=_recipients_by_audience):
    program_instance_id: Reference | None = Field(
        None,
        description="The program instance (id or slug); none: the workspace's default for "
        "this audience and trigger, used by instances without a template of their own.",
    )
    audience: Audience
    trigger: Trigger
    subject: SubjectSource
    body: BodySource
    recipients: Recipients = []
    enabled: bool = Field(
        True,
        description="A disabled instance template sends nothing for that instance, "
        "not even the workspace default.",
    )


class TemplateUpdate(PatchModel):
    """The instance, audience and trigger are a template's identity: delete and create to
    change them."""

    subject: SubjectSource | None = None
    body: BodySource | None = None
    recipients: Recipients | None = None
    enabled: bool | None = None


class TemplateOut(OutModel):
    id: str
    program_instance_id: str | None = Field(description="Null: the workspace default.")
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
    def of(cls, t: NotificationTemplate) -> TemplateOut:
        return cls(
            id=t.id,
            program_instance_id=t.program_instance_id,
            audience=Audience(t.audience),
            trigger=Trigger(t.trigger),
            subject=t.subject,
            body=t.body,
            recipients=t.recipients,
            enabled=t.enabled,
            version=t.version,
            created_at=t.created_at,
            updated_at=t.updated_at,
        )


class NotificationOut(OutModel):
    id: str
    enrollment_id: str | None
    customer_id: str | None
    program_instance_id: str | None
    template_id: str | None
    audience: Audience
    trigger: Trigger
    channel: str = Field(description="Always `email` for now.")
    recipient: str
    subject: str
    body: str
    status: NotificationStatus = Field(
        description="queued (to be sent), sent, stored (no SMTP server configured: kept here), "
        "suppressed (the customer opted out), failed (see `error`)."
    )
    attempts: int = Field(description="Delivery attempts made so far.")
    error: str | None = Field(description="Why the last attempt failed (also while retrying).")
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        return cls(
            id=n.id,
            enrollment_id=n.enrollment_id,
            customer_id=n.customer_id,
            program_instance_id=n.program_instance_id,
            template_id=n.template_id,
            audience=Audience(n.audience),
            trigger=Trigger(n.trigger),
            channel=n.channel,
            recipient=n.recipient,
            subject=n.subject,
            body=n.body,
            status=NotificationStatus(n.status),
            attempts=n.attempts,
            error=n.error,
            sent_at=n.sent_at,
            created_at=n.created_at,
            updated_at=n.updated_at,
        )

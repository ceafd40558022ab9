"""Webhook endpoints, deliveries and attempts on the wire."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, WithJsonSchema, field_validator

from enroll.kit import outbound
from enroll.kit.fields import HttpUrl, Timestamp
from enroll.kit.schemas import ApiModel, OutModel, PatchModel
from enroll.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from enroll.webhook import event_types
from enroll.workflows.queues import DeliveryStatus

Description = Annotated[str, StringConstraints(max_length=500)]
EventType = Annotated[
    str,
    StringConstraints(min_length=1, max_length=80),
    WithJsonSchema({"type": "string", "enum": event_types.accepted_patterns()}),
]
EventTypes = Annotated[list[EventType], Field(max_length=100)]
# whsec_ and the base64 of 24 to 64 bytes (see _secret).
_B64 = "[A-Za-z0-9+/]"
SECRET_PATTERN = (
    f"^whsec_(({_B64}{{4}}){{8,21}}({_B64}{{2}}==)?|({_B64}{{4}}){{8,20}}{_B64}{{3}}=)$"
)
Secret = Annotated[
    str,
    StringConstraints(min_length=10, max_length=100),
    WithJsonSchema({"type": "string", "pattern": SECRET_PATTERN}),
]
MAX_OVERLAP_SECONDS = 7 * 86400


def _secret(value: str | None) -> str | None:
    """``whsec_`` and the base64 of 24 to 64 random bytes, as the Standard Webhooks spec has it."""
    if value is None:
        return value
    if not value.startswith(outbound.SECRET_PREFIX):
        raise ValueError(f"Must start with {outbound.SECRET_PREFIX}.")
    try:
        raw = base64.b64decode(value[len(outbound.SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("The part after whsec_ must be base64.") from None
    if not 24 <= len(raw) <= 64:
        raise ValueError("Must encode 24 to 64 bytes.")
    return value


def _types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return value
    unknown = event_types.unknown(value)
    if unknown:
        raise ValueError(f"Unknown event types: {', '.join(unknown)} (see docs/webhooks.md).")
    return sorted(set(value))


class WebhookEndpointCreate(ApiModel):
    url: HttpUrl = Field(
        description="https:// (plain http only where ENROLL_WEBHOOK_ALLOW_PRIVATE is set)."
    )
    description: Description | None = None
    event_types: EventTypes = Field(
        [], description="Types to receive, exactly or by prefix (`enrollment.*`); [] for all."
    )
    enabled: bool = True
    secret: Secret | None = Field(None, description="whsec_…; generated when not given.")

    _checked_types = field_validator("event_types")(lambda cls, v: _types(v))
    _checked_secret = field_validator("secret")(lambda cls, v: _secret(v))


class WebhookEndpointUpdate(PatchModel):
    NULLABLE = frozenset({"description"})

    url: HttpUrl | None = None
    description: Description | None = None
    event_types: EventTypes | None = None
    enabled: bool | None = Field(None, description="true also clears an automatic disabling.")

    _checked_types = field_validator("event_types")(lambda cls, v: _types(v))


class RotateSecret(ApiModel):
    secret: Secret | None = Field(None, description="whsec_…; generated when not given.")
    overlap_seconds: Annotated[int, Field(ge=0, le=MAX_OVERLAP_SECONDS)] | None = Field(
        None,
        description="How long the old secret keeps signing too (default: "
        "ENROLL_WEBHOOK_SECRET_OVERLAP_SECONDS).",
    )

    _checked_secret = field_validator("secret")(lambda cls, v: _secret(v))


class Replay(ApiModel):
    since: Timestamp = Field(description="Re-send the events that occurred at or after this time.")
    until: Timestamp | None = Field(None, description="…and before this time.")


class WebhookEndpointOut(OutModel):
    id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until then deliveries carry a signature by the secret before the rotation."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, e: WebhookEndpoint) -> WebhookEndpointOut:
        return cls(
            id=e.id,
            url=e.url,
            description=e.description,
            event_types=e.event_types,
            enabled=e.enabled,
            disabled_reason=e.disabled_reason,
            failing_since=e.failing_since,
            previous_secret_expires_at=e.previous_secret_expires_at if e.previous_secret else None,
            version=e.version,
            created_at=e.created_at,
            updated_at=e.updated_at,
        )


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(description="Shown here and on rotation only.")


class SecretRotated(OutModel):
    secret: str
    previous_secret_expires_at: datetime | None


class WebhookAttemptOut(OutModel):
    id: str
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None

    @classmethod
    def of(cls, a: WebhookAttempt) -> WebhookAttemptOut:
        return cls(
            id=a.id,
            attempted_at=a.attempted_at,
            status_code=a.status_code,
            latency_ms=a.latency_ms,
            response_excerpt=a.response_excerpt,
            error=a.error,
        )


class WebhookDeliveryOut(OutModel):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: str = Field(description="pending, succeeded or failed.")
    attempt_count: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    attempts: list[WebhookAttemptOut]

    @classmethod
    def of(cls, d: WebhookDelivery, attempts: list[WebhookAttempt]) -> WebhookDeliveryOut:
        return cls(
            id=d.id,
            endpoint_id=d.endpoint_id,
            event_id=d.event_id,
            event_type=d.event_type,
            status=d.status,
            attempt_count=d.attempts,
            next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.PENDING else None,
            delivered_at=d.delivered_at,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            created_at=d.created_at,
            attempts=[WebhookAttemptOut.of(a) for a in attempts],
        )


class ReplayQueued(OutModel):
    deliveries: int = Field(description="Deliveries queued, one per matching event.")

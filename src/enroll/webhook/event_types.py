"""Every event type the platform writes, for webhook subscriptions (``eventTypes``) and the docs.

A subscription names types exactly or by prefix (``enrollment.*``); an empty list is every
type. ``webhook.test`` is never delivered from the feed: only the test route sends it, to the
endpoint it names.
"""

from __future__ import annotations

from collections.abc import Iterable

from enroll.auth.scopes import Scope
from enroll.workflows.enrollment import Status

WEBHOOK_TEST = "webhook.test"
ENDPOINT_DISABLED = "webhook_endpoint.disabled"

EVENT_TYPES: dict[str, str] = {
    "enrollment.created": "An enrollment was created (API, request or import).",
    "enrollment.updated": "An enrollment's fields or eligibility changed.",
    "enrollment.deleted": "An enrollment was deleted.",
    "enrollment.status_changed": "An enrollment changed status (any status).",
    **{
        f"enrollment.{status.value}": f"An enrollment became {status.value}."
        for status in Status
        if status != Status.CANDIDATE
    },
    "enrollment.requirement_met": "One of an enrollment's requirements became met "
    "(`requirement`: its key, kind, label, stage and detail).",
    "enrollment.requirements_completed": "Every requirement of an enrollment is met (or does "
    "not apply).",
    "enrollment.service_activated": "An enrollment's market enrollment (the switch to its "
    "plan) completed: service is active (serviceStartDate).",
    "service_task.state_changed": "A service task (enrollment or unenrollment request) moved.",
    "setup_action.started": "A device setup action started.",
    "subscription.activated": "A program subscription became active.",
    "subscription.deactivated": "A program subscription ended.",
    "device.activated": "A device went live in a program.",
    "device.deactivated": "A device left a program.",
    "service_location.usage_received": "A service location's usage readings arrived "
    "(some new or changed).",
    "import.completed": "A bulk import finished.",
    "import.failed": "A bulk import stopped on an error.",
    ENDPOINT_DISABLED: "A webhook endpoint was disabled (410 Gone, or failing for days).",
    WEBHOOK_TEST: "Sent by POST /v1/webhookEndpoints/{id}/test to that endpoint only.",
}


# The scope that reads the data an event type carries, by the type's prefix. Subscribing an
# endpoint to a type (or moving it to another URL), replaying and retrying it need that scope
# besides webhooks:manage: a webhook must not show what the key could not read. Service tasks,
# setup actions, subscriptions and devices are read with enrollments:read.
_READ_SCOPE_BY_PREFIX: dict[str, Scope] = {
    "enrollment.": Scope.ENROLLMENTS_READ,
    "service_task.": Scope.ENROLLMENTS_READ,
    "setup_action.": Scope.ENROLLMENTS_READ,
    "subscription.": Scope.ENROLLMENTS_READ,
    "device.": Scope.ENROLLMENTS_READ,
    "service_location.": Scope.LOCATIONS_READ,
    "import.": Scope.IMPORTS_READ,
    "webhook_endpoint.": Scope.WEBHOOKS_MANAGE,
    "webhook.": Scope.WEBHOOKS_MANAGE,
}
READ_SCOPES: dict[str, Scope] = {
    t: next(s for p, s in _READ_SCOPE_BY_PREFIX.items() if t.startswith(p)) for t in EVENT_TYPES
}  # a type without a prefix above fails here, at import


def read_scopes(patterns: Iterable[str]) -> set[Scope]:
    """The scopes that read every type these ``eventTypes`` match ([] matches every type)."""
    patterns = list(patterns)
    return {
        s for t, s in READ_SCOPES.items() if not patterns or any(matches(p, t) for p in patterns)
    }


def accepted_patterns() -> list[str]:
    """Every value ``unknown`` lets through: each type, and each of its dotted prefixes + ``*``
    (the OpenAPI enum of ``eventTypes``)."""
    prefixes = {t[: i + 1] + "*" for t in EVENT_TYPES for i, c in enumerate(t) if c == "."}
    return sorted(set(EVENT_TYPES) | prefixes)


def unknown(patterns: list[str]) -> list[str]:
    """The patterns that match no type the platform writes."""
    return [p for p in patterns if not any(matches(p, t) for t in EVENT_TYPES)]


def matches(pattern: str, event_type: str) -> bool:
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def subscribed(patterns: list[str], event_type: str) -> bool:
    """Whether an endpoint with these ``eventTypes`` receives this type from the feed."""
    if event_type == WEBHOOK_TEST:
        return False
    return not patterns or any(matches(p, event_type) for p in patterns)

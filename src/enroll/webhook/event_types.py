"""Every event type the platform writes, for webhook subscriptions (``eventTypes``) and the docs.

A subscription names types exactly or by prefix (``enrollment.*``); an empty list is every
type. ``webhook.test`` is never delivered from the feed: only the test route sends it, to the
endpoint it names.
"""

from __future__ import annotations

from enroll.enrollment.workflow import Status

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
    "service_task.state_changed": "A service task (enrollment or unenrollment request) moved.",
    "setup_action.started": "A device setup action started.",
    "subscription.activated": "A program subscription became active.",
    "subscription.deactivated": "A program subscription ended.",
    "device.activated": "A device went live in a program.",
    "device.deactivated": "A device left a program.",
    "import.completed": "A bulk import finished.",
    "import.failed": "A bulk import stopped on an error.",
    ENDPOINT_DISABLED: "A webhook endpoint was disabled (410 Gone, or failing for days).",
    WEBHOOK_TEST: "Sent by POST /v1/webhookEndpoints/{id}/test to that endpoint only.",
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

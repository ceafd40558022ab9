"""Program instance lifecycle and whether an instance accepts enrollments (pure)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class InstanceStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"
    ARCHIVED = "archived"


NEXT: dict[InstanceStatus, frozenset[InstanceStatus]] = {
    InstanceStatus.DRAFT: frozenset({InstanceStatus.ACTIVE}),
    InstanceStatus.ACTIVE: frozenset({InstanceStatus.PAUSED, InstanceStatus.CLOSED}),
    InstanceStatus.PAUSED: frozenset({InstanceStatus.ACTIVE, InstanceStatus.CLOSED}),
    InstanceStatus.CLOSED: frozenset({InstanceStatus.ARCHIVED}),
    InstanceStatus.ARCHIVED: frozenset(),
}


def can_move(current: InstanceStatus, target: InstanceStatus) -> bool:
    return target == current or target in NEXT[current]


def why_not_accepting(
    *,
    status: str,
    start_date: date | None,
    end_date: date | None,
    capacity: int | None,
    approved: int | None,
    today: date,
) -> str | None:
    """None when the instance accepts enrollments, else the reason it does not.

    Dates form the period ``[startDate, endDate)`` in UTC; ``approved`` may be None when the
    instance has no capacity (the count is then not needed).
    """
    if status != InstanceStatus.ACTIVE:
        return f"The program instance is {status}, not active."
    if start_date is not None and today < start_date:
        return f"The program instance opens on {start_date.isoformat()}."
    if end_date is not None and today >= end_date:
        return f"The program instance closed on {end_date.isoformat()}."
    return over_capacity(capacity=capacity, approved=approved)


def over_capacity(*, capacity: int | None, approved: int | None) -> str | None:
    if capacity is not None and approved is not None and approved >= capacity:
        return f"The program instance is at capacity ({capacity} approved enrollments)."
    return None

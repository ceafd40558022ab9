"""Whether a plan may be taken: at a location, by an applicant, on a start date (pure).

Quotes use these to sort plans into available and unavailable; creating an enrollment with a
plan (issue 15, section 3) calls ``check_available`` and ``check_start_date``, which raise the
typed 422s ``plan_unavailable`` and ``start_date_outside_window``.

The availability rule is a tenant's JsonLogic, untrusted: it runs in the eligibility engine
under its evaluation budget, and a rule that spends it (or cannot run) makes the plan
unavailable with that reason, never an error of the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from enroll.eligibility.jsonlogic import RuleError, RuleTooCostly, apply, truthy
from enroll.models import Plan
from enroll.plan.errors import PlanUnavailable, StartDateOutsideWindow
from enroll.plan.windows import Window, start_window
from enroll.workflows.plan import PlanStatus

NOT_OFFERED = "The plan is not offered at this location."
RETIRED = "The plan is retired."
TOO_COSTLY = "The plan's availability rule spent its evaluation budget."
BROKEN = "The plan's availability rule cannot be evaluated."


def rule_context(
    location: Mapping[str, Any], applicant: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What an availability rule reads: ``location`` (the location's API dict) and
    ``applicant`` (the person asking, as the caller describes them; null when unknown)."""
    return {"location": dict(location), "applicant": dict(applicant) if applicant else None}


def unavailable_reason(
    plan: Plan, *, location: Mapping[str, Any], applicant: Mapping[str, Any] | None
) -> str | None:
    """Why ``plan`` cannot be taken at ``location``, or None when it can."""
    if plan.status != PlanStatus.ACTIVE:
        return RETIRED
    if plan.availability is None:
        return None
    try:
        held = truthy(apply(plan.availability, rule_context(location, applicant)))
    except RuleTooCostly:
        return TOO_COSTLY
    except (RuleError, RecursionError):
        return BROKEN
    return None if held else (plan.unavailable_reason or NOT_OFFERED)


def check_available(
    plan: Plan, *, location: Mapping[str, Any], applicant: Mapping[str, Any] | None
) -> None:
    """Raise 422 ``plan_unavailable`` (with ``planId``, ``planCode`` and ``reason``) unless the
    plan is active and its availability rule holds at ``location``."""
    reason = unavailable_reason(plan, location=location, applicant=applicant)
    if reason is not None:
        raise PlanUnavailable(
            f"Plan {plan.code!r} is unavailable: {reason}",
            planId=plan.id,
            planCode=plan.code,
            reason=reason,
        )


def window_of(plan: Plan, *, timezone: str, now: datetime) -> Window:
    """The plan's start window today, in the instance's ``timezone``."""
    return start_window(
        earliest_days=plan.earliest_days,
        latest_days=plan.latest_days,
        timezone=timezone,
        now=now,
    )


def check_start_date(plan: Plan, *, timezone: str, start_date: date, now: datetime) -> Window:
    """The window, when ``start_date`` lies in it; else 422 ``start_date_outside_window``
    carrying ``earliestStartDate`` and ``latestStartDate`` (ISO dates)."""
    window = window_of(plan, timezone=timezone, now=now)
    if not window.holds(start_date):
        raise StartDateOutsideWindow(
            f"startDate must lie from {window.earliest} to {window.latest} "
            f"(in {timezone}) for plan {plan.code!r}.",
            earliestStartDate=window.earliest.isoformat(),
            latestStartDate=window.latest.isoformat(),
        )
    return window

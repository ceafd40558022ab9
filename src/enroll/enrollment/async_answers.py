"""The answers of asynchronous eligibility checks (eligibility/async_checks.py makes the calls):
what a check job sends, and its outcome put in place of the pending check, which may demote an
eligible enrollment or flag one that moved on for review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.eligibility import async_checks
from enroll.eligibility import service as eligibility
from enroll.eligibility.checks import Check, CheckStatus, decide
from enroll.eligibility.criteria import CompiledCriterion, compile_criteria
from enroll.enrollment import changes, repository
from enroll.errors import ProblemError
from enroll.models import Enrollment
from enroll.program_instance import service as instances
from enroll.workflows.enrollment import CLOSED_STATUSES, OPEN_STATUSES, REEVALUABLE, Action, Status

_ACTOR = async_checks.SYSTEM_ACTOR
# Open, but past the point where the rules may move it (a failing check flags it for review).
_MOVED_ON = OPEN_STATUSES - REEVALUABLE
# Closed: the answer is kept in the checks, nothing else changes.
_CLOSED = CLOSED_STATUSES


@dataclass(frozen=True, slots=True)
class AsyncCheckCall:
    """What the worker sends for one pending check (see eligibility/async_checks.py)."""

    criterion: CompiledCriterion
    body: dict[str, Any]


def _awaits(enrollment: Enrollment, job: async_checks.CheckJob) -> bool:
    """Whether the enrollment still waits for this job's answer: the decision it was queued
    for is the current one, and it lists the check as pending. (The stored eligibility, not
    ``evaluation``: a re-evaluation only stamps decisions without pending checks.)"""
    decided = enrollment.eligibility or {}
    if decided.get("evaluatedAt") != job.evaluated_at:
        return False  # re-evaluated meanwhile: this answer would be stale
    return any(
        c.get("id") == job.criterion_id and c.get("status") == CheckStatus.PENDING.value
        for c in decided.get("checks", [])
    )


async def async_check_call(
    session: AsyncSession, *, workspace_id: str, job: async_checks.CheckJob
) -> AsyncCheckCall | Check | None:
    """The call a check job makes: None when nothing waits for it any more, a Check to record
    at once when the check cannot be made (its criterion is gone from its criteria version)."""
    enrollment = await repository.get(
        session, workspace_id=workspace_id, enrollment_id=job.enrollment_id
    )
    if enrollment is None or not _awaits(enrollment, job):
        return None
    try:
        instance = await instances.get(
            session, workspace_id=workspace_id, ref=enrollment.program_instance_id
        )
    except ProblemError:
        return None
    criteria = await eligibility.criteria_of_version(session, instance, job.criteria_version)
    criterion = compile_criteria(criteria).get(job.criterion_id)
    if criterion is None or not criterion.is_async:
        return Check(
            job.criterion_id,
            job.criterion_id,
            CheckStatus.ERROR,
            f"{job.criterion_id}: not an asynchronous criterion of criteria version "
            f"{job.criteria_version}",
        )
    context = await eligibility.build_context(
        session,
        fields=changes.rule_fields(enrollment),
        customer_id=enrollment.customer_id,
        exclude_enrollment_id=enrollment.id,
        reads=None,  # the endpoint may read anything: customer, facts and location too
        service_location_id=enrollment.service_location_id,
    )
    body = async_checks.request_body(
        enrollment_id=enrollment.id,
        program_instance_id=enrollment.program_instance_id,
        criterion=criterion,
        context=context,
    )
    return AsyncCheckCall(criterion, body)


async def record_async_check(
    session: AsyncSession,
    *,
    workspace_id: str,
    job: async_checks.CheckJob,
    check: Check,
    now: datetime,
) -> Enrollment | None:
    """Put an async check's outcome (passed, failed, error) in place of its pending check.

    Ignored (None) when the enrollment no longer waits for it. A failing outcome demotes an
    eligible enrollment to ineligible (history and events like any status change); one that
    moved on (submitted, approved) is not demoted but flagged ``needsReview``.
    """
    # Locked (PostgreSQL): two checks of one enrollment answering at once take turns.
    enrollment = await repository.get(
        session, workspace_id=workspace_id, enrollment_id=job.enrollment_id, for_update=True
    )
    if enrollment is None or not _awaits(enrollment, job):
        return None
    decided = enrollment.eligibility
    checks = [check if c["id"] == job.criterion_id else Check.of_json(c) for c in decided["checks"]]
    decision = decide(
        checks,
        now=datetime.fromisoformat(decided["evaluatedAt"]),
        criteria_version=decided.get("criteriaVersion"),
    )
    # evaluatedAt stays: it names the decision, which other pending checks still belong to.
    enrollment.eligibility = {**decided, "checks": [c.as_json() for c in checks]}
    status = Status(enrollment.status)
    pending = changes.Pending(enrollment)
    if status not in _CLOSED:
        enrollment.eligibility_reason = decision.reason
    if not decision.eligible and status == Status.ELIGIBLE:
        changes.move(
            pending,
            Status.INELIGIBLE,
            Action.EVALUATE,
            decision.reason,
            _ACTOR,
            now,
            changed=["eligibility"],
        )
    elif not decision.eligible and status in _MOVED_ON:
        enrollment.needs_review = True
        enrollment.needs_review_reason = decision.reason
        pending.items.append(
            (
                "enrollment.updated",
                {"changedFields": ["eligibility", "needsReview", "needsReviewReason"]},
            )
        )
    else:
        pending.items.append(("enrollment.updated", {"changedFields": ["eligibility"]}))
    enrollment.updated_at = now
    await session.flush()
    await changes.emit(session, pending, now)
    return enrollment

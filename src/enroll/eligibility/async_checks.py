"""Asynchronous eligibility checks: the job, the signed call to the checker, its answer.

A criterion of ``kind: "async"`` is answered by an HTTPS endpoint. Storing a decision that
lists such a check as ``pending`` enqueues one ``eligibility.async_check`` job per pending
check, in the transaction of the decision (``enqueue_many``). The worker then

1. reads the enrollment and gives up quietly when the decision it was queued for is gone
   (re-evaluated meanwhile, or the check answered);
2. POSTs ``{"type": "eligibility.check", "enrollmentId", "programInstanceId", "criterion":
   {"id", "description"}, "context"}`` signed as the Standard Webhooks spec says
   (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``; the workspace's
   ``signing_secret``), outside any database transaction;
3. records a 2xx answer ``{"status": "passed" | "failed", "reason"?}`` (``enrollment/service.py``
   ``record_async_check``). Anything else raises, so the job is retried with the worker's
   backoff until the check's deadline: then the check is an ``error`` and counts as failing.

This module holds the parts that need no enrollment: jobs, URL policy, the call, the checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import field_serializer
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.eligibility.checks import Check, CheckStatus
from enroll.eligibility.criteria import CompiledCriteria, CompiledCriterion
from enroll.ids import new_id
from enroll.job import service as jobs
from enroll.job.registry import Payload
from enroll.kit import outbound

ASYNC_CHECK_JOB = "eligibility.async_check"
# The actor of the history rows an async check writes.
SYSTEM_ACTOR = "system:eligibility"
MAX_REASON_LENGTH = 500
MAX_ANSWER_BYTES = 65_536
# The worker's retry spacing (worker/runner.py ``backoff``): 2^(n-1) s after the n-th failure,
# capped at an hour, times a jitter of at least 0.75. Used to size max_attempts so that the
# deadline, not the attempt count, ends the retries.
_BACKOFF_CAP_SECONDS = 3600.0
_BACKOFF_MIN_JITTER = 0.75
_SPARE_ATTEMPTS = 3  # for attempts lost to a worker that died mid-call


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- the job ----------------------------------------------------------------------------


class CheckJob(Payload):
    """An ``eligibility.async_check`` job's payload."""

    job_id: str
    enrollment_id: str
    criterion_id: str
    criteria_version: int | None
    evaluated_at: str  # the decision's evaluatedAt, exactly as stored on the enrollment
    deadline: datetime

    @field_serializer("deadline")
    def _deadline(self, deadline: datetime) -> str:
        return iso(deadline)


def max_attempts_for(deadline_seconds: int) -> int:
    """Enough attempts that the worker's backoff reaches the deadline before they run out."""
    waited, attempts = 0.0, 0
    while waited < deadline_seconds:
        attempts += 1
        waited += _BACKOFF_MIN_JITTER * min(2.0 ** (attempts - 1), _BACKOFF_CAP_SECONDS)
    return attempts + _SPARE_ATTEMPTS


async def enqueue_many(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollments: Sequence[tuple[str, str]],
    criteria: CompiledCriteria,
    criteria_version: int | None,
    now: datetime,
) -> int:
    """Queue a check job for every async criterion of ``criteria`` and every enrollment.

    ``enrollments`` are ``(enrollment id, evaluatedAt)`` of decisions just stored that list
    the async checks as pending (every sync check passed), evaluatedAt exactly as stored in
    ``eligibility.evaluatedAt``. One executemany INSERT, in the caller's transaction.
    Returns the number of jobs queued.
    """
    asynchronous = criteria.asynchronous
    rows: list[dict[str, Any]] = []
    for enrollment_id, evaluated_at in enrollments:
        decided = datetime.fromisoformat(evaluated_at)
        for criterion in asynchronous:
            assert criterion.endpoint is not None
            deadline_seconds = criterion.endpoint.deadline_seconds
            job_id = new_id()
            rows.append(
                jobs.queued_row(
                    kind=ASYNC_CHECK_JOB,
                    payload=CheckJob(
                        job_id=job_id,
                        enrollment_id=enrollment_id,
                        criterion_id=criterion.id,
                        criteria_version=criteria_version,
                        evaluated_at=evaluated_at,
                        deadline=decided + timedelta(seconds=deadline_seconds),
                    ),
                    workspace_id=workspace_id,
                    now=now,
                    max_attempts=max_attempts_for(deadline_seconds),
                    job_id=job_id,
                )
            )
    if rows:
        await jobs.enqueue_rows(session, rows)
    return len(rows)


async def is_final_attempt(session: AsyncSession, job: CheckJob) -> bool:
    """Whether the running attempt is the job's last (then a failure is recorded, not raised)."""
    return await jobs.is_final_attempt(session, job.job_id)


# --- the checks it records --------------------------------------------------------------


def answered(criterion: CompiledCriterion, answer: Answer) -> Check:
    if answer.passed:
        reason = answer.reason or criterion.pass_reason
        return Check(criterion.id, criterion.label, CheckStatus.PASSED, reason)
    return Check(
        criterion.id, criterion.label, CheckStatus.FAILED, answer.reason or criterion.reason
    )


def past_deadline(criterion: CompiledCriterion, deadline: datetime) -> Check:
    reason = f"{criterion.label}: no answer before the deadline ({iso(deadline)})"
    return Check(criterion.id, criterion.label, CheckStatus.ERROR, reason)


def out_of_attempts(criterion: CompiledCriterion, last_error: str) -> Check:
    reason = f"{criterion.label}: no answer after the last attempt ({last_error})"
    return Check(criterion.id, criterion.label, CheckStatus.ERROR, reason[:MAX_REASON_LENGTH])


def refused(criterion: CompiledCriterion, why: str) -> Check:
    return Check(criterion.id, criterion.label, CheckStatus.ERROR, f"{criterion.label}: {why}")


# --- where calls may go -----------------------------------------------------------------


# The endpoint policy and the signed POST are shared with every outbound call (kit/outbound.py).
CheckerUnavailable = outbound.Unreachable
address_refusal = outbound.address_refusal
signed_headers = outbound.signed_headers


# --- the call ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    passed: bool
    reason: str | None


def request_body(
    *,
    enrollment_id: str,
    program_instance_id: str,
    criterion: CompiledCriterion,
    context: dict[str, Any],
) -> dict[str, Any]:
    return {
        "type": "eligibility.check",
        "enrollmentId": enrollment_id,
        "programInstanceId": program_instance_id,
        "criterion": {"id": criterion.id, "description": criterion.label},
        "context": context,
    }


def parse_answer(status_code: int, content: bytes) -> Answer:
    if not 200 <= status_code < 300:
        raise CheckerUnavailable(f"the endpoint answered HTTP {status_code}")
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise CheckerUnavailable("the endpoint's answer is not JSON") from None
    status = data.get("status") if isinstance(data, dict) else None
    reason = data.get("reason") if isinstance(data, dict) else None
    if status not in (CheckStatus.PASSED, CheckStatus.FAILED) or not (
        reason is None or isinstance(reason, str)
    ):
        raise CheckerUnavailable(
            'the endpoint\'s answer is not {"status": "passed" | "failed", "reason": "..."}'
        )
    if reason is not None:
        reason = reason.replace("\x00", "").strip()[:MAX_REASON_LENGTH] or None
    return Answer(passed=status == CheckStatus.PASSED, reason=reason)


async def call(
    url: str,
    *,
    body: dict[str, Any],
    secret: str,
    message_id: str,
    timeout_seconds: float,
    now: datetime,
    allow_private: bool = False,
) -> Answer:
    """POST the signed check to the endpoint within ``timeout_seconds`` in all; raises
    outbound.Refused for a refused address, CheckerUnavailable for anything but a well-formed
    2xx answer. Redirects are not followed."""
    status, content = await outbound.post_signed(
        url,
        body=body,
        secret=secret,
        message_id=message_id,
        timeout_seconds=timeout_seconds,
        now=now,
        max_answer_bytes=MAX_ANSWER_BYTES,
        allow_private=allow_private,
    )
    return parse_answer(status, content)

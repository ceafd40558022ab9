"""Job kinds and what they do. A handler runs inside the transaction that completes its job.

Except ``eligibility.async_check``: it waits on another party's HTTP endpoint for up to its
timeout, which must not happen inside a transaction (on SQLite that would hold the write lock
for every request; on PostgreSQL it would hold back the event feed). It runs as a job of
``long_jobs.py``'s kind: short transactions of its own, completion marked afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.context import AppContext
from enroll.eligibility import async_checks
from enroll.eligibility.checks import Check
from enroll.enrollment import service as enrollments
from enroll.enrollment.workflow import Action, Status
from enroll.errors import Conflict
from enroll.job import service as jobs
from enroll.kit import outbound
from enroll.notification import delivery  # noqa: F401 (registers notification.send)
from enroll.servicetask import service as setup
from enroll.servicetask import steps, tasks
from enroll.worker.long_jobs import LONG_HANDLERS, LongHandler
from enroll.workspace import service as workspaces

log = logging.getLogger("enroll.worker")

# Returns True to be run again at once, in a new transaction of the same job (runner.py).
Handler = Callable[[AsyncSession, AppContext, str | None, dict[str, Any]], Awaitable[bool | None]]
AUTO_REVIEWER = "system:auto-review"


async def auto_approve(
    session: AsyncSession, ctx: AppContext, workspace_id: str | None, payload: dict[str, Any]
) -> None:
    """Approve a submitted enrollment of an instance whose reviewMode is auto."""
    assert workspace_id is not None
    enrollment = await enrollments.get(
        session, workspace_id=workspace_id, enrollment_id=payload["enrollmentId"]
    )
    if enrollment.status != Status.SUBMITTED:
        return  # withdrawn or decided meanwhile: nothing to do
    try:
        await enrollments.act(
            session,
            workspace_id=workspace_id,
            enrollment_id=enrollment.id,
            action=Action.APPROVE,
            reason="Approved automatically (reviewMode auto).",
            actor=AUTO_REVIEWER,
            now=ctx.clock.now(),
        )
    except Conflict as exc:
        if exc.code != "instance_not_accepting":
            raise
        # At capacity: the application waits for a person, as in manual review.
        return
    await setup.after_approval(
        session, enrollment=enrollment, actor=AUTO_REVIEWER, now=ctx.clock.now()
    )


async def service_task_step(
    session: AsyncSession, ctx: AppContext, workspace_id: str | None, payload: dict[str, Any]
) -> bool:
    assert workspace_id is not None
    return await setup.run_step_job(
        session, workspace_id=workspace_id, payload=payload, now=ctx.clock.now()
    )


async def service_task_expire(
    session: AsyncSession, ctx: AppContext, workspace_id: str | None, payload: dict[str, Any]
) -> None:
    assert workspace_id is not None
    await setup.expire(session, workspace_id=workspace_id, payload=payload, now=ctx.clock.now())


async def device_command(
    ctx: AppContext, workspace_id: str | None, payload: dict[str, Any]
) -> None:
    """Send a device_command setup action's command and record the device's answer.

    Outside a transaction, like async checks. A 2xx answer ``{"status": "succeeded" |
    "failed", "message"?}`` finishes the action; no answer raises, so the worker retries with
    its backoff, and the last attempt fails the action (its task goes to device_setup_error).
    """
    assert workspace_id is not None
    action_id, attempt = payload["actionId"], int(payload["attempt"])
    async with ctx.db.transaction(write=False) as session:
        command = await setup.device_command_call(
            session, workspace_id=workspace_id, action_id=action_id, attempt=attempt
        )
        final = await jobs.is_final_attempt(session, payload.get("jobId"))
        secret = await workspaces.stored_signing_secret(session, workspace_id=workspace_id)
    if command is None:
        return
    allow_private = ctx.settings.webhook_allow_private
    refusal = outbound.scheme_refusal(command.url, allow_private=allow_private)
    if refusal:
        await _record_command(ctx, workspace_id, payload, False, None, refusal)
        return
    try:
        if secret is None:  # the workspace's first outbound call
            async with ctx.db.transaction() as session:
                secret = await workspaces.signing_secret(session, workspace_id=workspace_id)
        status, content = await outbound.post_signed(
            command.url,
            body=command.body,
            secret=secret,
            message_id=f"{action_id}-{attempt}",
            timeout_seconds=command.timeout_seconds,
            now=ctx.clock.now(),
            max_answer_bytes=setup.MAX_COMMAND_ANSWER_BYTES,
            allow_private=allow_private,  # the address is checked as the call connects
        )
        succeeded, result, message = setup.command_answer(status, content)
    except outbound.Refused as exc:
        await _record_command(ctx, workspace_id, payload, False, None, str(exc))
        return
    except outbound.Unreachable as exc:
        if not final:
            raise
        log.info("device command %s: %s", action_id, exc)
        await _record_command(
            ctx, workspace_id, payload, False, None, f"device-command endpoint: {exc}"
        )
        return
    await _record_command(ctx, workspace_id, payload, succeeded, result, message)


async def _record_command(
    ctx: AppContext,
    workspace_id: str,
    payload: dict[str, Any],
    succeeded: bool,
    result: dict[str, Any] | None,
    message: str | None,
) -> None:
    async with ctx.db.transaction() as session:
        await setup.record_device_command(
            session,
            workspace_id=workspace_id,
            action_id=payload["actionId"],
            attempt=int(payload["attempt"]),
            succeeded=succeeded,
            result=result,
            message=message,
            now=ctx.clock.now(),
        )


async def async_check(ctx: AppContext, workspace_id: str | None, payload: dict[str, Any]) -> None:
    """Ask an async criterion's endpoint about one enrollment and record the answer.

    Raises (so the worker retries with its backoff) when the endpoint gives no usable answer,
    until the deadline or the last attempt: then the check is recorded as an error.
    """
    assert workspace_id is not None
    job = async_checks.CheckJob.of(payload)
    async with ctx.db.transaction(write=False) as session:
        call = await enrollments.async_check_call(session, workspace_id=workspace_id, job=job)
        final = await async_checks.is_final_attempt(session, job)
        secret = await workspaces.stored_signing_secret(session, workspace_id=workspace_id)
    if call is None:
        return  # re-evaluated or answered meanwhile: nobody waits for this answer
    if isinstance(call, Check):
        await _record(ctx, workspace_id, job, call)
        return
    criterion, endpoint = call.criterion, call.criterion.endpoint
    assert endpoint is not None
    now = ctx.clock.now()
    if now >= job.deadline:
        await _record(ctx, workspace_id, job, async_checks.past_deadline(criterion, job.deadline))
        return
    allow_private = ctx.settings.webhook_allow_private
    refusal = outbound.scheme_refusal(endpoint.url, allow_private=allow_private)
    if refusal:
        await _record(ctx, workspace_id, job, async_checks.refused(criterion, refusal))
        return
    try:
        if secret is None:  # the workspace's first outbound call
            async with ctx.db.transaction() as session:
                secret = await workspaces.signing_secret(session, workspace_id=workspace_id)
        remaining = (job.deadline - now).total_seconds()
        answer = await async_checks.call(
            endpoint.url,
            body=call.body,
            secret=secret,
            message_id=job.job_id,
            timeout_seconds=max(0.05, min(endpoint.timeout_seconds, remaining)),
            now=now,
            allow_private=allow_private,  # the address is checked as the call connects
        )
    except outbound.Refused as exc:
        await _record(ctx, workspace_id, job, async_checks.refused(criterion, str(exc)))
        return
    except async_checks.CheckerUnavailable as exc:
        if ctx.clock.now() >= job.deadline:
            outcome = async_checks.past_deadline(criterion, job.deadline)
        elif final:
            outcome = async_checks.out_of_attempts(criterion, str(exc))
        else:
            raise
        log.info("async check %s of %s: %s", criterion.id, job.enrollment_id, exc)
        await _record(ctx, workspace_id, job, outcome)
        return
    await _record(ctx, workspace_id, job, async_checks.answered(criterion, answer))


async def _record(
    ctx: AppContext, workspace_id: str, job: async_checks.CheckJob, check: Check
) -> None:
    async with ctx.db.transaction() as session:
        await enrollments.record_async_check(
            session, workspace_id=workspace_id, job=job, check=check, now=ctx.clock.now()
        )


HANDLERS: dict[str, Handler] = {
    enrollments.AUTO_APPROVE_JOB: auto_approve,
    tasks.STEP_JOB: service_task_step,
    tasks.EXPIRE_JOB: service_task_expire,
}
# Jobs run outside the job's transaction (Worker._execute_long). Registered from here so this
# module owns its kinds; the entry could equally live in long_jobs.LONG_HANDLERS itself.
OUTSIDE_TRANSACTION: dict[str, LongHandler] = {
    async_checks.ASYNC_CHECK_JOB: async_check,
    steps.DEVICE_COMMAND_JOB: device_command,
}
LONG_HANDLERS.update(OUTSIDE_TRANSACTION)

"""The service-task domain's jobs (see job/registry.py): a task's step, its expiry, a
device_command setup action's call, and the automatic approval of a submitted enrollment
(approval starts the setup, see enrollment_actions.py).

(``tasks.py`` is the service tasks' own life cycle; the jobs live here.)
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.context import AppContext
from enroll.enrollment import service as enrollments
from enroll.enrollment.errors import InstanceNotAccepting
from enroll.enrollment.service import AUTO_APPROVE_JOB, AutoApprovePayload
from enroll.job import service as jobs
from enroll.job.registry import job
from enroll.kit import outbound
from enroll.servicetask import actions as task_actions
from enroll.servicetask import enrollment_actions
from enroll.servicetask import operations as task_operations
from enroll.servicetask import service as setup
from enroll.servicetask.steps import DEVICE_COMMAND_JOB, DeviceCommandPayload
from enroll.servicetask.steps import command as device_commands
from enroll.servicetask.tasks import EXPIRE_JOB, STEP_JOB, ExpirePayload, StepPayload
from enroll.workflows.enrollment import Action, Status
from enroll.workspace import service as workspaces

log = logging.getLogger("enroll.worker")


@job(STEP_JOB, payload=StepPayload, transaction=True)
async def step(
    *, session: AsyncSession, ctx: AppContext, workspace_id: str | None, payload: StepPayload
) -> bool:
    assert workspace_id is not None
    return await setup.run_step_job(
        session, workspace_id=workspace_id, task_id=payload.task_id, now=ctx.clock.now()
    )


@job(EXPIRE_JOB, payload=ExpirePayload, transaction=True)
async def expire(
    *, session: AsyncSession, ctx: AppContext, workspace_id: str | None, payload: ExpirePayload
) -> None:
    assert workspace_id is not None
    await task_operations.expire(
        session, workspace_id=workspace_id, task_id=payload.task_id, now=ctx.clock.now()
    )


@job(DEVICE_COMMAND_JOB, payload=DeviceCommandPayload, transaction=False)
async def device_command(
    *, ctx: AppContext, workspace_id: str | None, payload: DeviceCommandPayload
) -> None:
    """Send a device_command setup action's command and record the device's answer.

    Outside a transaction, like async checks. A 2xx answer ``{"status": "succeeded" |
    "failed", "message"?}`` finishes the action; no answer raises, so the worker retries with
    its backoff, and the last attempt fails the action (its task goes to device_setup_error).
    """
    assert workspace_id is not None
    action_id, attempt = payload.action_id, payload.attempt
    async with ctx.db.transaction(write=False) as session:
        command = await task_actions.device_command_call(
            session, workspace_id=workspace_id, action_id=action_id, attempt=attempt
        )
        final = await jobs.is_final_attempt(session, payload.job_id)
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
        succeeded, result, message = await device_commands.send(
            command,
            secret=secret,
            message_id=f"{action_id}-{attempt}",
            now=ctx.clock.now(),
            allow_private=allow_private,
        )
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
    payload: DeviceCommandPayload,
    succeeded: bool,
    result: dict[str, Any] | None,
    message: str | None,
) -> None:
    async with ctx.db.transaction() as session:
        await task_actions.record_device_command(
            session,
            workspace_id=workspace_id,
            action_id=payload.action_id,
            attempt=payload.attempt,
            succeeded=succeeded,
            result=result,
            message=message,
            now=ctx.clock.now(),
        )


AUTO_REVIEWER = "system:auto-review"


@job(AUTO_APPROVE_JOB, payload=AutoApprovePayload, transaction=True)
async def auto_approve(
    *,
    session: AsyncSession,
    ctx: AppContext,
    workspace_id: str | None,
    payload: AutoApprovePayload,
) -> None:
    """Approve a submitted enrollment of an instance whose reviewMode is auto."""
    assert workspace_id is not None
    enrollment = await enrollments.get(
        session, workspace_id=workspace_id, enrollment_id=payload.enrollment_id
    )
    if enrollment.status != Status.SUBMITTED:
        return  # withdrawn or decided meanwhile: nothing to do
    try:
        await enrollment_actions.act(
            session,
            workspace_id=workspace_id,
            enrollment_id=enrollment.id,
            action=Action.APPROVE,
            reason="Approved automatically (reviewMode auto).",
            actor=AUTO_REVIEWER,
            now=ctx.clock.now(),
        )
    except InstanceNotAccepting:
        # At capacity: the application waits for a person, as in manual review.
        return

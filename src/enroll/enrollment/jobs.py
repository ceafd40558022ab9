"""The eligibility domain's jobs (see job/registry.py): an asynchronous check's call and a
re-evaluation run. Both run outside the job's transaction: a check waits on another party's
HTTP endpoint for up to its timeout (on SQLite that would hold the write lock for every
request; on PostgreSQL it would hold back the event feed), and a re-evaluation commits a batch
at a time."""

from __future__ import annotations

import logging

from enroll.context import AppContext
from enroll.eligibility import async_checks
from enroll.eligibility.checks import Check
from enroll.enrollment import async_answers, reevaluation_run
from enroll.enrollment.reevaluation_run import REEVALUATION_JOB, ReevaluationPayload
from enroll.job import registry
from enroll.kit import outbound
from enroll.workspace import service as workspaces

log = logging.getLogger("enroll.worker")


@registry.job(REEVALUATION_JOB, payload=ReevaluationPayload, transaction=False)
async def run_reevaluation(
    *, ctx: AppContext, workspace_id: str | None, payload: ReevaluationPayload
) -> None:
    await reevaluation_run.run(ctx, reevaluation_id=payload.reevaluation_id, job_id=payload.job_id)


@registry.job(async_checks.ASYNC_CHECK_JOB, payload=async_checks.CheckJob, transaction=False)
async def async_check(
    *, ctx: AppContext, workspace_id: str | None, payload: async_checks.CheckJob
) -> None:
    """Ask an async criterion's endpoint about one enrollment and record the answer.

    Raises (so the worker retries with its backoff) when the endpoint gives no usable answer,
    until the deadline or the last attempt: then the check is recorded as an error.
    """
    assert workspace_id is not None
    job = payload
    async with ctx.db.transaction(write=False) as session:
        call = await async_answers.async_check_call(session, workspace_id=workspace_id, job=job)
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
        await async_answers.record_async_check(
            session, workspace_id=workspace_id, job=job, check=check, now=ctx.clock.now()
        )

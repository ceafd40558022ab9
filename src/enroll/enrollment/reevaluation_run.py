"""Re-evaluations as jobs: a ``reevaluation`` row to poll, a long job that works through the
instance's enrollments in batches, each one short transaction.

One transaction for a million enrollments took about 90 s, and on PostgreSQL the event feed
(every workspace's, and their webhooks) waits for the oldest running writer. So each batch
commits by itself together with the re-evaluation's progress and report, and the batch size
follows the time a batch took (``TARGET_SECONDS``): rules the SQL cannot decide make rows far
dearer. A job claimed again after a crash resumes after the last committed batch.

Phases: a dry run counts (``plan``) and completes. An apply first counts the whole instance
(``plan``) for the share guard, which fails the run with ``reevaluation_guard`` when too much
would change, then writes (``apply``). ``force`` goes straight to ``apply``. Criteria changed
while it runs fail it with ``criteria_changed``: its batches would disagree.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.context import AppContext
from enroll.enrollment import reevaluation
from enroll.enrollment import reevaluation_repository as repository
from enroll.enrollment.errors import ReevaluationRunning
from enroll.enrollment.reevaluation import Summary
from enroll.ids import new_id
from enroll.job import service as jobs
from enroll.job.registry import Payload
from enroll.kit import failures
from enroll.kit.batching import TARGET_SECONDS, Sizer
from enroll.models import ProgramInstance, Reevaluation
from enroll.program_instance import service as instances
from enroll.workflows.runs import ACTIVE, FINAL, RunStatus

log = logging.getLogger("enroll.reevaluation")
REEVALUATION_JOB = "reevaluation.run"


class ReevaluationPayload(Payload):
    reevaluation_id: str
    job_id: str | None = None  # the job itself (jobs.is_final_attempt)


# A batch's size follows its time (kit/batching.py): about a second each, but never so small
# that the fixed cost of a batch (temporary tables, a dozen statements) is most of it.
FIRST_BATCH = 1_000
MIN_BATCH, MAX_BATCH = 500, 20_000


async def get(session: AsyncSession, *, workspace_id: str, reevaluation_id: str) -> Reevaluation:
    return await repository.runs.require(session, workspace_id=workspace_id, id=reevaluation_id)


async def start(
    session: AsyncSession,
    *,
    workspace_id: str,
    instance_ref: str,
    dry_run: bool,
    force: bool,
    sample_size: int,
    actor: str,
    now: datetime,
) -> Reevaluation:
    """Queue a re-evaluation of the instance's enrollments against its current criteria.

    One that writes may not overlap another that writes (their batches would interleave):
    409 ``reevaluation_running``. The instance row is locked while checking, so two requests
    cannot both pass."""
    instance = await instances.get(
        session, workspace_id=workspace_id, ref=instance_ref, for_update=not dry_run
    )
    if not dry_run:
        await _refuse_overlap(session, instance.id)
    job_id = new_id()
    run = Reevaluation(
        id=new_id(),
        workspace_id=workspace_id,
        program_instance_id=instance.id,
        status=RunStatus.QUEUED,
        dry_run=dry_run,
        force=force,
        sample_size=sample_size,
        actor=actor,
        phase="apply" if force and not dry_run else "plan",
        after_id=None,
        done=0,
        total=0,
        criteria_version=instance.criteria_version,
        report=Summary().as_json(),
        error=None,
        started_at=None,
        finished_at=None,
        created_at=now,
        updated_at=now,
    )
    session.add(run)
    await session.flush()
    await jobs.enqueue(
        session,
        kind=REEVALUATION_JOB,
        payload=ReevaluationPayload(reevaluation_id=run.id, job_id=job_id),
        workspace_id=workspace_id,
        now=now,
        max_attempts=3,
        job_id=job_id,
    )
    return run


async def _refuse_overlap(session: AsyncSession, instance_id: str) -> None:
    running = await repository.writing_run_id(session, instance_id=instance_id, active=ACTIVE)
    if running is not None:
        raise ReevaluationRunning(
            "A re-evaluation of this instance is under way; wait until it ends.",
            reevaluationId=running,
        )


async def run(ctx: AppContext, *, reevaluation_id: str, job_id: str | None) -> None:
    """The job: batches until the re-evaluation completes or fails. An error is retried by
    the worker (the run resumes where it stopped); the last attempt records it instead."""
    sizer = Sizer(FIRST_BATCH, MIN_BATCH, MAX_BATCH)
    try:
        while True:
            started = time.monotonic()
            if not await step(ctx, reevaluation_id, sizer.size):
                return
            took = time.monotonic() - started
            if took > 2 * TARGET_SECONDS:
                log.info("re-evaluation %s: a batch took %.1f s", reevaluation_id, took)
            sizer.took(took)
    except Exception as exc:
        async with ctx.db.transaction(write=False) as session:
            final = await jobs.is_final_attempt(session, job_id)
        if not final:
            raise
        error_id = failures.logged(log, exc, f"re-evaluation {reevaluation_id} failed")
        async with ctx.db.transaction() as session:
            found = await repository.locked_run(session, reevaluation_id)
            if found is not None and found.status not in FINAL:
                _fail(
                    found,
                    ctx.clock.now(),
                    code="reevaluation_failed",
                    detail="The re-evaluation stopped on an unexpected error; what it had"
                    f" committed stays. Quote error id {error_id} when reporting it.",
                    errorId=error_id,
                )


async def step(ctx: AppContext, reevaluation_id: str, size: int) -> bool:
    """One batch of at most ``size`` enrollments, committed with the progress it makes; False
    when the re-evaluation has ended (or had already)."""
    async with ctx.db.transaction() as session:
        return await _step(session, ctx, reevaluation_id, size)


async def _step(session: AsyncSession, ctx: AppContext, reevaluation_id: str, size: int) -> bool:
    run = await repository.locked_run(session, reevaluation_id)
    if run is None or run.status in FINAL:
        return False
    now = ctx.clock.now()
    instance = await instances.get(
        session,
        workspace_id=run.workspace_id,
        ref=run.program_instance_id,
        for_update=run.phase == "apply",
    )
    if run.status == RunStatus.QUEUED:
        run.status, run.started_at = RunStatus.RUNNING, now
        run.total = await reevaluation.in_play_count(session, instance)
    run.updated_at = now
    if instance.criteria_version != run.criteria_version:
        _fail(
            run,
            now,
            code="criteria_changed",
            detail="The instance's criteria changed while re-evaluating (what was applied"
            " stays); start a new re-evaluation.",
        )
        return False
    batch = await reevaluation.run_batch(
        session,
        instance=instance,
        after=run.after_id,
        limit=size,
        apply=run.phase == "apply",
        sample_size=run.sample_size,
        actor=run.actor,
        now=now,
    )
    report = Summary.of(run.report)
    if batch.last_id is not None:
        report.add(batch.summary, run.sample_size)
        run.report, run.after_id, run.done = report.as_json(), batch.last_id, run.done + batch.read
        return True
    return await _phase_done(session, ctx, run, instance, report, now)


async def _phase_done(
    session: AsyncSession,
    ctx: AppContext,
    run: Reevaluation,
    instance: ProgramInstance,
    report: Summary,
    now: datetime,
) -> bool:
    report.total = await reevaluation.instance_total(session, instance)
    run.report = report.as_json()
    if run.phase == "plan" and not run.dry_run:
        max_share = ctx.settings.reevaluation_max_share
        share = report.changed / report.total if report.total else 0.0
        if share > max_share and not run.force:
            _fail(
                run,
                now,
                code="reevaluation_guard",
                detail=f"This would change {report.changed} of {report.total} enrollments"
                f" ({share:.0%}), more than the {max_share:.0%} allowed; send force to apply.",
                changed=report.changed,
                total=report.total,
                maxShare=max_share,
            )
            return False
        # Counted and within the guard: now the writes, from the start.
        run.phase, run.after_id, run.done = "apply", None, 0
        run.total = await reevaluation.in_play_count(session, instance)
        run.report = Summary().as_json()
        return True
    run.status, run.finished_at = RunStatus.COMPLETED, now
    return False


def _fail(run: Reevaluation, now: datetime, *, code: str, detail: str, **extra: Any) -> None:
    run.status, run.finished_at, run.updated_at = RunStatus.FAILED, now, now
    run.error = {"code": code, "detail": detail, **extra}

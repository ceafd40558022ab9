"""The enrollment domain's jobs (see job/registry.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.context import AppContext
from enroll.enrollment import service as enrollments
from enroll.enrollment.service import AUTO_APPROVE_JOB, AutoApprovePayload
from enroll.enrollment.workflow import Action, Status
from enroll.errors import Conflict
from enroll.job.registry import job
from enroll.servicetask import service as setup

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

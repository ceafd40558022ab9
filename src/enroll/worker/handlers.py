"""Job kinds and what they do. A handler runs inside the transaction that completes its job."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.context import AppContext
from enroll.enrollment import service as enrollments
from enroll.enrollment.workflow import Action, Status
from enroll.errors import Conflict

Handler = Callable[[AsyncSession, AppContext, str | None, dict[str, Any]], Awaitable[None]]
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


HANDLERS: dict[str, Handler] = {
    enrollments.AUTO_APPROVE_JOB: auto_approve,
}

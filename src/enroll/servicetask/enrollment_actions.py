"""An action on an enrollment, as every door takes it: REST, GraphQL, the auto-review job and
the demo call ``act`` and add nothing.

It lives here rather than in ``enrollment`` because its follow-up crosses into setup, which sits
above enrollment (docs/architecture.md): approval starts the setup (a service task), so no door
can approve without setting the enrollment up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.enrollment import service as enrollments
from enroll.models import Enrollment
from enroll.servicetask import service as setup
from enroll.workflows.enrollment import Action


async def act(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    action: Action,
    reason: str | None,
    actor: str,
    now: datetime,
) -> Enrollment:
    """The enrollment's transition (enrollment.service.act, which raises its refusals), then
    its follow-up: an approval starts the setup."""
    enrollment = await enrollments.act(
        session,
        workspace_id=workspace_id,
        enrollment_id=enrollment_id,
        action=action,
        reason=reason,
        actor=actor,
        now=now,
    )
    if action == Action.APPROVE:
        await setup.after_approval(session, enrollment=enrollment, actor=actor, now=now)
    return enrollment

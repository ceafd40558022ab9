"""The notification domain's job (see job/registry.py): ``notification.send``, one message,
sent outside any transaction (notification/delivery.py)."""

from __future__ import annotations

from enroll.context import AppContext
from enroll.job.registry import job
from enroll.notification import delivery
from enroll.notification.service import SEND_JOB, SendPayload


@job(SEND_JOB, payload=SendPayload, transaction=False)
async def send(*, ctx: AppContext, workspace_id: str | None, payload: SendPayload) -> None:
    assert workspace_id is not None
    await delivery.send(
        ctx, workspace_id, notification_id=payload.notification_id, job_id=payload.job_id
    )

"""The ``notification.send`` job: one message, sent outside any transaction.

Like a device command (servicetask/jobs.py): a short read, the SMTP conversation, a short write
of the outcome. A failure is recorded on the notification (``attempts``, ``error``) and raised,
so the worker retries with its backoff; the last attempt, or an answer that retrying cannot
change (5xx), records ``failed``. Without an SMTP host the message is ``stored``: it stays in
the log, readable at ``GET /v1/notifications``. A worker that dies between the send and the
record sends again when the job is claimed again (the Message-ID is the notification's id, so
the receiver can tell).

Registered as a job kind in notification/jobs.py.
"""

from __future__ import annotations

import logging
from typing import Any

from enroll.context import AppContext
from enroll.job import service as jobs
from enroll.notification import mail, repository
from enroll.notification.schemas import Audience, NotificationStatus

log = logging.getLogger("enroll.worker")


async def send(
    ctx: AppContext, workspace_id: str, *, notification_id: str, job_id: str | None
) -> None:
    async with ctx.db.transaction(write=False) as session:
        found = await repository.get(
            session, workspace_id=workspace_id, notification_id=notification_id
        )
        if found is None or found.status != NotificationStatus.QUEUED:
            return  # done already (a job claimed again after its worker died)
        outgoing = mail.Outgoing(found.id, found.recipient, found.subject, found.body)
        opted_out = (
            found.audience == Audience.CUSTOMER
            and found.customer_id is not None
            and await repository.opted_out(
                session, workspace_id=workspace_id, customer_id=found.customer_id
            )
        )
        final = await jobs.is_final_attempt(session, job_id)

    async def record(status: NotificationStatus, *, attempted: bool, **values: Any) -> None:
        now = ctx.clock.now()
        async with ctx.db.transaction() as session:
            await repository.finish(
                session,
                workspace_id=workspace_id,
                notification_id=notification_id,
                now=now,
                attempted=attempted,
                status=status.value,
                **values,
            )

    if opted_out:  # since it was queued
        await record(NotificationStatus.SUPPRESSED, attempted=False)
        return
    config = mail.SmtpConfig.of(ctx.settings)
    if config is None:
        await record(NotificationStatus.STORED, attempted=False)
        return
    try:
        await mail.send(config, outgoing, now=ctx.clock.now())
    except mail.SendFailed as exc:
        error = str(exc)[:1000]
        log.info("notification %s to %s: %s", notification_id, outgoing.recipient, error)
        if exc.permanent or final:
            await record(NotificationStatus.FAILED, attempted=True, error=error)
            return
        await record(NotificationStatus.QUEUED, attempted=True, error=error)
        raise
    await record(NotificationStatus.SENT, attempted=True, error=None, sent_at=ctx.clock.now())

"""The document domain's jobs (job/registry.py)."""

from __future__ import annotations

from datetime import timedelta

from enroll.context import AppContext
from enroll.document import sweeper
from enroll.job.registry import NoPayload, job


@job(sweeper.SWEEP_JOB, payload=NoPayload, transaction=False)
async def sweep_orphans(*, ctx: AppContext, workspace_id: str | None, payload: NoPayload) -> None:
    """Remove stored objects that no document names (sweeper.py)."""
    await sweeper.sweep(
        ctx.db,
        ctx.storage,
        now=ctx.clock.now(),
        grace=timedelta(seconds=ctx.settings.storage_orphan_grace_seconds),
    )

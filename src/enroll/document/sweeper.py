"""The orphan sweeper: removes stored objects that no document row names.

An upload puts its object before its transaction commits; when the commit fails the rollback
removes the object (service.py), but a process that dies in between, a storage outage at that
moment, or a deleted enrollment (its rows cascade, its objects stay) leaves objects with no
row. The sweeper lists the stored objects, keeps those younger than the grace period (an
upload in progress), and deletes the others that no row names, checking rows in batches.

It runs as a job (``document.sweep_orphans``) that any worker queues once an hour through its
housekeeping (``schedule``): the job's id names the hour, so however many workers ask, one
sweep runs per hour.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from enroll.context import AppContext
from enroll.db import Database
from enroll.document import repository
from enroll.document.service import STORAGE_PREFIX
from enroll.job import repository as job_queue
from enroll.job import service as jobs
from enroll.job.registry import NoPayload
from enroll.storage.base import ObjectStorage

log = logging.getLogger("enroll.document")
SWEEP_JOB = "document.sweep_orphans"
CHECK_BATCH = 500


async def sweep(db: Database, storage: ObjectStorage, *, now: datetime, grace: timedelta) -> int:
    """Delete the stored document objects older than ``grace`` that no row names; how many."""
    cutoff = now - grace
    removed = 0
    candidates: list[str] = []
    async for item in storage.list(STORAGE_PREFIX):
        if item.modified <= cutoff:
            candidates.append(item.key)
        if len(candidates) >= CHECK_BATCH:
            removed += await _remove_unnamed(db, storage, candidates)
            candidates = []
    if candidates:
        removed += await _remove_unnamed(db, storage, candidates)
    if removed:
        log.info("removed %d stored objects with no document from %s", removed, storage.location)
    return removed


async def _remove_unnamed(db: Database, storage: ObjectStorage, keys: list[str]) -> int:
    async with db.transaction(write=False) as session:
        named = await repository.known_storage_keys(session, keys)
    orphans = [key for key in keys if key not in named]
    for key in orphans:
        await storage.delete(key)
    return len(orphans)


async def schedule(ctx: AppContext) -> bool:
    """Queue this hour's sweep unless it is queued already; whether this call queued it."""
    now = ctx.clock.now()
    job_id = f"docsweep-{now:%Y%m%d%H}"
    with contextlib.suppress(IntegrityError):  # another worker queued it a moment ago
        async with ctx.db.transaction() as session:
            if await job_queue.attempts_of(session, job_id) is not None:
                return False
            await jobs.enqueue(
                session,
                kind=SWEEP_JOB,
                payload=NoPayload(),
                workspace_id=None,
                now=now,
                job_id=job_id,
                max_attempts=3,
            )
            return True
    return False

"""The worker: a loop over due job rows.

Claiming marks a batch ``running`` with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
any number of workers share the queue); a worker keeps up to ``worker_concurrency`` jobs
running at once (one on SQLite). Each job then runs its handler in a transaction that ends by
marking the job succeeded while the lease is still ours (else it rolls back: another worker
owns the job): the handler's effects and the job's completion commit together, so a crash at
any point leaves either both or neither, and the job is simply claimed again.

A handler may ask to run again at once (it returns True): a service task whose next step is
due goes on in a new transaction of the same job rather than through a new job, so each step
still commits by itself, and a crash between them leaves the job claimed, to be taken again
when its lease runs out and resume where the database says. Such a chain is bounded (rounds,
half the lease); past that the job re-queues itself.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import random
import socket
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.context import AppContext
from enroll.document import jobs as document_jobs
from enroll.document import sweeper as document_sweeper
from enroll.enrollment import jobs as enrollment_jobs
from enroll.idempotency.service import PURGE_SLICE, purge_expired
from enroll.importer import jobs as importer_jobs
from enroll.job import repository as queue
from enroll.job import service as jobs
from enroll.job.registry import JOBS, JobSpec
from enroll.job.repository import Claimed
from enroll.kit import failures
from enroll.kit.background import LeaseLost, jitter
from enroll.location import jobs as location_jobs
from enroll.notification import jobs as notification_jobs
from enroll.servicetask import jobs as servicetask_jobs
from enroll.webhook.delivery import Deliverer

log = logging.getLogger("enroll.worker")
MAX_BACKOFF_SECONDS = 3600.0
MAX_ROUNDS = 32  # transactions one job may chain before it re-queues itself
HOUSEKEEPING_EVERY = timedelta(minutes=10)
# Every domain module that declares jobs (job/registry.py), imported here, in one place, so that
# every kind is registered before a job is claimed. A new domain with jobs goes in this list.
JOB_MODULES = (
    document_jobs,
    enrollment_jobs,
    importer_jobs,
    location_jobs,
    notification_jobs,
    servicetask_jobs,
)


def loop_time() -> float:
    return asyncio.get_running_loop().time()


def backoff(attempts: int) -> timedelta:
    """Exponential with jitter: ~1 s, 2 s, 4 s … capped at an hour."""
    base = min(2.0 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    return timedelta(seconds=base * jitter(0.75, 1.25))


class Worker:
    def __init__(
        self,
        ctx: AppContext,
        *,
        name: str | None = None,
        registry: Mapping[str, JobSpec] | None = None,
    ) -> None:
        self.ctx = ctx
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{random.randrange(16**4):04x}"
        self.registry = registry if registry is not None else JOBS
        self._next_housekeeping: datetime | None = None
        self._next_periodic: datetime | None = None
        self.webhooks = Deliverer(ctx, name=self.name)

    @property
    def concurrency(self) -> int:
        if self.ctx.db.is_sqlite:
            return 1  # one writer: overlapping jobs would only queue for the write lock
        return max(1, self.ctx.settings.worker_concurrency)

    async def run(self, stop: asyncio.Event) -> None:
        """Keep up to ``concurrency`` jobs running until ``stop``, then let them finish.

        Jobs are claimed a batch at a time into a local backlog (one claiming transaction per
        batch, not per job) and started as slots free up; what is still in the backlog at the
        stop is handed back to the queue.
        """
        settings = self.ctx.settings
        log.info("worker %s started (%d at a time)", self.name, self.concurrency)
        webhooks = asyncio.create_task(self._deliver_webhooks(stop))
        running: set[asyncio.Task[None]] = set()
        backlog: collections.deque[Claimed] = collections.deque()
        while not stop.is_set():
            claimed = 0
            try:
                if len(backlog) < self.concurrency:
                    fresh = await self._claim(settings.worker_batch_size)
                    backlog.extend(fresh)
                    claimed = len(fresh)
                await self._housekeeping()
                await self._schedule_periodic()
            except Exception:
                log.exception("worker loop error")
            while backlog and len(running) < self.concurrency:
                task = asyncio.create_task(self._execute(backlog.popleft()))
                running.add(task)
                task.add_done_callback(running.discard)
            if claimed and len(running) < self.concurrency:
                continue  # slots left and the queue had work: there may be more due
            # Wait for a slot to free (or, with nothing claimed, the next poll) or the stop.
            waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(stop.wait()), *running}
            timeout = None if backlog else settings.worker_poll_seconds
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters - running:
                waiter.cancel()
        if backlog:
            await self._release(list(backlog))
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        await webhooks
        log.info("worker %s stopped", self.name)

    async def _deliver_webhooks(self, stop: asyncio.Event) -> None:
        """Serve webhook endpoints beside the jobs (webhook/delivery.py), up to
        ``worker_concurrency`` at once: their time goes on waiting for receivers."""
        limit = max(1, self.ctx.settings.worker_concurrency)
        try:
            while not stop.is_set():
                try:
                    served = await self.webhooks.run_once(limit)
                except Exception:
                    log.exception("webhook delivery loop error")
                    served = 0
                if not served:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.ctx.settings.worker_poll_seconds)
        finally:
            await self.webhooks.close()

    async def _release(self, jobs: list[Claimed]) -> None:
        """Hand claimed jobs that never started back to the queue (the claim is undone)."""
        now = self.ctx.clock.now()
        with contextlib.suppress(Exception):  # else they wait out their lease
            async with self.ctx.db.transaction() as session:
                for job in jobs:
                    await queue.release(session, job, worker=self.name, now=now)

    async def run_once(self) -> int:
        """Claim one batch and run it (``concurrency`` at a time); the number of jobs run."""
        claimed = await self._claim(self.ctx.settings.worker_batch_size)
        slots = asyncio.Semaphore(self.concurrency)

        async def one(job: Claimed) -> None:
            async with slots:
                await self._execute(job)

        await asyncio.gather(*(one(job) for job in claimed))
        return len(claimed)

    async def _claim(self, limit: int) -> list[Claimed]:
        now = self.ctx.clock.now()
        lease = now + timedelta(seconds=self.ctx.settings.job_lease_seconds)
        async with self.ctx.db.transaction() as session:
            return await queue.claim(session, worker=self.name, now=now, lease=lease, limit=limit)

    async def _execute(self, job: Claimed) -> None:
        spec = self.registry.get(job.kind)
        if spec is not None and not spec.transaction:
            await self._execute_long(job, spec)
            return
        started = loop_time()
        try:
            if spec is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            payload = spec.parse(job.payload)
            for round_ in range(1, MAX_ROUNDS + 1):
                async with self.ctx.db.transaction() as session:
                    again = await spec.handler(
                        session=session,
                        ctx=self.ctx,
                        workspace_id=job.workspace_id,
                        payload=payload,
                    )
                    if again and (
                        round_ == MAX_ROUNDS
                        or loop_time() - started > self.ctx.settings.job_lease_seconds / 2
                    ):
                        await jobs.enqueue(  # the rest as a new job, so the lease never lapses
                            session,
                            kind=job.kind,
                            payload=job.payload,
                            workspace_id=job.workspace_id,
                            now=self.ctx.clock.now(),
                        )
                        again = False
                    if not again and not await self._succeed(session, job):
                        raise LeaseLost  # roll back: another worker owns the job now
                if not again:
                    return
        except LeaseLost:
            return
        except Exception as exc:
            await self._failed(job, exc)

    async def _execute_long(self, job: Claimed, spec: JobSpec) -> None:
        """A job too long for one transaction (an import): it commits as it goes and resumes
        where the database says after a crash. Its lease is renewed while it runs, and it is
        marked succeeded in a transaction of its own afterwards."""
        heartbeat = asyncio.create_task(self._renew_lease(job))
        try:
            await spec.handler(
                ctx=self.ctx, workspace_id=job.workspace_id, payload=spec.parse(job.payload)
            )
        except Exception as exc:
            heartbeat.cancel()
            await self._failed(job, exc)
            return
        heartbeat.cancel()
        async with self.ctx.db.transaction() as session:
            await self._succeed(session, job)

    async def _succeed(self, session: AsyncSession, job: Claimed) -> bool:
        """Mark the job succeeded while the lease is still ours; False when it is not."""
        return await queue.succeed(session, job, worker=self.name, now=self.ctx.clock.now())

    async def _renew_lease(self, job: Claimed) -> None:
        lease = self.ctx.settings.job_lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            now = self.ctx.clock.now()
            with contextlib.suppress(Exception):  # a missed renewal only risks a re-run
                async with self.ctx.db.transaction() as session:
                    await queue.renew(
                        session,
                        job,
                        worker=self.name,
                        now=now,
                        until=now + timedelta(seconds=lease),
                    )

    async def _failed(self, job: Claimed, exc: Exception) -> None:
        now = self.ctx.clock.now()
        final = job.attempts >= job.max_attempts
        error = failures.describe(log, exc, f"job {job.id} ({job.kind})")
        log.warning("job %s (%s) attempt %d failed: %s", job.id, job.kind, job.attempts, error)
        retry_at = None if final else now + backoff(job.attempts)
        async with self.ctx.db.transaction() as session:
            await queue.fail(
                session, job, worker=self.name, now=now, error=error, retry_at=retry_at
            )

    async def _housekeeping(self) -> None:
        now = self.ctx.clock.now()
        if self._next_housekeeping is not None and now < self._next_housekeeping:
            return
        self._next_housekeeping = now + HOUSEKEEPING_EVERY
        purged, more = 0, True
        while more:  # a slice per transaction
            async with self.ctx.db.transaction() as session:
                count = await purge_expired(session, now=now)
            purged += count
            more = count == PURGE_SLICE
        if purged:
            log.info("purged %d expired idempotency records", purged)

    async def _schedule_periodic(self) -> None:
        """Queue the periodic jobs: the orphan sweep of document storage, once an hour across
        all workers (its job id names the hour)."""
        now = self.ctx.clock.now()
        if self._next_periodic is not None and now < self._next_periodic:
            return
        self._next_periodic = now + HOUSEKEEPING_EVERY
        await document_sweeper.schedule(self.ctx)

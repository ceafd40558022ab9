"""The job queue and worker: exactly-once across processes, lease recovery, visible failure."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.context import AppContext
from enroll.enrollment import service as enrollments
from enroll.enrollment.schemas import EnrollmentCreate
from enroll.ids import new_id
from enroll.job import service as jobs
from enroll.job.registry import NoPayload, Registry
from enroll.models import EnrollmentHistory, Event, Job
from enroll.program import service as programs
from enroll.program.schemas import ProgramCreate
from enroll.program_instance import service as instances
from enroll.program_instance.schemas import ProgramInstanceCreate
from enroll.worker.runner import Worker
from enroll.workflows.enrollment import Action
from enroll.workspace.service import create_workspace
from tests.support.server import BACKENDS, Database, ShiftedClock, Tenant, fresh_database
from tests.support.worker_processes import Workers


@pytest.fixture(params=BACKENDS)
def private_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database of its own, with no server (and so no embedded worker) on it."""
    db = fresh_database(request.param, tmp_path)
    yield db
    db.drop()


async def _submitted_auto_enrollments(ctx: AppContext, count: int) -> str:
    """``count`` submitted enrollments in an auto-review instance: one auto-approve job each."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        await programs.create(
            session,
            ProgramCreate.model_validate(
                {"slug": "worker-prog", "name": "W", "type": "demand_response"}
            ),
        )
        workspace, _ = await create_workspace(session, name="Worker test")
        instance = await instances.create(
            session,
            workspace_id=workspace.id,
            now=now,
            body=ProgramInstanceCreate.model_validate(
                {
                    "programSlug": "worker-prog",
                    "slug": f"w-{uuid.uuid4().hex[:8]}",
                    "name": "W",
                    "status": "active",
                    "reviewMode": "auto",
                }
            ),
        )
        for i in range(count):
            enrollment, _ = await enrollments.create(
                session,
                workspace_id=workspace.id,
                instance_ref=instance.id,
                actor="test",
                now=now,
                body=EnrollmentCreate.model_validate(
                    {
                        "identificationType": "customerInfo",
                        "firstName": "W",
                        "lastName": str(i),
                        "email": f"w{i}@example.com",
                    }
                ),
            )
            await enrollments.act(
                session,
                workspace_id=workspace.id,
                enrollment_id=enrollment.id,
                action=Action.SUBMIT,
                reason=None,
                actor="test",
                now=now,
            )
    return workspace.id


def test_two_worker_processes_run_each_of_1000_jobs_exactly_once(
    private_db: Database, tmp_path: Path
) -> None:
    if private_db.backend != "postgresql":
        pytest.skip(
            "several worker processes share a queue on PostgreSQL; SQLite runs one embedded"
        )
    private_pg = private_db
    workspace_id = private_pg.run(lambda ctx: _submitted_auto_enrollments(ctx, 1000))
    workers = Workers(
        private_pg.url,
        tmp_path,
        2,
        ENROLL_WORKER_POLL_SECONDS="0.05",
        ENROLL_WORKER_BATCH_SIZE="10",
    )

    async def remaining(ctx: AppContext) -> int:
        async with ctx.db.transaction(write=False) as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.status.in_(["queued", "running"]))
                )
                or 0
            )

    try:
        deadline = time.monotonic() + 120
        while private_pg.run(remaining) and time.monotonic() < deadline:
            assert workers.alive(), ("a worker died", workers.logs())
            time.sleep(0.5)  # the subject: worker processes' own loops, in real time
    finally:
        workers.stop()
    assert workers.stopped_cleanly(), workers.logs()

    async def outcome(ctx: AppContext) -> tuple[list[Job], Counter[str]]:
        async with ctx.db.transaction(write=False) as session:
            rows = list(
                (await session.scalars(select(Job).where(Job.workspace_id == workspace_id))).all()
            )
            approvals = Counter(
                (
                    await session.scalars(
                        select(EnrollmentHistory.enrollment_id).where(
                            EnrollmentHistory.workspace_id == workspace_id,
                            EnrollmentHistory.to_status == "approved",
                        )
                    )
                ).all()
            )
        return rows, approvals

    rows, approvals = private_pg.run(outcome)
    assert len(rows) == 1000
    assert {j.status for j in rows} == {"succeeded"}
    assert {j.attempts for j in rows} == {1}, "a job was claimed twice"
    assert len({j.locked_by for j in rows}) == 2, "both workers should have taken work"
    assert len(approvals) == 1000 and set(approvals.values()) == {1}


def test_jobs_of_a_vanished_worker_are_taken_over_after_the_lease(private_db: Database) -> None:
    """A worker that claimed jobs and died: another one runs them once its lease has passed."""

    async def scenario(ctx: AppContext) -> list[Job]:
        now = ctx.clock.now()
        async with ctx.db.transaction() as session:
            workspace, _ = await create_workspace(session, name="Lease")
            queued = [
                await jobs.enqueue(
                    session,
                    kind="enrollment.auto_approve",
                    payload={"enrollmentId": "missing"},
                    workspace_id=workspace.id,
                    now=now,
                    max_attempts=3,
                )
                for _ in range(3)
            ]
        ctx.settings.job_lease_seconds = 0.3
        ghost = Worker(ctx, name="ghost")
        claimed = await ghost._claim(limit=10)  # claims, then "crashes" before running anything
        assert {c.id for c in claimed} == set(queued)
        survivor = Worker(ctx, name="survivor")
        assert await survivor._claim(limit=10) == []  # leased to the ghost
        ctx.clock = ShiftedClock(timedelta(seconds=1))  # past the ghost's lease
        await survivor.run_once()
        async with ctx.db.transaction(write=False) as session:
            return list((await session.scalars(select(Job).where(Job.id.in_(queued)))).all())

    rows = private_db.run(scenario)
    for job in rows:
        assert job.attempts == 2  # the ghost's claim, then the survivor's
        assert job.locked_by in (None, "survivor")
        assert (
            job.status == "queued" and job.last_error
        )  # the enrollment does not exist: retried later


def test_a_job_that_keeps_failing_ends_visibly_failed(tenant: Tenant) -> None:
    """Through the server's worker: retried with backoff, then failed with its last error."""

    async def enqueue(ctx: AppContext) -> str:
        async with ctx.db.transaction() as session:
            job_id = await jobs.enqueue(
                session,
                kind="enrollment.auto_approve",
                payload={"enrollmentId": "nope"},
                workspace_id=tenant.id,
                now=ctx.clock.now(),
                max_attempts=2,
            )
        return job_id

    job_id = tenant.server.database.run(enqueue)
    tenant.server.drain()  # the first attempt fails; the retry waits out its backoff (~1 s)
    with tenant.server.clock_shifted(timedelta(seconds=5)):
        tenant.server.drain()
    failed = tenant.client.get("/v1/jobs", params={"status": "failed"}).json()["data"]
    assert [j["id"] for j in failed] == [job_id]
    assert failed[0]["attempts"] == 2
    assert failed[0]["lastError"].startswith("NotFound")
    assert failed[0]["finishedAt"] is not None


def test_a_handler_that_asks_again_runs_in_new_transactions_then_requeues(
    private_db: Database,
) -> None:
    """A chaining handler (service-task steps): each round commits by itself, the job stays
    claimed meanwhile, and past MAX_ROUNDS the rest goes on as a new job."""
    from enroll.worker import runner

    rounds: list[tuple[int, str]] = []
    registry = Registry()

    @registry.job("test.chain", payload=NoPayload, transaction=True)
    async def chain(
        *, session: AsyncSession, ctx: AppContext, workspace_id: str | None, payload: NoPayload
    ) -> bool:
        job = await session.scalar(
            select(Job).where(Job.kind == "test.chain", Job.status == "running")
        )
        assert job is not None  # still claimed while the chain runs
        await session.execute(
            insert(Event).values(
                id=new_id(),
                workspace_id=workspace_id,
                type="test.round",
                version=1,
                occurred_at=ctx.clock.now(),
                subject_id=None,
                data={},
            )
        )
        rounds.append((len(rounds) + 1, job.id))
        if len(rounds) == 3:
            raise RuntimeError("round 3 fails")  # rolled back alone; rounds 1-2 stay
        return True

    async def scenario(ctx: AppContext) -> tuple[list[Job], int]:
        async with ctx.db.transaction() as session:
            workspace, _ = await create_workspace(session, name="Chain")
            await jobs.enqueue(
                session,
                kind="test.chain",
                payload={},
                workspace_id=workspace.id,
                now=ctx.clock.now(),
                max_attempts=1,
            )
        worker = Worker(ctx, registry=registry)
        await worker.run_once()  # rounds 1, 2, then 3 fails: the job fails, 2 events stay
        async with ctx.db.transaction() as session:
            await jobs.enqueue(
                session,
                kind="test.chain",
                payload={},
                workspace_id=workspace.id,
                now=ctx.clock.now(),
            )
        await worker.run_once()  # MAX_ROUNDS rounds, then a new job for the rest
        async with ctx.db.transaction(write=False) as session:
            rows = list((await session.scalars(select(Job).where(Job.kind == "test.chain"))).all())
            events = await session.scalar(
                select(func.count()).select_from(Event).where(Event.type == "test.round")
            )
        return rows, int(events or 0)

    rows, events = private_db.run(scenario)
    assert len(rounds) == 3 + runner.MAX_ROUNDS
    assert events == 2 + runner.MAX_ROUNDS
    statuses = sorted((j.status, j.attempts) for j in rows)
    assert statuses == [("failed", 1), ("queued", 0), ("succeeded", 1)]
    assert len({job_id for _, job_id in rounds[3:]}) == 1  # one job ran every round


def test_a_payload_its_model_refuses_fails_the_attempt_like_a_handler_error(
    private_db: Database,
) -> None:
    """The stored payload is parsed into the kind's model before the handler runs; a payload
    it refuses fails the attempt (retried, then failed), as a handler's error does."""

    async def scenario(ctx: AppContext) -> list[Job]:
        async with ctx.db.transaction() as session:
            workspace, _ = await create_workspace(session, name="Refused")
            for kind in ("enrollment.auto_approve", "import.run"):  # in and out of a transaction
                await jobs.enqueue(
                    session,
                    kind=kind,
                    payload={"unexpected": 1},
                    workspace_id=workspace.id,
                    now=ctx.clock.now(),
                    max_attempts=2,
                )
        worker = Worker(ctx)
        assert await worker.run_once() == 2
        async with ctx.db.transaction() as session:
            queued = list((await session.scalars(select(Job))).all())
            await session.execute(update(Job).values(run_at=ctx.clock.now()))  # past the backoff
        assert await worker.run_once() == 2
        async with ctx.db.transaction(write=False) as session:
            return queued + list((await session.scalars(select(Job).order_by(Job.kind))).all())

    rows = private_db.run(scenario)
    first, last = rows[:2], rows[2:]
    assert sorted((j.status, j.attempts) for j in first) == [("queued", 1), ("queued", 1)]
    assert [(j.kind, j.status, j.attempts) for j in last] == [
        ("enrollment.auto_approve", "failed", 2),
        ("import.run", "failed", 2),
    ]
    assert all(j.last_error and j.last_error.startswith("Internal error") for j in last)

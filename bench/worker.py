"""Service-task throughput of the worker, beside the bare job queue measured in the same run.

    .venv/bin/python bench/worker.py [--tasks 2000] [--backend postgresql|sqlite|both]

Prints ONE JSON document on stdout (progress on stderr); a measurement, not a test.

Per backend (a fresh SQLite file, or a fresh database on ENROLL_BENCH_DATABASE_URL):
* ``--tasks`` enrollment requests into an instance whose setup workflow has nothing to set up,
  queued in-process before the clock starts: each runs pending → validate → check_eligibility
  → setup_enrollment → setup_device → awaiting_device_setup → completed, six state advances,
  every one a transaction (the step's work, the move, its log row and event, the next job);
* PostgreSQL: with one and with two ``enroll worker`` processes; SQLite: the worker embedded in
  ``enroll serve``. Reported: state advances per second and completed tasks per second, from
  the first claim to the last completion (read from the task log);
* baseline: as many ``service_task.step`` jobs as there were advances, each for a task that
  does not exist, through the same workers: the queue's own cost (claim, run a handler that
  reads one row, mark succeeded), with no service-task work. Target: ≥ 500 state advances/s on
  PostgreSQL with two workers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select

from enroll.config import Settings
from enroll.context import AppContext
from enroll.job import service as jobs
from enroll.migrations import upgrade
from enroll.models import Job, ServiceTask, ServiceTaskLog
from enroll.program import service as programs
from enroll.program.schemas import ProgramCreate
from enroll.program_instance import service as instances
from enroll.program_instance.schemas import ProgramInstanceCreate
from enroll.servicetask import service as setup
from enroll.servicetask import tasks as task_states
from enroll.servicetask.schemas import EnrollmentRequestCreate
from enroll.workspace.service import create_workspace

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
ENROLL = str(Path(sys.executable).parent / "enroll")
ADVANCES_PER_TASK = 6
TARGET_ADVANCES_PER_SECOND = 500


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def seed_tasks(url: str, count: int) -> str:
    """``count`` enrollment requests at ``pending``; returns the workspace id."""
    ctx = AppContext.from_settings(Settings(database_url=url))
    try:
        now = ctx.clock.now()
        async with ctx.db.transaction() as session:
            await programs.create(
                session,
                ProgramCreate.model_validate({"slug": "bench", "name": "B", "type": "other"}),
            )
            workspace, _ = await create_workspace(session, name="Worker bench")
            instance = await instances.create(
                session,
                workspace_id=workspace.id,
                now=now,
                body=ProgramInstanceCreate.model_validate(
                    {
                        "programSlug": "bench",
                        "slug": f"bench-{uuid.uuid4().hex[:8]}",
                        "name": "B",
                        "status": "active",
                        "setupWorkflow": {"enrollmentActions": []},
                    }
                ),
            )
        for start in range(0, count, 500):
            async with ctx.db.transaction() as session:
                for i in range(start, min(start + 500, count)):
                    body = EnrollmentRequestCreate.model_validate(
                        {
                            "transactionId": f"tx-{i}",
                            "customerInfo": {
                                "firstName": "B",
                                "lastName": str(i),
                                "email": f"b{i}@bench.example",
                            },
                            "programInstanceId": instance.id,
                            "assetInfo": {
                                "installationMethod": "ship_device",
                                "assetOwnership": "utility",
                            },
                        }
                    )
                    await setup.request_enrollment(
                        session, workspace_id=workspace.id, body=body, actor="bench", now=now
                    )
        return workspace.id
    finally:
        await ctx.db.dispose()


async def seed_noop_jobs(url: str, workspace_id: str, count: int) -> None:
    ctx = AppContext.from_settings(Settings(database_url=url))
    try:
        for start in range(0, count, 1000):
            async with ctx.db.transaction() as session:
                for _ in range(start, min(start + 1000, count)):
                    await jobs.enqueue(
                        session,
                        kind=task_states.STEP_JOB,
                        payload={"taskId": "none", "state": "pending"},
                        workspace_id=workspace_id,
                        now=ctx.clock.now(),
                    )
    finally:
        await ctx.db.dispose()


async def _progress(url: str) -> tuple[int, int, int]:
    """(tasks completed, jobs queued or running, tasks)."""
    ctx = AppContext.from_settings(Settings(database_url=url))
    try:
        async with ctx.db.transaction(write=False) as session:
            done = await session.scalar(
                select(func.count())
                .select_from(ServiceTask)
                .where(ServiceTask.state == "completed")
            )
            busy = await session.scalar(
                select(func.count()).select_from(Job).where(Job.status.in_(["queued", "running"]))
            )
            total = await session.scalar(select(func.count()).select_from(ServiceTask))
        return int(done or 0), int(busy or 0), int(total or 0)
    finally:
        await ctx.db.dispose()


async def _log_span(url: str) -> tuple[datetime, datetime, int]:
    """When the first advance and the last completion happened, and how many advances."""
    ctx = AppContext.from_settings(Settings(database_url=url))
    try:
        async with ctx.db.transaction(write=False) as session:
            moved = ServiceTaskLog.from_state.is_not(None)
            first, last, n = (
                await session.execute(
                    select(
                        func.min(ServiceTaskLog.at), func.max(ServiceTaskLog.at), func.count()
                    ).where(moved)
                )
            ).one()
        return first, last, int(n)
    finally:
        await ctx.db.dispose()


async def _job_span(url: str) -> tuple[float, int]:
    ctx = AppContext.from_settings(Settings(database_url=url))
    try:
        async with ctx.db.transaction(write=False) as session:
            first, last, n = (
                await session.execute(
                    select(func.min(Job.updated_at), func.max(Job.finished_at), func.count()).where(
                        Job.status == "succeeded", Job.payload["taskId"].as_string() == "none"
                    )
                )
            ).one()
        return (last - first).total_seconds(), int(n)
    finally:
        await ctx.db.dispose()


def start_workers(env: dict[str, str], backend: str, count: int) -> list[subprocess.Popen[bytes]]:
    if backend == "sqlite":  # the worker embedded in the API process
        args = [ENROLL, "serve", "--port", str(_free_port())]
        return [subprocess.Popen(args, env=env, stderr=subprocess.DEVNULL)]
    return [
        subprocess.Popen([ENROLL, "worker"], env=env, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        w.terminate()
    for w in workers:
        w.wait(timeout=30)


def wait_idle(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, busy, total = asyncio.run(_progress(url))
        if busy == 0:
            return
        log(f"  {done}/{total} tasks completed, {busy} jobs to go")
        time.sleep(1.0)
    raise TimeoutError("the workers did not finish")


def run(url: str, backend: str, workers: int, tasks: int) -> dict[str, Any]:
    env = os.environ | {
        "ENROLL_DATABASE_URL": url,
        "ENROLL_WORKER_POLL_SECONDS": "0.05",
        "PYTHONUNBUFFERED": "1",
    }
    workspace_id = asyncio.run(seed_tasks(url, tasks))
    log(f"{backend}, {workers} worker(s): {tasks} tasks queued")
    procs = start_workers(env, backend, workers)
    try:
        wait_idle(url, timeout=1800)
        done, _, total = asyncio.run(_progress(url))
        first, last, advances = asyncio.run(_log_span(url))
        seconds = (last - first).total_seconds()
        log(f"  {advances} advances in {seconds:.1f} s; baseline next")
        asyncio.run(seed_noop_jobs(url, workspace_id, advances))
        wait_idle(url, timeout=1800)
        base_seconds, base_jobs = asyncio.run(_job_span(url))
    finally:
        stop(procs)
    assert done == total == tasks, (done, total)
    return {
        "workers": workers,
        "tasks": tasks,
        "state_advances": advances,
        "seconds": round(seconds, 2),
        "state_advances_per_second": round(advances / seconds, 1),
        "completed_tasks_per_second": round(tasks / seconds, 1),
        "baseline": {
            "kind": "no-op service_task.step jobs through the same workers",
            "jobs": base_jobs,
            "seconds": round(base_seconds, 2),
            "jobs_per_second": round(base_jobs / base_seconds, 1),
        },
        "ratio_to_baseline": round((advances / seconds) / (base_jobs / base_seconds), 3),
    }


async def _pg(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def fresh_database(backend: str, work: Path) -> tuple[str, Any]:
    if backend == "sqlite":
        url = f"sqlite:///{work / f'worker-{uuid.uuid4().hex[:8]}.sqlite'}"
        upgrade(url)
        return url, lambda: None
    admin = os.environ.get("ENROLL_BENCH_DATABASE_URL", DEFAULT_PG)
    name = f"enroll_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(admin, f'CREATE DATABASE "{name}"'))
    url = f"{admin.rsplit('/', 1)[0]}/{name}"
    upgrade(url)
    return url, lambda: asyncio.run(_pg(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    args = parser.parse_args()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            for workers in (1, 2) if backend == "postgresql" else (1,):
                url, drop = fresh_database(backend, Path(tmp))
                try:
                    key = f"{backend}_{workers}_worker{'s' if workers > 1 else ''}"
                    results[key] = run(url, backend, workers, args.tasks)
                finally:
                    drop()
    print(
        json.dumps(
            {
                "benchmark": "service-task state advances through the worker",
                "target": {
                    "postgresql_two_workers_advances_per_second": TARGET_ADVANCES_PER_SECOND
                },
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""A worker killed mid-run loses nothing and doubles nothing (PostgreSQL, two worker processes).

2,000 enrollment requests, each with a device of the customer's; the last 200 go to an
instance whose setup runs a device command, answered by a real HTTP endpoint (the others have
nothing to set up, which keeps the run short). Two ``enroll worker`` processes run them; one is
killed with SIGKILL part-way and started again. Every task must end completed, with exactly one
subscription, location and device each, and one action each where there is one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from enroll.context import AppContext
from enroll.models import (
    Device,
    DeviceLocation,
    Enrollment,
    Job,
    ProgramSubscription,
    ServiceTask,
    SetupAction,
)
from enroll.program import service as programs
from enroll.program.schemas import ProgramCreate
from enroll.program_instance import service as instances
from enroll.program_instance.schemas import ProgramInstanceCreate
from enroll.servicetask import service as setup
from enroll.servicetask.schemas import EnrollmentRequestCreate
from enroll.workspace import service as workspaces
from tests.support.http_endpoint import Checker
from tests.support.server import PG_URL, Database, fresh_database
from tests.support.worker_processes import SHORT_LEASES, Workers

TASKS = 2000
COMMANDED = 200  # the requests whose setup sends a device command
EVERY = {
    "installationMethods": ["bring_your_own"],
    "assetOwnerships": ["customer"],
}

pytestmark = pytest.mark.skipif(not PG_URL, reason="several workers share a queue on PostgreSQL")


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    db = fresh_database("postgresql", tmp_path)
    yield db
    db.drop()


async def _seed(ctx: AppContext, command_url: str) -> tuple[str, str]:
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        await programs.create(
            session, ProgramCreate.model_validate({"slug": "crash", "name": "C", "type": "other"})
        )
        workspace, _ = await workspaces.create_workspace(session, name="Crash")
        secret = await workspaces.signing_secret(session, workspace_id=workspace.id)
        plain, commanded = [
            await instances.create(
                session,
                workspace_id=workspace.id,
                now=now,
                body=ProgramInstanceCreate.model_validate(
                    {
                        "programSlug": "crash",
                        "slug": f"crash-{uuid.uuid4().hex[:8]}",
                        "name": "C",
                        "status": "active",
                        "setupWorkflow": workflow,
                    }
                ),
            )
            for workflow in (
                {"enrollmentActions": []},
                {
                    "enrollmentActions": [{"sequence": 1, "type": "device_command", **EVERY}],
                    "deviceCommandUrl": command_url,
                },
            )
        ]
    for start in range(0, TASKS, 500):
        async with ctx.db.transaction() as session:
            for i in range(start, start + 500):
                body = EnrollmentRequestCreate.model_validate(
                    {
                        "transactionId": f"crash-{i}",
                        "customerInfo": {
                            "firstName": "C",
                            "lastName": str(i),
                            "email": f"c{i}@crash.example",
                        },
                        "programInstanceId": (commanded if i >= TASKS - COMMANDED else plain).id,
                        "assetInfo": {
                            "installationMethod": "bring_your_own",
                            "assetOwnership": "customer",
                            "assets": [{"manufacturer": "acme", "serialNumber": f"SN-{i}"}],
                        },
                    }
                )
                await setup.request_enrollment(
                    session, workspace_id=workspace.id, body=body, actor="test", now=now
                )
    return workspace.id, secret


async def _completed(ctx: AppContext) -> int:
    async with ctx.db.transaction(write=False) as session:
        done = await session.scalar(
            select(func.count()).select_from(ServiceTask).where(ServiceTask.state == "completed")
        )
    return int(done or 0)


async def _counts(ctx: AppContext) -> dict[str, Any]:
    async with ctx.db.transaction(write=False) as session:

        async def count(model: Any, *where: Any) -> int:
            return int(
                await session.scalar(select(func.count()).select_from(model).where(*where)) or 0
            )

        states = dict(
            (
                await session.execute(
                    select(ServiceTask.state, func.count()).group_by(ServiceTask.state)
                )
            ).all()
        )
        return {
            "states": states,
            "subscriptions": await count(
                ProgramSubscription, ProgramSubscription.status == "active"
            ),
            "locations": await count(DeviceLocation),
            "devices": await count(Device, Device.status == "active"),
            "distinct_serials": int(
                await session.scalar(select(func.count(func.distinct(Device.serial_number)))) or 0
            ),
            "actions": await count(SetupAction, SetupAction.status == "completed"),
            "approved": await count(Enrollment, Enrollment.status == "approved"),
            "failed_jobs": await count(Job, Job.status == "failed"),
        }


def test_a_killed_worker_resumes_and_nothing_is_made_twice(pg: Database, tmp_path: Path) -> None:
    endpoint = Checker()
    try:
        url = endpoint.route("", lambda _r, _n: (200, {"status": "succeeded"}))
        workspace_id, secret = pg.run(lambda ctx: _seed(ctx, url))
        endpoint.routes[url.rsplit("/", 1)[1]].secret = secret
        workers = Workers(pg.url, tmp_path, 2, **SHORT_LEASES)
        try:
            deadline = time.monotonic() + 600
            while pg.run(_completed) < TASKS // 4:
                assert time.monotonic() < deadline, ("no progress", workers.logs())
                time.sleep(0.2)  # the subject: worker processes running tasks, and one killed
            workers.kill(0)  # mid-run: its claimed jobs wait out the lease
            killed_at = pg.run(_completed)
            workers.restart(0)
            while pg.run(_completed) < TASKS:
                assert time.monotonic() < deadline, (pg.run(_counts), workers.logs())
                assert workers.alive(), ("a worker died", workers.logs())
                time.sleep(0.5)  # the restarted process takes over after the lease, in real time
        finally:
            workers.stop()
        assert workers.stopped_cleanly(), workers.logs()
        assert killed_at < TASKS  # the kill happened with work left
        counts = pg.run(_counts)
        assert counts == {
            "states": {"completed": TASKS},
            "subscriptions": TASKS,
            "locations": TASKS,
            "devices": TASKS,
            "distinct_serials": TASKS,
            "actions": COMMANDED,
            "approved": TASKS,
            "failed_jobs": 0,
        }
        calls = endpoint.received(url)
        assert all(c.verified for c in calls)
        # At least once per action; a command in flight when the worker died may be sent again.
        assert len({c.json["setupActionId"] for c in calls}) == COMMANDED
        del workspace_id
    finally:
        endpoint.close()

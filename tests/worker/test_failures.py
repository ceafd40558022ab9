"""Failures stored for the workspace to read (an import's ``error``, a job's ``lastError``) never
carry a database error's text: a sentence and an error id, with the detail in the server log
under that id (issue 13, A4)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.context import AppContext
from enroll.importer import pipeline
from enroll.job import service as jobs
from enroll.job.registry import JOBS, JobSpec, NoPayload
from tests.support.imports import jsonl, person, run_import
from tests.support.server import Tenant

BROKEN_SQL = "SELECT secret_column FROM no_such_table_a4 WHERE workspace_id = 'w'"
INTERNAL = re.compile(
    r"^Internal error \(id (err_[0-9a-f]{16})\); the details are in the server log\.$"
)


def assert_hidden(stored: str, caplog: pytest.LogCaptureFixture) -> None:
    """``stored`` is the sentence; the log line with its id carries the SQL."""
    for leaked in ("SELECT", "no_such_table_a4", "secret_column", "sqlalchemy", "[SQL"):
        assert leaked not in stored, stored
    found = INTERNAL.match(stored)
    assert found, stored
    error_id = found.group(1)
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(logged) == 1, [r.getMessage() for r in caplog.records]
    (record,) = logged
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert "no_such_table_a4" in str(record.exc_info[1])  # the detail stays in the log


async def _broken(session: AsyncSession, *_: Any) -> None:
    await session.execute(text(BROKEN_SQL))


def test_a_failed_import_shows_an_error_id_not_sql(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def commit_batch(ctx: AppContext, *_: Any) -> None:
        async with ctx.db.transaction() as session:
            await _broken(session)

    monkeypatch.setattr(pipeline, "_commit_batch", commit_batch)
    caplog.set_level(logging.ERROR)
    instance = tenant.instance()
    done = run_import(tenant, instance["id"], jsonl([person(), person()]))
    assert done["status"] == "failed"
    assert_hidden(done["error"], caplog)
    (event,) = tenant.events(type="import.failed")
    assert "SELECT" not in str(event)


def test_a_failed_job_shows_an_error_id_not_sql(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(*, session: AsyncSession, **_: Any) -> bool:
        await _broken(session)
        return False

    spec = JobSpec("test.broken_sql", NoPayload, transaction=True, handler=handler)
    monkeypatch.setitem(JOBS, "test.broken_sql", spec)
    caplog.set_level(logging.ERROR)

    async def enqueue(ctx: AppContext) -> str:
        async with ctx.db.transaction() as session:
            return await jobs.enqueue(
                session,
                kind="test.broken_sql",
                payload={},
                workspace_id=tenant.id,
                now=ctx.clock.now(),
                max_attempts=1,
            )

    job_id = tenant.server.database.run(enqueue)
    tenant.server.drain()
    failed = tenant.client.get("/v1/jobs", params={"status": "failed"}).json()["data"]
    (job,) = failed
    assert job["id"] == job_id
    assert_hidden(job["lastError"], caplog)
    r = tenant.client.get(f"/v1/jobs/{job_id}")
    if r.status_code == 200:
        assert r.json()["lastError"] == job["lastError"]

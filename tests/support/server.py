"""The test servers, databases and workspaces the fixtures (conftest.py) and tests build on:
a real server over real HTTP on a real database (SQLite, and PostgreSQL when
ENROLL_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
import uvicorn
from sqlalchemy import text

from enroll.app import create_app
from enroll.auth.scopes import PLATFORM_SCOPES
from enroll.auth.service import issue_key
from enroll.config import Settings
from enroll.context import AppContext
from enroll.event import repository as events
from enroll.kit.clock import system_clock
from enroll.migrations import upgrade
from enroll.webhook.delivery import Deliverer
from enroll.worker.runner import Worker
from enroll.workspace.service import create_workspace

T = TypeVar("T")
DRAIN_ROUNDS = 200  # worker rounds one drain may take before it gives up: a job loops
PG_URL = os.environ.get("ENROLL_TEST_DATABASE_URL")
# A fixed data key (docs/security.md): tests must not write a development key file.
TEST_DATA_KEY = "test1:" + "A" * 43
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not PG_URL, reason="ENROLL_TEST_DATABASE_URL not set"),
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _pg_admin(sql: str) -> None:
    assert PG_URL
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Database:
    """A fresh database for one backend, for the whole session."""

    backend: str
    url: str
    drop: Callable[[], None] = lambda: None
    # Where documents are stored (docs/documents.md): a folder of the test's own, not the
    # default beside the database (PostgreSQL's default is ./enroll-files, the checkout).
    storage_url: str | None = None

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": self.url,
            "worker_poll_seconds": 0.05,
            "db_pool_size": 10,
            "data_key": TEST_DATA_KEY,
            "storage_url": self.storage_url,
        }
        return Settings(**(values | overrides))

    def run(self, work: Callable[[AppContext], Awaitable[T]]) -> T:
        """Run ``work`` against the database in a private event loop (for setup and checks)."""

        async def main() -> T:
            ctx = AppContext.from_settings(self.settings())
            try:
                return await work(ctx)
            finally:
                await ctx.db.dispose()

        return asyncio.run(main())

    def settle(self) -> None:
        """Wait until the event feed shows every transaction committed so far. On PostgreSQL
        the feed holds back events while an older transaction that may still write one runs
        (of this database, or of the cluster for a role that may not see the others' activity:
        event/repository.py's horizon): take a transaction id now and wait for the feed's
        horizon to pass it. SQLite shows every committed event at once."""
        if self.backend == "postgresql":
            self.run(_settle)


async def _settle(ctx: AppContext) -> None:
    async with ctx.db.transaction() as session:
        now = await session.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
    async with asyncio.timeout(60):  # else a transaction older than the call never ended
        while True:
            async with ctx.db.transaction(write=False) as session:
                if (await events.horizon(session) or 0) > now:
                    return
            await asyncio.sleep(0.02)  # older writers, maybe other processes': nothing to drive


def fresh_database(backend: str, directory: Path) -> Database:
    """A new, migrated database: an SQLite file in ``directory`` or a PostgreSQL database."""
    if backend == "sqlite":
        db = Database("sqlite", f"sqlite:///{directory / f'enroll-{uuid.uuid4().hex[:8]}.sqlite'}")
    else:
        assert PG_URL
        name = f"enroll_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        db = Database(
            "postgresql",
            f"{PG_URL.rsplit('/', 1)[0]}/{name}",
            drop=lambda: asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')),
        )
    db.storage_url = (directory / f"files-{uuid.uuid4().hex[:8]}").as_uri()
    upgrade(db.url)
    return db


@dataclass
class Server:
    """A server of the app in a thread of its own, on its own event loop. Its background worker
    is off unless a test asks for it (``embedded_worker=True``): tests run the worker's steps
    with ``drain`` and move its time with ``clock_shifted`` rather than sleep and poll."""

    database: Database
    base_url: str
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _worker: Worker | None = field(default=None, repr=False)
    _deliverer: Deliverer | None = field(default=None, repr=False)

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self._server.config.app.state.ctx
        return ctx

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0, **kwargs)

    def on_loop(self, work: Awaitable[T]) -> T:
        """Run ``work`` on the server's event loop (its database pools are bound to it)."""
        return asyncio.run_coroutine_threadsafe(_awaited(work), self._loop).result(timeout=120)

    def drain(self) -> int:
        """Run the worker until it has nothing to do: rounds of due jobs (``Worker.run_once``)
        and webhook deliveries (its ``Deliverer.run_once``), and the requests' background tasks
        (``ctx.spawn``), on the server's loop and clock, until a round finds nothing; how much
        was done (jobs run, events queued for endpoints, deliveries attempted). What is due
        later (a retry's backoff) stays: move the clock (``clock_shifted``) and drain again.

        On PostgreSQL the webhook deliverer reads only settled events (see ``Database.settle``):
        an idle round counts only once the feed showed everything committed before it."""
        served, settled = 0, False
        for _ in range(DRAIN_ROUNDS):
            done = self.on_loop(self._round())
            served += done
            if done:
                settled = False
            elif settled or self.database.backend == "sqlite":
                return served
            else:
                self.on_loop(_settle(self.ctx))
                settled = True
        raise AssertionError(f"the worker still had work after {DRAIN_ROUNDS} rounds")

    def await_background(self) -> None:
        """Wait for the requests' background tasks (``ctx.spawn``: a key's last use)."""
        self.on_loop(self.ctx.drain())

    async def _round(self) -> int:
        """One round: the background tasks, a batch of due jobs, the endpoints with something
        to do; what was done (jobs run, events queued for endpoints, deliveries attempted)."""
        ctx = self.ctx
        if self._worker is None or self._deliverer is None:
            self._worker = Worker(ctx, name=f"test-{uuid.uuid4().hex[:8]}")
            self._deliverer = Deliverer(ctx, name=self._worker.name)
        await ctx.drain()
        jobs = await self._worker.run_once()
        delivered = await self._deliverer.run_once(max(1, ctx.settings.worker_concurrency))
        await ctx.drain()
        return jobs + delivered

    @contextlib.contextmanager
    def clock_shifted(self, by: timedelta) -> Iterator[None]:
        """Run the server's injected clock (``ctx.clock``) ``by`` off the real time meanwhile,
        so a test moves the time the server sees instead of waiting for it."""
        ctx = self.ctx
        ctx.clock = ShiftedClock(by)
        try:
            yield
        finally:
            ctx.clock = system_clock

    def stop(self) -> None:
        if self._deliverer is not None and self._thread.is_alive():
            self.on_loop(self._deliverer.close())
        self._server.should_exit = True
        self._thread.join(timeout=20)


async def _awaited(work: Awaitable[T]) -> T:
    return await work


@dataclass(frozen=True)
class ShiftedClock:
    """The real time, ``by`` off."""

    by: timedelta

    def now(self) -> datetime:
        return datetime.now(UTC) + self.by


def start_server(database: Database, **overrides: Any) -> Server:
    """A server of the app on ``database``; ``overrides`` are settings (the embedded worker is
    off unless they turn it on). Stop it with ``Server.stop``."""
    port = free_port()
    app = create_app(database.settings(**({"embedded_worker": False} | overrides)))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    loops: list[asyncio.AbstractEventLoop] = []

    async def serve() -> None:
        loops.append(asyncio.get_running_loop())  # for Server.on_loop
        await server.serve()

    def run() -> None:
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(serve())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)  # start-up happens in the server's thread: nothing to drive
    return Server(database, f"http://127.0.0.1:{port}", server, thread, loops[0])


@contextlib.contextmanager
def private_server(
    database: Database, directory: Path, program: str, **overrides: Any
) -> Iterator[Server]:
    """A server on a database of its own (so no other server's worker takes its jobs) that may
    call http:// endpoints on loopback, with ``program`` (no states, no makers) in its catalog;
    ``overrides`` are further settings."""
    db = fresh_database(database.backend, directory)
    srv = start_server(db, **({"webhook_allow_private": True} | overrides))

    async def platform(ctx: AppContext) -> str:
        async with ctx.db.transaction() as session:
            issued = await issue_key(
                session, workspace_id=None, name="tests", scopes=PLATFORM_SCOPES
            )
        return issued.secret

    try:
        with srv.client(db.run(platform)) as client:
            r = client.post("/v1/programs", json={"slug": program, "name": "P", "type": "other"})
            assert r.status_code == 201, r.text
        yield srv
    finally:
        srv.stop()
        db.drop()


@dataclass
class Tenant:
    """A workspace of its own, with a key holding every workspace scope."""

    id: str
    key: str
    server: Server
    client: httpx.Client

    def key_with(self, *scopes: str) -> str:
        r = self.client.post("/v1/apiKeys", json={"name": "scoped", "scopes": list(scopes)})
        assert r.status_code == 201, r.text
        return str(r.json()["apiKey"])

    def signing_secret(self) -> str:
        """The secret the workspace signs its outbound calls with (async checks, commands)."""
        r = self.client.post("/v1/workspace/signingSecret")
        assert r.status_code == 200, r.text
        return str(r.json()["signingSecret"])

    def events(self, **params: Any) -> list[dict[str, Any]]:
        """A page of the workspace's event feed, once it shows everything committed so far."""
        self.server.database.settle()
        r = self.client.get("/v1/events", params=params)
        assert r.status_code == 200, r.text
        return list(r.json()["data"])

    def instance(self, program: str = "core-test-program", **fields: Any) -> dict[str, Any]:
        body = {
            "programSlug": program,
            "slug": f"i-{uuid.uuid4().hex[:12]}",
            "name": "Instance",
            "status": "active",
        } | fields
        r = self.client.post("/v1/programInstances", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def enroll(self, instance_id: str, **fields: Any) -> dict[str, Any]:
        n = uuid.uuid4().hex[:10]
        body = {
            "identificationType": "customerInfo",
            "firstName": "Pat",
            "lastName": f"Doe{n}",
            "email": f"pat.{n}@example.com",
            "address": {"state": "NY"},
            "manufacturerSlugs": ["tesla"],
        } | fields
        r = self.client.post(f"/v1/programInstances/{instance_id}/enrollments", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())


def make_tenant(server: Server, name: str = "Test") -> Tenant:
    async def work(ctx: AppContext) -> tuple[str, str]:
        async with ctx.db.transaction() as session:
            workspace, issued = await create_workspace(session, name=name)
        return workspace.id, issued.secret

    workspace_id, key = server.database.run(work)
    return Tenant(workspace_id, key, server, server.client(key))

"""Engines, sessions and the transaction scope shared by requests, the worker and the CLI.

SQLite (the embedded default) runs in WAL mode. Its transactions begin explicitly: reads with a
deferred ``BEGIN``, writes with ``BEGIN IMMEDIATE`` behind a per-process asyncio lock taken at the
transaction's first statement and released when its connection returns to the pool, so writers
queue in order instead of failing with SQLITE_BUSY half-way through. PostgreSQL runs at READ
COMMITTED; concurrent writers are serialised by the ``version`` columns and row locks.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only


def async_url(url: str) -> str:
    """Map the user-facing URL (``sqlite:///PATH``, ``postgresql://…``) to its async driver."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    if url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return url
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://…")


log = logging.getLogger("enroll.db")
_HOLDS_WRITE_LOCK = "enroll_holds_write_lock"


def json_dumps(value: Any) -> str:
    """How JSON columns are written (None is JSON null, as SQLAlchemy's JSON type has it)."""
    return orjson.dumps(value).decode()


def json_loads(value: Any) -> Any:
    """How JSON columns are read. SQLite gives a JSON column NUMERIC affinity, so a document
    that is a bare number (a rule such as ``0``) comes back as that number, not its text."""
    if isinstance(value, int | float):
        return value
    return orjson.loads(value)


def _install_sqlite_hooks(engine: AsyncEngine, write_lock: asyncio.Lock) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy (below) emit BEGIN itself instead of the driver's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if not conn.get_execution_options().get("enroll_write"):
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        # Taken at the first statement, not when the request starts: parsing, auth and
        # validation of one request overlap another's transaction. (This runs inside
        # SQLAlchemy's greenlet bridge, where an awaitable can be awaited synchronously.)
        await_only(write_lock.acquire())
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            write_lock.release()
            raise
        conn.info[_HOLDS_WRITE_LOCK] = True

    def _release(_dbapi_connection: Any, record: ConnectionPoolEntry, *_: Any) -> None:
        # The connection is back in the pool, its transaction committed or rolled back.
        if record.info.pop(_HOLDS_WRITE_LOCK, False):
            write_lock.release()

    event.listen(engine.sync_engine.pool, "checkin", _release)
    event.listen(engine.sync_engine.pool, "invalidate", _release)


_AFTER_COMMIT = "enroll_after_commit"
_AFTER_ROLLBACK = "enroll_after_rollback"
Callback = Callable[[], Awaitable[None] | None]


def after_commit(session: AsyncSession, callback: Callback) -> None:
    """Run ``callback`` once the session's transaction has committed (never on rollback). A
    coroutine callback is awaited; its failure is logged, never raised: the change stands."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def after_rollback(session: AsyncSession, callback: Callback) -> None:
    """Run ``callback`` once the session's transaction has rolled back (never on commit),
    e.g. to remove an object stored for a row that will not exist. Failures are logged, never
    raised (the rollback's cause is what the caller hears about). A savepoint's rollback does
    not run it: the outer transaction decides."""
    session.info.setdefault(_AFTER_ROLLBACK, []).append(callback)


async def _run(callbacks: list[Callback], *, quiet: bool) -> None:
    """Call each; await what a coroutine callback returns, logging its failure. A plain
    callback's failure is raised unless ``quiet``."""
    for callback in callbacks:
        try:
            result = callback()
        except Exception:
            if not quiet:
                raise
            log.exception("an after-transaction callback failed")
            continue
        if inspect.isawaitable(result):
            try:
                await result
            except Exception:
                log.exception("an after-transaction callback failed")


async def rollback(session: AsyncSession) -> None:
    """Roll back the session's transaction, forget its after-commit callbacks and run its
    after-rollback ones; the session goes on in a new transaction."""
    session.info.pop(_AFTER_COMMIT, None)
    undo = session.info.pop(_AFTER_ROLLBACK, [])
    await session.rollback()
    await _run(undo, quiet=True)


class Database:
    def __init__(self, url: str, *, pool_size: int = 20, echo: bool = False) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {
            "echo": echo,
            # JSON columns (metadata, addresses, event payloads) through orjson, not stdlib json.
            "json_serializer": json_dumps,
            "json_deserializer": json_loads,
        }
        if not self.is_sqlite:
            kwargs |= {
                "pool_size": pool_size,
                "max_overflow": pool_size,
                "pool_pre_ping": False,
                # No JIT: the bulk statements (an import part, a re-evaluation batch) cross its
                # cost threshold, and compiling them took longer than running them, inside
                # write transactions that hold back the event feed (docs/architecture.md).
                "connect_args": {"server_settings": {"jit": "off"}},
            }
        else:
            kwargs |= {"pool_size": pool_size, "max_overflow": 0}
        self.engine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            # One writer at a time per process; other processes wait in busy_timeout.
            _install_sqlite_hooks(self.engine, asyncio.Lock())
        self.dialect = self.engine.dialect.name
        write_engine = self.engine.execution_options(enroll_write=True)
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(write_engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """One unit of work: commit when the block succeeds, roll back when it raises."""
        maker = self._write_sessions if write else self._read_sessions
        async with maker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                session.info.pop(_AFTER_COMMIT, None)
                undo = session.info.pop(_AFTER_ROLLBACK, [])
                await session.rollback()
                await _run(undo, quiet=True)
                raise
            session.info.pop(_AFTER_ROLLBACK, None)
            await _run(session.info.pop(_AFTER_COMMIT, []), quiet=False)

    async def dispose(self) -> None:
        await self.engine.dispose()

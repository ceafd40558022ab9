"""Engines, sessions and the transaction scope shared by requests, the worker and the CLI.

SQLite (the embedded default) runs in WAL mode. Its transactions begin explicitly: reads with a
deferred ``BEGIN``, writes with ``BEGIN IMMEDIATE`` behind a per-process asyncio lock taken at the
transaction's first statement and released when its connection returns to the pool, so writers
queue in order instead of failing with SQLITE_BUSY half-way through. PostgreSQL runs at READ
COMMITTED; concurrent writers are serialised by the ``version`` columns and row locks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
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


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (never on rollback)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


async def rollback(session: AsyncSession) -> None:
    """Roll back the session's transaction and forget its after-commit callbacks; the session
    goes on in a new transaction."""
    session.info.pop(_AFTER_COMMIT, None)
    await session.rollback()


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
                await session.rollback()
                raise
            for callback in session.info.pop(_AFTER_COMMIT, []):
                callback()

    async def dispose(self) -> None:
        await self.engine.dispose()

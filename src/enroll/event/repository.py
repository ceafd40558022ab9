"""Queries of the event outbox: appending events, and reading the ordered feed up to its
horizon."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, text, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.models import Event
from enroll.models.event import event_table


async def insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    # Into the Table, not the mapped class: a plain executemany, no ORM bulk-insert machinery.
    await session.execute(insert(event_table), rows)


# --- the feed's horizon (PostgreSQL) -------------------------------------------------------
#
# The feed shows an event once no transaction that could still commit an event before it in
# (txid, seq) order is running: events with txid < h, the *horizon*. Cluster-wide that is
# xmin of the current snapshot, the oldest transaction id still running on the whole server:
# a long write in another database holds back this one's feed. Only sessions connected to
# this database can write its event table, so when the role may read pg_stat_activity the
# horizon is computed from this database's writers only:
#
#     h = least(N, the full transaction id of every session of this database that holds one,
#               every prepared transaction of this database)
#
# where N is xmax of statement 1's snapshot (every id below N had been assigned before it
# was taken). The events are then read by statement 2, with a newer snapshot S (READ
# COMMITTED: one per statement). Why no event below h is ever missing from S, so a reader
# that moves its cursor past what S shows never skips one: let T write an event with
# txid < h that S does not show, i.e. T had not committed when S was taken. Then
#   - T.xid >= N is impossible, since h <= N;
#   - T.xid < N and T had finished before statement 1's snapshot: it committed (S shows it)
#     or aborted (no event);
#   - else T was running when statement 1's snapshot was taken and still when S was, so also
#     when statement 1 read pg_stat_activity in between (each backend's xid is read from its
#     PGPROC under ProcArrayLock, as snapshots are): T's session is of this database (it
#     writes here), so h <= T.xid. A contradiction each time. (Prepared transactions keep
#     their xid outside any session: pg_prepared_xacts is read after pg_stat_activity, so a
#     PREPARE in between is seen by the second read, or committed before S.)
# Two details keep the argument true: the activity list must be read after N (PostgreSQL
# caches it per transaction, so a second horizon in one transaction clears that cache
# first), and transaction ids in pg_stat_activity are 32-bit: each is widened against N,
# which is less than 2^31 ahead of any running id (wraparound protection), and ids at or
# past N (assigned after statement 1's snapshot) are left to N.
# A role that may not read pg_stat_activity or pg_prepared_xacts (privileges revoked from
# PUBLIC) gets the cluster-wide horizon; the privilege is checked once per process.

_WIDE = 4294967296  # 2^32
_LOCAL_HORIZON = text(
    "WITH snap AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS n),"
    " running AS (SELECT backend_xid AS xid FROM pg_stat_activity"
    "  WHERE datname = current_database() AND backend_xid IS NOT NULL"
    "  UNION ALL SELECT transaction FROM pg_prepared_xacts WHERE database = current_database()),"
    f" behind AS (SELECT (snap.n % {_WIDE} - running.xid::text::bigint + {_WIDE}) % {_WIDE}"
    "  AS d FROM snap, running)"
    " SELECT snap.n - coalesce((SELECT max(d) FROM behind WHERE d < 2147483648), 0) FROM snap"
)
_CLUSTER_HORIZON = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
_MAY_READ_ACTIVITY = text(
    "SELECT has_table_privilege('pg_catalog.pg_stat_activity', 'SELECT')"
    " AND has_function_privilege('pg_catalog.pg_stat_get_activity(integer)', 'EXECUTE')"
    " AND has_table_privilege('pg_catalog.pg_prepared_xacts', 'SELECT')"
    " AND has_function_privilege('pg_catalog.pg_prepared_xact()', 'EXECUTE')"
)
_CLEAR_ACTIVITY = text("SELECT pg_stat_clear_snapshot()")
# Per database URL: whether the role may read the activity list (None: not asked yet).
local_horizon: dict[str, bool] = {}
_HORIZON_READ = "enroll.horizon_read"


async def horizon(session: AsyncSession) -> int | None:
    """The feed's horizon for the statements that follow in this transaction (which must be
    READ COMMITTED): events with txid below it are settled. None on SQLite, where writers are
    serialised and every event it shows is settled."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return None
    url = bind.engine.url.render_as_string()
    if url not in local_horizon:
        local_horizon[url] = bool(await session.scalar(_MAY_READ_ACTIVITY))
    if not local_horizon[url]:
        return int(await session.scalar(_CLUSTER_HORIZON) or 0)
    if session.info.get(_HORIZON_READ):
        await session.execute(_CLEAR_ACTIVITY)
    session.info[_HORIZON_READ] = True
    return int(await session.scalar(_LOCAL_HORIZON) or 0)


def settled(below: int | None) -> Any:
    """Events a reader may move its cursor past, given ``horizon``'s answer."""
    return true() if below is None else Event.txid < below


async def feed_page(
    session: AsyncSession,
    *,
    workspace_id: str,
    below: int | None,
    after: tuple[int, int] | None,
    type_: str | None,
    limit: int,
) -> list[Event]:
    """The workspace's settled events (``below``: ``horizon``'s answer) after the position
    ``after``, in feed order."""
    stmt = select(Event).where(Event.workspace_id == workspace_id, settled(below))
    if type_:
        stmt = stmt.where(Event.type == type_)
    if after:
        stmt = stmt.where(tuple_(Event.txid, Event.seq) > tuple_(*after))
    return list((await session.scalars(stmt.order_by(Event.txid, Event.seq).limit(limit))).all())

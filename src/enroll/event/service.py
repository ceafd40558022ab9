"""Writing events into the outbox and reading the ordered feed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.errors import Unprocessable
from enroll.ids import new_id
from enroll.models import Event
from enroll.models.event import event_table

ENVELOPE_VERSION = 1


@dataclass(frozen=True, slots=True)
class NewEvent:
    type: str
    data: dict[str, Any]
    subject_id: str | None = None


async def record(
    session: AsyncSession,
    *,
    workspace_id: str | None,
    occurred_at: datetime,
    events: list[NewEvent],
) -> None:
    """Append events in the caller's transaction: they exist exactly when the change does."""
    if not events:
        return
    # Into the Table, not the mapped class: a plain executemany, no ORM bulk-insert machinery.
    await session.execute(
        insert(event_table),
        [
            {
                "id": new_id(),
                "workspace_id": workspace_id,
                "type": e.type,
                "version": ENVELOPE_VERSION,
                "occurred_at": occurred_at,
                "subject_id": e.subject_id,
                "data": e.data,
            }
            for e in events
        ],
    )


def envelope(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "version": event.version,
        "occurredAt": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "workspaceId": event.workspace_id,
        "data": event.data,
    }


# A feed position (transaction id, sequence); the OpenAPI pattern of `after` says the same.
CURSOR_PATTERN = r"^[0-9]{1,18}\.[0-9]{1,18}$"


def _encode(txid: int, seq: int) -> str:
    return f"{txid}.{seq}"


def _decode(cursor: str) -> tuple[int, int]:
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise Unprocessable("The cursor is not one this API issued.", code="invalid_cursor")
    txid, seq = cursor.split(".")
    return int(txid), int(seq)


def settled(session: AsyncSession) -> Any:
    """Events a reader may move its cursor past: on PostgreSQL, those of transactions older
    than every one still running (nothing can commit behind them); SQLite serialises writers,
    so every event it shows is settled."""
    if session.get_bind().dialect.name == "postgresql":
        return text("event.txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    return true()


async def feed(
    session: AsyncSession, *, workspace_id: str, after: str | None, type_: str | None, limit: int
) -> tuple[list[Event], str | None]:
    stmt = select(Event).where(Event.workspace_id == workspace_id, settled(session))
    if type_:
        stmt = stmt.where(Event.type == type_)
    if after:
        stmt = stmt.where(tuple_(Event.txid, Event.seq) > tuple_(*_decode(after)))
    rows = list((await session.scalars(stmt.order_by(Event.txid, Event.seq).limit(limit))).all())
    cursor = _encode(rows[-1].txid, rows[-1].seq) if rows else after
    return rows, cursor

"""Writing events into the outbox and reading the ordered feed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.errors import InvalidCursor
from enroll.event import repository
from enroll.ids import new_id
from enroll.models import Event

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
    await repository.insert_events(
        session,
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
        raise InvalidCursor("The cursor is not one this API issued.")
    txid, seq = cursor.split(".")
    return int(txid), int(seq)


async def feed(
    session: AsyncSession, *, workspace_id: str, after: str | None, type_: str | None, limit: int
) -> tuple[list[Event], str | None]:
    below = await repository.horizon(session)
    rows = await repository.feed_page(
        session,
        workspace_id=workspace_id,
        below=below,
        after=_decode(after) if after else None,
        type_=type_,
        limit=limit,
    )
    cursor = _encode(rows[-1].txid, rows[-1].seq) if rows else after
    return rows, cursor

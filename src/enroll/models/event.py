from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, FetchedValue, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, BigIntPk


class Event(Base):
    """The outbox: written in the transaction that caused it, read in commit order.

    ``txid`` is the writing transaction's id on PostgreSQL (0 on SQLite, whose writers are
    serialised). The feed orders by ``(txid, seq)`` and shows only transactions older than every
    one still running, so a reader never skips an event that commits late.
    """

    __tablename__ = "event"
    __table_args__ = (
        Index(None, "workspace_id", "txid", "seq"),
        Index(None, "workspace_id", "type", "txid", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    txid: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue())
    workspace_id: Mapped[str | None] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer, default=1)
    occurred_at: Mapped[datetime]
    subject_id: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]


# The table itself, for plain Core inserts of many rows (no ORM bookkeeping per row).
event_table: Table = Event.__table__  # type: ignore[assignment]

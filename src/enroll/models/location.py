"""Service locations: a workspace's registry of premises (a market's service points), with
the normalised columns the address search reads; and their bulk imports."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, BigInt, IdMixin, Json, TimestampMixin, VersionedMixin

# Service point ids are digits compared by range (a prefix lookup): byte order on PostgreSQL
# (a locale's collation may ignore or reorder characters), SQLite's default elsewhere.
ServicePointId = String(64).with_variant(String(64, collation="C"), "postgresql")


class ServiceLocation(IdMixin, TimestampMixin, VersionedMixin, Base):
    """A premise. ``address_*`` hold the address as its source gives it; ``search_*`` are
    derived from it (location/normalize.py) for the address search: the house number, the
    street name without suffix or directional, the unit, the city and the 5-digit ZIP code."""

    __tablename__ = "service_location"
    __table_args__ = (
        # Unique per workspace and market; the column order also serves the lookup by id
        # (and by prefix) without the market.
        Index(None, "workspace_id", "service_point_id", "market", unique=True),
        Index(None, "workspace_id", "id"),
        # The search's candidates: every location with the query's house number, read from
        # the index alone (it holds every column the ranking needs).
        Index(
            "ix_service_location_search_house",
            "workspace_id",
            "search_house",
            "search_zip",
            "search_street",
            "search_unit",
            "search_city",
            "address_state",
            "id",
        ),
        Index("ix_service_location_search_street", "workspace_id", "search_street"),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    market: Mapped[str] = mapped_column(String(32))
    service_point_id: Mapped[str] = mapped_column(ServicePointId)
    utility_code: Mapped[str | None] = mapped_column(String(64))
    utility_name: Mapped[str | None] = mapped_column(String(200))
    street_one: Mapped[str] = mapped_column(String(200))
    street_two: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(200))
    address_state: Mapped[str | None] = mapped_column(String(50))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(60))
    county: Mapped[str | None] = mapped_column(String(100))
    premise_type: Mapped[str | None] = mapped_column(String(32))  # workflows PremiseType
    status: Mapped[str] = mapped_column(String(16))  # workflows ServiceLocationStatus
    metered: Mapped[bool | None] = mapped_column(Boolean)
    attributes: Mapped[dict[str, Any]] = mapped_column(Json)
    source: Mapped[str] = mapped_column(String(16))  # api | ercot | csv | jsonl
    last_seen_at: Mapped[datetime | None]
    # A digest of what the source said (everything above but times and the search columns):
    # an import that brings the same content again counts the row unchanged.
    content_hash: Mapped[str] = mapped_column(String(32))
    search_house: Mapped[str] = mapped_column(String(20))
    search_street: Mapped[str] = mapped_column(String(200))
    search_unit: Mapped[str] = mapped_column(String(40))
    search_city: Mapped[str] = mapped_column(String(200))
    search_zip: Mapped[str] = mapped_column(String(5))
    # Whether any usage reading exists: set by the first one (location/usage.py), so showing
    # ``hasUsageHistory`` costs nothing per row. Derived data: it moves neither ``version``
    # nor ``updated_at``.
    has_usage: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


service_location_table: Table = ServiceLocation.__table__  # type: ignore[assignment]


class ServiceLocationImport(IdMixin, TimestampMixin, Base):
    """A bulk load of service locations (an ERCOT extract, CSV or JSON Lines).

    Like an enrollment import, its file is kept in chunk rows until the job has read it, and
    the job records its progress with every batch it commits (``rows_done``), so a restarted
    job resumes after it.
    """

    __tablename__ = "service_location_import"
    __table_args__ = (Index(None, "workspace_id", "id"),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # workflows.runs RunStatus
    format: Mapped[str] = mapped_column(String(8))  # ercot | csv | jsonl
    market: Mapped[str] = mapped_column(String(32))
    file_bytes: Mapped[int] = mapped_column(BigInt, default=0)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    bytes_done: Mapped[int] = mapped_column(BigInt, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    # {"rows", "created", "updated", "unchanged", "invalid"}
    counts: Mapped[dict[str, Any]] = mapped_column(Json)
    error: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ServiceLocationImportChunk(Base):
    """One piece (about a megabyte) of an uploaded location file, in order."""

    __tablename__ = "service_location_import_chunk"

    import_id: Mapped[str] = mapped_column(
        ForeignKey("service_location_import.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ServiceLocationImportIssue(Base):
    """A row of a location file that was invalid: its line number and the reasons."""

    __tablename__ = "service_location_import_issue"

    import_id: Mapped[str] = mapped_column(
        ForeignKey("service_location_import.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    errors: Mapped[list[dict[str, Any]]] = mapped_column(Json)


location_issue_table: Table = ServiceLocationImportIssue.__table__  # type: ignore[assignment]


KWH_DIGITS, KWH_DECIMALS = 10, 3  # up to 9,999,999.999 kWh a reading


class UsageReading(IdMixin, Base):
    """A metered consumption of a location over ``[period_start, period_end)`` (UTC): a
    billing month's reading or an interval's (``kind``, from the length). One row per period:
    the same period sent again replaces ``kwh``."""

    __tablename__ = "usage_reading"
    __table_args__ = (
        Index(None, "service_location_id", "period_start", "period_end", unique=True),
        # The list's keyset order (chronological: the key is the period written as digits).
        Index(None, "service_location_id", "period_key", unique=True),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    service_location_id: Mapped[str] = mapped_column(
        ForeignKey("service_location.id", ondelete="CASCADE")
    )
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    # start and end as 20 + 20 digits (YYYYMMDDHHMMSSffffff): sorts as the periods do, and is
    # a cursor of the list's alphabet.
    period_key: Mapped[str] = mapped_column(String(40))
    kwh: Mapped[Decimal] = mapped_column(Numeric(KWH_DIGITS, KWH_DECIMALS))
    kind: Mapped[str] = mapped_column(String(8))  # workflows ReadingKind
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


usage_reading_table: Table = UsageReading.__table__  # type: ignore[assignment]

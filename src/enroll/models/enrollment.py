from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from enroll.models.base import (
    Base,
    IdMixin,
    Json,
    JsonOrNull,
    TimestampMixin,
    VersionedMixin,
    utcnow,
)
from enroll.models.location import ServiceLocation
from enroll.workflows.enrollment import OPEN_STATUSES

# A customer holds at most one open enrollment per instance (the rule: workflows/enrollment.py).
# SQLite uses the partial index below only for a query whose WHERE repeats its condition
# literally: queries that probe it write ``<alias>.status IN {OPEN_STATUSES_LIST}``.
OPEN_STATUSES_LIST = "(" + ", ".join(f"'{s}'" for s in sorted(OPEN_STATUSES)) + ")"
OPEN_STATUSES_SQL = f"status IN {OPEN_STATUSES_LIST}"


# A re-evaluation that decides exactly as before (same checks, status, flag) records only that
# it happened: this narrow row, instead of rewriting the enrollment's wide row. Rewriting a
# million wide rows is gigabytes of WAL; these are a few dozen bytes each. The stamp counts
# while it is newer than the eligibility's own evaluatedAt (see Enrollment.evaluation).
enrollment_evaluation_table = Table(
    "enrollment_evaluation",
    Base.metadata,
    Column(
        "enrollment_id",
        String(32),
        ForeignKey("enrollment.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("criteria_version", Integer, nullable=True),
    # Exactly as the eligibility's evaluatedAt would hold it (ISO 8601, Z).
    Column("evaluated_at", String(40), nullable=False),
)
_stamp = enrollment_evaluation_table.c


class Enrollment(IdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "enrollment"
    __table_args__ = (
        Index(None, "program_instance_id", "id"),
        Index(None, "program_instance_id", "status", "id"),
        Index(None, "workspace_id", "status", "id"),
        Index(None, "workspace_id", "email"),
        # Deduplication of imports (and of creates) within an instance.
        Index(None, "program_instance_id", "email"),
        Index(None, "program_instance_id", "reference_id"),
        Index(None, "program_instance_id", "dedupe_key"),
        Index(None, "import_id", "import_row"),
        Index(
            "uq_enrollment_open_customer",
            "program_instance_id",
            "customer_id",
            unique=True,
            postgresql_where=text(OPEN_STATUSES_SQL),
            sqlite_where=text(OPEN_STATUSES_SQL),
        ),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    program_instance_id: Mapped[str] = mapped_column(
        ForeignKey("program_instance.id", ondelete="CASCADE")
    )
    identification_type: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL"), index=True
    )
    lead_id: Mapped[str | None] = mapped_column(String(32))
    # The earlier enrollment this one was copied from (identificationType enrollmentId).
    source_enrollment_id: Mapped[str | None] = mapped_column(String(32))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[dict[str, Any] | None]
    manufacturer_slugs: Mapped[list[str]]
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    serial_number: Mapped[str | None] = mapped_column(String(200))
    reference_id: Mapped[str | None] = mapped_column(String(200))
    reference_description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]]
    enrollment_start_date: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    eligibility_reason: Mapped[str | None] = mapped_column(Text)
    # The last evaluation that changed something: {"checks": [...], "criteriaVersion": n,
    # "evaluatedAt": ...}; read it through ``evaluation``, which applies a newer stamp.
    eligibility: Mapped[dict[str, Any]]
    # Set when a later evaluation (re-evaluation, an asynchronous check) fails for an enrollment
    # that is past the point where it may be demoted (submitted, approved): a person decides.
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    needs_review_reason: Mapped[str | None] = mapped_column(Text)
    # Normalised name + address, for finding the same person twice (see enrollment/identity.py).
    dedupe_key: Mapped[str | None] = mapped_column(String(64))
    # The bulk import that created it, and its row (line) number in the file.
    import_id: Mapped[str | None] = mapped_column(String(32))
    import_row: Mapped[int | None] = mapped_column(Integer)
    # The premise served and the plan accepted there (issue 15): the plan's canonical code and
    # the code the request gave (an alias, say), and the requested start of service.
    service_location_id: Mapped[str | None] = mapped_column(
        ForeignKey("service_location.id", ondelete="RESTRICT"), index=True
    )
    # RESTRICT: a plan that enrollments name cannot be deleted (409), only retired.
    plan_id: Mapped[str | None] = mapped_column(
        ForeignKey("plan.id", ondelete="RESTRICT"), index=True
    )
    plan_code: Mapped[str | None] = mapped_column(String(100))
    plan_code_given: Mapped[str | None] = mapped_column(String(100))
    start_date: Mapped[date | None] = mapped_column(Date)
    # Set when the market enrollment (the switch request to the utility) completes.
    service_active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    service_start_date: Mapped[date | None] = mapped_column(Date)
    # Where the instance declares requirements: each one's state, [{key, kind, label, stage,
    # status, detail, updatedAt}] (enrollment/requirements.py); null where it declares none.
    requirements: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonOrNull)
    if TYPE_CHECKING:  # column_property()s, attached below: they need the mapped id
        stamped_at: str | None
        stamped_version: int | None
        has_usage_history: bool | None

    @property
    def evaluation(self) -> dict[str, Any]:
        """The eligibility as of the latest evaluation: the stored one, with the criteria
        version and time of a later re-evaluation that decided the same."""
        decided = self.eligibility or {}
        stamped_at = self.stamped_at
        if stamped_at is None or not _later(stamped_at, decided.get("evaluatedAt")):
            return decided
        return {**decided, "criteriaVersion": self.stamped_version, "evaluatedAt": stamped_at}


def _later(stamp: str, evaluated_at: str | None) -> bool:
    if evaluated_at is None:
        return True
    return datetime.fromisoformat(stamp) > datetime.fromisoformat(evaluated_at)


def _stamp_property(column: Column[Any]) -> Any:
    # Loaded with every enrollment (a primary-key probe each); read-only, written set-based.
    return column_property(
        select(column)
        .where(_stamp.enrollment_id == Enrollment.id)
        .correlate_except(enrollment_evaluation_table)
        .scalar_subquery(),
        expire_on_flush=False,  # else reading it after a flush would need a lazy load
    )


Enrollment.stamped_at = _stamp_property(_stamp.evaluated_at)
Enrollment.stamped_version = _stamp_property(_stamp.criteria_version)


def _has_usage_property() -> Any:
    # Whether the service location it names has received usage readings (null: it names none).
    return column_property(
        select(ServiceLocation.has_usage)
        .where(ServiceLocation.id == Enrollment.service_location_id)
        .correlate_except(ServiceLocation)
        .scalar_subquery(),
        expire_on_flush=False,
    )


Enrollment.has_usage_history = _has_usage_property()


class EnrollmentHistory(IdMixin, Base):
    """One row per status change, written in the same transaction as the change."""

    __tablename__ = "enrollment_history"
    __table_args__ = (Index(None, "enrollment_id", "at"),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    enrollment_id: Mapped[str] = mapped_column(ForeignKey("enrollment.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class EnrollmentConsent(IdMixin, Base):
    """The proof of an authorised enrollment (a Texas switch, say): what was accepted, the exact
    words shown, when, from where and by whom. Written once with the enrollment; never updated
    or deleted (an enrollment holding one cannot be deleted either)."""

    __tablename__ = "enrollment_consent"
    __table_args__ = (Index(None, "enrollment_id", "accepted_at"),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    enrollment_id: Mapped[str] = mapped_column(ForeignKey("enrollment.id", ondelete="RESTRICT"))
    plan_id: Mapped[str | None] = mapped_column(String(32))
    # "terms" (a plan's or the instance's), or an instance's own kind ("signature", …).
    kind: Mapped[str] = mapped_column(String(40), default="terms", server_default="terms")
    text_version: Mapped[str | None] = mapped_column(String(100))
    terms_accepted: Mapped[bool] = mapped_column(Boolean)
    # [{"type", "version", "url", "sha256"}]: the plan's documents as they were accepted.
    documents: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    text: Mapped[str | None] = mapped_column(Text)
    accepted_at: Mapped[datetime]
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(1000))
    channel: Mapped[str] = mapped_column(String(10))
    # {"type": "customer" | "agent", "name", "onBehalfOf"}
    actor: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The table itself, for plain Core inserts of many rows (no ORM bookkeeping per row).
enrollment_history_table: Table = EnrollmentHistory.__table__  # type: ignore[assignment]

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from enroll.models.base import Base, IdMixin, Json, TimestampMixin, VersionedMixin
from enroll.models.program import Program


class ProgramInstance(IdMixin, TimestampMixin, VersionedMixin, Base):
    """A workspace's running version of a Program."""

    __tablename__ = "program_instance"
    __table_args__ = (Index(None, "workspace_id", "id"),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"), index=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    branding: Mapped[dict[str, Any]]
    terms: Mapped[dict[str, Any]]
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    capacity: Mapped[int | None] = mapped_column(Integer)
    review_mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    # The instance's own criteria, added to its program's.
    eligibility_criteria: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    # Whether re-evaluation after a criteria change may reopen rejected enrollments:
    # "none" (the default) or "reevaluate_rejected".
    reenrollment_policy: Mapped[str] = mapped_column(
        String(32), default="none", server_default="none"
    )
    # Who decides eligibility: "automatic" (the rules, the default) or "manual" (a person,
    # through decide; the rules' checks are stored as advice and the enrollment stays candidate).
    screening: Mapped[str] = mapped_column(
        String(16), default="automatic", server_default="automatic"
    )
    # What approval sets up (program_instance/setup_workflow.py, as JSON); null: approval
    # completes the setup at once (a subscription and a location, no device actions).
    setup_workflow: Mapped[dict[str, Any] | None]
    # The newest CriteriaVersion of the effective criteria (program's and instance's).
    criteria_version: Mapped[int] = mapped_column(Integer, default=0)
    # The IANA time zone the instance counts its days in (plans' start windows).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # Every enrollment created for the instance needs the applicant's consent (a plan with
    # documents needs it whatever this says): enrollment/acceptance.py.
    consent_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    # What an enrollment needs besides eligibility (docs/requirements.md), versioned with the
    # criteria; and whether the platform submits an eligible enrollment once all are met.
    requirements: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    submit_when_complete: Mapped[bool] = mapped_column(default=False, server_default=false())

    # Loaded with the instance (one joined query): evaluation always needs the program.
    program: Mapped[Program] = relationship(lazy="joined", innerjoin=True)
    # Whether a notification template (the instance's own or a workspace default) exists:
    # computed by the lookup by reference only (repository._by_ref), so that the status change
    # of a request that began with that lookup skips the template query when there is none.
    # None: not loaded.
    has_notification_templates: Mapped[bool | None] = query_expression()

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, Json, TimestampMixin


class Reevaluation(IdMixin, TimestampMixin, Base):
    """A re-evaluation of one program instance's enrollments, run by a job in batches.

    Each batch commits with the re-evaluation's progress (``phase``, ``after_id``, ``done``)
    and its report so far, so a job claimed again after a crash resumes after ``after_id``.
    A run that applies with the share guard first counts (phase ``plan``), then writes (phase
    ``apply``); a dry run only counts; ``force`` skips straight to ``apply``.
    """

    __tablename__ = "reevaluation"
    __table_args__ = (
        Index(None, "workspace_id", "id"),
        Index(None, "program_instance_id", "status"),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    program_instance_id: Mapped[str] = mapped_column(
        ForeignKey("program_instance.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16))  # queued | running | completed | failed
    dry_run: Mapped[bool] = mapped_column(Boolean)
    force: Mapped[bool] = mapped_column(Boolean)
    sample_size: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(80))
    phase: Mapped[str] = mapped_column(String(8))  # plan | apply
    # The last enrollment id the current phase has done (batches go in id order).
    after_id: Mapped[str | None] = mapped_column(String(32))
    done: Mapped[int] = mapped_column(Integer, default=0)  # enrollments the phase has read
    total: Mapped[int] = mapped_column(Integer, default=0)  # in play when the phase began
    criteria_version: Mapped[int | None] = mapped_column(Integer)
    # The counts and samples so far (see enrollment/reevaluation_run.py).
    report: Mapped[dict[str, Any]] = mapped_column(Json)
    # {"code", "detail", …} when it failed: the share guard, changed criteria, an error id.
    error: Mapped[dict[str, Any] | None] = mapped_column(Json)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

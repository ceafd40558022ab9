"""Service tasks (seed 002): the asynchronous enrollment and unenrollment requests, their log,
their device setup actions, and the to-do entries they raise for people."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from enroll.models.base import Base, IdMixin, Json, TimestampMixin, VersionedMixin


class ServiceTask(IdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "service_task"
    __table_args__ = (
        Index(None, "workspace_id", "id"),
        Index(None, "workspace_id", "state", "id"),
        Index(None, "enrollment_id", "id"),
        # The caller's transactionId names one request of each kind.
        Index(None, "workspace_id", "kind", "transaction_id", unique=True),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # workflows/service_task.py TaskKind
    state: Mapped[str] = mapped_column(String(32))  # TaskState
    # How it started: request (the inbound API), approval, unenroll, device (an added device).
    origin: Mapped[str] = mapped_column(String(16))
    transaction_id: Mapped[str | None] = mapped_column(String(100))
    program_instance_id: Mapped[str] = mapped_column(
        ForeignKey("program_instance.id", ondelete="CASCADE")
    )
    enrollment_id: Mapped[str | None] = mapped_column(
        ForeignKey("enrollment.id", ondelete="SET NULL")
    )
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    subscription_id: Mapped[str | None] = mapped_column(String(32))
    device_location_id: Mapped[str | None] = mapped_column(String(32))
    # The request as received (camelCase, as the schemas of servicetask/schemas.py give it);
    # PATCH corrects it while the task waits in an error state.
    request: Mapped[dict[str, Any]]
    # SHA-256 of the request as first sent: the same transactionId with another body is refused.
    request_digest: Mapped[str | None] = mapped_column(String(64))
    # Why the task stopped: [{code, message, field?}], emptied when it moves on.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    expires_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    actor: Mapped[str] = mapped_column(String(80))


class ServiceTaskLog(IdMixin, Base):
    """One row per state change or error of a task, written with the change."""

    __tablename__ = "service_task_log"
    __table_args__ = (Index(None, "task_id", "at"),)

    task_id: Mapped[str] = mapped_column(ForeignKey("service_task.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime]
    # A row about one setup action (seed 002: "actions recorded ... in the task log"): which,
    # and what happened to it (created, started, completed, failed); the task did not move.
    setup_action_id: Mapped[str | None] = mapped_column(String(32))
    setup_action_event: Mapped[str | None] = mapped_column(String(16))


# The table itself, for plain Core inserts (one row per state change of every task).
service_task_log_table: Table = ServiceTaskLog.__table__  # type: ignore[assignment]


class SetupAction(IdMixin, TimestampMixin, VersionedMixin, Base):
    """One device setup action of a task: done by a crew or another system (who reports back
    through the complete/fail routes), or by a device command the worker sends."""

    __tablename__ = "setup_action"
    __table_args__ = (
        # Created once per configured step, however often the task's setup_device step runs.
        Index(None, "task_id", "sequence", "type", unique=True),
        Index(None, "workspace_id", "id"),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(ForeignKey("service_task.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    sequence: Mapped[int] = mapped_column(Integer)
    # pending (waits for earlier sequences) → in_progress → completed | failed
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    config: Mapped[dict[str, Any]]  # the configured action, as it was when created
    result: Mapped[dict[str, Any] | None]  # what the completing party or device said
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Todo(IdMixin, TimestampMixin, Base):
    """A to-do entry for people: an exception to look at, an approval, an expiration."""

    __tablename__ = "todo"
    __table_args__ = (
        Index(None, "workspace_id", "status", "id"),
        # One open entry per task and reason, however often the step that raises it runs.
        Index(None, "task_id", "kind", "setup_action_id", "status"),
    )

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # exception | approval | expiration | action
    status: Mapped[str] = mapped_column(String(16))  # open | completed
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[str | None] = mapped_column(ForeignKey("service_task.id", ondelete="CASCADE"))
    setup_action_id: Mapped[str | None] = mapped_column(String(32))
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)

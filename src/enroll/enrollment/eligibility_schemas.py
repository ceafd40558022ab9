"""Eligibility previews and re-evaluations of enrollments on the wire, shared by the REST routes
(api/eligibility.py) and the GraphQL doors (graphql/eligibility.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from enroll.enrollment import reevaluation
from enroll.enrollment.schemas import EnrollmentCreate, IdentificationType
from enroll.kit.schemas import ApiModel, OutModel
from enroll.models import Reevaluation
from enroll.workflows.runs import RunStatus


class PreviewRequest(EnrollmentCreate):
    """The body a create takes, so a client previews what it will send. Without
    `identificationType` the fields are evaluated as sent, as the customer `customerId` names."""

    identification_type: IdentificationType | None = Field(  # type: ignore[assignment]
        None,
        description="As in a create: the person is found the way the create would find them.",
    )


class CheckOut(OutModel):
    id: str
    description: str
    status: str
    reason: str | None


class PreviewOut(OutModel):
    status: str = Field(description="eligible or ineligible.")
    reason: str
    checks: list[CheckOut]
    criteria_version: int | None
    evaluated_at: datetime
    context: dict[str, Any] = Field(description="The rule context the criteria saw.")


class ReevaluationRequest(ApiModel):
    dry_run: bool = Field(False, description="Count what would change; change nothing.")
    force: bool = Field(False, description="Apply even past the share guard.")
    sample_size: int = Field(5, ge=0, le=100, description="Sample ids per kind of change.")


class MoveOut(OutModel):
    from_status: str = Field(serialization_alias="from")
    to_status: str = Field(serialization_alias="to")
    count: int
    sample_ids: list[str]


class ReportOut(OutModel):
    dry_run: bool
    applied: bool = Field(description="True once every batch of the apply has committed.")
    criteria_version: int | None
    evaluated: int = Field(description="Enrollments evaluated (so far).")
    total: int = Field(description="Enrollments in the instance (counted when a phase ends).")
    changed: int = Field(description="Status moves plus review flags set or cleared.")
    moves: list[MoveOut]
    needs_review: MoveOut = Field(description="Submitted/approved ones now failing: flagged.")
    cleared_review: MoveOut = Field(description="Flagged ones that pass again: unflagged.")


class ReevaluationProgress(OutModel):
    phase: str = Field(description="plan (counting) or apply (writing).")
    done: int = Field(description="Enrollments this phase has read.")
    total: int = Field(description="Enrollments in play when this phase began.")
    fraction: float = Field(description="Share of this phase done, 0 to 1.")


class ReevaluationOut(OutModel):
    id: str
    program_instance_id: str
    status: str = Field(description="queued, running, completed or failed.")
    dry_run: bool
    force: bool
    progress: ReevaluationProgress
    report: ReportOut = Field(
        description="The plan (a dry run, or an apply refused by the guard) or what was applied;"
        " counts so far while it runs."
    )
    error: dict[str, Any] | None = Field(
        description="Why it failed: code (reevaluation_guard, criteria_changed,"
        " reevaluation_failed), detail, and the guard's changed, total and maxShare."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, run: Reevaluation) -> ReevaluationOut:
        summary = reevaluation.Summary.of(run.report)
        done = (
            1.0 if run.status == RunStatus.COMPLETED else run.done / run.total if run.total else 0.0
        )
        return cls(
            id=run.id,
            program_instance_id=run.program_instance_id,
            status=run.status,
            dry_run=run.dry_run,
            force=run.force,
            progress=ReevaluationProgress(
                phase=run.phase, done=run.done, total=run.total, fraction=round(min(done, 1.0), 4)
            ),
            report=ReportOut(
                dry_run=run.dry_run,
                applied=run.status == RunStatus.COMPLETED and not run.dry_run,
                criteria_version=run.criteria_version,
                evaluated=summary.evaluated,
                total=summary.total,
                changed=summary.changed,
                moves=[_move(m) for m in summary.moves],
                needs_review=_move(summary.needs_review),
                cleared_review=_move(summary.cleared_review),
            ),
            error=run.error,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )


def _move(m: reevaluation.Move) -> MoveOut:
    return MoveOut(
        from_status=m.from_status, to_status=m.to_status, count=m.count, sample_ids=m.sample_ids
    )

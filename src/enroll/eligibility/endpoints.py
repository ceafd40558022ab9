from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.auth.dependencies import get_ctx, get_session, require, workspace_id_of
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.customer import service as customers
from enroll.eligibility import reevaluation, reevaluation_run, service
from enroll.eligibility.checks import Decision
from enroll.eligibility.context import rule_context
from enroll.enrollment import service as enrollments
from enroll.enrollment.schemas import EnrollmentCreate, IdentificationType
from enroll.kit.pagination import Page, PageParams, page_params, paginate
from enroll.kit.routing import TransactionalRoute
from enroll.kit.schemas import ApiModel, OutModel
from enroll.models import CriteriaVersion, Reevaluation
from enroll.program_instance import service as instances

router = APIRouter(
    prefix="/v1/programInstances/{instance_id}",
    tags=["eligibility"],
    route_class=TransactionalRoute,
)
Session = Annotated[AsyncSession, Depends(get_session)]
Ctx = Annotated[AppContext, Depends(get_ctx)]


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


class CriteriaVersionOut(OutModel):
    version: int
    criteria: list[dict[str, Any]]
    created_at: datetime

    @classmethod
    def of(cls, v: CriteriaVersion) -> CriteriaVersionOut:
        return cls(version=v.version, criteria=v.criteria, created_at=v.created_at)


@router.post("/eligibility/preview")
async def preview_eligibility(
    instance_id: str,
    body: PreviewRequest,
    session: Session,
    ctx: Ctx,
    principal: Annotated[Principal, require(Scope.ENROLLMENTS_READ)],
) -> PreviewOut:
    """Evaluate a candidate against the instance's criteria without saving anything."""
    workspace_id = workspace_id_of(principal)
    instance = await instances.get(session, workspace_id=workspace_id, ref=instance_id)
    now = ctx.clock.now()
    customer_id = body.customer_id
    if body.identification_type is not None:
        sent = body.model_dump(by_alias=True, exclude_unset=True)
        as_create = EnrollmentCreate.model_validate(sent)
        fields, customer_id = await enrollments.preview_person(
            session, workspace_id=workspace_id, body=as_create, now=now
        )
    else:
        if body.customer_id is not None:
            await customers.get(session, workspace_id=workspace_id, customer_id=body.customer_id)
        fields = body.model_dump(
            by_alias=True,
            exclude={"customer_id", "identification_type", "lead_id", "enrollment_id"},
        )
    decision: Decision = await service.decide(
        session,
        instance=instance,
        fields=fields,
        customer_id=customer_id,
        refusal=await instances.refusal_reason(session, instance, today=now.date()),
        now=now,
    )
    return PreviewOut(
        status="eligible" if decision.eligible else "ineligible",
        reason=decision.reason,
        checks=[CheckOut(**c.as_json()) for c in decision.checks],
        criteria_version=decision.criteria_version,
        evaluated_at=decision.evaluated_at,
        context=rule_context(fields),
    )


Reader = Annotated[Principal, require(Scope.PROGRAM_INSTANCES_READ)]


@router.get("/criteriaVersions")
async def list_criteria_versions(
    instance_id: str,
    session: Session,
    principal: Reader,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[CriteriaVersionOut]:
    """Every version of the instance's effective criteria, oldest first; none is ever changed."""
    instance = await instances.get(
        session, workspace_id=workspace_id_of(principal), ref=instance_id
    )
    result = await paginate(
        session, service.versions(instance_id=instance.id), params, CriteriaVersion.id
    )
    return result.to_page([CriteriaVersionOut.of(v) for v in result.items])


@router.get("/criteriaVersions/{version}")
async def get_criteria_version(
    instance_id: str,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: Session,
    principal: Reader,
) -> CriteriaVersionOut:
    instance = await instances.get(
        session, workspace_id=workspace_id_of(principal), ref=instance_id
    )
    return CriteriaVersionOut.of(
        await service.version(session, instance_id=instance.id, number=version)
    )


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
        done = 1.0 if run.status == "completed" else run.done / run.total if run.total else 0.0
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
                applied=run.status == "completed" and not run.dry_run,
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


@router.post(
    "/reevaluations",
    status_code=202,
    responses={409: {"description": "A re-evaluation that writes is under way for the instance."}},
)
async def reevaluate_instance(
    instance_id: str,
    body: ReevaluationRequest,
    session: Session,
    ctx: Ctx,
    response: Response,
    principal: Annotated[Principal, require(Scope.PROGRAM_INSTANCES_WRITE)],
) -> ReevaluationOut:
    """Re-evaluate the instance's enrollments against its current criteria, as a job.

    Answers 202 with the re-evaluation to poll (`Location`): progress, then its report. Moves
    candidate, eligible and ineligible enrollments (rejected ones too when the instance's
    reenrollmentPolicy is reevaluate_rejected); flags submitted and approved ones that now
    fail with needsReview instead of demoting them. `dryRun` reports without changing
    anything. Without `force`, an apply that would change more than the allowed share fails
    with error code reevaluation_guard and changes nothing.
    """
    run = await reevaluation_run.start(
        session,
        workspace_id=workspace_id_of(principal),
        instance_ref=instance_id,
        dry_run=body.dry_run,
        force=body.force,
        sample_size=body.sample_size,
        actor=principal.actor,
        now=ctx.clock.now(),
    )
    response.headers["Location"] = f"/v1/reevaluations/{run.id}"
    return ReevaluationOut.of(run)


reevaluations_router = APIRouter(
    prefix="/v1/reevaluations", tags=["eligibility"], route_class=TransactionalRoute
)


@reevaluations_router.get("/{reevaluation_id}")
async def get_reevaluation(
    reevaluation_id: str, session: Session, principal: Reader
) -> ReevaluationOut:
    """A re-evaluation's status, progress and report."""
    run = await reevaluation_run.get(
        session, workspace_id=workspace_id_of(principal), reevaluation_id=reevaluation_id
    )
    return ReevaluationOut.of(run)

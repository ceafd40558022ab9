from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.eligibility import service
from enroll.eligibility.schemas import CriteriaVersionOut
from enroll.enrollment import preview, reevaluation_run
from enroll.enrollment.eligibility_schemas import (
    PreviewOut,
    PreviewRequest,
    ReevaluationOut,
    ReevaluationRequest,
)
from enroll.enrollment.errors import ReevaluationRunning
from enroll.errors import RuleTooComplex, raises
from enroll.kit.pagination import Page, PageParams, page_params
from enroll.kit.repository import paginate
from enroll.models import CriteriaVersion
from enroll.program_instance import service as instances

router = APIRouter(
    prefix="/v1/programInstances/{instance_id}",
    tags=["eligibility"],
    route_class=TransactionalRoute,
)
Session = Annotated[AsyncSession, Depends(get_session)]
Ctx = Annotated[AppContext, Depends(get_ctx)]


@router.post("/eligibility/preview")
@raises(RuleTooComplex)
async def preview_eligibility(
    instance_id: str,
    body: PreviewRequest,
    session: Session,
    ctx: Ctx,
    principal: Annotated[Principal, require(Scope.ENROLLMENTS_READ)],
) -> PreviewOut:
    """Evaluate a candidate against the instance's criteria without saving anything."""
    return await preview.preview(
        session,
        workspace_id=workspace_id_of(principal),
        instance_ref=instance_id,
        body=body,
        now=ctx.clock.now(),
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


@router.post("/reevaluations", status_code=202)
@raises(ReevaluationRunning)
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

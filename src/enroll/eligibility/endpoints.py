from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.auth.dependencies import get_ctx, get_session, require, workspace_id_of
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.customer import service as customers
from enroll.eligibility import service
from enroll.eligibility.checks import Decision
from enroll.eligibility.context import rule_context
from enroll.enrollment.schemas import EnrollmentFields
from enroll.kit.fields import Reference
from enroll.kit.pagination import Page, PageParams, page_params, paginate
from enroll.kit.routing import TransactionalRoute
from enroll.kit.schemas import OutModel
from enroll.models import CriteriaVersion
from enroll.program_instance import service as instances

router = APIRouter(
    prefix="/v1/programInstances/{instance_id}",
    tags=["eligibility"],
    route_class=TransactionalRoute,
)
Session = Annotated[AsyncSession, Depends(get_session)]
Ctx = Annotated[AppContext, Depends(get_ctx)]


class PreviewRequest(EnrollmentFields):
    customer_id: Reference | None = Field(
        None,
        description="Evaluate as this customer (their details and enrollments feed the rules).",
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
    if body.customer_id is not None:
        await customers.get(session, workspace_id=workspace_id, customer_id=body.customer_id)
    now = ctx.clock.now()
    fields = body.model_dump(by_alias=True, exclude={"customer_id"})
    decision: Decision = await service.decide(
        session,
        instance=instance,
        fields=fields,
        customer_id=body.customer_id,
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

"""Plans of a program instance and the workspace's delivery charges (docs/plans.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.errors import RuleTooComplex, raises
from enroll.kit.fields import IsoDate
from enroll.kit.pagination import Page, PageParams, page_params
from enroll.kit.repository import paginate
from enroll.models import DeliveryCharge, Plan
from enroll.plan import quotes, repository, service
from enroll.plan.errors import PlanCodeTaken, PlanInUse
from enroll.plan.schemas import (
    DeliveryChargeOut,
    DeliveryChargeSet,
    PlanCreate,
    PlanOut,
    PlanUpdate,
    QuoteOut,
    QuoteRequest,
)
from enroll.workflows.plan import PlanStatus

router = APIRouter(prefix="/v1", tags=["plans"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Ctx = Annotated[AppContext, Depends(get_ctx)]
Pages = Annotated[PageParams, Depends(page_params)]
Reader = Annotated[Principal, require(Scope.PROGRAM_INSTANCES_READ)]
Writer = Annotated[Principal, require(Scope.PROGRAM_INSTANCES_WRITE)]
PLANS = "/programInstances/{instance_id}/plans"
UtilityPath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        max_length=100,
        description="The utility's code (for ERCOT, the TDSP's, e.g. `oncor`).",
    ),
]


@router.post(PLANS, status_code=201)
@raises(PlanCodeTaken, RuleTooComplex)
async def create_plan(
    instance_id: str,
    body: PlanCreate,
    session: Session,
    principal: Writer,
    ctx: Ctx,
    response: Response,
) -> PlanOut:
    """Offer a plan in the instance (id or slug). Its code and aliases must name no other
    plan of the instance (409 `plan_code_taken`)."""
    plan = await service.create(
        session,
        workspace_id=workspace_id_of(principal),
        instance_ref=instance_id,
        body=body,
        now=ctx.clock.now(),
    )
    where = f"/v1/programInstances/{plan.program_instance_id}/plans/{plan.id}"
    response.headers["Location"] = where
    return PlanOut.of(plan)


@router.get(PLANS)
async def list_plans(
    instance_id: str,
    session: Session,
    principal: Reader,
    params: Pages,
    status: Annotated[PlanStatus | None, Query()] = None,
) -> Page[PlanOut]:
    stmt = await service.search(
        session, workspace_id=workspace_id_of(principal), instance_ref=instance_id, status=status
    )
    result = await paginate(session, stmt, params, Plan.id)
    return result.to_page([PlanOut.of(p) for p in result.items])


@router.post(PLANS + "/quote")
async def quote_plans(
    instance_id: str,
    body: QuoteRequest,
    session: Session,
    principal: Reader,
    ctx: Ctx,
    explain: Annotated[
        bool, Query(description="Also list the active plans not offered there, with why.")
    ] = False,
) -> QuoteOut:
    """The active plans available at a service location (by `serviceLocationId` or
    `servicePointId`), cheapest first at 1,000 kWh, each with its start window, documents,
    and EFL average prices for the location's utility; `estimatedMonthlyDollars` when the
    location has usage in the 12 whole months before the quote's day. A location where
    nothing is available gets an empty `plans`."""
    return await quotes.quote_location(
        session,
        workspace_id=workspace_id_of(principal),
        instance_id=instance_id,
        body=body,
        now=ctx.clock.now(),
        explain=explain,
    )


@router.get(PLANS + "/{plan_id}")
async def get_plan(instance_id: str, plan_id: str, session: Session, principal: Reader) -> PlanOut:
    """A plan by id, code or alias."""
    plan = await service.get(
        session, workspace_id=workspace_id_of(principal), instance_ref=instance_id, ref=plan_id
    )
    return PlanOut.of(plan)


@router.patch(PLANS + "/{plan_id}")
@raises(PlanCodeTaken, RuleTooComplex)
async def update_plan(
    instance_id: str, plan_id: str, body: PlanUpdate, session: Session, principal: Writer, ctx: Ctx
) -> PlanOut:
    """Change a plan (by id, code or alias); `status: retired` withdraws it from quotes and
    new enrollments, `active` offers it again."""
    plan = await service.update(
        session,
        workspace_id=workspace_id_of(principal),
        instance_ref=instance_id,
        ref=plan_id,
        body=body,
        now=ctx.clock.now(),
    )
    return PlanOut.of(plan)


@router.delete(PLANS + "/{plan_id}", status_code=204)
@raises(PlanInUse)
async def delete_plan(
    instance_id: str, plan_id: str, session: Session, principal: Writer
) -> Response:
    """Delete a plan (by id, code or alias); to stop offering one that enrollments name,
    retire it instead."""
    await service.delete(
        session, workspace_id=workspace_id_of(principal), instance_ref=instance_id, ref=plan_id
    )
    return Response(status_code=204)


@router.put("/deliveryCharges/{utility_code}")
async def set_delivery_charge(
    utility_code: UtilityPath,
    body: DeliveryChargeSet,
    session: Session,
    principal: Writer,
    ctx: Ctx,
) -> DeliveryChargeOut:
    """The utility's delivery (TDU) charges from `effectiveFrom` on; the same date again
    replaces that row. Quotes price plans with the row in effect on their day."""
    charge = await service.set_delivery_charge(
        session,
        workspace_id=workspace_id_of(principal),
        utility_code=utility_code,
        body=body,
        now=ctx.clock.now(),
    )
    return DeliveryChargeOut.of(charge)


@router.get("/deliveryCharges")
async def list_delivery_charges(
    session: Session,
    principal: Reader,
    params: Pages,
    utility_code: Annotated[
        str | None,
        Query(alias="utilityCode", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", max_length=100),
    ] = None,
    effective_on: Annotated[
        IsoDate | None,
        Query(
            alias="effectiveOn",
            description="Only each utility's charges in effect on this day.",
        ),
    ] = None,
) -> Page[DeliveryChargeOut]:
    stmt = repository.search_charges(
        workspace_id=workspace_id_of(principal),
        utility_code=utility_code,
        effective_on=effective_on,
    )
    result = await paginate(session, stmt, params, DeliveryCharge.id)
    return result.to_page([DeliveryChargeOut.of(c) for c in result.items])

"""An enrollment's requirements and the billing address it confirms (docs/requirements.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.customer.schemas import BillingAddressIn
from enroll.enrollment import requirement_actions, service
from enroll.enrollment.schemas import EnrollmentOut, RequirementList

router = APIRouter(prefix="/v1", tags=["enrollments"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Ctx = Annotated[AppContext, Depends(get_ctx)]
Reader = Annotated[Principal, require(Scope.ENROLLMENTS_READ)]
Writer = Annotated[Principal, require(Scope.ENROLLMENTS_WRITE)]


@router.get("/enrollments/{enrollment_id}/requirements")
async def enrollment_requirements(
    enrollment_id: str, session: Session, principal: Reader
) -> RequirementList:
    """Each of its instance's requirements: met, unmet (with what is missing), pending or
    not applicable; as of the last change that could affect them."""
    enrollment = await service.get(
        session, workspace_id=workspace_id_of(principal), enrollment_id=enrollment_id
    )
    return RequirementList.of(enrollment)


@router.put("/enrollments/{enrollment_id}/billingAddress")
async def confirm_billing_address(
    enrollment_id: str, body: BillingAddressIn, session: Session, principal: Writer, ctx: Ctx
) -> EnrollmentOut:
    """The applicant confirms where bills go: the service address (`sameAsServiceAddress:
    true`) or another (`false` with `address`). Stored on the customer; meets a
    `billingAddress` requirement (seed 003's `PUT /account/billing/address`)."""
    enrollment = await requirement_actions.set_billing_address(
        session,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        body=body,
        now=ctx.clock.now(),
    )
    return EnrollmentOut.of(enrollment)

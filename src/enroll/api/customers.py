from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.customer import household, repository, service
from enroll.customer.errors import CustomerExists
from enroll.customer.schemas import (
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    HouseholdMemberCreate,
    HouseholdMemberOut,
    HouseholdMemberUpdate,
    LeadCreate,
    LeadOut,
)
from enroll.enrollment import requirement_actions
from enroll.enrollment.errors import IncomeCertificationConflict
from enroll.errors import raises
from enroll.kit.pagination import Page, PageParams, page_params
from enroll.kit.repository import paginate
from enroll.models import Customer, Lead

router = APIRouter(prefix="/v1", tags=["customers"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Reader = Annotated[Principal, require(Scope.CUSTOMERS_READ)]
Writer = Annotated[Principal, require(Scope.CUSTOMERS_WRITE)]
Pages = Annotated[PageParams, Depends(page_params)]
EmailFilter = Annotated[str | None, Query(max_length=320)]
Ctx = Annotated[AppContext, Depends(get_ctx)]


@router.post("/customers", status_code=201)
@raises(CustomerExists)
async def create_customer(
    body: CustomerCreate, session: Session, principal: Writer, ctx: Ctx
) -> CustomerOut:
    """The email is unique in the workspace. The applicant's fields are optional; `taxId` is
    stored encrypted and answered only as `taxIdLast4`."""
    customer = await service.create(
        session,
        workspace_id=workspace_id_of(principal),
        body=body,
        ring=ctx.vault,
        now=ctx.clock.now(),
    )
    return CustomerOut.of(customer)


@router.get("/customers")
async def list_customers(
    session: Session, principal: Reader, params: Pages, email: EmailFilter = None
) -> Page[CustomerOut]:
    stmt = repository.search(workspace_id=workspace_id_of(principal), email=email)
    result = await paginate(session, stmt, params, Customer.id)
    return result.to_page([CustomerOut.of(c) for c in result.items])


@router.get("/customers/{customer_id}")
async def get_customer(customer_id: str, session: Session, principal: Reader) -> CustomerOut:
    customer = await service.get(
        session, workspace_id=workspace_id_of(principal), customer_id=customer_id
    )
    return CustomerOut.of(customer)


@router.patch("/customers/{customer_id}")
@raises(CustomerExists, IncomeCertificationConflict)
async def update_customer(
    customer_id: str, body: CustomerUpdate, session: Session, principal: Writer, ctx: Ctx
) -> CustomerOut:
    """Only the fields sent change (inside `income` too); null clears `phone`, `address` and
    the applicant's fields (`income`: null clears all three of its fields)."""
    customer = await requirement_actions.update_customer(
        session,
        workspace_id=workspace_id_of(principal),
        customer_id=customer_id,
        body=body,
        ring=ctx.vault,
        now=ctx.clock.now(),
    )
    return CustomerOut.of(customer)


@router.get("/customers/{customer_id}/householdMembers", tags=["household"])
async def list_household_members(
    customer_id: str, session: Session, principal: Reader
) -> list[HouseholdMemberOut]:
    """The customer's household, oldest first."""
    found = await household.members(
        session, workspace_id=workspace_id_of(principal), customer_id=customer_id
    )
    return [HouseholdMemberOut.of(m) for m in found]


@router.post("/customers/{customer_id}/householdMembers", status_code=201, tags=["household"])
async def add_household_member(
    customer_id: str, body: HouseholdMemberCreate, session: Session, principal: Writer, ctx: Ctx
) -> HouseholdMemberOut:
    """A spouse, dependent or other member; their tax id is stored encrypted."""
    member = await requirement_actions.add_member(
        session,
        workspace_id=workspace_id_of(principal),
        customer_id=customer_id,
        body=body,
        ring=ctx.vault,
        now=ctx.clock.now(),
    )
    return HouseholdMemberOut.of(member)


@router.get("/customers/{customer_id}/householdMembers/{member_id}", tags=["household"])
async def get_household_member(
    customer_id: str, member_id: str, session: Session, principal: Reader
) -> HouseholdMemberOut:
    """A member, under its own customer only (under another: 404)."""
    member = await household.get(
        session,
        workspace_id=workspace_id_of(principal),
        customer_id=customer_id,
        member_id=member_id,
    )
    return HouseholdMemberOut.of(member)


@router.patch("/customers/{customer_id}/householdMembers/{member_id}", tags=["household"])
async def update_household_member(
    customer_id: str,
    member_id: str,
    body: HouseholdMemberUpdate,
    session: Session,
    principal: Writer,
    ctx: Ctx,
) -> HouseholdMemberOut:
    """Only the fields sent change; null clears any but `role`."""
    member = await requirement_actions.update_member(
        session,
        workspace_id=workspace_id_of(principal),
        customer_id=customer_id,
        member_id=member_id,
        body=body,
        ring=ctx.vault,
        now=ctx.clock.now(),
    )
    return HouseholdMemberOut.of(member)


@router.delete(
    "/customers/{customer_id}/householdMembers/{member_id}", status_code=204, tags=["household"]
)
async def delete_household_member(
    customer_id: str, member_id: str, session: Session, principal: Writer, ctx: Ctx
) -> None:
    await requirement_actions.remove_member(
        session,
        workspace_id=workspace_id_of(principal),
        customer_id=customer_id,
        member_id=member_id,
        now=ctx.clock.now(),
    )


@router.post("/leads", status_code=201, tags=["leads"])
async def create_lead(body: LeadCreate, session: Session, principal: Writer) -> LeadOut:
    """A lead needs only an email; it becomes a customer when it enrolls."""
    lead = await service.create_lead(session, workspace_id=workspace_id_of(principal), body=body)
    return LeadOut.of(lead)


@router.get("/leads", tags=["leads"])
async def list_leads(
    session: Session, principal: Reader, params: Pages, email: EmailFilter = None
) -> Page[LeadOut]:
    stmt = repository.search_leads(workspace_id=workspace_id_of(principal), email=email)
    result = await paginate(session, stmt, params, Lead.id)
    return result.to_page([LeadOut.of(lead) for lead in result.items])

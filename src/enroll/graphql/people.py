"""Customers, their household members and leads (REST: /v1/customers, …/householdMembers,
/v1/leads), over the same service functions."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID, UNSET
from strawberry.scalars import JSON

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.customer import repository as customers_repo
from enroll.customer import service as customers
from enroll.customer.schemas import (
    CustomerCreate,
    CustomerUpdate,
    HouseholdMemberCreate,
    HouseholdMemberUpdate,
    LeadCreate,
    LeadOut,
)
from enroll.enrollment import requirement_actions
from enroll.graphql.applicant import (
    ApplicantInput,
    HouseholdMember,
    HouseholdMemberCreateInput,
    HouseholdMemberUpdateInput,
)
from enroll.graphql.common import Info, connection, mutate, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import field, mutation
from enroll.graphql.inputs import AddressInput, check_text, parse, wire
from enroll.graphql.types import Address, Connection, Customer, fields_of
from enroll.models import Customer as CustomerRow
from enroll.models import Lead as LeadRow


@strawberry.type(description="A prospective customer (REST: LeadOut).")
class Lead:
    id: ID
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    address: Address | None
    metadata: JSON
    customer_id: ID | None = strawberry.field(description="The customer it became, if any.")
    converted_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: LeadRow) -> Lead:
        out = LeadOut.of(row)
        return cls(**fields_of(out, exclude={"address"}), address=Address.of(out.address))


@strawberry.input(description="A new customer (REST: CustomerCreate).")
class CustomerCreateInput(ApplicantInput):
    first_name: str
    last_name: str
    email: str
    phone: str | None = UNSET
    address: AddressInput | None = UNSET
    metadata: JSON | None = UNSET


@strawberry.input(
    description="A change to a customer (REST: CustomerUpdate): only the fields sent change; "
    "null clears phone, address and the applicant's fields."
)
class CustomerUpdateInput(ApplicantInput):
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    address: AddressInput | None = UNSET
    metadata: JSON | None = UNSET
    notifications_opt_out: bool | None = UNSET


@strawberry.input(description="A new lead: an email is enough (REST: LeadCreate).")
class LeadCreateInput:
    email: str
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    phone: str | None = UNSET
    address: AddressInput | None = UNSET
    metadata: JSON | None = UNSET


@strawberry.type
class PeopleQuery:
    @field("A customer of the workspace (scope customers:read).", Scope.CUSTOMERS_READ)
    async def customer(self, info: Info, id: ID) -> Customer | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.CUSTOMERS_READ)
        customer_id = ref(id)

        async def work(session: AsyncSession) -> Customer:
            return Customer.of(
                await customers.get(session, workspace_id=workspace_id, customer_id=customer_id)
            )

        return await ctx.read(work)

    @field("The workspace's customers, by id (scope customers:read).", Scope.CUSTOMERS_READ)
    async def customers(
        self, info: Info, email: str | None = None, first: int = 20, after: str | None = None
    ) -> Connection[Customer]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.CUSTOMERS_READ)
        check_text("email", email, max_length=320)
        stmt = customers_repo.search(workspace_id=workspace_id, email=email)
        return await connection(ctx, stmt, CustomerRow.id, Customer.of, first=first, after=after)

    @field("The workspace's leads, by id (scope customers:read).", Scope.CUSTOMERS_READ)
    async def leads(
        self, info: Info, email: str | None = None, first: int = 20, after: str | None = None
    ) -> Connection[Lead]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.CUSTOMERS_READ)
        check_text("email", email, max_length=320)
        stmt = customers_repo.search_leads(workspace_id=workspace_id, email=email)
        return await connection(ctx, stmt, LeadRow.id, Lead.of, first=first, after=after)


@strawberry.type
class PeopleMutation:
    @mutation("Add a customer; the email is unique (scope customers:write).", Scope.CUSTOMERS_WRITE)
    async def create_customer(self, info: Info, input: CustomerCreateInput) -> Customer:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> Customer:
            body = parse(CustomerCreate, wire(input))
            customer = await customers.create(
                session,
                workspace_id=principal.workspace_id or "",
                body=body,
                ring=ctx.app.vault,
                now=ctx.now(),
            )
            return Customer.of(customer)

        return await mutate(info, Scope.CUSTOMERS_WRITE, work)

    @mutation("Change a customer (scope customers:write).", Scope.CUSTOMERS_WRITE)
    async def update_customer(self, info: Info, id: ID, input: CustomerUpdateInput) -> Customer:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> Customer:
            body = parse(CustomerUpdate, wire(input))
            customer = await requirement_actions.update_customer(
                session,
                workspace_id=principal.workspace_id or "",
                customer_id=ref(id),
                body=body,
                ring=ctx.app.vault,
                now=ctx.now(),
            )
            return Customer.of(customer)

        return await mutate(info, Scope.CUSTOMERS_WRITE, work)

    @mutation(
        "Add a lead; it becomes a customer when it enrolls (scope customers:write).",
        Scope.CUSTOMERS_WRITE,
    )
    async def create_lead(self, info: Info, input: LeadCreateInput) -> Lead:
        async def work(session: AsyncSession, principal: Principal) -> Lead:
            body = parse(LeadCreate, wire(input))
            lead = await customers.create_lead(
                session, workspace_id=principal.workspace_id or "", body=body
            )
            return Lead.of(lead)

        return await mutate(info, Scope.CUSTOMERS_WRITE, work)

    @mutation(
        "Add a member to a customer's household; their tax id is stored encrypted (scope "
        "customers:write).",
        Scope.CUSTOMERS_WRITE,
    )
    async def add_household_member(
        self, info: Info, customer_id: ID, input: HouseholdMemberCreateInput
    ) -> HouseholdMember:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> HouseholdMember:
            body = parse(HouseholdMemberCreate, wire(input))
            member = await requirement_actions.add_member(
                session,
                workspace_id=principal.workspace_id or "",
                customer_id=ref(customer_id),
                body=body,
                ring=ctx.app.vault,
                now=ctx.now(),
            )
            return HouseholdMember.of(member)

        return await mutate(info, Scope.CUSTOMERS_WRITE, work)

    @mutation("Change a household member (scope customers:write).", Scope.CUSTOMERS_WRITE)
    async def update_household_member(
        self, info: Info, customer_id: ID, id: ID, input: HouseholdMemberUpdateInput
    ) -> HouseholdMember:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> HouseholdMember:
            body = parse(HouseholdMemberUpdate, wire(input))
            member = await requirement_actions.update_member(
                session,
                workspace_id=principal.workspace_id or "",
                customer_id=ref(customer_id),
                member_id=ref(id),
                body=body,
                ring=ctx.app.vault,
                now=ctx.now(),
            )
            return HouseholdMember.of(member)

        return await mutate(info, Scope.CUSTOMERS_WRITE, work)

    @mutation(
        "Remove a household member; answers its id (scope customers:write).",
        Scope.CUSTOMERS_WRITE,
    )
    async def delete_household_member(self, info: Info, customer_id: ID, id: ID) -> ID:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> ID:
            member_id = ref(id)
            await requirement_actions.remove_member(
                session,
                workspace_id=principal.workspace_id or "",
                customer_id=ref(customer_id),
                member_id=member_id,
                now=ctx.now(),
            )
            return ID(member_id)

        return await mutate(info, Scope.CUSTOMERS_WRITE, work)

"""Plans and delivery charges (REST: /v1/programInstances/{id}/plans, /v1/deliveryCharges),
over the same service functions and scopes: program_instances:read to read,
program_instances:write to change. Nested plan parts (startWindow, documents, pricing) are
JSON as REST spells them, money as decimal strings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID, UNSET
from strawberry.scalars import JSON

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.graphql.common import Info, connection, mutate, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import field, mutation
from enroll.graphql.inputs import check_text, parse, wire
from enroll.graphql.types import Connection
from enroll.models import DeliveryCharge as ChargeRow
from enroll.models import Plan as PlanRow
from enroll.plan import quotes, repository, service
from enroll.plan.schemas import (
    DeliveryChargeOut,
    DeliveryChargeSet,
    PlanCreate,
    PlanOut,
    PlanUpdate,
    QuoteOut,
    QuoteRequest,
    UtilityRef,
)
from enroll.workflows.plan import PlanStatus

if not hasattr(PlanStatus, "__strawberry_definition__"):
    strawberry.enum(PlanStatus, name="PlanStatus", graphql_name_from="value")


@strawberry.type(description="A plan a program instance offers (REST: PlanOut).")
class Plan:
    id: ID
    program_instance_id: ID
    code: str
    aliases: list[str]
    name: str
    description: str | None
    status: PlanStatus
    availability: JSON | None = strawberry.field(
        description="The JsonLogic rule over location and applicant; null: everywhere."
    )
    unavailable_reason: str | None
    start_window: JSON = strawberry.field(description="{earliestDays, latestDays}.")
    documents: list[JSON]
    pricing: JSON | None = strawberry.field(description="As REST: decimal strings.")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: PlanRow) -> Plan:
        out = PlanOut.of(row)
        wire_: dict[str, Any] = out.model_dump(mode="json", by_alias=True)
        return cls(
            id=ID(out.id),
            program_instance_id=ID(out.program_instance_id),
            code=out.code,
            aliases=out.aliases,
            name=out.name,
            description=out.description,
            status=out.status,
            availability=out.availability,
            unavailable_reason=out.unavailable_reason,
            start_window=wire_["startWindow"],
            documents=wire_["documents"],
            pricing=wire_["pricing"],
            version=out.version,
            created_at=out.created_at,
            updated_at=out.updated_at,
        )


@strawberry.type(description="A utility's delivery charges from a date (REST: DeliveryChargeOut).")
class DeliveryCharge:
    id: ID
    utility_code: str
    monthly_dollars: str
    cents_per_kwh: str
    effective_from: date
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ChargeRow) -> DeliveryCharge:
        out = DeliveryChargeOut.of(row)
        return cls(
            id=ID(out.id),
            utility_code=out.utility_code,
            monthly_dollars=format(out.monthly_dollars, "f"),
            cents_per_kwh=format(out.cents_per_kwh, "f"),
            effective_from=out.effective_from,
            version=out.version,
            created_at=out.created_at,
            updated_at=out.updated_at,
        )


@strawberry.type(
    description="The plans available at a location (REST: QuoteOut); plans, the delivery "
    "charge and the plans left out are JSON as REST spells them."
)
class PlanQuote:
    program_instance_id: ID
    location_id: ID | None
    utility_code: str | None
    on: date = strawberry.field(description="The day whose delivery charges price the plans.")
    delivery_charge: JSON | None
    plans: list[JSON] = strawberry.field(
        description="Cheapest first at 1,000 kWh: start window, documents, pricing, "
        "averagePriceCentsPerKwh, estimatedMonthlyDollars."
    )
    unavailable: list[JSON] | None = strawberry.field(
        description="With explain: the plans not offered there, each with its reason."
    )

    @classmethod
    def of(cls, out: QuoteOut) -> PlanQuote:
        wire_: dict[str, Any] = out.model_dump(mode="json", by_alias=True)
        return cls(
            program_instance_id=ID(out.program_instance_id),
            location_id=ID(out.location_id) if out.location_id else None,
            utility_code=out.utility_code,
            on=out.on,
            delivery_charge=wire_["deliveryCharge"],
            plans=wire_["plans"],
            unavailable=wire_["unavailable"],
        )


@strawberry.input(description="A new plan (REST: PlanCreate).")
class PlanCreateInput:
    code: str
    aliases: list[str] | None = UNSET
    name: str
    description: str | None = UNSET
    status: PlanStatus | None = UNSET
    availability: JSON | None = UNSET
    unavailable_reason: str | None = UNSET
    start_window: JSON | None = UNSET
    documents: list[JSON] | None = UNSET
    pricing: JSON | None = UNSET


@strawberry.input(
    description="A change to a plan (REST: PlanUpdate): null clears description, "
    "availability, unavailableReason and pricing."
)
class PlanUpdateInput:
    code: str | None = UNSET
    aliases: list[str] | None = UNSET
    name: str | None = UNSET
    description: str | None = UNSET
    status: PlanStatus | None = UNSET
    availability: JSON | None = UNSET
    unavailable_reason: str | None = UNSET
    start_window: JSON | None = UNSET
    documents: list[JSON] | None = UNSET
    pricing: JSON | None = UNSET


@strawberry.input(description="A utility's charges from a date (REST: DeliveryChargeSet).")
class DeliveryChargeInput:
    monthly_dollars: str
    cents_per_kwh: str
    effective_from: date


@strawberry.type
class PlansQuery:
    @field(
        "A plan of an instance (id or slug) by id, code or alias (scope program_instances:read).",
        Scope.PROGRAM_INSTANCES_READ,
    )
    async def plan(self, info: Info, program_instance_id: ID, id: ID) -> Plan | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.PROGRAM_INSTANCES_READ)
        instance_ref, plan_ref = ref(program_instance_id), ref(id)

        async def work(session: AsyncSession) -> Plan:
            return Plan.of(
                await service.get(
                    session, workspace_id=workspace_id, instance_ref=instance_ref, ref=plan_ref
                )
            )

        return await ctx.read(work)

    @field(
        "The instance's active plans available at a location, given by serviceLocationId or "
        "servicePointId (exactly one), priced for its utility on date (scope "
        "program_instances:read; REST: POST /v1/programInstances/{id}/plans/quote).",
        Scope.PROGRAM_INSTANCES_READ,
    )
    async def plan_quote(
        self,
        info: Info,
        program_instance_id: ID,
        service_location_id: ID | None = UNSET,
        service_point_id: str | None = UNSET,
        date: date | None = UNSET,
        explain: bool = False,
    ) -> PlanQuote | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.PROGRAM_INSTANCES_READ)
        instance_ref = ref(program_instance_id)
        given = {
            "serviceLocationId": (
                ref(service_location_id)
                if isinstance(service_location_id, str)
                else service_location_id
            ),
            "servicePointId": service_point_id,
            "date": date,
        }
        body = parse(QuoteRequest, {k: v for k, v in given.items() if v is not UNSET})

        async def work(session: AsyncSession) -> PlanQuote:
            out = await quotes.quote_location(
                session,
                workspace_id=workspace_id,
                instance_id=instance_ref,
                body=body,
                now=ctx.now(),
                explain=explain,
            )
            return PlanQuote.of(out)

        return await ctx.read(work)

    @field(
        "An instance's plans, by id (scope program_instances:read).",
        Scope.PROGRAM_INSTANCES_READ,
    )
    async def plans(
        self,
        info: Info,
        program_instance_id: ID,
        status: PlanStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Plan]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.PROGRAM_INSTANCES_READ)
        instance_ref = ref(program_instance_id)

        async def work(session: AsyncSession) -> Select[PlanRow]:
            return await service.search(
                session, workspace_id=workspace_id, instance_ref=instance_ref, status=status
            )

        stmt = await ctx.read(work)
        return await connection(ctx, stmt, PlanRow.id, Plan.of, first=first, after=after)

    @field(
        "The workspace's delivery charges, by id; effectiveOn: each utility's row in effect "
        "that day (scope program_instances:read).",
        Scope.PROGRAM_INSTANCES_READ,
    )
    async def delivery_charges(
        self,
        info: Info,
        utility_code: str | None = None,
        effective_on: date | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[DeliveryCharge]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.PROGRAM_INSTANCES_READ)
        check_text("utilityCode", utility_code, max_length=100)
        stmt = repository.search_charges(
            workspace_id=workspace_id, utility_code=utility_code, effective_on=effective_on
        )
        return await connection(
            ctx, stmt, ChargeRow.id, DeliveryCharge.of, first=first, after=after
        )


@strawberry.type
class PlansMutation:
    @mutation(
        "Offer a plan in an instance (id or slug); its code and aliases name no other plan "
        "of the instance (scope program_instances:write).",
        Scope.PROGRAM_INSTANCES_WRITE,
    )
    async def create_plan(
        self, info: Info, program_instance_id: ID, input: PlanCreateInput
    ) -> Plan:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> Plan:
            body = parse(PlanCreate, wire(input))
            plan = await service.create(
                session,
                workspace_id=principal.workspace_id or "",
                instance_ref=ref(program_instance_id),
                body=body,
                now=ctx.now(),
            )
            return Plan.of(plan)

        return await mutate(info, Scope.PROGRAM_INSTANCES_WRITE, work)

    @mutation(
        "Change a plan (by id, code or alias); status retired withdraws it "
        "(scope program_instances:write).",
        Scope.PROGRAM_INSTANCES_WRITE,
    )
    async def update_plan(
        self, info: Info, program_instance_id: ID, id: ID, input: PlanUpdateInput
    ) -> Plan:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> Plan:
            body = parse(PlanUpdate, wire(input))
            plan = await service.update(
                session,
                workspace_id=principal.workspace_id or "",
                instance_ref=ref(program_instance_id),
                ref=ref(id),
                body=body,
                now=ctx.now(),
            )
            return Plan.of(plan)

        return await mutate(info, Scope.PROGRAM_INSTANCES_WRITE, work)

    @mutation(
        "Delete a plan (by id, code or alias); answers its id (scope program_instances:write).",
        Scope.PROGRAM_INSTANCES_WRITE,
    )
    async def delete_plan(self, info: Info, program_instance_id: ID, id: ID) -> ID:
        async def work(session: AsyncSession, principal: Principal) -> ID:
            workspace_id = principal.workspace_id or ""
            plan = await service.get(
                session,
                workspace_id=workspace_id,
                instance_ref=ref(program_instance_id),
                ref=ref(id),
            )
            plan_id = plan.id
            await service.delete(
                session,
                workspace_id=workspace_id,
                instance_ref=plan.program_instance_id,
                ref=plan_id,
            )
            return ID(plan_id)

        return await mutate(info, Scope.PROGRAM_INSTANCES_WRITE, work)

    @mutation(
        "Set a utility's delivery charges from effectiveFrom on; the same date again replaces "
        "that row (scope program_instances:write).",
        Scope.PROGRAM_INSTANCES_WRITE,
    )
    async def set_delivery_charge(
        self, info: Info, utility_code: str, input: DeliveryChargeInput
    ) -> DeliveryCharge:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> DeliveryCharge:
            body = parse(DeliveryChargeSet, wire(input))
            code = parse(UtilityRef, {"utilityCode": utility_code}).utility_code
            charge = await service.set_delivery_charge(
                session,
                workspace_id=principal.workspace_id or "",
                utility_code=code,
                body=body,
                now=ctx.now(),
            )
            return DeliveryCharge.of(charge)

        return await mutate(info, Scope.PROGRAM_INSTANCES_WRITE, work)

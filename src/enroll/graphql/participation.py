"""Participation (REST: /v1/subscriptions, /v1/deviceLocations, /v1/devices): what a set-up
enrollment holds, read with enrollments:read; devices put into inventory with devices:write."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from strawberry import ID, UNSET
from strawberry.scalars import JSON

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.errors import FieldError
from enroll.graphql.common import Info, connection, mutate, ref
from enroll.graphql.context import info_context
from enroll.graphql.fields import field, mutation
from enroll.graphql.inputs import check_text, invalid, parse, wire
from enroll.graphql.types import Address, Connection, fields_of
from enroll.kit.repository import WorkspaceRepository
from enroll.models import Device as DeviceRow
from enroll.models import DeviceLocation as LocationRow
from enroll.models import ProgramSubscription as SubscriptionRow
from enroll.program_instance.setup_workflow import AssetOwnership
from enroll.servicetask import actions as task_actions
from enroll.servicetask import repository as setup_repo
from enroll.servicetask.schemas import DeviceCreate, DeviceLocationOut, DeviceOut, SubscriptionOut

R = TypeVar("R", bound=DeclarativeBase)

if not hasattr(AssetOwnership, "__strawberry_definition__"):
    strawberry.enum(AssetOwnership, name="AssetOwnership", graphql_name_from="value")


@strawberry.type(description="An enrollment's program subscription (REST: SubscriptionOut).")
class Subscription:
    id: ID
    enrollment_id: ID
    program_instance_id: ID
    customer_id: ID | None
    device_location_id: ID | None
    status: str = strawberry.field(description="active or inactive.")
    start_at: datetime | None
    end_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: SubscriptionRow) -> Subscription:
        return cls(**fields_of(SubscriptionOut.of(row)))


@strawberry.type(description="Where devices are installed (REST: DeviceLocationOut).")
class DeviceLocation:
    id: ID
    customer_id: ID | None
    status: str
    address: Address | None
    premise_id: str | None
    service_point_id: str | None
    division: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: LocationRow) -> DeviceLocation:
        out = DeviceLocationOut.of(row)
        return cls(**fields_of(out, exclude={"address"}), address=Address.of(out.address))


@strawberry.type(description="A device (REST: DeviceOut).")
class Device:
    id: ID
    type: str
    manufacturer: str
    model: str | None
    serial_number: str | None
    ownership: AssetOwnership
    status: str = strawberry.field(
        description="in_stock, reserved, installed, active or deactivated."
    )
    device_location_id: ID | None
    subscription_id: ID | None
    metadata: JSON
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: DeviceRow) -> Device:
        return cls(**fields_of(DeviceOut.of(row)))


@strawberry.input(description="A utility device into inventory (REST: DeviceCreate).")
class DeviceCreateInput:
    type: str
    manufacturer: str
    serial_number: str
    model: str | None = UNSET
    metadata: JSON | None = UNSET


def _one_of(value: str | None, allowed: tuple[str, ...], name: str) -> None:
    """A filter REST bounds by a pattern: the same values, the same 422."""
    if value is not None and value not in allowed:
        raise invalid([FieldError(field=name, message=f"One of {', '.join(allowed)}.")])


async def _get(info: Info, id: str, rows: WorkspaceRepository[R]) -> R:
    """The workspace's row ``id`` of ``rows``, or its not_found (404)."""
    ctx = info_context(info)
    workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)
    found_id = ref(id)

    async def work(session: AsyncSession) -> R:
        return await rows.require(session, workspace_id=workspace_id, id=found_id)

    return await ctx.read(work)


@strawberry.type
class ParticipationQuery:
    @field("A program subscription (scope enrollments:read).", Scope.ENROLLMENTS_READ)
    async def subscription(self, info: Info, id: ID) -> Subscription | None:
        row = await _get(info, id, setup_repo.subscriptions)
        return Subscription.of(row)

    @field("The workspace's subscriptions, by id (scope enrollments:read).", Scope.ENROLLMENTS_READ)
    async def subscriptions(
        self,
        info: Info,
        enrollment_id: ID | None = None,
        status: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Subscription]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)
        check_text("enrollmentId", enrollment_id, max_length=100)
        _one_of(status, ("active", "inactive"), "status")
        stmt = setup_repo.search_subscriptions(
            workspace_id=workspace_id, enrollment_id=enrollment_id, status=status
        )
        return await connection(
            ctx, stmt, SubscriptionRow.id, Subscription.of, first=first, after=after
        )

    @field("A device location (scope enrollments:read).", Scope.ENROLLMENTS_READ)
    async def device_location(self, info: Info, id: ID) -> DeviceLocation | None:
        row = await _get(info, id, setup_repo.locations)
        return DeviceLocation.of(row)

    @field("A device (scope enrollments:read).", Scope.ENROLLMENTS_READ)
    async def device(self, info: Info, id: ID) -> Device | None:
        row = await _get(info, id, setup_repo.devices)
        return Device.of(row)

    @field("The workspace's devices, by id (scope enrollments:read).", Scope.ENROLLMENTS_READ)
    async def devices(
        self,
        info: Info,
        status: str | None = None,
        ownership: AssetOwnership | None = None,
        device_location_id: ID | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Device]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)
        _one_of(status, ("in_stock", "reserved", "installed", "active", "deactivated"), "status")
        check_text("deviceLocationId", device_location_id, max_length=100)
        stmt = setup_repo.search_devices(
            workspace_id=workspace_id,
            status=status,
            ownership=ownership.value if ownership else None,
            location_id=device_location_id,
        )
        return await connection(ctx, stmt, DeviceRow.id, Device.of, first=first, after=after)


@strawberry.type
class ParticipationMutation:
    @mutation(
        "Put a utility-owned device into inventory (in_stock), for bring-your-own requests "
        "with utility ownership to reserve (scope devices:write).",
        Scope.DEVICES_WRITE,
    )
    async def create_device(self, info: Info, input: DeviceCreateInput) -> Device:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> Device:
            body = parse(DeviceCreate, wire(input))
            device = await task_actions.create_device(
                session, workspace_id=principal.workspace_id or "", body=body, now=ctx.now()
            )
            return Device.of(device)

        return await mutate(info, Scope.DEVICES_WRITE, work)

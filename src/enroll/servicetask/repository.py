"""Queries of service tasks and of what they set up. Every one is scoped by workspace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.kit.repository import WorkspaceRepository
from enroll.models import (
    Device,
    DeviceLocation,
    ProgramInstance,
    ProgramSubscription,
    ServiceTask,
    ServiceTaskLog,
    SetupAction,
    Todo,
)
from enroll.models.service_task import service_task_log_table
from enroll.workflows.participation import DeviceStatus
from enroll.workflows.service_task import TERMINAL, TaskKind, TodoStatus

tasks = WorkspaceRepository(ServiceTask)
actions = WorkspaceRepository(SetupAction, not_found="No setup action {id!r}.")
devices = WorkspaceRepository(Device, not_found="No device {id!r}.")
subscriptions = WorkspaceRepository(ProgramSubscription, not_found="No subscription {id!r}.")
locations = WorkspaceRepository(DeviceLocation, not_found="No device location {id!r}.")
todos = WorkspaceRepository(Todo, not_found="No to-do {id!r}.")
# The worker runs these for every state change of every task: built once, with bound
# parameters (building a statement anew costs more CPU than running it).
_TASK = select(ServiceTask).where(
    ServiceTask.workspace_id == bindparam("workspace_id"), ServiceTask.id == bindparam("id")
)
# populate_existing: a row this session holds already is read again under the lock.
_TASK_FOR_UPDATE = _TASK.with_for_update().execution_options(populate_existing=True)
# A step's task, locked, with its instance (unlocked) in the same round trip.
_TASK_AND_INSTANCE_FOR_UPDATE = (
    select(ServiceTask, ProgramInstance)
    .join(ProgramInstance, ProgramInstance.id == ServiceTask.program_instance_id)
    .where(ServiceTask.workspace_id == bindparam("workspace_id"), ServiceTask.id == bindparam("id"))
    .with_for_update(of=ServiceTask)
    .execution_options(populate_existing=True)
)
_ACTIONS = (
    select(SetupAction)
    .where(SetupAction.task_id == bindparam("task_id"))
    .order_by(SetupAction.sequence, SetupAction.type)
)
_TASK_DEVICES = (
    select(Device)
    .where(
        Device.workspace_id == bindparam("workspace_id"),
        or_(
            Device.task_id == bindparam("task_id"),
            Device.reserved_by_task_id == bindparam("task_id"),
        ),
    )
    .order_by(Device.id)
)
_LOCATION_DEVICES = (
    select(Device)
    .where(
        Device.workspace_id == bindparam("workspace_id"),
        Device.device_location_id == bindparam("location_id"),
    )
    .order_by(Device.id)
)
_SUBSCRIPTION_OF = select(ProgramSubscription).where(
    ProgramSubscription.enrollment_id == bindparam("enrollment_id")
)
_OPEN_TASK_OF = (
    select(ServiceTask)
    .where(
        ServiceTask.enrollment_id == bindparam("enrollment_id"),
        ServiceTask.state.not_in([s.value for s in TERMINAL]),
        ServiceTask.id != bindparam("excluding"),
    )
    .limit(1)
)


async def get_task(
    session: AsyncSession, *, workspace_id: str, task_id: str, for_update: bool = False
) -> ServiceTask | None:
    stmt = _TASK_FOR_UPDATE if for_update else _TASK
    return await session.scalar(stmt, {"workspace_id": workspace_id, "id": task_id})


async def lock_task_for_step(
    session: AsyncSession, *, workspace_id: str, task_id: str
) -> tuple[ServiceTask, ProgramInstance] | None:
    """The task, locked, and its program instance (not locked), in one round trip."""
    row = (
        await session.execute(
            _TASK_AND_INSTANCE_FOR_UPDATE, {"workspace_id": workspace_id, "id": task_id}
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def by_transaction_id(
    session: AsyncSession, *, workspace_id: str, kind: str, transaction_id: str
) -> ServiceTask | None:
    return await session.scalar(
        tasks.search(workspace_id, kind=kind, transaction_id=transaction_id)
    )


async def open_task_of(
    session: AsyncSession, *, enrollment_id: str, excluding: str | None = None
) -> ServiceTask | None:
    """The enrollment's unfinished task, if any: an enrollment has one at a time."""
    return await session.scalar(
        _OPEN_TASK_OF, {"enrollment_id": enrollment_id, "excluding": excluding or ""}
    )


@dataclass(frozen=True, slots=True)
class TaskFilters:
    kind: str | None = None
    state: str | None = None
    enrollment_id: str | None = None
    program_instance_id: str | None = None
    transaction_id: str | None = None


def search_tasks(*, workspace_id: str, filters: TaskFilters) -> Select[ServiceTask]:
    stmt = select(ServiceTask).where(ServiceTask.workspace_id == workspace_id)
    if filters.kind:
        stmt = stmt.where(ServiceTask.kind == filters.kind)
    if filters.transaction_id:
        if not filters.kind:  # the index leads with (workspace_id, kind, transaction_id)
            stmt = stmt.where(ServiceTask.kind.in_([k.value for k in TaskKind]))
        stmt = stmt.where(ServiceTask.transaction_id == filters.transaction_id)
    if filters.state:
        stmt = stmt.where(ServiceTask.state == filters.state)
    if filters.enrollment_id:
        stmt = stmt.where(ServiceTask.enrollment_id == filters.enrollment_id)
    if filters.program_instance_id:
        stmt = stmt.where(ServiceTask.program_instance_id == filters.program_instance_id)
    return stmt


async def log_of(session: AsyncSession, *, task_id: str) -> list[ServiceTaskLog]:
    rows = await session.scalars(
        select(ServiceTaskLog)
        .where(ServiceTaskLog.task_id == task_id)
        .order_by(ServiceTaskLog.at, ServiceTaskLog.id)
    )
    return list(rows.all())


async def logs_of(
    session: AsyncSession, *, workspace_id: str, task_ids: Sequence[str]
) -> list[ServiceTaskLog]:
    """The log rows of many tasks of the workspace, each task's oldest first (as ``log_of``)."""
    rows = await session.scalars(
        select(ServiceTaskLog)
        .join(ServiceTask, ServiceTask.id == ServiceTaskLog.task_id)
        .where(ServiceTask.workspace_id == workspace_id, ServiceTaskLog.task_id.in_(task_ids))
        .order_by(ServiceTaskLog.task_id, ServiceTaskLog.at, ServiceTaskLog.id)
    )
    return list(rows.all())


async def actions_of(session: AsyncSession, *, task_id: str) -> list[SetupAction]:
    return list((await session.scalars(_ACTIONS, {"task_id": task_id})).all())


async def get_action(
    session: AsyncSession, *, workspace_id: str, action_id: str, for_update: bool = False
) -> SetupAction | None:
    return await actions.get(
        session, workspace_id=workspace_id, id=action_id, for_update=for_update
    )


async def devices_of(session: AsyncSession, task: ServiceTask) -> list[Device]:
    """An enrollment task's devices (made or reserved for it); an unenrollment task's, those at
    the location it takes down."""
    if task.kind == "unenrollment":
        if task.device_location_id is None:
            return []
        rows = await session.scalars(
            _LOCATION_DEVICES,
            {"workspace_id": task.workspace_id, "location_id": task.device_location_id},
        )
    else:
        rows = await session.scalars(
            _TASK_DEVICES, {"workspace_id": task.workspace_id, "task_id": task.id}
        )
    return list(rows.all())


async def in_stock_device(
    session: AsyncSession,
    *,
    workspace_id: str,
    manufacturer: str | None,
    serial_number: str | None,
    type_: str | None,
    model: str | None,
    excluding: list[str],
) -> Device | None:
    """A free utility device matching what the request names, locked for reserving
    (SKIP LOCKED on PostgreSQL: two tasks reserving at once take different devices)."""
    stmt = select(Device).where(
        Device.workspace_id == workspace_id,
        Device.ownership == "utility",
        Device.status == DeviceStatus.IN_STOCK,
        Device.reserved_by_task_id.is_(None),
    )
    for column, value in (
        (Device.manufacturer, manufacturer),
        (Device.serial_number, serial_number),
        (Device.type, type_),
        (Device.model, model),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if excluding:
        stmt = stmt.where(Device.id.not_in(excluding))
    return await session.scalar(stmt.order_by(Device.id).limit(1).with_for_update(skip_locked=True))


async def device_by_serial(
    session: AsyncSession, *, workspace_id: str, manufacturer: str, serial_number: str
) -> Device | None:
    return await session.scalar(
        devices.search(workspace_id, manufacturer=manufacturer, serial_number=serial_number)
    )


def search_devices(
    *, workspace_id: str, status: str | None, ownership: str | None, location_id: str | None
) -> Select[Device]:
    return devices.search(
        workspace_id, status=status, ownership=ownership, device_location_id=location_id
    )


async def get_subscription(
    session: AsyncSession, *, workspace_id: str, subscription_id: str
) -> ProgramSubscription | None:
    return await subscriptions.get(session, workspace_id=workspace_id, id=subscription_id)


async def subscription_of(
    session: AsyncSession, *, enrollment_id: str
) -> ProgramSubscription | None:
    return await session.scalar(_SUBSCRIPTION_OF, {"enrollment_id": enrollment_id})


def search_subscriptions(
    *, workspace_id: str, enrollment_id: str | None, status: str | None
) -> Select[ProgramSubscription]:
    return subscriptions.search(workspace_id, enrollment_id=enrollment_id, status=status)


async def get_location(
    session: AsyncSession, *, workspace_id: str, location_id: str
) -> DeviceLocation | None:
    return await locations.get(session, workspace_id=workspace_id, id=location_id)


async def location_of_task(session: AsyncSession, *, task_id: str) -> DeviceLocation | None:
    return await session.scalar(select(DeviceLocation).where(DeviceLocation.task_id == task_id))


async def open_todos(session: AsyncSession, *, task_id: str, kind: str | None = None) -> list[Todo]:
    stmt = select(Todo).where(Todo.task_id == task_id, Todo.status == TodoStatus.OPEN)
    if kind:
        stmt = stmt.where(Todo.kind == kind)
    return list((await session.scalars(stmt)).all())


def search_todos(
    *, workspace_id: str, status: str | None, kind: str | None, task_id: str | None
) -> Select[Todo]:
    return todos.search(workspace_id, status=status, kind=kind, task_id=task_id)


_LOG_INSERT = insert(service_task_log_table)  # plain Core: one row per state change


async def insert_log(session: AsyncSession, row: dict[str, Any]) -> None:
    """A task log row (a state change, or an event of a setup action)."""
    await session.execute(_LOG_INSERT, row)

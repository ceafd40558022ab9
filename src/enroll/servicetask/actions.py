"""Setup actions reported back, to-dos completed, the device inventory, and device commands
(the job that calls a device's endpoint, and its answer recorded)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.enrollment import acceptance
from enroll.enrollment import service as enrollments
from enroll.ids import new_id
from enroll.location import service as locations
from enroll.models import Device, ServiceTask, SetupAction, Todo
from enroll.program_instance import service as instances
from enroll.program_instance.setup_workflow import ActionType, SetupWorkflow
from enroll.servicetask import repository, service, tasks
from enroll.servicetask.errors import (
    ActionNotInProgress,
    DeviceExists,
    TodoCompleted,
    TodoNeedsDecision,
)
from enroll.servicetask.schemas import (
    ActionReport,
    DeviceCreate,
)
from enroll.servicetask.steps import workflow_of
from enroll.servicetask.steps.command import DeviceCommand
from enroll.workflows.participation import DeviceStatus
from enroll.workflows.service_task import (
    ActionStatus,
    TaskKind,
    TaskState,
    TodoStatus,
)

T = TaskState


async def get_action(session: AsyncSession, *, workspace_id: str, action_id: str) -> SetupAction:
    return await repository.actions.require(session, workspace_id=workspace_id, id=action_id)


async def report_action(
    session: AsyncSession,
    *,
    workspace_id: str,
    action_id: str,
    succeeded: bool,
    report: ActionReport,
    actor: str,
    now: datetime,
) -> SetupAction:
    """A crew or another system finished (or could not finish) a setup action."""
    found = await get_action(session, workspace_id=workspace_id, action_id=action_id)
    # The task's row first, then the action's: the order the worker's steps lock them in.
    await service.get(session, workspace_id=workspace_id, task_id=found.task_id, for_update=True)
    action = await repository.get_action(
        session, workspace_id=workspace_id, action_id=action_id, for_update=True
    )
    assert action is not None
    if action.status != ActionStatus.IN_PROGRESS:
        raise ActionNotInProgress(
            f"The setup action is {action.status}, not in_progress.",
            currentStatus=action.status,
        )
    await finish_action(
        session,
        action,
        succeeded=succeeded,
        result=report.result,
        message=report.message,
        actor=actor,
        now=now,
    )
    return action


async def finish_action(
    session: AsyncSession,
    action: SetupAction,
    *,
    succeeded: bool,
    result: dict[str, Any] | None,
    message: str | None,
    actor: str,
    now: datetime,
) -> None:
    action.status = ActionStatus.COMPLETED if succeeded else "failed"
    action.result = result
    action.message = message
    action.finished_at = now
    action.updated_at = now
    task = await service.get(
        session, workspace_id=action.workspace_id, task_id=action.task_id, for_update=True
    )
    for todo in await repository.open_todos(session, task_id=task.id, kind="action"):
        if todo.setup_action_id == action.id:
            todo.status, todo.completed_at, todo.completed_by = TodoStatus.COMPLETED, now, actor
            todo.updated_at = now
    await session.flush()
    await tasks.log_action(
        session, task, action, action.status, actor=actor, now=now, message=message
    )
    # An enrollment's switch only: an unenrollment task names its enrollment too.
    switched = action.type == ActionType.MARKET_ENROLLMENT and task.kind == TaskKind.ENROLLMENT
    if succeeded and switched and task.enrollment_id:
        await acceptance.activate_service(
            session,
            workspace_id=task.workspace_id,
            enrollment_id=task.enrollment_id,
            start=_service_start(result),
            now=now,
        )
    if task.state == T.AWAITING_DEVICE_SETUP:
        await tasks.schedule_step(session, task, now=now)


def _service_start(result: dict[str, Any] | None) -> date | None:
    """The utility's start date, when its answer gives one as an ISO date."""
    given = (result or {}).get("serviceStartDate")
    try:
        return date.fromisoformat(given) if isinstance(given, str) else None
    except ValueError:
        return None


async def complete_todo(
    session: AsyncSession,
    *,
    workspace_id: str,
    todo_id: str,
    note: str | None,
    actor: str,
    now: datetime,
) -> Todo:
    """Mark a to-do done; one a create_todo action raised completes that action too."""
    todo = await repository.todos.require(
        session, workspace_id=workspace_id, id=todo_id, for_update=True
    )
    if todo.status != TodoStatus.OPEN:
        raise TodoCompleted("The to-do is completed already.")
    if todo.kind == "approval":
        raise TodoNeedsDecision(
            "An approval to-do is answered by approving or rejecting its task.",
            serviceTaskId=todo.task_id,
        )
    todo.status, todo.completed_at, todo.completed_by, todo.note = (
        TodoStatus.COMPLETED,
        now,
        actor,
        note,
    )
    todo.updated_at = now
    if todo.setup_action_id:
        action = await repository.get_action(
            session, workspace_id=workspace_id, action_id=todo.setup_action_id, for_update=True
        )
        if action is not None and action.status == ActionStatus.IN_PROGRESS:
            await finish_action(
                session,
                action,
                succeeded=True,
                result={"todoId": todo.id},
                message=note,
                actor=actor,
                now=now,
            )
    await session.flush()
    return todo


async def create_device(
    session: AsyncSession, *, workspace_id: str, body: DeviceCreate, now: datetime
) -> Device:
    """A utility device into inventory, in_stock."""
    if await repository.device_by_serial(
        session,
        workspace_id=workspace_id,
        manufacturer=body.manufacturer,
        serial_number=body.serial_number,
    ):
        raise DeviceExists(
            f"A {body.manufacturer} device with serial number {body.serial_number!r} exists.",
        )
    device = Device(
        id=new_id(),
        workspace_id=workspace_id,
        manufacturer=body.manufacturer,
        model=body.model,
        type=body.type,
        serial_number=body.serial_number,
        ownership="utility",
        status=DeviceStatus.IN_STOCK,
        metadata_=body.metadata,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(device)
    await session.flush()
    return device


async def device_command_call(
    session: AsyncSession, *, workspace_id: str, action_id: str, attempt: int
) -> DeviceCommand | None:
    """The command to send, or None when nobody waits for it any more (the action finished,
    was started again, or its task ended)."""
    action = await repository.get_action(session, workspace_id=workspace_id, action_id=action_id)
    if action is None or action.status != ActionStatus.IN_PROGRESS or action.attempts != attempt:
        return None
    task = await service.get(session, workspace_id=workspace_id, task_id=action.task_id)
    instance = await instances.get(session, workspace_id=workspace_id, ref=task.program_instance_id)
    workflow = workflow_of(instance)
    if workflow is not None and action.type == ActionType.MARKET_ENROLLMENT:
        return await _market_enrollment_call(session, task, action, workflow)
    if workflow is None or workflow.device_command_url is None:
        return None
    devices = await repository.devices_of(session, task)
    return DeviceCommand(
        url=workflow.device_command_url,
        timeout_seconds=workflow.device_command_timeout_seconds,
        body={
            "type": "device.command",
            "command": action.config.get("command", "status_check"),
            "setupActionId": action.id,
            "serviceTaskId": task.id,
            "taskKind": task.kind,
            "enrollmentId": task.enrollment_id,
            "deviceLocationId": task.device_location_id,
            "devices": [
                {
                    "id": d.id,
                    "manufacturer": d.manufacturer,
                    "model": d.model,
                    "serialNumber": d.serial_number,
                    "type": d.type,
                }
                for d in devices
            ],
        },
    )


async def _market_enrollment_call(
    session: AsyncSession, task: ServiceTask, action: SetupAction, workflow: SetupWorkflow
) -> DeviceCommand | None:
    """The switch request: the premise, the plan and the requested start date."""
    if workflow.market_enrollment_url is None or task.enrollment_id is None:
        return None
    e = await enrollments.get(
        session, workspace_id=task.workspace_id, enrollment_id=task.enrollment_id
    )
    location = (
        await locations.get(
            session, workspace_id=task.workspace_id, location_id=e.service_location_id
        )
        if e.service_location_id
        else None
    )
    return DeviceCommand(
        url=workflow.market_enrollment_url,
        timeout_seconds=workflow.device_command_timeout_seconds,
        body={
            "type": "market.enrollment",
            "setupActionId": action.id,
            "serviceTaskId": task.id,
            "enrollmentId": e.id,
            "servicePointId": location.service_point_id if location else None,
            "market": location.market if location else None,
            "utilityCode": location.utility_code if location else None,
            "planCode": e.plan_code,
            "startDate": e.start_date.isoformat() if e.start_date else None,
            "customer": {"firstName": e.first_name, "lastName": e.last_name, "email": e.email},
        },
    )


async def record_device_command(
    session: AsyncSession,
    *,
    workspace_id: str,
    action_id: str,
    attempt: int,
    succeeded: bool,
    result: dict[str, Any] | None,
    message: str | None,
    now: datetime,
) -> None:
    action = await repository.get_action(
        session, workspace_id=workspace_id, action_id=action_id, for_update=True
    )
    if action is None or action.status != ActionStatus.IN_PROGRESS or action.attempts != attempt:
        return  # finished or restarted meanwhile
    await finish_action(
        session,
        action,
        succeeded=succeeded,
        result=result,
        message=message,
        actor="system:device-command",
        now=now,
    )

"""Service-task use cases: the inbound requests, approval's setup, the operations people take
(retry, discard, cancel, approve, reject, correct), setup actions reported back, to-dos, the
device inventory, expiration and device commands. Steps themselves live in steps/.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.enrollment import repository as enrollments_repo
from enroll.enrollment import service as enrollments
from enroll.errors import Conflict, FieldError, NotFound, Unprocessable
from enroll.ids import new_id
from enroll.models import Device, Enrollment, ProgramInstance, ServiceTask, SetupAction, Todo
from enroll.program_instance import service as instances
from enroll.servicetask import repository, steps, tasks
from enroll.servicetask.schemas import (
    ActionReport,
    DeviceAdd,
    DeviceCreate,
    EnrollmentRequestCreate,
    ServiceTaskPatch,
    UnenrollBody,
    UnenrollmentRequestCreate,
)
from enroll.servicetask.steps import workflow_of
from enroll.servicetask.steps.command import DeviceCommand
from enroll.workflows.enrollment import Action, Status
from enroll.workflows.service_task import (
    ERROR_STATES,
    RETRY,
    TERMINAL,
    TaskKind,
    TaskState,
    operations,
)

T = TaskState


async def get(
    session: AsyncSession,
    *,
    workspace_id: str,
    task_id: str,
    kind: TaskKind | None = None,
    for_update: bool = False,
) -> ServiceTask:
    task = await repository.get_task(
        session, workspace_id=workspace_id, task_id=task_id, for_update=for_update
    )
    if task is None or (kind is not None and task.kind != kind.value):
        raise NotFound(f"No {kind.value + ' request' if kind else 'service task'} {task_id!r}.")
    return task


def _expiration(instance: ProgramInstance) -> int | None:
    workflow = workflow_of(instance)
    return workflow.expiration_days if workflow else None


async def _received(
    session: AsyncSession,
    workspace_id: str,
    kind: TaskKind,
    body: EnrollmentRequestCreate | UnenrollmentRequestCreate,
) -> tuple[dict[str, Any], str, ServiceTask | None]:
    """The request as stored, its digest, and the task an earlier request with the same
    transactionId made (409 when that request's body differed)."""
    request = body.model_dump(mode="json", by_alias=True, exclude_none=True)
    digest = hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()
    if body.transaction_id is None:
        return request, digest, None
    earlier = await repository.by_transaction_id(
        session, workspace_id=workspace_id, kind=kind.value, transaction_id=body.transaction_id
    )
    if earlier is not None and earlier.request_digest != digest:
        raise Conflict(
            f"transactionId {body.transaction_id!r} was used for a different request.",
            code="transaction_id_reused",
            serviceTaskId=earlier.id,
        )
    return request, digest, earlier


async def _create(
    session: AsyncSession, *, transaction_id: str | None, **fields: Any
) -> ServiceTask:
    """tasks.create, but a concurrent request with the same transactionId wins: its task."""
    try:
        async with session.begin_nested():
            return await tasks.create(session, transaction_id=transaction_id, **fields)
    except IntegrityError:
        if transaction_id is None:
            raise
        earlier = await repository.by_transaction_id(
            session,
            workspace_id=fields["workspace_id"],
            kind=fields["kind"].value,
            transaction_id=transaction_id,
        )
        if earlier is None:
            raise
        return earlier


# --- inbound requests ---------------------------------------------------------------------


async def request_enrollment(
    session: AsyncSession,
    *,
    workspace_id: str,
    body: EnrollmentRequestCreate,
    actor: str,
    now: datetime,
) -> ServiceTask:
    """Seed 002's enrollProgram: a task at ``pending`` that runs the whole pipeline."""
    request, digest, earlier = await _received(session, workspace_id, TaskKind.ENROLLMENT, body)
    if earlier is not None:
        return earlier
    ref = body.program_instance_id or body.program_instance_slug or ""
    instance = await instances.get(session, workspace_id=workspace_id, ref=ref)
    return await _create(
        session,
        workspace_id=workspace_id,
        kind=TaskKind.ENROLLMENT,
        origin="request",
        state=T.PENDING,
        instance_id=instance.id,
        request=request,
        request_digest=digest,
        actor=actor,
        now=now,
        expiration_days=_expiration(instance),
        transaction_id=body.transaction_id,
    )


async def request_unenrollment(
    session: AsyncSession,
    *,
    workspace_id: str,
    body: UnenrollmentRequestCreate,
    actor: str,
    now: datetime,
    origin: str = "request",
) -> ServiceTask:
    """Seed 002's unenrollProgram. On an instance with no setup workflow it completes at once
    (or stops in validation_error); otherwise the worker runs it."""
    request, digest, earlier = await _received(session, workspace_id, TaskKind.UNENROLLMENT, body)
    if earlier is not None:
        return earlier
    enrollment = None
    if body.enrollment_id:
        enrollment = await enrollments.get(
            session, workspace_id=workspace_id, enrollment_id=body.enrollment_id
        )
        ref = enrollment.program_instance_id
    else:
        ref = body.program_instance_id or ""
    instance = await instances.get(session, workspace_id=workspace_id, ref=ref)
    inline = workflow_of(instance) is None
    task = await _create(
        session,
        workspace_id=workspace_id,
        kind=TaskKind.UNENROLLMENT,
        origin=origin,
        state=T.PENDING,
        instance_id=instance.id,
        request=request,
        request_digest=digest,
        actor=actor,
        now=now,
        expiration_days=_expiration(instance),
        transaction_id=body.transaction_id,
        enrollment_id=enrollment.id if enrollment else None,
        schedule=not inline,
    )
    if inline and task.state == T.PENDING:
        await steps.run_inline(session, task, now=now)
    return task


async def unenroll(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    body: UnenrollBody,
    actor: str,
    now: datetime,
) -> tuple[Enrollment, ServiceTask]:
    """``POST /enrollments/{id}/unenroll``: an unenrollment task for this enrollment. Where it
    completes at once (no setup workflow) a refusal is an error response, as for any action,
    and nothing is kept."""
    enrollment = await enrollments.get(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id
    )
    enrollments.check_action(enrollment, Action.UNENROLL)
    request = UnenrollmentRequestCreate.model_validate(
        body.model_dump(by_alias=True) | {"enrollmentId": enrollment.id}
    )
    task = await request_unenrollment(
        session, workspace_id=workspace_id, body=request, actor=actor, now=now, origin="unenroll"
    )
    if task.state == T.VALIDATION_ERROR:  # a new task (this body has no transactionId)
        instance = await instances.get(
            session, workspace_id=workspace_id, ref=task.program_instance_id
        )
        if workflow_of(instance) is None:
            refusal = Unprocessable if _only_bad_input(task) else Conflict
            raise refusal(
                "The enrollment cannot be unenrolled: "
                + "; ".join(e["message"] for e in task.errors),
                code=task.errors[0]["code"] if task.errors else "validation_error",
                errors=[
                    FieldError(field=e.get("field") or "", message=e["message"])
                    for e in task.errors
                ],
            )
    return enrollment, task


def _only_bad_input(task: ServiceTask) -> bool:
    return bool(task.errors) and all(e["code"] == "invalid_reason" for e in task.errors)


async def add_device(
    session: AsyncSession,
    *,
    workspace_id: str,
    enrollment_id: str,
    body: DeviceAdd,
    actor: str,
    now: datetime,
) -> ServiceTask:
    enrollment = await enrollments.get(
        session, workspace_id=workspace_id, enrollment_id=enrollment_id
    )
    if enrollment.status != Status.APPROVED:
        raise Conflict(
            f"Devices are added to approved enrollments; this one is {enrollment.status}.",
            code="invalid_transition",
            currentStatus=enrollment.status,
        )
    await _refuse_busy(session, enrollment)
    instance = await instances.get(
        session, workspace_id=workspace_id, ref=enrollment.program_instance_id
    )
    inline = workflow_of(instance) is None
    task = await tasks.create(
        session,
        workspace_id=workspace_id,
        kind=TaskKind.ENROLLMENT,
        origin="device",
        state=T.PENDING,
        instance_id=instance.id,
        request={
            "assetInfo": {
                "installationMethod": body.installation_method.value,
                "assetOwnership": body.asset_ownership.value,
                "assets": [body.asset.model_dump(mode="json", by_alias=True, exclude_none=True)],
            }
        },
        actor=actor,
        now=now,
        expiration_days=_expiration(instance),
        enrollment_id=enrollment.id,
        customer_id=enrollment.customer_id,
        schedule=not inline,
    )
    if inline:
        await steps.run_inline(session, task, now=now)
    return task


async def _refuse_busy(session: AsyncSession, enrollment: Enrollment) -> None:
    busy = await repository.open_task_of(session, enrollment_id=enrollment.id)
    if busy is not None:
        raise Conflict(
            f"Service task {busy.id} of this enrollment is still open.",
            code="task_in_progress",
            serviceTaskId=busy.id,
        )


async def after_approval(
    session: AsyncSession, *, enrollment: Enrollment, actor: str, now: datetime
) -> ServiceTask | None:
    """Approval sets the enrollment up: a task starting at ``setup_enrollment`` (validation
    and eligibility happened already), completed at once where the instance has no setup
    workflow. None when a task of the enrollment is open already (the request task that
    approved it carries on)."""
    if await repository.open_task_of(session, enrollment_id=enrollment.id) is not None:
        return None
    instance = await instances.get(
        session, workspace_id=enrollment.workspace_id, ref=enrollment.program_instance_id
    )
    inline = workflow_of(instance) is None
    metadata = enrollment.metadata_ or {}
    makers = enrollment.manufacturer_slugs or []
    assets = (
        [{"manufacturer": makers[0], "serialNumber": enrollment.serial_number}]
        if makers and enrollment.serial_number
        else []
    )
    task = await tasks.create(
        session,
        workspace_id=enrollment.workspace_id,
        kind=TaskKind.ENROLLMENT,
        origin="approval",
        state=T.SETUP_ENROLLMENT,
        instance_id=instance.id,
        request={
            "assetInfo": {
                "installationMethod": metadata.get("installationMethod", "bring_your_own"),
                "assetOwnership": metadata.get("assetOwnership", "customer"),
                "assets": assets,
            }
        },
        actor=actor,
        now=now,
        expiration_days=_expiration(instance),
        enrollment_id=enrollment.id,
        customer_id=enrollment.customer_id,
        schedule=not inline,
    )
    if inline:
        await steps.run_inline(session, task, now=now)
    return task


# --- operations -----------------------------------------------------------------------------


def _refuse(task: ServiceTask, operation: str) -> Conflict:
    return Conflict(
        f"Cannot {operation} a task in {task.state}.",
        code="invalid_task_transition",
        currentState=task.state,
        allowedOperations=operations(TaskKind(task.kind), TaskState(task.state)),
    )


async def retry(
    session: AsyncSession, *, workspace_id: str, task_id: str, actor: str, now: datetime
) -> ServiceTask:
    task = await get(session, workspace_id=workspace_id, task_id=task_id, for_update=True)
    state = TaskState(task.state)
    if state not in RETRY:
        raise _refuse(task, "retry")
    await tasks.move(session, task, RETRY[state], now=now, actor=actor, message="retried")
    return task


async def discard(
    session: AsyncSession, *, workspace_id: str, task_id: str, actor: str, now: datetime
) -> ServiceTask:
    task = await get(session, workspace_id=workspace_id, task_id=task_id, for_update=True)
    if TaskState(task.state) not in ERROR_STATES:
        raise _refuse(task, "discard")
    await end(session, task, T.DISCARDED, reason="Discarded.", actor=actor, now=now)
    return task


async def cancel(
    session: AsyncSession,
    *,
    workspace_id: str,
    task_id: str,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> ServiceTask:
    task = await get(session, workspace_id=workspace_id, task_id=task_id, for_update=True)
    if TaskState(task.state) in TERMINAL:
        raise _refuse(task, "cancel")
    await end(session, task, T.CANCELED, reason=reason or "Canceled.", actor=actor, now=now)
    return task


async def decide(
    session: AsyncSession,
    *,
    workspace_id: str,
    task_id: str,
    approve: bool,
    comment: str | None,
    actor: str,
    now: datetime,
) -> ServiceTask:
    """A reviewer's answer to an unenrollment waiting in approval_in_progress."""
    task = await get(session, workspace_id=workspace_id, task_id=task_id, for_update=True)
    if task.state != T.APPROVAL_IN_PROGRESS:
        raise _refuse(task, "approve" if approve else "reject")
    await tasks.close_todos(session, task, kind="approval", actor=actor, now=now)
    if approve:
        await tasks.move(
            session, task, T.SETUP_DEVICE, now=now, actor=actor, message=comment or "approved"
        )
    else:
        await end(session, task, T.CANCELED, reason=comment or "Rejected.", actor=actor, now=now)
    return task


async def end(
    session: AsyncSession,
    task: ServiceTask,
    target: TaskState,
    *,
    reason: str,
    actor: str,
    now: datetime,
) -> None:
    """Discard or cancel a task, undoing what an unfinished enrollment set up, so that the
    enrollment and its task agree: a setup that never completed did not start."""
    if task.kind == TaskKind.ENROLLMENT:
        await _undo_setup(session, task, reason=reason, actor=actor, now=now)
    await tasks.close_todos(session, task, kind="approval", actor=actor, now=now)
    await tasks.close_todos(session, task, kind="action", actor=actor, now=now)
    await tasks.move(session, task, target, now=now, actor=actor, message=reason)


async def _undo_setup(
    session: AsyncSession, task: ServiceTask, *, reason: str, actor: str, now: datetime
) -> None:
    await steps.retire_devices(session, task, now=now)
    if task.origin == "device" or task.enrollment_id is None:
        return
    location = await repository.location_of_task(session, task_id=task.id)
    if location is not None:
        location.status = "inactive"
        location.updated_at = now
    subscription = await repository.subscription_of(session, enrollment_id=task.enrollment_id)
    if (
        subscription is not None
        and subscription.status == "inactive"
        and subscription.end_at is None
    ):
        subscription.end_at = steps.end_of(subscription, now)
        subscription.updated_at = now
    enrollment = await enrollments_repo.get(
        session, workspace_id=task.workspace_id, enrollment_id=task.enrollment_id
    )
    if enrollment is None:
        return
    action = {
        Status.APPROVED: Action.ABANDON,
        Status.CANDIDATE: Action.CANCEL,
        Status.ELIGIBLE: Action.CANCEL,
        Status.SUBMITTED: Action.CANCEL,
    }.get(Status(enrollment.status))
    if action is not None and (subscription is None or subscription.status != "active"):
        await enrollments.act(
            session,
            workspace_id=task.workspace_id,
            enrollment_id=enrollment.id,
            action=action,
            reason=f"Setup {task.id} ended: {reason}",
            actor=actor,
            now=now,
        )


async def correct(
    session: AsyncSession,
    *,
    workspace_id: str,
    task_id: str,
    body: ServiceTaskPatch,
    now: datetime,
) -> ServiceTask:
    """PATCH: correct the request of a task waiting in an error state (then retry it)."""
    task = await get(session, workspace_id=workspace_id, task_id=task_id, for_update=True)
    if TaskState(task.state) not in ERROR_STATES:
        raise Conflict(
            f"A task is corrected in an error state; this one is in {task.state}.",
            code="task_not_correctable",
            currentState=task.state,
        )
    sent = body.changes()
    changed = body.model_dump(mode="json", by_alias=True, include=set(sent))
    task.request = {**task.request, **changed}
    task.updated_at = now
    await session.flush()
    return task


# --- setup actions and to-dos -----------------------------------------------------------------


async def get_action(session: AsyncSession, *, workspace_id: str, action_id: str) -> SetupAction:
    found = await repository.get_action(session, workspace_id=workspace_id, action_id=action_id)
    if found is None:
        raise NotFound(f"No setup action {action_id!r}.")
    return found


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
    await get(session, workspace_id=workspace_id, task_id=found.task_id, for_update=True)
    action = await repository.get_action(
        session, workspace_id=workspace_id, action_id=action_id, for_update=True
    )
    assert action is not None
    if action.status != "in_progress":
        raise Conflict(
            f"The setup action is {action.status}, not in_progress.",
            code="action_not_in_progress",
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
    action.status = "completed" if succeeded else "failed"
    action.result = result
    action.message = message
    action.finished_at = now
    action.updated_at = now
    task = await get(
        session, workspace_id=action.workspace_id, task_id=action.task_id, for_update=True
    )
    for todo in await repository.open_todos(session, task_id=task.id, kind="action"):
        if todo.setup_action_id == action.id:
            todo.status, todo.completed_at, todo.completed_by = "completed", now, actor
            todo.updated_at = now
    await session.flush()
    await tasks.log_action(
        session, task, action, action.status, actor=actor, now=now, message=message
    )
    if task.state == T.AWAITING_DEVICE_SETUP:
        await tasks.schedule_step(session, task, now=now)


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
    todo = await repository.get_todo(
        session, workspace_id=workspace_id, todo_id=todo_id, for_update=True
    )
    if todo is None:
        raise NotFound(f"No to-do {todo_id!r}.")
    if todo.status != "open":
        raise Conflict("The to-do is completed already.", code="todo_completed")
    if todo.kind == "approval":
        raise Conflict(
            "An approval to-do is answered by approving or rejecting its task.",
            code="todo_needs_decision",
            serviceTaskId=todo.task_id,
        )
    todo.status, todo.completed_at, todo.completed_by, todo.note = "completed", now, actor, note
    todo.updated_at = now
    if todo.setup_action_id:
        action = await repository.get_action(
            session, workspace_id=workspace_id, action_id=todo.setup_action_id, for_update=True
        )
        if action is not None and action.status == "in_progress":
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


# --- devices --------------------------------------------------------------------------------


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
        raise Conflict(
            f"A {body.manufacturer} device with serial number {body.serial_number!r} exists.",
            code="device_exists",
        )
    device = Device(
        id=new_id(),
        workspace_id=workspace_id,
        manufacturer=body.manufacturer,
        model=body.model,
        type=body.type,
        serial_number=body.serial_number,
        ownership="utility",
        status="in_stock",
        metadata_=body.metadata,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(device)
    await session.flush()
    return device


# --- jobs -------------------------------------------------------------------------------------


async def run_step_job(
    session: AsyncSession, *, workspace_id: str, task_id: str, now: datetime
) -> bool:
    """The ``service_task.step`` job: run the task's current step, if it has one due (the task
    is locked, so a second job for it waits, then finds it moved on and runs the step due
    then, or none). True when the task moved into a state whose step is due at once: the
    worker runs this again in a new transaction instead of queueing a job for it."""
    found = await repository.lock_task_for_step(session, workspace_id=workspace_id, task_id=task_id)
    if found is None:
        return False
    task, instance = found
    advance = await steps.run_step(
        session, task, now=now, schedule=False, instance=instance, alone=True
    )
    return advance is steps.Advance.DUE


async def expire(session: AsyncSession, *, workspace_id: str, task_id: str, now: datetime) -> None:
    """The ``service_task.expire`` job, due at the task's expiresAt."""
    task = await repository.get_task(
        session, workspace_id=workspace_id, task_id=task_id, for_update=True
    )
    if task is None or TaskState(task.state) in TERMINAL or task.expires_at is None:
        return
    if task.expires_at > now:
        return  # not yet (a clock behind the one that queued it): the job is run again later
    reason = "Expired: not completed by " + task.expires_at.isoformat().replace("+00:00", "Z")
    await end(session, task, T.CANCELED, reason=reason, actor=tasks.SYSTEM_ACTOR, now=now)
    await tasks.raise_todo(
        session, task, kind="expiration", title="Service task expired", detail=reason, now=now
    )


async def device_command_call(
    session: AsyncSession, *, workspace_id: str, action_id: str, attempt: int
) -> DeviceCommand | None:
    """The command to send, or None when nobody waits for it any more (the action finished,
    was started again, or its task ended)."""
    action = await repository.get_action(session, workspace_id=workspace_id, action_id=action_id)
    if action is None or action.status != "in_progress" or action.attempts != attempt:
        return None
    task = await get(session, workspace_id=workspace_id, task_id=action.task_id)
    instance = await instances.get(session, workspace_id=workspace_id, ref=task.program_instance_id)
    workflow = workflow_of(instance)
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
    if action is None or action.status != "in_progress" or action.attempts != attempt:
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

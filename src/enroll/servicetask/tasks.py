"""Creating service tasks and moving them between states: the log row, the event, the next job
and the to-do entries, all in the caller's transaction.

Nothing here knows what a step does (see steps/); every state change of every task passes
through ``move``, which asks the workflow table first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.event import service as events
from enroll.ids import new_id
from enroll.job import service as jobs
from enroll.job.registry import Payload
from enroll.models import ServiceTask, SetupAction, Todo
from enroll.servicetask import repository
from enroll.servicetask.schemas import ServiceTaskOut
from enroll.workflows.service_task import (
    BEFORE_SETUP,
    ERROR_STATES,
    TERMINAL,
    WORKING,
    TaskKind,
    TaskState,
    TodoStatus,
    check_move,
)

STEP_JOB = "service_task.step"
# States whose step the worker runs as soon as the task enters them; awaiting_device_setup's
# step completes the task once its actions are done (queued here when there are none).
SCHEDULED = WORKING | {TaskState.AWAITING_DEVICE_SETUP}
EXPIRE_JOB = "service_task.expire"


class StepPayload(Payload):
    task_id: str
    state: str | None = None  # the state it was queued for, for people reading GET /v1/jobs


class ExpirePayload(Payload):
    task_id: str


SYSTEM_ACTOR = "system:service-task"


@dataclass(frozen=True, slots=True)
class TaskError:
    code: str
    message: str
    field: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


async def snapshot(
    session: AsyncSession,
    task: ServiceTask,
    *,
    moved: bool = False,
    came_from: TaskState | None = None,
) -> ServiceTaskOut:
    """The task as the API shows it. ``moved``: it has just entered its state, from
    ``came_from`` (None: it is new). What the workflow rules out is not looked up: a task moving
    on from a state before setup has no setup actions yet, nor a new or unvalidated enrollment
    task devices."""
    no_actions = moved and (came_from is None or came_from in BEFORE_SETUP)
    no_devices = (
        moved and came_from in (None, TaskState.PENDING) and task.kind == TaskKind.ENROLLMENT
    )
    actions = [] if no_actions else await repository.actions_of(session, task_id=task.id)
    devices = [] if no_devices else await repository.devices_of(session, task)
    return ServiceTaskOut.of(task, actions, [d.id for d in devices])


async def create(
    session: AsyncSession,
    *,
    workspace_id: str,
    kind: TaskKind,
    origin: str,
    state: TaskState,
    instance_id: str,
    request: dict[str, Any],
    actor: str,
    now: datetime,
    expiration_days: int | None,
    transaction_id: str | None = None,
    request_digest: str | None = None,
    enrollment_id: str | None = None,
    customer_id: str | None = None,
    schedule: bool = True,
) -> ServiceTask:
    """A new task in ``state`` (pending, or the step an approval starts at), its first log row
    and event, its first step job (unless ``schedule`` is False: the caller runs it at once)
    and, when the instance sets one, its expiration job."""
    task = ServiceTask(
        id=new_id(),
        workspace_id=workspace_id,
        kind=kind.value,
        state=state.value,
        origin=origin,
        transaction_id=transaction_id,
        program_instance_id=instance_id,
        enrollment_id=enrollment_id,
        customer_id=customer_id,
        request=request,
        request_digest=request_digest,
        errors=[],
        expires_at=now + timedelta(days=expiration_days) if expiration_days else None,
        actor=actor,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(task)
    await session.flush()
    message = f"{kind.value} task created ({origin})"
    await _log(session, task, None, state, message=message, actor=actor, now=now)
    await _emit(session, task, None, now)
    if schedule:
        await schedule_step(session, task, now=now)
    if task.expires_at is not None:
        await _schedule_expiry(session, task, now=now)
    return task


async def _schedule_expiry(session: AsyncSession, task: ServiceTask, *, now: datetime) -> None:
    """The ``service_task.expire`` job, due when the task expires."""
    await jobs.enqueue(
        session,
        kind=EXPIRE_JOB,
        payload=ExpirePayload(task_id=task.id),
        workspace_id=task.workspace_id,
        now=now,
        run_at=task.expires_at,
    )


async def schedule_step(
    session: AsyncSession, task: ServiceTask, *, now: datetime, delay_seconds: float = 0
) -> None:
    """Queue the job that runs the task's step. The job runs the step due in the state it finds
    (under the task's lock, so a step runs once per visit); the state it was queued for is in
    its payload for people reading GET /v1/jobs."""
    await jobs.enqueue(
        session,
        kind=STEP_JOB,
        payload=StepPayload(task_id=task.id, state=task.state),
        workspace_id=task.workspace_id,
        now=now,
        run_at=now + timedelta(seconds=delay_seconds) if delay_seconds else None,
    )


async def move(
    session: AsyncSession,
    task: ServiceTask,
    target: TaskState,
    *,
    now: datetime,
    actor: str = SYSTEM_ACTOR,
    message: str | None = None,
    errors: list[TaskError] | None = None,
    schedule: bool = True,
) -> None:
    """Change the task's state (the workflow table decides whether it may), with its log row and
    ``service_task.state_changed`` event; queue the next step when the new state is one the
    worker leaves by itself, and raise a to-do for a person when it is an error state."""
    previous = TaskState(task.state)
    check_move(TaskKind(task.kind), previous, target)
    task.state = target.value
    task.errors = [e.as_json() for e in errors or []]
    task.updated_at = now
    if target in TERMINAL:
        task.finished_at = now
    await session.flush()
    await _log(
        session, task, previous, target, message=message, errors=errors, actor=actor, now=now
    )
    await _emit(session, task, previous, now)
    if target in SCHEDULED and schedule:
        await schedule_step(session, task, now=now)
    if previous in ERROR_STATES:
        await close_todos(session, task, kind="exception", actor=actor, now=now)
    if target in ERROR_STATES:
        detail = "; ".join(e.message for e in errors or []) or message
        await raise_todo(
            session,
            task,
            kind="exception",
            title=f"Service task in {target.value}",
            detail=detail,
            now=now,
        )


async def _log(
    session: AsyncSession,
    task: ServiceTask,
    previous: TaskState | None,
    target: TaskState,
    *,
    message: str | None,
    actor: str,
    now: datetime,
    errors: list[TaskError] | None = None,
) -> None:
    await repository.insert_log(
        session,
        {
            "id": new_id(),
            "task_id": task.id,
            "from_state": previous.value if previous else None,
            "to_state": target.value,
            "message": message,
            "errors": [e.as_json() for e in errors or []],
            "actor": actor,
            "at": now,
        },
    )


async def log_action(
    session: AsyncSession,
    task: ServiceTask,
    action: SetupAction,
    event: str,
    *,
    actor: str,
    now: datetime,
    message: str | None = None,
) -> None:
    """A task log row about one setup action (created, started, completed, failed), with who
    did it; the task stays in its state (from and to are the same)."""
    state = task.state
    described = f"{action.type} (sequence {action.sequence}) {event}"
    await repository.insert_log(
        session,
        {
            "id": new_id(),
            "task_id": task.id,
            "from_state": state,
            "to_state": state,
            "message": f"{described}: {message}" if message else described,
            "errors": [],
            "actor": actor,
            "at": now,
            "setup_action_id": action.id,
            "setup_action_event": event,
        },
    )


async def _emit(
    session: AsyncSession, task: ServiceTask, previous: TaskState | None, now: datetime
) -> None:
    # Both callers flushed the task already.
    shown = await snapshot(session, task, came_from=previous, moved=True)
    body = shown.model_dump(mode="json", by_alias=True)
    await events.record(
        session,
        workspace_id=task.workspace_id,
        occurred_at=now,
        events=[
            events.NewEvent(
                type="service_task.state_changed",
                data={
                    "object": body,
                    "previousState": previous.value if previous else None,
                    "state": task.state,
                },
                subject_id=task.id,
            )
        ],
    )


async def raise_todo(
    session: AsyncSession,
    task: ServiceTask,
    *,
    kind: str,
    title: str,
    detail: str | None,
    now: datetime,
    setup_action_id: str | None = None,
) -> Todo:
    todo = Todo(
        id=new_id(),
        workspace_id=task.workspace_id,
        kind=kind,
        status=TodoStatus.OPEN,
        title=title[:200],
        detail=detail,
        task_id=task.id,
        setup_action_id=setup_action_id,
        created_at=now,
        updated_at=now,
    )
    session.add(todo)
    await session.flush()
    return todo


async def close_todos(
    session: AsyncSession, task: ServiceTask, *, kind: str, actor: str, now: datetime
) -> None:
    """Close the task's open to-dos of ``kind``: what they asked for has happened."""
    for todo in await repository.open_todos(session, task_id=task.id, kind=kind):
        todo.status = TodoStatus.COMPLETED
        todo.completed_at = now
        todo.completed_by = actor
        todo.updated_at = now
    await session.flush()

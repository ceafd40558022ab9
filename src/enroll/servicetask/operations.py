"""The operations people take on a service task: retry, discard, cancel, approve or reject an
unenrollment, correct a request; and its expiry, the platform's cancel. The task's workflow
table (workflows/service_task.py) judges which one a state allows; ending an enrollment's task
undoes the setup it had begun.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.enrollment import repository as enrollments_repo
from enroll.enrollment import service as enrollments
from enroll.errors import Conflict
from enroll.models import ServiceTask
from enroll.servicetask import repository, service, steps, tasks
from enroll.servicetask.errors import InvalidTaskTransition, TaskNotCorrectable
from enroll.servicetask.schemas import ServiceTaskPatch
from enroll.workflows.enrollment import Status, setup_ended_action
from enroll.workflows.participation import LocationStatus, SubscriptionStatus
from enroll.workflows.service_task import (
    ERROR_STATES,
    RETRY,
    TERMINAL,
    TaskKind,
    TaskState,
    may,
    operations,
)

T = TaskState


def _refuse(task: ServiceTask, operation: str) -> Conflict:
    return InvalidTaskTransition(
        f"Cannot {operation} a task in {task.state}.",
        currentState=task.state,
        allowedOperations=operations(TaskKind(task.kind), TaskState(task.state)),
    )


async def retry(
    session: AsyncSession, *, workspace_id: str, task_id: str, actor: str, now: datetime
) -> ServiceTask:
    task = await service.get(session, workspace_id=workspace_id, task_id=task_id, for_update=True)
    state = TaskState(task.state)
    if not may(TaskKind(task.kind), state, "retry"):
        raise _refuse(task, "retry")
    await tasks.move(session, task, RETRY[state], now=now, actor=actor, message="retried")
    return task


async def discard(
    session: AsyncSession, *, workspace_id: str, task_id: str, actor: str, now: datetime
) -> ServiceTask:
    task = await service.get(session, workspace_id=workspace_id, task_id=task_id, for_update=True)
    if not may(TaskKind(task.kind), TaskState(task.state), "discard"):
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
    task = await service.get(session, workspace_id=workspace_id, task_id=task_id, for_update=True)
    if not may(TaskKind(task.kind), TaskState(task.state), "cancel"):
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
    task = await service.get(session, workspace_id=workspace_id, task_id=task_id, for_update=True)
    operation = "approve" if approve else "reject"
    if not may(TaskKind(task.kind), TaskState(task.state), operation):
        raise _refuse(task, operation)
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
        location.status = LocationStatus.INACTIVE
        location.updated_at = now
    subscription = await repository.subscription_of(session, enrollment_id=task.enrollment_id)
    if (
        subscription is not None
        and subscription.status == SubscriptionStatus.INACTIVE
        and subscription.end_at is None
    ):
        subscription.end_at = steps.end_of(subscription, now)
        subscription.updated_at = now
    enrollment = await enrollments_repo.get(
        session, workspace_id=task.workspace_id, enrollment_id=task.enrollment_id
    )
    if enrollment is None:
        return
    action = setup_ended_action(Status(enrollment.status))
    if action is not None and (
        subscription is None or subscription.status != SubscriptionStatus.ACTIVE
    ):
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
    task = await service.get(session, workspace_id=workspace_id, task_id=task_id, for_update=True)
    if TaskState(task.state) not in ERROR_STATES:
        raise TaskNotCorrectable(
            f"A task is corrected in an error state; this one is in {task.state}.",
            currentState=task.state,
        )
    sent = body.changes()
    changed = body.model_dump(mode="json", by_alias=True, include=set(sent))
    task.request = {**task.request, **changed}
    task.updated_at = now
    await session.flush()
    return task


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

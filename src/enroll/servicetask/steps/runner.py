"""Running a task's step: the table of steps by kind and state, and ``run_step``.

``run_step`` runs the task's current step in a savepoint: the step either names the next state,
or asks to be run again later (``Wait``), or fails with reasons; a failure rolls back whatever
the step did (``FailUndoing``, raised) or keeps it (``FailKeeping``, returned), and moves the
task to the step's error state instead. Either way the move, its log row, its event and the next
job commit with the job that ran the step (worker/runner.py), so a crash at any point leaves the
task where it was, and each step's effects exist once.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.db import rollback
from enroll.errors import ProblemError
from enroll.models import ProgramInstance, ServiceTask
from enroll.program_instance import service as instances
from enroll.servicetask import repository, tasks
from enroll.servicetask.steps.devices import await_device_setup, setup_device
from enroll.servicetask.steps.eligibility import check_eligibility
from enroll.servicetask.steps.run import FailKeeping, FailUndoing, Run, Step, Wait
from enroll.servicetask.steps.setup import setup_enrollment
from enroll.servicetask.steps.validation import pending, validate_enrollment, validate_unenrollment
from enroll.servicetask.tasks import TaskError
from enroll.workflows.service_task import ActionStatus, TaskKind, TaskState, error_state_of

T = TaskState

STEPS: dict[tuple[TaskKind, TaskState], Step] = {
    (TaskKind.ENROLLMENT, T.PENDING): pending,
    (TaskKind.ENROLLMENT, T.VALIDATE): validate_enrollment,
    (TaskKind.ENROLLMENT, T.CHECK_ELIGIBILITY): check_eligibility,
    (TaskKind.ENROLLMENT, T.SETUP_ENROLLMENT): setup_enrollment,
    (TaskKind.ENROLLMENT, T.SETUP_DEVICE): setup_device,
    (TaskKind.ENROLLMENT, T.AWAITING_DEVICE_SETUP): await_device_setup,
    (TaskKind.UNENROLLMENT, T.PENDING): pending,
    (TaskKind.UNENROLLMENT, T.VALIDATE): validate_unenrollment,
    (TaskKind.UNENROLLMENT, T.SETUP_DEVICE): setup_device,
    (TaskKind.UNENROLLMENT, T.AWAITING_DEVICE_SETUP): await_device_setup,
}


class Advance(Enum):
    """What running a step did to the task."""

    STAYED = "stayed"  # no step is due, or the step waits
    MOVED = "moved"  # moved to a state that waits for a person or another system
    DUE = "due"  # moved to a state whose step is due at once


async def run_step(
    session: AsyncSession,
    task: ServiceTask,
    *,
    now: datetime,
    schedule: bool = True,
    instance: ProgramInstance | None = None,
    alone: bool = False,
) -> Advance:
    """Run the task's current step. ``schedule``: queue the job of the step the task moved to
    when it is due (False: the caller runs it itself, seeing DUE). ``instance``: the task's
    program instance, when the caller loaded it already. ``alone``: the step is all the
    caller's transaction holds (a worker's job, the task locked first), so a failing step is
    undone by rolling that back rather than through a savepoint: two round trips fewer for
    every step that succeeds."""
    kind, state = TaskKind(task.kind), TaskState(task.state)
    step = STEPS.get((kind, state))
    if step is None:
        return Advance.STAYED  # a state that waits for a person or another system
    if instance is None:
        instance = await instances.get(
            session, workspace_id=task.workspace_id, ref=task.program_instance_id
        )
    errors: list[TaskError]
    try:
        if alone or step is pending:  # pending writes nothing and cannot fail
            outcome = await step(Run(session, task, instance, now))
        else:
            async with session.begin_nested():
                outcome = await step(Run(session, task, instance, now))
    except FailUndoing as failure:
        errors = failure.errors
    except ProblemError as exc:
        errors = [TaskError(exc.code, exc.detail or exc.title)]
    except IntegrityError as exc:
        errors = [TaskError("conflict", f"the change conflicts with stored data: {exc.orig}")]
    else:
        return await _settle(session, task, state, outcome, now=now, schedule=schedule)
    return await _undo(session, task, state, errors, now=now, alone=alone)


async def _settle(
    session: AsyncSession,
    task: ServiceTask,
    state: TaskState,
    outcome: TaskState | Wait | FailKeeping,
    *,
    now: datetime,
    schedule: bool,
) -> Advance:
    """Record what a step that did not raise gave back: a wait, a kept failure, a move."""
    if isinstance(outcome, Wait):
        if outcome.seconds is not None:
            await tasks.schedule_step(session, task, now=now, delay_seconds=outcome.seconds)
        return Advance.STAYED
    if isinstance(outcome, FailKeeping):
        await tasks.move(session, task, error_state_of(state), now=now, errors=outcome.errors)
        return Advance.MOVED
    # Awaiting device setup is due only when no action is left: else their completion
    # queues the step.
    due = outcome in tasks.SCHEDULED and not (
        outcome == T.AWAITING_DEVICE_SETUP and await _unfinished(session, task)
    )
    await tasks.move(session, task, outcome, now=now, schedule=schedule and due)
    return Advance.DUE if due else Advance.MOVED


async def _undo(
    session: AsyncSession,
    task: ServiceTask,
    state: TaskState,
    errors: list[TaskError],
    *,
    now: datetime,
    alone: bool,
) -> Advance:
    """After a step that raised: undo what it did, then move the task to its error state."""
    if alone:
        workspace_id, task_id = task.workspace_id, task.id  # expired by the rollback
        await rollback(session)
        locked = await repository.get_task(
            session, workspace_id=workspace_id, task_id=task_id, for_update=True
        )
        if locked is None or locked.state != state:
            return Advance.STAYED  # moved on meanwhile, by a person or another worker
        task = locked
    else:
        await session.refresh(task)  # the savepoint's rollback expired what the step changed
    await tasks.move(session, task, error_state_of(state), now=now, errors=errors)
    return Advance.MOVED


async def _unfinished(session: AsyncSession, task: ServiceTask) -> bool:
    return any(
        a.status != ActionStatus.COMPLETED
        for a in await repository.actions_of(session, task_id=task.id)
    )


async def run_inline(session: AsyncSession, task: ServiceTask, *, now: datetime) -> None:
    """Run the task's steps one after another in the caller's transaction, for an instance
    with no setup workflow, where setup completes at once (a step that must wait, such as
    one polling asynchronous checks, still queues its job)."""
    while await run_step(session, task, now=now, schedule=False) is Advance.DUE:
        pass

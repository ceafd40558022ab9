"""What a step is given (``Run``) and what it gives back.

A step returns the state the task moves to, or ``Wait`` (run it again later), or
``FailKeeping`` (the task goes to the step's error state and what the step did stands). It
raises ``FailUndoing`` when what it did must be undone first (the runner rolls the step back,
then moves the task to the error state).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.enrollment import repository as enrollments_repo
from enroll.enrollment import service as enrollments
from enroll.models import Enrollment, ProgramInstance, ServiceTask
from enroll.program_instance.setup_workflow import SetupWorkflow
from enroll.servicetask.steps.request import TaskRequest
from enroll.servicetask.tasks import TaskError
from enroll.workflows.enrollment import Action
from enroll.workflows.service_task import TaskState

BRING_YOUR_OWN = frozenset({"bring_your_own", "reenroll"})


class FailUndoing(Exception):
    """Raised: the task cannot go on, and what the step did is undone (its savepoint, or the
    job's transaction, rolls back) before the task moves to the step's error state."""

    def __init__(self, *errors: TaskError) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


@dataclass(frozen=True, slots=True)
class FailKeeping:
    """Returned: the task cannot go on, and what the step did stands (an enrollment found
    ineligible keeps its evaluation)."""

    errors: list[TaskError]


@dataclass(frozen=True, slots=True)
class Wait:
    """Returned: the step is not done yet: run it again after ``seconds`` (None: when something
    reports back, such as a setup action completing)."""

    seconds: float | None = None


_WORKFLOW = "enroll.servicetask.setup_workflow"  # the instance's parsed workflow, and its source


def workflow_of(instance: ProgramInstance) -> SetupWorkflow | None:
    """The instance's setup workflow, validated once per loaded instance (kept with the
    instance, against the stored value it was read from: a reload or a change reads it again)."""
    stored = instance.setup_workflow
    if stored is None:
        return None
    kept = sa_inspect(instance).info
    cached = kept.get(_WORKFLOW)
    if cached is not None and cached[0] is stored:
        workflow: SetupWorkflow = cached[1]
        return workflow
    workflow = SetupWorkflow.model_validate(stored)
    kept[_WORKFLOW] = (stored, workflow)
    return workflow


@dataclass
class Run:
    session: AsyncSession
    task: ServiceTask
    instance: ProgramInstance
    now: datetime
    request: TaskRequest = field(init=False)  # the task's stored request, parsed once

    def __post_init__(self) -> None:
        self.reread_request()

    def reread_request(self) -> None:
        """Parse the task's stored request again (after a step rewrote it)."""
        self.request = TaskRequest.model_validate(self.task.request)

    @property
    def actor(self) -> str:
        """Who the task acts for (the key that sent the request or approved): the enrollment's
        history names them; the task's log names the task."""
        return self.task.actor

    @cached_property
    def workflow(self) -> SetupWorkflow | None:
        return workflow_of(self.instance)

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def ownership(self) -> str:
        return self.request.ownership


Step = Callable[[Run], Awaitable["TaskState | Wait | FailKeeping"]]


async def enrollment_of(run: Run) -> Enrollment:
    if run.task.enrollment_id is None:
        raise FailUndoing(TaskError("enrollment_not_found", "The task names no enrollment."))
    enrollment = await enrollments_repo.get(
        run.session, workspace_id=run.task.workspace_id, enrollment_id=run.task.enrollment_id
    )
    if enrollment is None:
        raise FailUndoing(TaskError("enrollment_not_found", "The enrollment no longer exists."))
    return enrollment


async def act(run: Run, enrollment: Enrollment, action: Action, reason: str | None = None) -> None:
    await enrollments.act(
        run.session,
        workspace_id=run.task.workspace_id,
        enrollment_id=enrollment.id,
        action=action,
        reason=reason,
        actor=run.actor,
        now=run.now,
    )

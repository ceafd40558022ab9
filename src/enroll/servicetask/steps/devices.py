"""The setup_device and awaiting_device_setup steps: the setup actions the instance's workflow
configures for the task, started in sequence order, and the task completed once all are done
(a device_command action's call is ``setup_action.device_command``'s job; see command.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.event import service as events
from enroll.ids import new_id
from enroll.job import service as jobs
from enroll.job.registry import Payload
from enroll.models import ServiceTask, SetupAction
from enroll.program_instance import service as instances
from enroll.program_instance.setup_workflow import ActionConfig, ActionType
from enroll.servicetask import repository, tasks
from enroll.servicetask.steps.completion import complete_enrollment, complete_unenrollment
from enroll.servicetask.steps.run import FailUndoing, Run, Wait, enrollment_of, workflow_of
from enroll.servicetask.tasks import TaskError
from enroll.workflows.service_task import ActionStatus, TaskKind, TaskState

T = TaskState
DEVICE_COMMAND_JOB = "setup_action.device_command"


class DeviceCommandPayload(Payload):
    job_id: str | None = None  # the job itself (jobs.is_final_attempt)
    action_id: str
    attempt: int


def configured_actions(run: Run) -> list[ActionConfig] | None:
    """The actions of the instance's workflow that apply to this task, in sequence order: None
    when the workflow lists some but none for this method and ownership (the seed's "cannot be
    determined"), [] when there is nothing to set up."""
    workflow = run.workflow
    if workflow is None:
        return []
    unenrolling = run.task.kind == TaskKind.UNENROLLMENT
    listed = workflow.unenrollment_actions if unenrolling else workflow.enrollment_actions
    if not listed:
        return []
    removal = run.request.removal_method
    matching = [
        a
        for a in listed
        if run.method in a.installation_methods
        and run.ownership in a.asset_ownerships
        and (not unenrolling or a.removal_methods is None or removal in a.removal_methods)
    ]
    return sorted(matching, key=lambda a: (a.sequence, a.type)) or None


async def setup_device(run: Run) -> TaskState:
    if run.task.kind == TaskKind.UNENROLLMENT:
        await _learn_setup(run)
    wanted = configured_actions(run)
    if wanted is None:
        raise FailUndoing(
            TaskError(
                "setup_not_determined",
                f"No {run.task.kind} setup action is configured for installationMethod "
                f"{run.method} and assetOwnership {run.ownership}.",
            )
        )
    existing = {
        (a.sequence, a.type): a
        for a in await repository.actions_of(run.session, task_id=run.task.id)
    }
    for config in wanted:
        action = existing.get((config.sequence, config.type.value))
        if action is None:
            action = SetupAction(
                id=new_id(),
                workspace_id=run.task.workspace_id,
                task_id=run.task.id,
                type=config.type.value,
                sequence=config.sequence,
                status=ActionStatus.PENDING,
                attempts=0,
                config=config.model_dump(mode="json", by_alias=True),
                created_at=run.now,
                updated_at=run.now,
                version=1,
            )
            run.session.add(action)
            await tasks.log_action(
                run.session, run.task, action, "created", actor=run.actor, now=run.now
            )
        elif action.status == ActionStatus.FAILED:  # a retry runs the failed ones again
            action.status, action.message, action.updated_at = ActionStatus.PENDING, None, run.now
    await run.session.flush()
    await start_due_actions(run.session, run.task, now=run.now)
    return T.AWAITING_DEVICE_SETUP


async def _learn_setup(run: Run) -> None:
    """An unenrollment undoes what the enrollment's setup did: its method and ownership."""
    if run.request.asset_info is not None or run.task.enrollment_id is None:
        return
    enrollment = await enrollment_of(run)
    metadata = enrollment.metadata_ or {}
    run.task.request = {
        **run.task.request,
        "assetInfo": {
            "installationMethod": metadata.get("installationMethod", "bring_your_own"),
            "assetOwnership": metadata.get("assetOwnership", "customer"),
        },
    }
    run.reread_request()


async def start_due_actions(session: AsyncSession, task: ServiceTask, *, now: datetime) -> None:
    """Start the pending actions of the lowest sequence not yet completed (equal sequences run
    together; a later one waits until every earlier one completed)."""
    actions = await repository.actions_of(session, task_id=task.id)
    unfinished = [a for a in actions if a.status != ActionStatus.COMPLETED]
    if not unfinished or any(a.status == ActionStatus.FAILED for a in unfinished):
        return
    first = min(a.sequence for a in unfinished)
    for action in unfinished:
        if action.sequence == first and action.status == ActionStatus.PENDING:
            await _start(session, task, action, now=now)


_TODO_TITLES = {
    ActionType.CREATE_TODO: "Set up devices for task ",
    ActionType.MARKET_ENROLLMENT: "Send the market enrollment (switch request) of task ",
}


async def _market_url(session: AsyncSession, task: ServiceTask) -> bool:
    instance = await instances.get(
        session, workspace_id=task.workspace_id, ref=task.program_instance_id
    )
    workflow = workflow_of(instance)
    return workflow is not None and workflow.market_enrollment_url is not None


async def _start(
    session: AsyncSession, task: ServiceTask, action: SetupAction, *, now: datetime
) -> None:
    action.status = ActionStatus.IN_PROGRESS
    action.attempts += 1
    action.started_at = now
    action.updated_at = now
    await session.flush()
    await tasks.log_action(session, task, action, "started", actor=tasks.SYSTEM_ACTOR, now=now)
    if action.type == ActionType.CREATE_TODO or (
        action.type == ActionType.MARKET_ENROLLMENT and not await _market_url(session, task)
    ):
        await tasks.raise_todo(
            session,
            task,
            kind="action",
            title=str(
                action.config.get("description") or _TODO_TITLES[ActionType(action.type)] + task.id
            ),
            detail=f"Complete setup action {action.id} when done.",
            now=now,
            setup_action_id=action.id,
        )
    elif action.type in (ActionType.DEVICE_COMMAND, ActionType.MARKET_ENROLLMENT):
        job_id = new_id()
        await jobs.enqueue(
            session,
            kind=DEVICE_COMMAND_JOB,
            payload=DeviceCommandPayload(
                job_id=job_id, action_id=action.id, attempt=action.attempts
            ),
            workspace_id=task.workspace_id,
            now=now,
            job_id=job_id,
        )
    await events.record(
        session,
        workspace_id=task.workspace_id,
        occurred_at=now,
        events=[
            events.NewEvent(
                type="setup_action.started",
                data={
                    "taskId": task.id,
                    "actionId": action.id,
                    "type": action.type,
                    "sequence": action.sequence,
                    "config": action.config,
                },
                subject_id=action.id,
            )
        ],
    )


async def await_device_setup(run: Run) -> TaskState | Wait:
    actions = await repository.actions_of(run.session, task_id=run.task.id)
    failed = [a for a in actions if a.status == ActionStatus.FAILED]
    if failed:
        raise FailUndoing(
            *(
                TaskError(
                    "setup_action_failed",
                    f"{a.type} (sequence {a.sequence}) failed: {a.message or 'no reason given'}",
                    a.id,
                )
                for a in failed
            )
        )
    if any(a.status != ActionStatus.COMPLETED for a in actions):
        await start_due_actions(run.session, run.task, now=run.now)
        return Wait()  # the complete/fail routes (or the device command) run this again
    if run.task.kind == TaskKind.UNENROLLMENT:
        await complete_unenrollment(run)
    else:
        await complete_enrollment(run)
    return T.COMPLETED

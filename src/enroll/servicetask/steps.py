"""What each step of a service task does (seed 002's "Enter algorithms").

``run_step`` runs the task's current step in a savepoint: the step either names the next state,
or asks to be run again later (``Wait``), or fails with reasons; a failure rolls back whatever
the step did and moves the task to the step's error state instead. Either way the move, its
log row, its event and the next job commit with the job that ran the step (worker/runner.py),
so a crash at any point leaves the task where it was, and each step's effects exist once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import Enum
from functools import cached_property
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.customer import repository as customers_repo
from enroll.customer import service as customers
from enroll.db import rollback
from enroll.eligibility.checks import CheckStatus
from enroll.enrollment import repository as enrollments_repo
from enroll.enrollment import service as enrollments
from enroll.enrollment.schemas import EnrollmentCreate, EnrollmentUpdate
from enroll.errors import ProblemError
from enroll.event import service as events
from enroll.ids import new_id
from enroll.job import service as jobs
from enroll.job.registry import Payload
from enroll.models import (
    Device,
    DeviceLocation,
    Enrollment,
    ProgramInstance,
    ProgramSubscription,
    ServiceTask,
    SetupAction,
)
from enroll.program_instance import service as instances
from enroll.program_instance.setup_workflow import ActionConfig, ActionType, SetupWorkflow
from enroll.servicetask import repository, tasks
from enroll.servicetask.schemas import DeviceOut, SubscriptionOut
from enroll.servicetask.tasks import TaskError
from enroll.workflows.enrollment import Action, Status
from enroll.workflows.service_task import TaskKind, TaskState, error_state_of

T = TaskState
DEVICE_COMMAND_JOB = "setup_action.device_command"


class DeviceCommandPayload(Payload):
    job_id: str | None = None  # the job itself (jobs.is_final_attempt)
    action_id: str
    attempt: int


# How often a task whose enrollment waits on asynchronous eligibility checks looks again.
ASYNC_CHECK_POLL_SECONDS = 2.0
_BRING_YOUR_OWN = frozenset({"bring_your_own", "reenroll"})


class StepFailed(Exception):
    def __init__(self, *errors: TaskError) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


@dataclass(frozen=True, slots=True)
class Failed:
    """The step decided the task cannot go on, and what it did stands (an enrollment found
    ineligible keeps its evaluation). Raising StepFailed instead undoes the step."""

    errors: list[TaskError]


@dataclass(frozen=True, slots=True)
class Wait:
    """The step is not done yet: run it again after ``seconds`` (None: when something reports
    back, such as a setup action completing)."""

    seconds: float | None = None


@dataclass
class Run:
    session: AsyncSession
    task: ServiceTask
    instance: ProgramInstance
    now: datetime

    @property
    def actor(self) -> str:
        """Who the task acts for (the key that sent the request or approved): the enrollment's
        history names them; the task's log names the task."""
        return self.task.actor

    @property
    def request(self) -> dict[str, Any]:
        return self.task.request

    @cached_property
    def workflow(self) -> SetupWorkflow | None:
        return workflow_of(self.instance)  # validated once per step, however often it is read

    @property
    def method(self) -> str:
        return str(self.request.get("assetInfo", {}).get("installationMethod", "bring_your_own"))

    @property
    def ownership(self) -> str:
        return str(self.request.get("assetInfo", {}).get("assetOwnership", "customer"))

    @property
    def assets(self) -> list[dict[str, Any]]:
        return list(self.request.get("assetInfo", {}).get("assets", []))


Step = Callable[[Run], Awaitable["TaskState | Wait | Failed"]]


def workflow_of(instance: ProgramInstance) -> SetupWorkflow | None:
    if instance.setup_workflow is None:
        return None
    return SetupWorkflow.model_validate(instance.setup_workflow)


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
        if alone or step is _pending:  # _pending writes nothing and cannot fail
            outcome = await step(Run(session, task, instance, now))
        else:
            async with session.begin_nested():
                outcome = await step(Run(session, task, instance, now))
    except StepFailed as failure:
        errors = failure.errors
    except ProblemError as exc:
        errors = [TaskError(exc.code, exc.detail or exc.title)]
    except IntegrityError as exc:
        errors = [TaskError("conflict", f"the change conflicts with stored data: {exc.orig}")]
    else:
        if isinstance(outcome, Wait):
            if outcome.seconds is not None:
                await tasks.schedule_step(session, task, now=now, delay_seconds=outcome.seconds)
            return Advance.STAYED
        if isinstance(outcome, Failed):
            await tasks.move(session, task, error_state_of(state), now=now, errors=outcome.errors)
            return Advance.MOVED
        # Awaiting device setup is due only when no action is left: else their completion
        # queues the step.
        due = outcome in tasks.SCHEDULED and not (
            outcome == T.AWAITING_DEVICE_SETUP and await _unfinished(session, task)
        )
        await tasks.move(session, task, outcome, now=now, schedule=schedule and due)
        return Advance.DUE if due else Advance.MOVED
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
        a.status != "completed" for a in await repository.actions_of(session, task_id=task.id)
    )


async def run_inline(session: AsyncSession, task: ServiceTask, *, now: datetime) -> None:
    """Run the task's steps one after another in the caller's transaction, for an instance
    with no setup workflow, where setup completes at once (a step that must wait, such as
    one polling asynchronous checks, still queues its job)."""
    while await run_step(session, task, now=now, schedule=False) is Advance.DUE:
        pass


# --- validate ---------------------------------------------------------------------------------


async def _pending(run: Run) -> TaskState:
    return T.VALIDATE


async def _validate_enrollment(run: Run) -> TaskState:
    if run.task.origin == "device":
        await _validate_added_device(run)
        return T.CHECK_ELIGIBILITY
    errors: list[TaskError] = []
    refusal = await instances.refusal_reason(run.session, run.instance, today=run.now.date())
    if refusal:
        errors.append(TaskError("instance_not_accepting", refusal))
    divisions = run.workflow.divisions if run.workflow else []
    division = run.request.get("locationInfo", {}).get("division")
    if divisions and division not in divisions:
        errors.append(
            TaskError(
                "division_mismatch",
                f"The service point's division {division!r} is not one the program serves "
                f"({', '.join(divisions)}).",
                "locationInfo.division",
            )
        )
    errors += asset_errors(run.method, run.ownership, run.assets)
    customer_id, customer_errors = await _customer(run)
    errors += customer_errors
    if customer_id is not None and not errors:
        held = await enrollments_repo.open_enrollment_id(
            run.session, instance_id=run.instance.id, customer_id=customer_id
        )
        holder = held and await enrollments_repo.get(
            run.session, workspace_id=run.task.workspace_id, enrollment_id=held
        )
        if holder and holder.status == Status.APPROVED and holder.id != run.task.enrollment_id:
            errors.append(
                TaskError("already_enrolled", f"The customer is enrolled already ({holder.id}).")
            )
    if errors:
        raise StepFailed(*errors)
    run.task.customer_id = customer_id
    if run.method == "bring_your_own" and run.ownership == "utility":
        await _reserve(run)
    return T.CHECK_ELIGIBILITY


def asset_errors(method: str, ownership: str, assets: list[dict[str, Any]]) -> list[TaskError]:
    """Bring-your-own (and re-enrolled) equipment must be described: which device it is."""
    if method not in _BRING_YOUR_OWN:
        return []
    if not assets:
        return [
            TaskError(
                "asset_info_missing",
                f"installationMethod {method} needs the customer's assets.",
                "assetInfo.assets",
            )
        ]
    known = ownership == "customer" or method == "reenroll"  # found or recorded by serial
    needed = ("manufacturer", "serialNumber") if known else ()
    errors = []
    for i, asset in enumerate(assets):
        missing = [name for name in needed if not asset.get(name)]
        if not known and not any(asset.get(k) for k in ("serialNumber", "type")):
            missing = ["serialNumber or type"]
        errors += [
            TaskError("asset_info_missing", f"Asset {i} lacks {name}.", f"assetInfo.assets.{i}")
            for name in missing
        ]
    return errors


async def _customer(run: Run) -> tuple[str | None, list[TaskError]]:
    """The request's customer: by id, by email, or created from complete details."""
    info = run.request.get("customerInfo", {})
    workspace_id = run.task.workspace_id
    if info.get("customerId"):
        known = await customers_repo.get(
            run.session, workspace_id=workspace_id, customer_id=info["customerId"]
        )
        if known is None:
            return None, [
                TaskError(
                    "customer_not_found",
                    f"No customer {info['customerId']!r}.",
                    "customerInfo.customerId",
                )
            ]
        return known.id, []
    if info.get("email"):
        known = await customers_repo.get_by_email(
            run.session, workspace_id=workspace_id, email=info["email"]
        )
        if known is not None:
            return known.id, []
    missing = [name for name in ("firstName", "lastName", "email") if not info.get(name)]
    if missing:
        return None, [
            TaskError(
                "customer_incomplete",
                f"No customer found; creating one needs {', '.join(missing)}.",
                f"customerInfo.{name}",
            )
            for name in missing
        ]
    customer_id, _ = await customers.find_or_create(
        run.session,
        workspace_id=workspace_id,
        first_name=info["firstName"],
        last_name=info["lastName"],
        email=info["email"],
        phone=info.get("phone"),
        address=run.request.get("locationInfo", {}).get("address"),
        now=run.now,
    )
    return customer_id, []


async def _reserve(run: Run) -> None:
    """Hold an in-stock utility device for each asset (kept when validation runs again)."""
    held = [
        d.id for d in await repository.devices_of(run.session, run.task) if d.status == "reserved"
    ]
    for i, asset in enumerate(run.assets[len(held) :], start=len(held)):
        device = await repository.in_stock_device(
            run.session,
            workspace_id=run.task.workspace_id,
            manufacturer=asset.get("manufacturer"),
            serial_number=asset.get("serialNumber"),
            type_=asset.get("type"),
            model=asset.get("model"),
            excluding=held,
        )
        if device is None:
            raise StepFailed(
                TaskError(
                    "no_device_in_stock",
                    f"No in-stock utility device matches asset {i}.",
                    f"assetInfo.assets.{i}",
                )
            )
        device.status = "reserved"
        device.reserved_by_task_id = run.task.id
        device.updated_at = run.now
        held.append(device.id)
    await run.session.flush()


async def _validate_added_device(run: Run) -> None:
    enrollment = await _enrollment(run)
    subscription = await repository.subscription_of(run.session, enrollment_id=enrollment.id)
    if (
        enrollment.status != Status.APPROVED
        or subscription is None
        or subscription.status != "active"
    ):
        raise StepFailed(
            TaskError("not_active", "Devices are added to an active (set up) enrollment only.")
        )
    errors = asset_errors(run.method, run.ownership, run.assets)
    if errors:
        raise StepFailed(*errors)
    run.task.subscription_id = subscription.id
    run.task.device_location_id = subscription.device_location_id
    if run.method == "bring_your_own" and run.ownership == "utility":
        await _reserve(run)


async def _validate_unenrollment(run: Run) -> TaskState:
    if run.task.enrollment_id is None:  # named by customer and instance
        held = await enrollments_repo.open_enrollment_id(
            run.session, instance_id=run.instance.id, customer_id=run.request["customerId"]
        )
        if held is None:
            raise StepFailed(
                TaskError(
                    "enrollment_not_found",
                    "The customer holds no enrollment in this program instance.",
                    "customerId",
                )
            )
        run.task.enrollment_id = held
    enrollment = await _enrollment(run)
    errors = []
    if enrollment.status != Status.APPROVED:
        errors.append(
            TaskError("not_enrolled", f"The enrollment is {enrollment.status}, not approved.")
        )
    busy = await repository.open_task_of(
        run.session, enrollment_id=enrollment.id, excluding=run.task.id
    )
    if busy is not None:
        errors.append(
            TaskError("task_in_progress", f"Service task {busy.id} of the enrollment is open.")
        )
    reason_code = str(run.request.get("reason", ""))
    reason = run.workflow.reason(reason_code) if run.workflow else None
    if run.workflow and run.workflow.unenroll_reasons and reason is None:
        codes = ", ".join(r.code for r in run.workflow.unenroll_reasons)
        errors.append(
            TaskError("invalid_reason", f"Unknown reason {reason_code!r}: use {codes}.", "reason")
        )
    if errors:
        raise StepFailed(*errors)
    subscription = await repository.subscription_of(run.session, enrollment_id=enrollment.id)
    run.task.customer_id = enrollment.customer_id
    if subscription is not None:
        run.task.subscription_id = subscription.id
        run.task.device_location_id = subscription.device_location_id
    if reason is not None and reason.requires_approval:
        await tasks.raise_todo(
            run.session,
            run.task,
            kind="approval",
            title=f"Approve unenrollment ({reason.code})",
            detail=run.request.get("comment"),
            now=run.now,
        )
        return T.APPROVAL_IN_PROGRESS
    return T.SETUP_DEVICE


async def _enrollment(run: Run) -> Enrollment:
    if run.task.enrollment_id is None:
        raise StepFailed(TaskError("enrollment_not_found", "The task names no enrollment."))
    enrollment = await enrollments_repo.get(
        run.session, workspace_id=run.task.workspace_id, enrollment_id=run.task.enrollment_id
    )
    if enrollment is None:
        raise StepFailed(TaskError("enrollment_not_found", "The enrollment no longer exists."))
    return enrollment


# --- check eligibility ----------------------------------------------------------------------


async def _check_eligibility(run: Run) -> TaskState | Wait | Failed:
    if run.task.origin != "request":
        return T.SETUP_ENROLLMENT  # an approval or an added device: decided already
    if run.task.enrollment_id is None:
        run.task.enrollment_id = await _held_enrollment(run)
    if run.task.enrollment_id is None:
        enrollment = await _new_enrollment(run)
    else:
        enrollment = await _enrollment(run)
        if enrollment.status == Status.INELIGIBLE:  # a retry, perhaps with corrected data
            await enrollments.update(
                run.session,
                workspace_id=run.task.workspace_id,
                enrollment_id=enrollment.id,
                body=EnrollmentUpdate.model_validate(_enrollment_fields(run)),
                now=run.now,
            )
            await _act(run, enrollment, Action.REEVALUATE)
    checks = enrollment.evaluation.get("checks", [])
    if enrollment.status == Status.INELIGIBLE:
        failed = [c for c in checks if c.get("status") in ("failed", "error")]
        return Failed(  # the enrollment keeps its decision, which explains the error
            [TaskError("ineligible", str(c.get("reason") or c["id"]), c["id"]) for c in failed]
            or [TaskError("ineligible", enrollment.eligibility_reason or "Not eligible.")]
        )
    if enrollment.status == Status.ELIGIBLE:
        if any(c.get("status") == CheckStatus.PENDING.value for c in checks):
            return Wait(ASYNC_CHECK_POLL_SECONDS)  # eligible means the sync checks passed
        return T.SETUP_ENROLLMENT
    if enrollment.status == Status.SUBMITTED:
        return T.SETUP_ENROLLMENT
    raise StepFailed(
        TaskError("ineligible", f"The enrollment is {enrollment.status}.", "enrollmentId")
    )


def _enrollment_fields(run: Run) -> dict[str, Any]:
    """The rule context a request gives: the location's address, the assets' makers."""
    fields: dict[str, Any] = {
        "manufacturerSlugs": sorted(
            {a["manufacturer"] for a in run.assets if a.get("manufacturer")}
        ),
        "metadata": {
            **run.request.get("metadata", {}),
            "installationMethod": run.method,
            "assetOwnership": run.ownership,
        },
    }
    address = run.request.get("locationInfo", {}).get("address")
    if address:
        fields["address"] = address
    serials = [a["serialNumber"] for a in run.assets if a.get("serialNumber")]
    if serials:
        fields["serialNumber"] = serials[0]
    return fields


async def _held_enrollment(run: Run) -> str | None:
    """The customer's open enrollment in the instance (an application made before the request
    came), which the request takes over rather than refusing it."""
    assert run.task.customer_id is not None  # validation found or made the customer
    held = await enrollments_repo.open_enrollment_id(
        run.session, instance_id=run.instance.id, customer_id=run.task.customer_id
    )
    if held is None:
        return None
    busy = await repository.open_task_of(run.session, enrollment_id=held, excluding=run.task.id)
    if busy is not None:
        raise StepFailed(
            TaskError("task_in_progress", f"Service task {busy.id} of enrollment {held} is open.")
        )
    return held


async def _new_enrollment(run: Run) -> Enrollment:
    assert run.task.customer_id is not None  # validation found or made the customer
    body = EnrollmentCreate.model_validate(
        {
            "identificationType": "customerId",
            "customerId": run.task.customer_id,
            "referenceId": run.task.transaction_id,
            **_enrollment_fields(run),
        }
    )
    enrollment, _ = await enrollments.create(
        run.session,
        workspace_id=run.task.workspace_id,
        instance_ref=run.instance.id,
        body=body,
        actor=run.actor,
        now=run.now,
    )
    run.task.enrollment_id = enrollment.id
    await run.session.flush()
    return enrollment


async def _act(run: Run, enrollment: Enrollment, action: Action, reason: str | None = None) -> None:
    await enrollments.act(
        run.session,
        workspace_id=run.task.workspace_id,
        enrollment_id=enrollment.id,
        action=action,
        reason=reason,
        actor=run.actor,
        now=run.now,
    )


# --- setup enrollment -----------------------------------------------------------------------


async def _setup_enrollment(run: Run) -> TaskState:
    enrollment = await _enrollment(run)
    if run.task.origin == "device":
        await _install_devices(run, run.task.subscription_id, run.task.device_location_id)
        return T.SETUP_DEVICE
    if enrollment.status == Status.ELIGIBLE:
        await _act(run, enrollment, Action.SUBMIT)
    if enrollment.status == Status.SUBMITTED:
        await _act(run, enrollment, Action.APPROVE, reason=_request_reason(run))
    if enrollment.status != Status.APPROVED:
        raise StepFailed(
            TaskError("not_approved", f"The enrollment is {enrollment.status}, not approved.")
        )
    location = await repository.location_of_task(run.session, task_id=run.task.id)
    if location is None:
        info = run.request.get("locationInfo", {})
        location = DeviceLocation(
            id=new_id(),
            workspace_id=run.task.workspace_id,
            customer_id=enrollment.customer_id,
            task_id=run.task.id,
            status="active",
            address=info.get("address") or enrollment.address,
            premise_id=info.get("premiseId"),
            service_point_id=info.get("servicePointId"),
            division=info.get("division"),
            created_at=run.now,
            updated_at=run.now,
            version=1,
        )
        run.session.add(location)
    subscription = await repository.subscription_of(run.session, enrollment_id=enrollment.id)
    if subscription is None:
        subscription = ProgramSubscription(
            id=new_id(),
            workspace_id=run.task.workspace_id,
            enrollment_id=enrollment.id,
            program_instance_id=enrollment.program_instance_id,
            customer_id=enrollment.customer_id,
            device_location_id=location.id,
            status="inactive",
            created_at=run.now,
            updated_at=run.now,
            version=1,
        )
        run.session.add(subscription)
    await run.session.flush()
    run.task.subscription_id = subscription.id
    run.task.device_location_id = location.id
    await _install_devices(run, subscription.id, location.id)
    return T.SETUP_DEVICE


def _request_reason(run: Run) -> str:
    if run.task.transaction_id:
        return f"Enrollment request {run.task.transaction_id}."
    return "Approved for setup."


async def _install_devices(run: Run, subscription_id: str | None, location_id: str | None) -> None:
    """Bring-your-own equipment goes on the location: the utility devices validation reserved,
    or devices found by serial number (the customer's own, recorded now if new; a re-enrolled
    one, known from before)."""
    if run.method not in _BRING_YOUR_OWN:
        return  # shipped or installed by the utility: the setup actions bring the device
    if run.method == "bring_your_own" and run.ownership == "utility":
        devices = [
            d for d in await repository.devices_of(run.session, run.task) if d.status == "reserved"
        ]
    else:
        devices = [
            await _known_device(run, asset, subscription_id)
            for asset in run.assets
            if asset.get("manufacturer") and asset.get("serialNumber")
        ]
    for device in devices:
        device.status = "installed"
        device.device_location_id = location_id
        device.subscription_id = subscription_id
        device.updated_at = run.now
    await run.session.flush()


async def _known_device(run: Run, asset: dict[str, Any], subscription_id: str | None) -> Device:
    manufacturer, serial = str(asset["manufacturer"]), str(asset["serialNumber"])
    device = await repository.device_by_serial(
        run.session,
        workspace_id=run.task.workspace_id,
        manufacturer=manufacturer,
        serial_number=serial,
    )
    if device is None and run.ownership == "utility":
        raise StepFailed(
            TaskError(
                "device_not_found",
                f"No utility device {manufacturer} {serial} is known to re-enroll.",
                "assetInfo.assets",
            )
        )
    if device is None:
        device = Device(
            id=new_id(),
            workspace_id=run.task.workspace_id,
            manufacturer=manufacturer,
            model=asset.get("model"),
            type=asset.get("type") or "controllable_device",
            serial_number=serial,
            ownership="customer",
            status="installed",
            metadata_={},
            created_at=run.now,
            updated_at=run.now,
            version=1,
        )
        run.session.add(device)
    elif (
        device.status in ("active", "installed", "reserved")
        and device.subscription_id != subscription_id
    ):
        raise StepFailed(
            TaskError(
                "device_in_use",
                f"Device {manufacturer} {serial} is in use elsewhere ({device.id}).",
                "assetInfo.assets",
            )
        )
    device.task_id = run.task.id
    return device


# --- device setup actions -------------------------------------------------------------------


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
    removal = run.request.get("removalMethod")
    matching = [
        a
        for a in listed
        if run.method in a.installation_methods
        and run.ownership in a.asset_ownerships
        and (not unenrolling or a.removal_methods is None or removal in a.removal_methods)
    ]
    return sorted(matching, key=lambda a: (a.sequence, a.type)) or None


async def _setup_device(run: Run) -> TaskState:
    if run.task.kind == TaskKind.UNENROLLMENT:
        await _learn_setup(run)
    wanted = configured_actions(run)
    if wanted is None:
        raise StepFailed(
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
                status="pending",
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
        elif action.status == "failed":  # a retry runs the failed ones again
            action.status, action.message, action.updated_at = "pending", None, run.now
    await run.session.flush()
    await start_due_actions(run.session, run.task, now=run.now)
    return T.AWAITING_DEVICE_SETUP


async def _learn_setup(run: Run) -> None:
    """An unenrollment undoes what the enrollment's setup did: its method and ownership."""
    if "assetInfo" in run.request or run.task.enrollment_id is None:
        return
    enrollment = await _enrollment(run)
    metadata = enrollment.metadata_ or {}
    run.task.request = {
        **run.request,
        "assetInfo": {
            "installationMethod": metadata.get("installationMethod", "bring_your_own"),
            "assetOwnership": metadata.get("assetOwnership", "customer"),
        },
    }


async def start_due_actions(session: AsyncSession, task: ServiceTask, *, now: datetime) -> None:
    """Start the pending actions of the lowest sequence not yet completed (equal sequences run
    together; a later one waits until every earlier one completed)."""
    actions = await repository.actions_of(session, task_id=task.id)
    unfinished = [a for a in actions if a.status != "completed"]
    if not unfinished or any(a.status == "failed" for a in unfinished):
        return
    first = min(a.sequence for a in unfinished)
    for action in unfinished:
        if action.sequence == first and action.status == "pending":
            await _start(session, task, action, now=now)


async def _start(
    session: AsyncSession, task: ServiceTask, action: SetupAction, *, now: datetime
) -> None:
    action.status = "in_progress"
    action.attempts += 1
    action.started_at = now
    action.updated_at = now
    await session.flush()
    await tasks.log_action(session, task, action, "started", actor=tasks.SYSTEM_ACTOR, now=now)
    if action.type == ActionType.CREATE_TODO:
        await tasks.raise_todo(
            session,
            task,
            kind="action",
            title=str(action.config.get("description") or f"Set up devices for task {task.id}"),
            detail=f"Complete setup action {action.id} when done.",
            now=now,
            setup_action_id=action.id,
        )
    elif action.type == ActionType.DEVICE_COMMAND:
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


async def _await_device_setup(run: Run) -> TaskState | Wait:
    actions = await repository.actions_of(run.session, task_id=run.task.id)
    failed = [a for a in actions if a.status == "failed"]
    if failed:
        raise StepFailed(
            *(
                TaskError(
                    "setup_action_failed",
                    f"{a.type} (sequence {a.sequence}) failed: {a.message or 'no reason given'}",
                    a.id,
                )
                for a in failed
            )
        )
    if any(a.status != "completed" for a in actions):
        await start_due_actions(run.session, run.task, now=run.now)
        return Wait()  # the complete/fail routes (or the device command) run this again
    if run.task.kind == TaskKind.UNENROLLMENT:
        await _complete_unenrollment(run)
    else:
        await _complete_enrollment(run)
    return T.COMPLETED


# --- completion -----------------------------------------------------------------------------


async def _complete_enrollment(run: Run) -> None:
    enrollment = await _enrollment(run)
    subscription = await _subscription(run)
    start = run.now
    if run.request.get("startDate"):
        start = max(
            start,
            datetime.combine(date.fromisoformat(run.request["startDate"]), time(), tzinfo=UTC),
        )
    if subscription.status != "active":
        subscription.status = "active"
        subscription.start_at = start
        subscription.updated_at = run.now
        await record_change(run.session, "subscription.activated", subscription, now=run.now)
    for device in await repository.devices_of(run.session, run.task):
        device.status = "active"
        device.subscription_id = subscription.id
        device.updated_at = run.now
        await record_change(run.session, "device.activated", device, now=run.now)
    await enrollments.start_participation(run.session, enrollment, at=start, now=run.now)


def end_of(subscription: ProgramSubscription, now: datetime) -> datetime:
    """When a subscription ending ``now`` ends: never before it started (a start date still
    ahead makes it end where it would have started, having never run)."""
    start = subscription.start_at
    return max(now, start) if start is not None else now


async def _complete_unenrollment(run: Run) -> None:
    enrollment = await _enrollment(run)
    if run.task.subscription_id is not None:
        subscription = await _subscription(run)
        subscription.status = "inactive"
        subscription.end_at = end_of(subscription, run.now)
        subscription.updated_at = run.now
        await record_change(run.session, "subscription.deactivated", subscription, now=run.now)
    await retire_devices(run.session, run.task, now=run.now)
    if run.task.device_location_id is not None:
        location = await repository.get_location(
            run.session, workspace_id=run.task.workspace_id, location_id=run.task.device_location_id
        )
        if location is not None:
            location.status = "inactive"
            location.updated_at = run.now
    reason = str(run.request.get("reason") or "Unenrolled.")
    await _act(run, enrollment, Action.UNENROLL, reason=reason)


async def retire_devices(session: AsyncSession, task: ServiceTask, *, now: datetime) -> None:
    """Take a task's devices out of service: utility devices that never went live return to
    stock (reserved or installed for a setup that did not complete); the others are
    deactivated."""
    for device in await repository.devices_of(session, task):
        if device.status in ("reserved", "installed") and device.ownership == "utility":
            device.status = "in_stock"
            device.reserved_by_task_id = None
            device.device_location_id = None
            device.subscription_id = None
        elif device.status in ("installed", "active"):
            was_active = device.status == "active"
            device.status = "deactivated"
            if was_active:
                await record_change(session, "device.deactivated", device, now=now)
        device.updated_at = now
    await session.flush()


async def _subscription(run: Run) -> ProgramSubscription:
    subscription = (
        await repository.get_subscription(
            run.session,
            workspace_id=run.task.workspace_id,
            subscription_id=run.task.subscription_id,
        )
        if run.task.subscription_id
        else None
    )
    if subscription is None:
        raise StepFailed(TaskError("subscription_not_found", "The task's subscription is gone."))
    return subscription


async def record_change(
    session: AsyncSession, kind: str, row: ProgramSubscription | Device, *, now: datetime
) -> None:
    await session.flush()
    body = (
        SubscriptionOut.of(row) if isinstance(row, ProgramSubscription) else DeviceOut.of(row)
    ).model_dump(mode="json", by_alias=True)
    await events.record(
        session,
        workspace_id=row.workspace_id,
        occurred_at=now,
        events=[events.NewEvent(type=kind, data={"object": body}, subject_id=row.id)],
    )


STEPS: dict[tuple[TaskKind, TaskState], Step] = {
    (TaskKind.ENROLLMENT, T.PENDING): _pending,
    (TaskKind.ENROLLMENT, T.VALIDATE): _validate_enrollment,
    (TaskKind.ENROLLMENT, T.CHECK_ELIGIBILITY): _check_eligibility,
    (TaskKind.ENROLLMENT, T.SETUP_ENROLLMENT): _setup_enrollment,
    (TaskKind.ENROLLMENT, T.SETUP_DEVICE): _setup_device,
    (TaskKind.ENROLLMENT, T.AWAITING_DEVICE_SETUP): _await_device_setup,
    (TaskKind.UNENROLLMENT, T.PENDING): _pending,
    (TaskKind.UNENROLLMENT, T.VALIDATE): _validate_unenrollment,
    (TaskKind.UNENROLLMENT, T.SETUP_DEVICE): _setup_device,
    (TaskKind.UNENROLLMENT, T.AWAITING_DEVICE_SETUP): _await_device_setup,
}

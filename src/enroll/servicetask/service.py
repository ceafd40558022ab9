"""Service-task use cases: the inbound requests, approval's setup, a task's step job and its
expiry. The operations people take are operations.py's; setup actions, to-dos, devices and
device commands actions.py's; the steps themselves live in steps/.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.enrollment import service as enrollments
from enroll.errors import (
    Conflict,
    FieldError,
    InvalidTransition,
    NotFound,
    ProblemError,
    Unprocessable,
)
from enroll.models import Enrollment, ProgramInstance, ServiceTask
from enroll.program_instance import service as instances
from enroll.servicetask import repository, steps, tasks
from enroll.servicetask.errors import (
    InvalidReason,
    NotEnrolled,
    TaskInProgress,
    TransactionIdReused,
)
from enroll.servicetask.schemas import (
    DeviceAdd,
    EnrollmentRequestCreate,
    UnenrollBody,
    UnenrollmentRequestCreate,
)
from enroll.servicetask.steps import workflow_of
from enroll.workflows.enrollment import Action, Status
from enroll.workflows.service_task import (
    TaskKind,
    TaskState,
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
        raise TransactionIdReused(
            f"transactionId {body.transaction_id!r} was used for a different request.",
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
            raise _unenroll_refusal(task)
    return enrollment, task


# The validation errors of an unenrollment, as the problem it answers when no workflow would
# take the task further: the first error's.
_UNENROLL_REFUSALS: dict[str, type[ProblemError]] = {
    p.code: p for p in (NotEnrolled, TaskInProgress, InvalidReason)
}


def _unenroll_refusal(task: ServiceTask) -> ProblemError:
    detail = "The enrollment cannot be unenrolled: " + "; ".join(e["message"] for e in task.errors)
    errors = [FieldError(field=e.get("field") or "", message=e["message"]) for e in task.errors]
    code = task.errors[0]["code"] if task.errors else Unprocessable.code
    problem = _UNENROLL_REFUSALS.get(code)
    if problem is None:  # a step's own error (runner.py): none the validation of it raises
        return Conflict(detail, code=code, errors=errors)
    return problem(detail, errors=errors)


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
        raise InvalidTransition(
            f"Devices are added to approved enrollments; this one is {enrollment.status}.",
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
        raise TaskInProgress(
            f"Service task {busy.id} of this enrollment is still open.",
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

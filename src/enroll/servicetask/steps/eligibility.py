"""The check_eligibility step: the request's enrollment (taken over, made, or re-evaluated on
a retry) and its eligibility decision, waiting while asynchronous checks run."""

from __future__ import annotations

from typing import Any

from enroll.eligibility.checks import CheckStatus
from enroll.enrollment import repository as enrollments_repo
from enroll.enrollment import service as enrollments
from enroll.enrollment.schemas import EnrollmentCreate, EnrollmentUpdate
from enroll.models import Enrollment
from enroll.servicetask import repository
from enroll.servicetask.steps.run import FailKeeping, FailUndoing, Run, Wait, act, enrollment_of
from enroll.servicetask.tasks import TaskError
from enroll.workflows.enrollment import Action, Status
from enroll.workflows.service_task import TaskState

T = TaskState
# How often a task whose enrollment waits on asynchronous eligibility checks looks again.
ASYNC_CHECK_POLL_SECONDS = 2.0


async def check_eligibility(run: Run) -> TaskState | Wait | FailKeeping:
    if run.task.origin != "request":
        return T.SETUP_ENROLLMENT  # an approval or an added device: decided already
    if run.task.enrollment_id is None:
        run.task.enrollment_id = await _held_enrollment(run)
    if run.task.enrollment_id is None:
        enrollment = await _new_enrollment(run)
    else:
        enrollment = await enrollment_of(run)
        if enrollment.status == Status.INELIGIBLE:  # a retry, perhaps with corrected data
            await enrollments.update(
                run.session,
                workspace_id=run.task.workspace_id,
                enrollment_id=enrollment.id,
                body=EnrollmentUpdate.model_validate(_enrollment_fields(run)),
                now=run.now,
            )
            await act(run, enrollment, Action.REEVALUATE)
    checks = enrollment.evaluation.get("checks", [])
    if enrollment.status == Status.INELIGIBLE:
        failed = [c for c in checks if c.get("status") in ("failed", "error")]
        return FailKeeping(  # the enrollment keeps its decision, which explains the error
            [TaskError("ineligible", str(c.get("reason") or c["id"]), c["id"]) for c in failed]
            or [TaskError("ineligible", enrollment.eligibility_reason or "Not eligible.")]
        )
    if enrollment.status == Status.ELIGIBLE:
        if any(c.get("status") == CheckStatus.PENDING.value for c in checks):
            return Wait(ASYNC_CHECK_POLL_SECONDS)  # eligible means the sync checks passed
        return T.SETUP_ENROLLMENT
    if enrollment.status == Status.SUBMITTED:
        return T.SETUP_ENROLLMENT
    raise FailUndoing(
        TaskError("ineligible", f"The enrollment is {enrollment.status}.", "enrollmentId")
    )


def _enrollment_fields(run: Run) -> dict[str, Any]:
    """The rule context a request gives: the location's address, the assets' makers."""
    assets = run.request.assets
    fields: dict[str, Any] = {
        "manufacturerSlugs": sorted({a.manufacturer for a in assets if a.manufacturer}),
        "metadata": {
            **run.request.metadata,
            "installationMethod": run.method,
            "assetOwnership": run.ownership,
        },
    }
    address = run.request.location_info.address
    if address:
        fields["address"] = address
    serials = [a.serial_number for a in assets if a.serial_number]
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
        raise FailUndoing(
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

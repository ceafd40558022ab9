"""The validate step: is the request one the program can take (its instance, division, assets,
customer), or can the enrollment be unenrolled; utility devices are reserved here."""

from __future__ import annotations

from enroll.customer import repository as customers_repo
from enroll.customer import service as customers
from enroll.enrollment import repository as enrollments_repo
from enroll.program_instance import service as instances
from enroll.servicetask import repository, tasks
from enroll.servicetask.steps.request import StoredAsset
from enroll.servicetask.steps.run import BRING_YOUR_OWN, FailUndoing, Run, enrollment_of
from enroll.servicetask.tasks import TaskError
from enroll.workflows.enrollment import Status
from enroll.workflows.participation import DeviceStatus, SubscriptionStatus
from enroll.workflows.service_task import TaskState

T = TaskState


async def pending(run: Run) -> TaskState:
    return T.VALIDATE


async def validate_enrollment(run: Run) -> TaskState:
    if run.task.origin == "device":
        await _validate_added_device(run)
        return T.CHECK_ELIGIBILITY
    errors: list[TaskError] = []
    refusal = await instances.refusal_reason(run.session, run.instance, today=run.now.date())
    if refusal:
        errors.append(TaskError("instance_not_accepting", refusal))
    divisions = run.workflow.divisions if run.workflow else []
    division = run.request.location_info.division
    if divisions and division not in divisions:
        errors.append(
            TaskError(
                "division_mismatch",
                f"The service point's division {division!r} is not one the program serves "
                f"({', '.join(divisions)}).",
                "locationInfo.division",
            )
        )
    errors += asset_errors(run.method, run.ownership, run.request.assets)
    customer_id, customer_errors = await _customer(run)
    errors += customer_errors
    if customer_id is not None and not errors:
        errors += await _enrolled_already(run, customer_id)
    if errors:
        raise FailUndoing(*errors)
    run.task.customer_id = customer_id
    if run.method == "bring_your_own" and run.ownership == "utility":
        await _reserve(run)
    return T.CHECK_ELIGIBILITY


async def _enrolled_already(run: Run, customer_id: str) -> list[TaskError]:
    held = await enrollments_repo.open_enrollment_id(
        run.session, instance_id=run.instance.id, customer_id=customer_id
    )
    holder = held and await enrollments_repo.get(
        run.session, workspace_id=run.task.workspace_id, enrollment_id=held
    )
    if holder and holder.status == Status.APPROVED and holder.id != run.task.enrollment_id:
        return [TaskError("already_enrolled", f"The customer is enrolled already ({holder.id}).")]
    return []


def asset_errors(method: str, ownership: str, assets: list[StoredAsset]) -> list[TaskError]:
    """Bring-your-own (and re-enrolled) equipment must be described: which device it is."""
    if method not in BRING_YOUR_OWN:
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
        given = {"manufacturer": asset.manufacturer, "serialNumber": asset.serial_number}
        missing = [name for name in needed if not given[name]]
        if not known and not (asset.serial_number or asset.type):
            missing = ["serialNumber or type"]
        errors += [
            TaskError("asset_info_missing", f"Asset {i} lacks {name}.", f"assetInfo.assets.{i}")
            for name in missing
        ]
    return errors


async def _customer(run: Run) -> tuple[str | None, list[TaskError]]:
    """The request's customer: by id, by email, or created from complete details."""
    info = run.request.customer_info
    workspace_id = run.task.workspace_id
    if info.customer_id:
        known = await customers_repo.get(
            run.session, workspace_id=workspace_id, customer_id=info.customer_id
        )
        if known is None:
            return None, [
                TaskError(
                    "customer_not_found",
                    f"No customer {info.customer_id!r}.",
                    "customerInfo.customerId",
                )
            ]
        return known.id, []
    if info.email:
        known = await customers_repo.get_by_email(
            run.session, workspace_id=workspace_id, email=info.email
        )
        if known is not None:
            return known.id, []
    given = {"firstName": info.first_name, "lastName": info.last_name, "email": info.email}
    missing = [name for name, value in given.items() if not value]
    if missing:
        return None, [
            TaskError(
                "customer_incomplete",
                f"No customer found; creating one needs {', '.join(missing)}.",
                f"customerInfo.{name}",
            )
            for name in missing
        ]
    assert info.first_name and info.last_name and info.email  # none is missing
    customer_id, _ = await customers.find_or_create(
        run.session,
        workspace_id=workspace_id,
        first_name=info.first_name,
        last_name=info.last_name,
        email=info.email,
        phone=info.phone,
        address=run.request.location_info.address,
        now=run.now,
    )
    return customer_id, []


async def _reserve(run: Run) -> None:
    """Hold an in-stock utility device for each asset (kept when validation runs again)."""
    held = [
        d.id
        for d in await repository.devices_of(run.session, run.task)
        if d.status == DeviceStatus.RESERVED
    ]
    for i, asset in enumerate(run.request.assets[len(held) :], start=len(held)):
        device = await repository.in_stock_device(
            run.session,
            workspace_id=run.task.workspace_id,
            manufacturer=asset.manufacturer,
            serial_number=asset.serial_number,
            type_=asset.type,
            model=asset.model,
            excluding=held,
        )
        if device is None:
            raise FailUndoing(
                TaskError(
                    "no_device_in_stock",
                    f"No in-stock utility device matches asset {i}.",
                    f"assetInfo.assets.{i}",
                )
            )
        device.status = DeviceStatus.RESERVED
        device.reserved_by_task_id = run.task.id
        device.updated_at = run.now
        held.append(device.id)
    await run.session.flush()


async def _validate_added_device(run: Run) -> None:
    enrollment = await enrollment_of(run)
    subscription = await repository.subscription_of(run.session, enrollment_id=enrollment.id)
    if (
        enrollment.status != Status.APPROVED
        or subscription is None
        or subscription.status != SubscriptionStatus.ACTIVE
    ):
        raise FailUndoing(
            TaskError("not_active", "Devices are added to an active (set up) enrollment only.")
        )
    errors = asset_errors(run.method, run.ownership, run.request.assets)
    if errors:
        raise FailUndoing(*errors)
    run.task.subscription_id = subscription.id
    run.task.device_location_id = subscription.device_location_id
    if run.method == "bring_your_own" and run.ownership == "utility":
        await _reserve(run)


async def validate_unenrollment(run: Run) -> TaskState:
    if run.task.enrollment_id is None:  # named by customer and instance
        run.task.enrollment_id = await _named_enrollment(run)
    enrollment = await enrollment_of(run)
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
    reason_code = run.request.reason or ""
    reason = run.workflow.reason(reason_code) if run.workflow else None
    if run.workflow and run.workflow.unenroll_reasons and reason is None:
        codes = ", ".join(r.code for r in run.workflow.unenroll_reasons)
        errors.append(
            TaskError("invalid_reason", f"Unknown reason {reason_code!r}: use {codes}.", "reason")
        )
    if errors:
        raise FailUndoing(*errors)
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
            detail=run.request.comment,
            now=run.now,
        )
        return T.APPROVAL_IN_PROGRESS
    return T.SETUP_DEVICE


async def _named_enrollment(run: Run) -> str:
    customer_id = run.request.customer_id
    assert customer_id is not None  # the request names the enrollment, or customer and instance
    held = await enrollments_repo.open_enrollment_id(
        run.session, instance_id=run.instance.id, customer_id=customer_id
    )
    if held is None:
        raise FailUndoing(
            TaskError(
                "enrollment_not_found",
                "The customer holds no enrollment in this program instance.",
                "customerId",
            )
        )
    return held

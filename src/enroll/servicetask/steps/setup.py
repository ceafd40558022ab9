"""The setup_enrollment step: the enrollment approved, its device location and (inactive)
subscription, and bring-your-own equipment installed there."""

from __future__ import annotations

from enroll.ids import new_id
from enroll.models import Device, DeviceLocation, ProgramSubscription
from enroll.servicetask import repository
from enroll.servicetask.steps.request import StoredAsset
from enroll.servicetask.steps.run import BRING_YOUR_OWN, FailUndoing, Run, act, enrollment_of
from enroll.servicetask.tasks import TaskError
from enroll.workflows.enrollment import Action, Status
from enroll.workflows.participation import DeviceStatus, LocationStatus, SubscriptionStatus
from enroll.workflows.service_task import TaskState

T = TaskState


async def setup_enrollment(run: Run) -> TaskState:
    enrollment = await enrollment_of(run)
    if run.task.origin == "device":
        await _install_devices(run, run.task.subscription_id, run.task.device_location_id)
        return T.SETUP_DEVICE
    if enrollment.status == Status.ELIGIBLE:
        await act(run, enrollment, Action.SUBMIT)
    if enrollment.status == Status.SUBMITTED:
        await act(run, enrollment, Action.APPROVE, reason=_request_reason(run))
    if enrollment.status != Status.APPROVED:
        raise FailUndoing(
            TaskError("not_approved", f"The enrollment is {enrollment.status}, not approved.")
        )
    location = await repository.location_of_task(run.session, task_id=run.task.id)
    if location is None:
        info = run.request.location_info
        location = DeviceLocation(
            id=new_id(),
            workspace_id=run.task.workspace_id,
            customer_id=enrollment.customer_id,
            task_id=run.task.id,
            status=LocationStatus.ACTIVE,
            address=info.address or enrollment.address,
            premise_id=info.premise_id,
            service_point_id=info.service_point_id,
            division=info.division,
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
            status=SubscriptionStatus.INACTIVE,
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
    if run.method not in BRING_YOUR_OWN:
        return  # shipped or installed by the utility: the setup actions bring the device
    if run.method == "bring_your_own" and run.ownership == "utility":
        devices = [
            d
            for d in await repository.devices_of(run.session, run.task)
            if d.status == DeviceStatus.RESERVED
        ]
    else:
        devices = [
            await _known_device(run, asset, subscription_id)
            for asset in run.request.assets
            if asset.manufacturer and asset.serial_number
        ]
    for device in devices:
        device.status = DeviceStatus.INSTALLED
        device.device_location_id = location_id
        device.subscription_id = subscription_id
        device.updated_at = run.now
    await run.session.flush()


async def _known_device(run: Run, asset: StoredAsset, subscription_id: str | None) -> Device:
    manufacturer, serial = str(asset.manufacturer), str(asset.serial_number)
    device = await repository.device_by_serial(
        run.session,
        workspace_id=run.task.workspace_id,
        manufacturer=manufacturer,
        serial_number=serial,
    )
    if device is None and run.ownership == "utility":
        raise FailUndoing(
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
            model=asset.model,
            type=asset.type or "controllable_device",
            serial_number=serial,
            ownership="customer",
            status=DeviceStatus.INSTALLED,
            metadata_={},
            created_at=run.now,
            updated_at=run.now,
            version=1,
        )
        run.session.add(device)
    elif (
        device.status in (DeviceStatus.ACTIVE, DeviceStatus.INSTALLED, DeviceStatus.RESERVED)
        and device.subscription_id != subscription_id
    ):
        raise FailUndoing(
            TaskError(
                "device_in_use",
                f"Device {manufacturer} {serial} is in use elsewhere ({device.id}).",
                "assetInfo.assets",
            )
        )
    device.task_id = run.task.id
    return device

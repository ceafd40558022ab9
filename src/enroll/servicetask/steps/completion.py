"""Completion, at the end of awaiting_device_setup: an enrollment's subscription and devices
go live and its participation starts; an unenrollment's end, and the enrollment is unenrolled.
Also what ending a task early shares with it (devices retired, a subscription's end)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from enroll.enrollment import service as enrollments
from enroll.event import service as events
from enroll.models import Device, ProgramSubscription, ServiceTask
from enroll.servicetask import repository
from enroll.servicetask.schemas import DeviceOut, SubscriptionOut
from enroll.servicetask.steps.run import FailUndoing, Run, act, enrollment_of
from enroll.servicetask.tasks import TaskError
from enroll.workflows.enrollment import Action
from enroll.workflows.participation import DeviceStatus, LocationStatus, SubscriptionStatus


async def complete_enrollment(run: Run) -> None:
    enrollment = await enrollment_of(run)
    subscription = await _subscription(run)
    start = run.now
    if run.request.start_date:
        start = max(start, datetime.combine(run.request.start_date, time(), tzinfo=UTC))
    if subscription.status != SubscriptionStatus.ACTIVE:
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.start_at = start
        subscription.updated_at = run.now
        await record_change(run.session, "subscription.activated", subscription, now=run.now)
    for device in await repository.devices_of(run.session, run.task):
        device.status = DeviceStatus.ACTIVE
        device.subscription_id = subscription.id
        device.updated_at = run.now
        await record_change(run.session, "device.activated", device, now=run.now)
    await enrollments.start_participation(run.session, enrollment, at=start, now=run.now)


def end_of(subscription: ProgramSubscription, now: datetime) -> datetime:
    """When a subscription ending ``now`` ends: never before it started (a start date still
    ahead makes it end where it would have started, having never run)."""
    start = subscription.start_at
    return max(now, start) if start is not None else now


async def complete_unenrollment(run: Run) -> None:
    enrollment = await enrollment_of(run)
    if run.task.subscription_id is not None:
        subscription = await _subscription(run)
        subscription.status = SubscriptionStatus.INACTIVE
        subscription.end_at = end_of(subscription, run.now)
        subscription.updated_at = run.now
        await record_change(run.session, "subscription.deactivated", subscription, now=run.now)
    await retire_devices(run.session, run.task, now=run.now)
    if run.task.device_location_id is not None:
        location = await repository.get_location(
            run.session, workspace_id=run.task.workspace_id, location_id=run.task.device_location_id
        )
        if location is not None:
            location.status = LocationStatus.INACTIVE
            location.updated_at = run.now
    reason = run.request.reason or "Unenrolled."
    await act(run, enrollment, Action.UNENROLL, reason=reason)


async def retire_devices(session: AsyncSession, task: ServiceTask, *, now: datetime) -> None:
    """Take a task's devices out of service: utility devices that never went live return to
    stock (reserved or installed for a setup that did not complete); the others are
    deactivated."""
    for device in await repository.devices_of(session, task):
        if (
            device.status in (DeviceStatus.RESERVED, DeviceStatus.INSTALLED)
            and device.ownership == "utility"
        ):
            device.status = DeviceStatus.IN_STOCK
            device.reserved_by_task_id = None
            device.device_location_id = None
            device.subscription_id = None
        elif device.status in (DeviceStatus.INSTALLED, DeviceStatus.ACTIVE):
            was_active = device.status == DeviceStatus.ACTIVE
            device.status = DeviceStatus.DEACTIVATED
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
        raise FailUndoing(TaskError("subscription_not_found", "The task's subscription is gone."))
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

"""REST routes of service tasks (seed 002's enrollment and unenrollment requests) and of what
they set up: subscriptions, device locations, devices, setup actions and to-dos."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_ctx, get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.context import AppContext
from enroll.enrollment.schemas import EnrollmentOut
from enroll.errors import InvalidTransition, raises
from enroll.kit.pagination import Page, PageParams, page_params
from enroll.kit.repository import paginate
from enroll.models import Device, ProgramSubscription, ServiceTask, Todo
from enroll.program_instance.setup_workflow import AssetOwnership
from enroll.servicetask import actions as task_actions
from enroll.servicetask import operations as task_operations
from enroll.servicetask import repository, service, tasks
from enroll.servicetask.errors import (
    ActionNotInProgress,
    DeviceExists,
    InvalidReason,
    InvalidTaskTransition,
    NotEnrolled,
    TaskInProgress,
    TaskNotCorrectable,
    TodoCompleted,
    TodoNeedsDecision,
    TransactionIdReused,
)
from enroll.servicetask.schemas import (
    ActionReport,
    Decision,
    DeviceAdd,
    DeviceCreate,
    DeviceLocationOut,
    DeviceOut,
    EnrollmentRequestCreate,
    ServiceTaskOut,
    ServiceTaskPatch,
    SetupActionOut,
    SubscriptionOut,
    TaskLogList,
    TaskLogOut,
    TodoComplete,
    TodoOut,
    UnenrollBody,
    UnenrollmentRequestCreate,
)
from enroll.workflows.service_task import TaskKind, TaskState

router = APIRouter(prefix="/v1", tags=["service tasks"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Ctx = Annotated[AppContext, Depends(get_ctx)]
Reader = Annotated[Principal, require(Scope.ENROLLMENTS_READ)]
Writer = Annotated[Principal, require(Scope.ENROLLMENTS_WRITE)]
Reviewer = Annotated[Principal, require(Scope.ENROLLMENTS_REVIEW)]
Stocker = Annotated[Principal, require(Scope.DEVICES_WRITE)]
Pages = Annotated[PageParams, Depends(page_params)]
_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": ServiceTaskOut, "description": "The task, running."}
}


async def _out(session: AsyncSession, task: ServiceTask) -> ServiceTaskOut:
    return await tasks.snapshot(session, task)


def _accepted(body: ServiceTaskOut, path: str) -> JSONResponse:
    return JSONResponse(
        body.model_dump(mode="json", by_alias=True),
        status_code=202,
        headers={"Location": f"/v1/{path}/{body.id}"},
    )


# --- inbound requests -----------------------------------------------------------------------


@router.post("/enrollmentRequests", status_code=202)
@raises(TransactionIdReused)
async def create_enrollment_request(
    body: EnrollmentRequestCreate, session: Session, principal: Writer, ctx: Ctx, response: Response
) -> ServiceTaskOut:
    """Enroll a customer (seed 002 enrollProgram): the task validates, checks eligibility, sets
    up the subscription, location and devices, and runs the device setup actions. Sending
    the same `transactionId` again returns the same task."""
    task = await service.request_enrollment(
        session,
        workspace_id=workspace_id_of(principal),
        body=body,
        actor=principal.actor,
        now=ctx.clock.now(),
    )
    response.headers["Location"] = f"/v1/enrollmentRequests/{task.id}"
    return await _out(session, task)


@router.get("/enrollmentRequests/{task_id}")
async def get_enrollment_request(
    task_id: str, session: Session, principal: Reader
) -> ServiceTaskOut:
    task = await service.get(
        session, workspace_id=workspace_id_of(principal), task_id=task_id, kind=TaskKind.ENROLLMENT
    )
    return await _out(session, task)


@router.post("/unenrollmentRequests", status_code=202)
@raises(TransactionIdReused)
async def create_unenrollment_request(
    body: UnenrollmentRequestCreate,
    session: Session,
    principal: Writer,
    ctx: Ctx,
    response: Response,
) -> ServiceTaskOut:
    """Unenroll a customer (seed 002 unenrollProgram), by `enrollmentId` or by `customerId`
    and `programInstanceId`. A reason the instance marks `requiresApproval` waits in
    `approval_in_progress` for a reviewer."""
    task = await service.request_unenrollment(
        session,
        workspace_id=workspace_id_of(principal),
        body=body,
        actor=principal.actor,
        now=ctx.clock.now(),
    )
    response.headers["Location"] = f"/v1/unenrollmentRequests/{task.id}"
    return await _out(session, task)


@router.get("/unenrollmentRequests/{task_id}")
async def get_unenrollment_request(
    task_id: str, session: Session, principal: Reader
) -> ServiceTaskOut:
    task = await service.get(
        session,
        workspace_id=workspace_id_of(principal),
        task_id=task_id,
        kind=TaskKind.UNENROLLMENT,
    )
    return await _out(session, task)


@router.post(
    "/enrollments/{enrollment_id}/unenroll",
    response_model=EnrollmentOut,
    responses=_ACCEPTED,
    tags=["enrollments"],
)
@raises(InvalidTransition, NotEnrolled, TaskInProgress, InvalidReason)
async def unenroll_enrollment(
    enrollment_id: str, body: UnenrollBody, session: Session, principal: Writer, ctx: Ctx
) -> EnrollmentOut | JSONResponse:
    """approved → unenrolled, through an unenrollment task. Where the instance has no setup
    workflow it completes at once and the answer is the enrollment (200); otherwise the
    answer is the running task (202). `reason` is kept as metadata.exitReason."""
    enrollment, task = await service.unenroll(
        session,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        body=body,
        actor=principal.actor,
        now=ctx.clock.now(),
    )
    if task.state == TaskState.COMPLETED:
        return EnrollmentOut.of(enrollment)
    return _accepted(await _out(session, task), "unenrollmentRequests")


@router.post("/enrollments/{enrollment_id}/devices", status_code=202, tags=["enrollments"])
@raises(InvalidTransition, TaskInProgress)
async def add_enrollment_device(
    enrollment_id: str, body: DeviceAdd, session: Session, principal: Writer, ctx: Ctx
) -> ServiceTaskOut:
    """Add a device to an approved, set-up enrollment, through a task of its own."""
    task = await service.add_device(
        session,
        workspace_id=workspace_id_of(principal),
        enrollment_id=enrollment_id,
        body=body,
        actor=principal.actor,
        now=ctx.clock.now(),
    )
    return await _out(session, task)


# --- service tasks --------------------------------------------------------------------------


def _task_filters(
    state: TaskState | None = None,
    enrollment_id: Annotated[str | None, Query(alias="enrollmentId", max_length=100)] = None,
    program_instance_id: Annotated[
        str | None, Query(alias="programInstanceId", max_length=100)
    ] = None,
    transaction_id: Annotated[
        str | None,
        Query(alias="transactionId", max_length=100, description="The caller's transactionId."),
    ] = None,
) -> repository.TaskFilters:
    return repository.TaskFilters(
        state=state.value if state else None,
        enrollment_id=enrollment_id,
        program_instance_id=program_instance_id,
        transaction_id=transaction_id,
    )


TaskFilters = Annotated[repository.TaskFilters, Depends(_task_filters)]


async def _list_tasks(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    filters: repository.TaskFilters,
) -> Page[ServiceTaskOut]:
    stmt = repository.search_tasks(workspace_id=workspace_id_of(principal), filters=filters)
    result = await paginate(session, stmt, params, ServiceTask.id)
    return result.to_page([await _out(session, t) for t in result.items])


@router.get("/enrollmentRequests")
async def list_enrollment_requests(
    session: Session, principal: Reader, params: Pages, filters: TaskFilters
) -> Page[ServiceTaskOut]:
    """Enrollment requests, e.g. the one a `transactionId` names (seed 002 looks them up so)."""
    filters = replace(filters, kind=TaskKind.ENROLLMENT.value)
    return await _list_tasks(session, principal, params, filters)


@router.get("/unenrollmentRequests")
async def list_unenrollment_requests(
    session: Session, principal: Reader, params: Pages, filters: TaskFilters
) -> Page[ServiceTaskOut]:
    """Unenrollment requests, e.g. the one a `transactionId` names."""
    filters = replace(filters, kind=TaskKind.UNENROLLMENT.value)
    return await _list_tasks(session, principal, params, filters)


@router.get("/serviceTasks")
async def list_service_tasks(
    session: Session,
    principal: Reader,
    params: Pages,
    filters: TaskFilters,
    kind: TaskKind | None = None,
) -> Page[ServiceTaskOut]:
    filters = replace(filters, kind=kind.value if kind else None)
    return await _list_tasks(session, principal, params, filters)


@router.get("/serviceTasks/{task_id}")
async def get_service_task(task_id: str, session: Session, principal: Reader) -> ServiceTaskOut:
    task = await service.get(session, workspace_id=workspace_id_of(principal), task_id=task_id)
    return await _out(session, task)


@router.get("/serviceTasks/{task_id}/log")
async def service_task_log(task_id: str, session: Session, principal: Reader) -> TaskLogList:
    """Every state change and error of the task, oldest first."""
    task = await service.get(session, workspace_id=workspace_id_of(principal), task_id=task_id)
    rows = await repository.log_of(session, task_id=task.id)
    return TaskLogList(data=[TaskLogOut.of(r) for r in rows])


@router.patch("/serviceTasks/{task_id}")
@raises(TaskNotCorrectable)
async def correct_service_task(
    task_id: str, body: ServiceTaskPatch, session: Session, principal: Writer, ctx: Ctx
) -> ServiceTaskOut:
    """Correct the request of a task in an error state; `retry` then runs the step again."""
    task = await task_operations.correct(
        session,
        workspace_id=workspace_id_of(principal),
        task_id=task_id,
        body=body,
        now=ctx.clock.now(),
    )
    return await _out(session, task)


@router.post("/serviceTasks/{task_id}/retry")
@raises(InvalidTaskTransition)
async def retry_service_task(
    task_id: str, session: Session, principal: Writer, ctx: Ctx
) -> ServiceTaskOut:
    """From an error state, run the step that failed again."""
    task = await task_operations.retry(
        session,
        workspace_id=workspace_id_of(principal),
        task_id=task_id,
        actor=principal.actor,
        now=ctx.clock.now(),
    )
    return await _out(session, task)


@router.post("/serviceTasks/{task_id}/discard")
@raises(InvalidTaskTransition)
async def discard_service_task(
    task_id: str, session: Session, principal: Writer, ctx: Ctx
) -> ServiceTaskOut:
    """End a task in an error state; an unfinished enrollment setup is undone."""
    task = await task_operations.discard(
        session,
        workspace_id=workspace_id_of(principal),
        task_id=task_id,
        actor=principal.actor,
        now=ctx.clock.now(),
    )
    return await _out(session, task)


@router.post("/serviceTasks/{task_id}/cancel")
@raises(InvalidTaskTransition)
async def cancel_service_task(
    task_id: str, session: Session, principal: Writer, ctx: Ctx, body: Decision | None = None
) -> ServiceTaskOut:
    """End any unfinished task; an unfinished enrollment setup is undone."""
    task = await task_operations.cancel(
        session,
        workspace_id=workspace_id_of(principal),
        task_id=task_id,
        actor=principal.actor,
        now=ctx.clock.now(),
        reason=body.comment if body else None,
    )
    return await _out(session, task)


@router.post("/serviceTasks/{task_id}/approve")
@raises(InvalidTaskTransition)
async def approve_service_task(
    task_id: str, session: Session, principal: Reviewer, ctx: Ctx, body: Decision | None = None
) -> ServiceTaskOut:
    """Approve an unenrollment waiting in approval_in_progress (scope enrollments:review)."""
    return await _decide(task_id, True, body, session, principal, ctx)


@router.post("/serviceTasks/{task_id}/reject")
@raises(InvalidTaskTransition)
async def reject_service_task(
    task_id: str, session: Session, principal: Reviewer, ctx: Ctx, body: Decision | None = None
) -> ServiceTaskOut:
    """Reject an unenrollment waiting in approval_in_progress: the task is canceled and the
    enrollment stays (scope enrollments:review)."""
    return await _decide(task_id, False, body, session, principal, ctx)


async def _decide(
    task_id: str,
    approve: bool,
    body: Decision | None,
    session: AsyncSession,
    principal: Principal,
    ctx: AppContext,
) -> ServiceTaskOut:
    task = await task_operations.decide(
        session,
        workspace_id=workspace_id_of(principal),
        task_id=task_id,
        approve=approve,
        comment=body.comment if body else None,
        actor=principal.actor,
        now=ctx.clock.now(),
    )
    return await _out(session, task)


# --- setup actions ----------------------------------------------------------------------------


@router.get("/setupActions/{action_id}")
async def get_setup_action(action_id: str, session: Session, principal: Reader) -> SetupActionOut:
    action = await task_actions.get_action(
        session, workspace_id=workspace_id_of(principal), action_id=action_id
    )
    return SetupActionOut.of(action)


@router.post("/setupActions/{action_id}/complete")
@raises(ActionNotInProgress)
async def complete_setup_action(
    action_id: str, session: Session, principal: Writer, ctx: Ctx, body: ActionReport | None = None
) -> SetupActionOut:
    """The crew or system doing an in-progress action reports it done."""
    return await _report(action_id, True, body, session, principal, ctx)


@router.post("/setupActions/{action_id}/fail")
@raises(ActionNotInProgress)
async def fail_setup_action(
    action_id: str, session: Session, principal: Writer, ctx: Ctx, body: ActionReport | None = None
) -> SetupActionOut:
    """The action could not be done: its task goes to device_setup_error (retry runs it again)."""
    return await _report(action_id, False, body, session, principal, ctx)


async def _report(
    action_id: str,
    succeeded: bool,
    body: ActionReport | None,
    session: AsyncSession,
    principal: Principal,
    ctx: AppContext,
) -> SetupActionOut:
    action = await task_actions.report_action(
        session,
        workspace_id=workspace_id_of(principal),
        action_id=action_id,
        succeeded=succeeded,
        report=body or ActionReport(),
        actor=principal.actor,
        now=ctx.clock.now(),
    )
    return SetupActionOut.of(action)


# --- subscriptions, locations, devices --------------------------------------------------------


@router.get("/subscriptions", tags=["participation"])
async def list_subscriptions(
    session: Session,
    principal: Reader,
    params: Pages,
    enrollment_id: Annotated[str | None, Query(alias="enrollmentId", max_length=100)] = None,
    status: Annotated[str | None, Query(pattern="^(active|inactive)$")] = None,
) -> Page[SubscriptionOut]:
    stmt = repository.search_subscriptions(
        workspace_id=workspace_id_of(principal), enrollment_id=enrollment_id, status=status
    )
    result = await paginate(session, stmt, params, ProgramSubscription.id)
    return result.to_page([SubscriptionOut.of(s) for s in result.items])


@router.get("/subscriptions/{subscription_id}", tags=["participation"])
async def get_subscription(
    subscription_id: str, session: Session, principal: Reader
) -> SubscriptionOut:
    found = await repository.subscriptions.require(
        session, workspace_id=workspace_id_of(principal), id=subscription_id
    )
    return SubscriptionOut.of(found)


@router.get("/deviceLocations/{location_id}", tags=["participation"])
async def get_device_location(
    location_id: str, session: Session, principal: Reader
) -> DeviceLocationOut:
    found = await repository.locations.require(
        session, workspace_id=workspace_id_of(principal), id=location_id
    )
    return DeviceLocationOut.of(found)


@router.get("/devices", tags=["participation"])
async def list_devices(
    session: Session,
    principal: Reader,
    params: Pages,
    status: Annotated[
        str | None, Query(pattern="^(in_stock|reserved|installed|active|deactivated)$")
    ] = None,
    ownership: AssetOwnership | None = None,
    device_location_id: Annotated[
        str | None, Query(alias="deviceLocationId", max_length=100)
    ] = None,
) -> Page[DeviceOut]:
    stmt = repository.search_devices(
        workspace_id=workspace_id_of(principal),
        status=status,
        ownership=ownership.value if ownership else None,
        location_id=device_location_id,
    )
    result = await paginate(session, stmt, params, Device.id)
    return result.to_page([DeviceOut.of(d) for d in result.items])


@router.post("/devices", status_code=201, tags=["participation"])
@raises(DeviceExists)
async def create_device(
    body: DeviceCreate, session: Session, principal: Stocker, ctx: Ctx, response: Response
) -> DeviceOut:
    """Put a utility-owned device into inventory (`in_stock`), for bring-your-own requests with
    utility ownership to reserve (scope devices:write)."""
    device = await task_actions.create_device(
        session, workspace_id=workspace_id_of(principal), body=body, now=ctx.clock.now()
    )
    response.headers["Location"] = f"/v1/devices/{device.id}"
    return DeviceOut.of(device)


@router.get("/devices/{device_id}", tags=["participation"])
async def get_device(device_id: str, session: Session, principal: Reader) -> DeviceOut:
    found = await repository.devices.require(
        session, workspace_id=workspace_id_of(principal), id=device_id
    )
    return DeviceOut.of(found)


# --- to-dos -----------------------------------------------------------------------------------


@router.get("/todos", tags=["service tasks"])
async def list_todos(
    session: Session,
    principal: Reader,
    params: Pages,
    status: Annotated[str | None, Query(pattern="^(open|completed)$")] = None,
    kind: Annotated[str | None, Query(pattern="^(exception|approval|expiration|action)$")] = None,
    service_task_id: Annotated[str | None, Query(alias="serviceTaskId", max_length=100)] = None,
) -> Page[TodoOut]:
    stmt = repository.search_todos(
        workspace_id=workspace_id_of(principal), status=status, kind=kind, task_id=service_task_id
    )
    result = await paginate(session, stmt, params, Todo.id)
    return result.to_page([TodoOut.of(t) for t in result.items])


@router.post("/todos/{todo_id}/complete", tags=["service tasks"])
@raises(TodoCompleted, TodoNeedsDecision)
async def complete_todo(
    todo_id: str, session: Session, principal: Writer, ctx: Ctx, body: TodoComplete | None = None
) -> TodoOut:
    """Mark a to-do done. One raised by a create_todo setup action completes the action."""
    todo = await task_actions.complete_todo(
        session,
        workspace_id=workspace_id_of(principal),
        todo_id=todo_id,
        note=body.note if body else None,
        actor=principal.actor,
        now=ctx.clock.now(),
    )
    return TodoOut.of(todo)

"""Service tasks (REST: /v1/enrollmentRequests, /v1/unenrollmentRequests, /v1/serviceTasks,
/v1/setupActions, /v1/todos and POST /v1/enrollments/{id}/devices): seed 002's inbound
requests, the operations people take on a task, setup actions reported back, and to-dos.

Reads need enrollments:read; requests and operations enrollments:write; approving or
rejecting an unenrollment enrollments:review, as the REST routes. Each field calls the
service function its route calls and answers what the route answers (a task as
``tasks.snapshot`` shows it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID, UNSET
from strawberry.scalars import JSON

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.errors import FieldError
from enroll.graphql.common import Info, connection, mutate, ref
from enroll.graphql.context import GraphQLContext, info_context
from enroll.graphql.fields import field, mutation
from enroll.graphql.inputs import AddressInput, check_text, invalid, parse, wire
from enroll.graphql.types import Connection, Edge, ServiceTask, SetupAction, fields_of
from enroll.models import ServiceTask as TaskRow
from enroll.models import Todo as TodoRow
from enroll.program_instance.setup_workflow import AssetOwnership, InstallationMethod, RemovalMethod
from enroll.servicetask import actions as task_actions
from enroll.servicetask import operations as task_operations
from enroll.servicetask import repository as tasks_repo
from enroll.servicetask import service as setup
from enroll.servicetask import tasks
from enroll.servicetask.schemas import (
    ActionReport,
    Decision,
    DeviceAdd,
    EnrollmentRequestCreate,
    ServiceTaskPatch,
    TodoComplete,
    TodoOut,
    UnenrollmentRequestCreate,
)
from enroll.workflows.service_task import TaskKind, TaskState, TodoStatus

# --- types ------------------------------------------------------------------------------------


@strawberry.type(description="A to-do for people (REST: TodoOut).")
class Todo:
    id: ID
    kind: str = strawberry.field(description="exception, approval, expiration or action.")
    status: str = strawberry.field(description="open or completed.")
    title: str
    detail: str | None
    task_id: ID | None
    setup_action_id: ID | None
    completed_at: datetime | None
    completed_by: str | None
    note: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: TodoRow) -> Todo:
        return cls(**fields_of(TodoOut.of(row)))


# --- inputs (validated by the REST request schemas, see inputs.py) ----------------------------


@strawberry.input(description="Who enrolls (REST: CustomerInfo).")
class CustomerInfoInput:
    customer_id: ID | None = UNSET
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET


@strawberry.input(description="Where the devices go (REST: LocationInfo).")
class LocationInfoInput:
    address: AddressInput | None = UNSET
    premise_id: str | None = UNSET
    service_point_id: str | None = UNSET
    division: str | None = UNSET


@strawberry.input(description="A device (REST: Asset).")
class AssetInput:
    type: str | None = UNSET
    manufacturer: str | None = UNSET
    model: str | None = UNSET
    serial_number: str | None = UNSET


@strawberry.input(description="How the devices are set up (REST: AssetInfo).")
class AssetInfoInput:
    installation_method: InstallationMethod
    asset_ownership: AssetOwnership
    assets: list[AssetInput] | None = UNSET


@strawberry.input(
    description="Seed 002's enrollProgram (REST: EnrollmentRequestCreate): one of "
    "programInstanceId (id or slug) or programInstanceSlug; the same transactionId again "
    "answers the same task."
)
class EnrollmentRequestInput:
    transaction_id: str
    customer_info: CustomerInfoInput
    asset_info: AssetInfoInput
    location_info: LocationInfoInput | None = UNSET
    program_instance_id: ID | None = UNSET
    program_instance_slug: str | None = UNSET
    start_date: date | None = UNSET
    metadata: JSON | None = UNSET


@strawberry.input(
    description="Seed 002's unenrollProgram (REST: UnenrollmentRequestCreate): enrollmentId, "
    "or customerId and programInstanceId (id or slug)."
)
class UnenrollmentRequestInput:
    reason: str = strawberry.field(
        description="A reason code of the instance's unenrollReasons, when it lists any."
    )
    removal_method: RemovalMethod | None = UNSET
    comment: str | None = UNSET
    transaction_id: str | None = UNSET
    enrollment_id: ID | None = UNSET
    customer_id: ID | None = UNSET
    program_instance_id: ID | None = UNSET


@strawberry.input(description="A device added to an approved enrollment (REST: DeviceAdd).")
class DeviceAddInput:
    asset: AssetInput
    installation_method: InstallationMethod | None = UNSET
    asset_ownership: AssetOwnership | None = UNSET


@strawberry.input(
    description="Corrections to the request of a task in an error state (REST: "
    "ServiceTaskPatch): only the fields sent change; null clears startDate."
)
class ServiceTaskUpdateInput:
    customer_info: CustomerInfoInput | None = UNSET
    location_info: LocationInfoInput | None = UNSET
    asset_info: AssetInfoInput | None = UNSET
    start_date: date | None = UNSET
    metadata: JSON | None = UNSET
    reason: str | None = UNSET
    removal_method: RemovalMethod | None = UNSET


# --- helpers ----------------------------------------------------------------------------------


def _one_of(value: str | None, allowed: tuple[str, ...], name: str) -> None:
    """A filter REST bounds by a pattern: the same values, the same 422."""
    if value is not None and value not in allowed:
        raise invalid([FieldError(field=name, message=f"One of {', '.join(allowed)}.")])


def _sent(**values: Any) -> dict[str, Any]:
    """An optional body from arguments: those given (REST: a body, or none)."""
    return {k: v for k, v in values.items() if v is not None}


async def _task(info: Info, id: str, kind: TaskKind | None = None) -> ServiceTask:
    ctx = info_context(info)
    workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)
    task_id = ref(id)

    async def work(session: AsyncSession) -> ServiceTask:
        task = await setup.get(session, workspace_id=workspace_id, task_id=task_id, kind=kind)
        return ServiceTask.of(await tasks.snapshot(session, task))

    return await ctx.read(work)


async def _tasks(
    ctx: GraphQLContext,
    filters: tasks_repo.TaskFilters,
    *,
    first: int,
    after: str | None,
) -> Connection[ServiceTask]:
    """A page of tasks as the REST lists answer them (each with its actions and devices)."""
    workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)
    for name, value in (
        ("enrollmentId", filters.enrollment_id),
        ("programInstanceId", filters.program_instance_id),
        ("transactionId", filters.transaction_id),
    ):
        check_text(name, value, max_length=100)
    stmt = tasks_repo.search_tasks(workspace_id=workspace_id, filters=filters)
    rows: Connection[TaskRow] = await connection(
        ctx, stmt, TaskRow.id, lambda row: row, first=first, after=after
    )
    async with ctx.use() as session:
        edges = [
            Edge(cursor=e.cursor, node=ServiceTask.of(await tasks.snapshot(session, e.node)))
            for e in rows.edges
        ]
    return Connection(edges=edges, page_info=rows.page_info, count=rows.count)


def _filters(
    state: TaskState | None,
    enrollment_id: str | None,
    program_instance_id: str | None,
    transaction_id: str | None,
    kind: TaskKind | None = None,
) -> tasks_repo.TaskFilters:
    return tasks_repo.TaskFilters(
        kind=kind.value if kind else None,
        state=state.value if state else None,
        enrollment_id=enrollment_id,
        program_instance_id=program_instance_id,
        transaction_id=transaction_id,
    )


TaskWork = Callable[[AsyncSession, Principal, datetime], Awaitable[TaskRow]]


async def _operate(info: Info, scope: Scope, work: TaskWork) -> ServiceTask:
    """A mutation answering a task, as its REST route answers it."""
    ctx = info_context(info)

    async def run(session: AsyncSession, principal: Principal) -> ServiceTask:
        task = await work(session, principal, ctx.now())
        return ServiceTask.of(await tasks.snapshot(session, task))

    return await mutate(info, scope, run)


def _workspace(principal: Principal) -> str:
    return principal.workspace_id or ""


# --- queries ----------------------------------------------------------------------------------

_FILTERS = (
    "Filters as REST: state, enrollmentId, programInstanceId (an id), transactionId (the caller's)."
)


@strawberry.type
class ServiceTasksQuery:
    @field("A service task of either kind (scope enrollments:read).", Scope.ENROLLMENTS_READ)
    async def service_task(self, info: Info, id: ID) -> ServiceTask | None:
        return await _task(info, id)

    @field(
        f"The workspace's service tasks, by id (scope enrollments:read). {_FILTERS}",
        Scope.ENROLLMENTS_READ,
    )
    async def service_tasks(
        self,
        info: Info,
        kind: TaskKind | None = None,
        state: TaskState | None = None,
        enrollment_id: ID | None = None,
        program_instance_id: ID | None = None,
        transaction_id: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[ServiceTask]:
        filters = _filters(state, enrollment_id, program_instance_id, transaction_id, kind)
        return await _tasks(info_context(info), filters, first=first, after=after)

    @field(
        "An enrollment request (an enrollment task; scope enrollments:read).",
        Scope.ENROLLMENTS_READ,
    )
    async def enrollment_request(self, info: Info, id: ID) -> ServiceTask | None:
        return await _task(info, id, TaskKind.ENROLLMENT)

    @field(f"Enrollment tasks, by id (scope enrollments:read). {_FILTERS}", Scope.ENROLLMENTS_READ)
    async def enrollment_requests(
        self,
        info: Info,
        state: TaskState | None = None,
        enrollment_id: ID | None = None,
        program_instance_id: ID | None = None,
        transaction_id: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[ServiceTask]:
        filters = _filters(state, enrollment_id, program_instance_id, transaction_id)
        filters = replace(filters, kind=TaskKind.ENROLLMENT.value)
        return await _tasks(info_context(info), filters, first=first, after=after)

    @field(
        "An unenrollment request (an unenrollment task; scope enrollments:read).",
        Scope.ENROLLMENTS_READ,
    )
    async def unenrollment_request(self, info: Info, id: ID) -> ServiceTask | None:
        return await _task(info, id, TaskKind.UNENROLLMENT)

    @field(
        f"Unenrollment tasks, by id (scope enrollments:read). {_FILTERS}", Scope.ENROLLMENTS_READ
    )
    async def unenrollment_requests(
        self,
        info: Info,
        state: TaskState | None = None,
        enrollment_id: ID | None = None,
        program_instance_id: ID | None = None,
        transaction_id: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[ServiceTask]:
        filters = _filters(state, enrollment_id, program_instance_id, transaction_id)
        filters = replace(filters, kind=TaskKind.UNENROLLMENT.value)
        return await _tasks(info_context(info), filters, first=first, after=after)

    @field("A device setup action (scope enrollments:read).", Scope.ENROLLMENTS_READ)
    async def setup_action(self, info: Info, id: ID) -> SetupAction | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)
        action_id = ref(id)

        async def work(session: AsyncSession) -> SetupAction:
            return SetupAction.of(
                await task_actions.get_action(
                    session, workspace_id=workspace_id, action_id=action_id
                )
            )

        return await ctx.read(work)

    @field(
        "The workspace's to-dos, by id (scope enrollments:read): status open or completed; "
        "kind exception, approval, expiration or action.",
        Scope.ENROLLMENTS_READ,
    )
    async def todos(
        self,
        info: Info,
        status: str | None = None,
        kind: str | None = None,
        service_task_id: ID | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Todo]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)
        _one_of(status, tuple(TodoStatus), "status")
        _one_of(kind, ("exception", "approval", "expiration", "action"), "kind")
        check_text("serviceTaskId", service_task_id, max_length=100)
        stmt = tasks_repo.search_todos(
            workspace_id=workspace_id, status=status, kind=kind, task_id=service_task_id
        )
        return await connection(ctx, stmt, TodoRow.id, Todo.of, first=first, after=after)


# --- mutations --------------------------------------------------------------------------------


@strawberry.type
class ServiceTasksMutation:
    @mutation(
        "Enroll a customer (seed 002 enrollProgram; scope enrollments:write): a task at "
        "pending that validates, checks eligibility, sets up the subscription, location and "
        "devices and runs the setup actions. The same transactionId again answers the same "
        "task (another body: transaction_id_reused).",
        Scope.ENROLLMENTS_WRITE,
    )
    async def create_enrollment_request(
        self, info: Info, input: EnrollmentRequestInput
    ) -> ServiceTask:
        async def work(session: AsyncSession, principal: Principal, now: datetime) -> TaskRow:
            body = parse(EnrollmentRequestCreate, wire(input))
            return await setup.request_enrollment(
                session,
                workspace_id=_workspace(principal),
                body=body,
                actor=principal.actor,
                now=now,
            )

        return await _operate(info, Scope.ENROLLMENTS_WRITE, work)

    @mutation(
        "Unenroll a customer (seed 002 unenrollProgram; scope enrollments:write). Where the "
        "instance has no setup workflow it completes at once (or stops in validation_error); "
        "a reason marked requiresApproval waits in approval_in_progress.",
        Scope.ENROLLMENTS_WRITE,
    )
    async def create_unenrollment_request(
        self, info: Info, input: UnenrollmentRequestInput
    ) -> ServiceTask:
        async def work(session: AsyncSession, principal: Principal, now: datetime) -> TaskRow:
            body = parse(UnenrollmentRequestCreate, wire(input))
            return await setup.request_unenrollment(
                session,
                workspace_id=_workspace(principal),
                body=body,
                actor=principal.actor,
                now=now,
            )

        return await _operate(info, Scope.ENROLLMENTS_WRITE, work)

    @mutation(
        "Add a device to an approved, set-up enrollment through a task of its own (scope "
        "enrollments:write); completed at once where the instance has no setup workflow.",
        Scope.ENROLLMENTS_WRITE,
    )
    async def add_enrollment_device(
        self, info: Info, enrollment_id: ID, input: DeviceAddInput
    ) -> ServiceTask:
        async def work(session: AsyncSession, principal: Principal, now: datetime) -> TaskRow:
            body = parse(DeviceAdd, wire(input))
            return await setup.add_device(
                session,
                workspace_id=_workspace(principal),
                enrollment_id=ref(enrollment_id),
                body=body,
                actor=principal.actor,
                now=now,
            )

        return await _operate(info, Scope.ENROLLMENTS_WRITE, work)

    @mutation(
        "Correct the request of a task in an error state (scope enrollments:write); "
        "retryServiceTask then runs the step again.",
        Scope.ENROLLMENTS_WRITE,
    )
    async def update_service_task(
        self, info: Info, id: ID, input: ServiceTaskUpdateInput
    ) -> ServiceTask:
        async def work(session: AsyncSession, principal: Principal, now: datetime) -> TaskRow:
            body = parse(ServiceTaskPatch, wire(input))
            return await task_operations.correct(
                session, workspace_id=_workspace(principal), task_id=ref(id), body=body, now=now
            )

        return await _operate(info, Scope.ENROLLMENTS_WRITE, work)

    @mutation(
        "From an error state, run the step that failed again (scope enrollments:write).",
        Scope.ENROLLMENTS_WRITE,
    )
    async def retry_service_task(self, info: Info, id: ID) -> ServiceTask:
        async def work(session: AsyncSession, principal: Principal, now: datetime) -> TaskRow:
            return await task_operations.retry(
                session,
                workspace_id=_workspace(principal),
                task_id=ref(id),
                actor=principal.actor,
                now=now,
            )

        return await _operate(info, Scope.ENROLLMENTS_WRITE, work)

    @mutation(
        "End a task in an error state; an unfinished enrollment setup is undone (scope "
        "enrollments:write).",
        Scope.ENROLLMENTS_WRITE,
    )
    async def discard_service_task(self, info: Info, id: ID) -> ServiceTask:
        async def work(session: AsyncSession, principal: Principal, now: datetime) -> TaskRow:
            return await task_operations.discard(
                session,
                workspace_id=_workspace(principal),
                task_id=ref(id),
                actor=principal.actor,
                now=now,
            )

        return await _operate(info, Scope.ENROLLMENTS_WRITE, work)

    @mutation(
        "End any unfinished task; an unfinished enrollment setup is undone (scope "
        "enrollments:write).",
        Scope.ENROLLMENTS_WRITE,
    )
    async def cancel_service_task(
        self, info: Info, id: ID, comment: str | None = None
    ) -> ServiceTask:
        async def work(session: AsyncSession, principal: Principal, now: datetime) -> TaskRow:
            body = parse(Decision, _sent(comment=comment))
            return await task_operations.cancel(
                session,
                workspace_id=_workspace(principal),
                task_id=ref(id),
                actor=principal.actor,
                now=now,
                reason=body.comment,
            )

        return await _operate(info, Scope.ENROLLMENTS_WRITE, work)

    @mutation(
        "Approve an unenrollment waiting in approval_in_progress (scope enrollments:review).",
        Scope.ENROLLMENTS_REVIEW,
    )
    async def approve_service_task(
        self, info: Info, id: ID, comment: str | None = None
    ) -> ServiceTask:
        return await _decide(info, id, True, comment)

    @mutation(
        "Reject an unenrollment waiting in approval_in_progress: the task is canceled and the "
        "enrollment stays (scope enrollments:review).",
        Scope.ENROLLMENTS_REVIEW,
    )
    async def reject_service_task(
        self, info: Info, id: ID, comment: str | None = None
    ) -> ServiceTask:
        return await _decide(info, id, False, comment)

    @mutation(
        "The crew or system doing an in-progress setup action reports it done (scope "
        "enrollments:write).",
        Scope.ENROLLMENTS_WRITE,
    )
    async def complete_setup_action(
        self, info: Info, id: ID, result: JSON | None = None, message: str | None = None
    ) -> SetupAction:
        return await _report(info, id, True, result, message)

    @mutation(
        "An in-progress setup action could not be done: its task goes to device_setup_error "
        "(retryServiceTask runs it again; scope enrollments:write).",
        Scope.ENROLLMENTS_WRITE,
    )
    async def fail_setup_action(
        self, info: Info, id: ID, result: JSON | None = None, message: str | None = None
    ) -> SetupAction:
        return await _report(info, id, False, result, message)

    @mutation(
        "Mark a to-do done (scope enrollments:write); one a create_todo setup action raised "
        "completes that action. Approval to-dos are answered by approving or rejecting.",
        Scope.ENROLLMENTS_WRITE,
    )
    async def complete_todo(self, info: Info, id: ID, note: str | None = None) -> Todo:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> Todo:
            body = parse(TodoComplete, _sent(note=note))
            todo = await task_actions.complete_todo(
                session,
                workspace_id=_workspace(principal),
                todo_id=ref(id),
                note=body.note,
                actor=principal.actor,
                now=ctx.now(),
            )
            return Todo.of(todo)

        return await mutate(info, Scope.ENROLLMENTS_WRITE, work)


async def _decide(info: Info, id: str, approve: bool, comment: str | None) -> ServiceTask:
    async def work(session: AsyncSession, principal: Principal, now: datetime) -> TaskRow:
        body = parse(Decision, _sent(comment=comment))
        return await task_operations.decide(
            session,
            workspace_id=_workspace(principal),
            task_id=ref(id),
            approve=approve,
            comment=body.comment,
            actor=principal.actor,
            now=now,
        )

    return await _operate(info, Scope.ENROLLMENTS_REVIEW, work)


async def _report(
    info: Info, id: str, succeeded: bool, result: JSON | None, message: str | None
) -> SetupAction:
    ctx = info_context(info)

    async def work(session: AsyncSession, principal: Principal) -> SetupAction:
        report = parse(ActionReport, _sent(result=result, message=message))
        action = await task_actions.report_action(
            session,
            workspace_id=_workspace(principal),
            action_id=ref(id),
            succeeded=succeeded,
            report=report,
            actor=principal.actor,
            now=ctx.now(),
        )
        return SetupAction.of(action)

    return await mutate(info, Scope.ENROLLMENTS_WRITE, work)

"""The GraphQL schema: queries and mutations over the REST service layer.

Every root field checks the scope of the REST route it stands for, then calls the same
service function in the request's one transaction (see context.py). Ids of another workspace
read as ids that do not exist: the services answer ``not_found``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import ID
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.enrollment import repository as enrollments_repo
from enroll.enrollment import requirement_actions
from enroll.enrollment import service as enrollments
from enroll.enrollment.schemas import (
    DecideBody,
    EnrollmentCreate,
    EnrollmentUpdate,
    ReasonBody,
    TransitionBody,
    action_scope,
    describe_action,
)
from enroll.event import service as event_service
from enroll.event.schemas import EventOut
from enroll.graphql import limits
from enroll.graphql.catalog import CatalogMutation
from enroll.graphql.common import Info
from enroll.graphql.common import connection as _connection
from enroll.graphql.common import id_or_slug as _id_or_slug
from enroll.graphql.common import mutate as _mutate
from enroll.graphql.common import ref as _ref
from enroll.graphql.context import info_context
from enroll.graphql.criteria import CriteriaQuery
from enroll.graphql.documents import DocumentsMutation, DocumentsQuery
from enroll.graphql.eligibility import EligibilityMutation, EligibilityQuery
from enroll.graphql.errors import log_unexpected
from enroll.graphql.fields import field, mutation
from enroll.graphql.inputs import (
    EnrollmentCreateInput,
    EnrollmentUpdateInput,
    ProgramInstanceCreateInput,
    ProgramInstanceUpdateInput,
    UnenrollInput,
    check_range,
    check_text,
    parse,
    wire,
)
from enroll.graphql.keys import KeysMutation, KeysQuery
from enroll.graphql.locations import LocationsMutation, LocationsQuery
from enroll.graphql.notifications import NotificationsMutation, NotificationsQuery
from enroll.graphql.operations import OperationsQuery
from enroll.graphql.participation import ParticipationMutation, ParticipationQuery
from enroll.graphql.payments import PaymentsMutation, PaymentsQuery
from enroll.graphql.people import PeopleMutation, PeopleQuery
from enroll.graphql.plans import PlansMutation, PlansQuery
from enroll.graphql.requirements import RequirementsMutation
from enroll.graphql.scalars import DATETIME
from enroll.graphql.scopes import ScopesFirst
from enroll.graphql.servicetasks import ServiceTasksMutation, ServiceTasksQuery
from enroll.graphql.types import (
    Connection,
    Enrollment,
    Event,
    EventFeed,
    Program,
    ProgramInstance,
    ServiceTask,
    UnenrollResult,
)
from enroll.graphql.webhooks import WebhooksMutation, WebhooksQuery
from enroll.models import Enrollment as EnrollmentRow
from enroll.models import Program as ProgramRow
from enroll.models import ProgramInstance as InstanceRow
from enroll.program import repository as programs_repo
from enroll.program import service as programs
from enroll.program.schemas import ProgramType
from enroll.program_instance import repository as instances_repo
from enroll.program_instance import service as instances
from enroll.program_instance.schemas import ProgramInstanceCreate, ProgramInstanceUpdate
from enroll.servicetask import enrollment_actions, tasks
from enroll.servicetask import service as setup
from enroll.servicetask.schemas import UnenrollBody
from enroll.workflows.enrollment import REASON_REQUIRED, Action, Status
from enroll.workflows.program_instance import InstanceStatus

T = TypeVar("T")
N = TypeVar("N")


@strawberry.type
class Query(
    PeopleQuery,
    LocationsQuery,
    KeysQuery,
    OperationsQuery,
    NotificationsQuery,
    PlansQuery,
    ParticipationQuery,
    CriteriaQuery,
    WebhooksQuery,
    EligibilityQuery,
    ServiceTasksQuery,
    PaymentsQuery,
    DocumentsQuery,
):
    @field(
        "A catalog program by id or slug (any valid key). Not found: null and an error "
        "`not_found`.",
        workspace=False,
    )
    async def program(
        self, info: Info, id: ID | None = None, slug: str | None = None
    ) -> Program | None:
        ctx = info_context(info)
        await ctx.principal(workspace=False)
        ref = _id_or_slug(id, slug)

        async def work(session: AsyncSession) -> Program:
            return Program.of(await programs.get(session, ref))

        return await ctx.read(work)

    @field("The catalog (any valid key), by id.", workspace=False)
    async def programs(
        self,
        info: Info,
        state: str | None = None,
        type: ProgramType | None = None,
        active: bool | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Program]:
        ctx = info_context(info)
        await ctx.principal(workspace=False)
        check_text("state", state, max_length=50)
        stmt = programs_repo.search(state=state, type_=type.value if type else None, active=active)
        return await _connection(ctx, stmt, ProgramRow.id, Program.of, first=first, after=after)

    @field(
        "A program instance of the workspace by id or slug (scope program_instances:read).",
        Scope.PROGRAM_INSTANCES_READ,
    )
    async def program_instance(
        self, info: Info, id: ID | None = None, slug: str | None = None
    ) -> ProgramInstance | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.PROGRAM_INSTANCES_READ)
        ref = _id_or_slug(id, slug)

        async def work(session: AsyncSession) -> ProgramInstance:
            return ProgramInstance.of(
                await instances.get(session, workspace_id=workspace_id, ref=ref)
            )

        return await ctx.read(work)

    @field(
        "The workspace's program instances (program_instances:read).",
        Scope.PROGRAM_INSTANCES_READ,
    )
    async def program_instances(
        self,
        info: Info,
        status: InstanceStatus | None = None,
        program_id: ID | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[ProgramInstance]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.PROGRAM_INSTANCES_READ)
        check_text("programId", program_id, max_length=100)
        stmt = instances_repo.search(
            workspace_id=workspace_id,
            status=status.value if status else None,
            program_id=program_id,
        )
        return await _connection(
            ctx, stmt, InstanceRow.id, ProgramInstance.of, first=first, after=after
        )

    @field("An enrollment of the workspace (scope enrollments:read).", Scope.ENROLLMENTS_READ)
    async def enrollment(self, info: Info, id: ID) -> Enrollment | None:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)
        ref = _ref(id)

        async def work(session: AsyncSession) -> Enrollment:
            return Enrollment.of(
                await enrollments.get(session, workspace_id=workspace_id, enrollment_id=ref)
            )

        return await ctx.read(work)

    @field(
        "The workspace's enrollments, or one instance's (programInstanceId: its id "
        "or slug), by id (scope enrollments:read). createdAfter is inclusive, createdBefore "
        "exclusive.",
        Scope.ENROLLMENTS_READ,
    )
    async def enrollments(
        self,
        info: Info,
        program_instance_id: ID | None = None,
        status: Status | None = None,
        tag: str | None = None,
        email: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Enrollment]:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.ENROLLMENTS_READ)
        check_text("tag", tag, max_length=100)
        check_text("email", email, max_length=320)
        instance_id: str | None = None
        if program_instance_id is not None:
            ref = _ref(program_instance_id)

            async def work(session: AsyncSession) -> str:
                instance = await instances.get(session, workspace_id=workspace_id, ref=ref)
                return instance.id

            instance_id = await ctx.read(work)
        stmt = enrollments_repo.search(
            workspace_id=workspace_id,
            instance_id=instance_id,
            filters=enrollments_repo.Filters(
                status=status.value if status else None,
                tag=tag,
                email=email,
                created_after=created_after,
                created_before=created_before,
            ),
        )
        return await _connection(
            ctx, stmt, EnrollmentRow.id, Enrollment.of, first=first, after=after
        )

    @field(
        "The workspace's event feed in commit order (scope events:read): pass "
        "nextCursor as `after` to follow it.",
        Scope.EVENTS_READ,
    )
    async def events(
        self,
        info: Info,
        after: str | None = None,
        type: str | None = None,
        limit: int = 100,
    ) -> EventFeed:
        ctx = info_context(info)
        workspace_id = await ctx.workspace_id(Scope.EVENTS_READ)
        check_text("after", after, max_length=200)
        check_text("type", type, max_length=80)
        check_range("limit", limit, low=1, high=500)

        async def work(session: AsyncSession) -> EventFeed:
            rows, cursor = await event_service.feed(
                session, workspace_id=workspace_id, after=after, type_=type, limit=limit
            )
            return EventFeed(
                data=[Event.of(EventOut(**event_service.envelope(e))) for e in rows],
                next_cursor=cursor,
            )

        return await ctx.read(work)


def _reason(reason: str | None, *, required: bool) -> str | None:
    if required:
        return parse(ReasonBody, {"reason": reason}).reason
    return parse(TransitionBody, {} if reason is None else {"reason": reason}).reason


async def _act(info: Info, id: str, action: Action, reason: str | None) -> Enrollment:
    """A transition, as REST's POST /v1/enrollments/{id}/<action> runs it."""
    ctx = info_context(info)

    async def work(session: AsyncSession, principal: Principal) -> Enrollment:
        why = _reason(reason, required=action in REASON_REQUIRED)
        enrollment = await enrollment_actions.act(
            session,
            workspace_id=principal.workspace_id or "",
            enrollment_id=_ref(id),
            action=action,
            reason=why,
            actor=principal.actor,
            now=ctx.now(),
        )
        return Enrollment.of(enrollment)

    return await _mutate(info, action_scope(action), work)


@strawberry.type
class Mutation(
    PeopleMutation,
    RequirementsMutation,
    LocationsMutation,
    KeysMutation,
    CatalogMutation,
    NotificationsMutation,
    PlansMutation,
    ParticipationMutation,
    WebhooksMutation,
    EligibilityMutation,
    ServiceTasksMutation,
    PaymentsMutation,
    DocumentsMutation,
):
    @mutation(
        "Instantiate a catalog program in this workspace (from programId or "
        "programSlug; scope program_instances:write).",
        Scope.PROGRAM_INSTANCES_WRITE,
    )
    async def create_program_instance(
        self, info: Info, input: ProgramInstanceCreateInput
    ) -> ProgramInstance:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> ProgramInstance:
            body = parse(ProgramInstanceCreate, wire(input))
            instance = await instances.create(
                session, workspace_id=principal.workspace_id or "", body=body, now=ctx.now()
            )
            return ProgramInstance.of(instance)

        return await _mutate(info, Scope.PROGRAM_INSTANCES_WRITE, work)

    @mutation(
        "Change a program instance (id or slug); `status` moves along draft → "
        "active ⇄ paused → closed → archived (scope program_instances:write).",
        Scope.PROGRAM_INSTANCES_WRITE,
    )
    async def update_program_instance(
        self, info: Info, id: ID, input: ProgramInstanceUpdateInput
    ) -> ProgramInstance:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> ProgramInstance:
            body = parse(ProgramInstanceUpdate, wire(input))
            instance = await instances.update(
                session,
                workspace_id=principal.workspace_id or "",
                ref=_ref(id),
                body=body,
                now=ctx.now(),
            )
            return ProgramInstance.of(instance)

        return await _mutate(info, Scope.PROGRAM_INSTANCES_WRITE, work)

    @mutation(
        "Delete a program instance (id or slug) that has no enrollments (otherwise close or "
        "archive it); answers the id given (scope program_instances:write).",
        Scope.PROGRAM_INSTANCES_WRITE,
    )
    async def delete_program_instance(self, info: Info, id: ID) -> ID:
        async def work(session: AsyncSession, principal: Principal) -> ID:
            instance_ref = _ref(id)
            await instances.delete(
                session, workspace_id=principal.workspace_id or "", ref=instance_ref
            )
            return ID(instance_ref)

        return await _mutate(info, Scope.PROGRAM_INSTANCES_WRITE, work)

    @mutation(
        "Enroll a person in a program instance (its id or slug); the enrollment "
        "is evaluated at once (scope enrollments:write).",
        Scope.ENROLLMENTS_WRITE,
    )
    async def create_enrollment(
        self, info: Info, program_instance_id: ID, input: EnrollmentCreateInput
    ) -> Enrollment:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> Enrollment:
            body = parse(EnrollmentCreate, wire(input))
            enrollment, _ = await enrollments.create(
                session,
                workspace_id=principal.workspace_id or "",
                instance_ref=_ref(program_instance_id),
                body=body,
                actor=principal.actor,
                now=ctx.now(),
                ring=ctx.app.vault,
            )
            return Enrollment.of(enrollment)

        return await _mutate(info, Scope.ENROLLMENTS_WRITE, work)

    @mutation(
        "Change contact, equipment and reference fields (scope enrollments:write). "
        "Status changes use the transition mutations.",
        Scope.ENROLLMENTS_WRITE,
    )
    async def update_enrollment(
        self, info: Info, id: ID, input: EnrollmentUpdateInput
    ) -> Enrollment:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> Enrollment:
            body = parse(EnrollmentUpdate, wire(input))
            enrollment = await requirement_actions.update(
                session,
                workspace_id=principal.workspace_id or "",
                enrollment_id=_ref(id),
                body=body,
                ring=ctx.app.vault,
                now=ctx.now(),
            )
            return Enrollment.of(enrollment)

        return await _mutate(info, Scope.ENROLLMENTS_WRITE, work)

    @mutation(
        "Delete an enrollment and its history; answers its id (scope enrollments:write).",
        Scope.ENROLLMENTS_WRITE,
    )
    async def delete_enrollment(self, info: Info, id: ID) -> ID:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> ID:
            enrollment_id = _ref(id)
            await enrollments.delete(
                session,
                workspace_id=principal.workspace_id or "",
                enrollment_id=enrollment_id,
                now=ctx.now(),
            )
            return ID(enrollment_id)

        return await _mutate(info, Scope.ENROLLMENTS_WRITE, work)

    @mutation(describe_action(Action.SUBMIT), action_scope(Action.SUBMIT))
    async def submit_enrollment(self, info: Info, id: ID, reason: str | None = None) -> Enrollment:
        return await _act(info, id, Action.SUBMIT, reason)

    @mutation(describe_action(Action.APPROVE), action_scope(Action.APPROVE))
    async def approve_enrollment(self, info: Info, id: ID, reason: str | None = None) -> Enrollment:
        return await _act(info, id, Action.APPROVE, reason)

    @mutation(describe_action(Action.REJECT), action_scope(Action.REJECT))
    async def reject_enrollment(self, info: Info, id: ID, reason: str) -> Enrollment:
        return await _act(info, id, Action.REJECT, reason)

    @mutation(describe_action(Action.CANCEL), action_scope(Action.CANCEL))
    async def cancel_enrollment(self, info: Info, id: ID, reason: str | None = None) -> Enrollment:
        return await _act(info, id, Action.CANCEL, reason)

    @mutation(describe_action(Action.MARK_UNPROCESSABLE), action_scope(Action.MARK_UNPROCESSABLE))
    async def mark_enrollment_unprocessable(self, info: Info, id: ID, reason: str) -> Enrollment:
        return await _act(info, id, Action.MARK_UNPROCESSABLE, reason)

    @mutation(
        "A person screens (scope enrollments:review): candidate → eligible or ineligible, or "
        "overrides the rules (eligible ↔ ineligible); the reason is required.",
        Scope.ENROLLMENTS_REVIEW,
    )
    async def decide_enrollment(
        self, info: Info, id: ID, status: Status, reason: str
    ) -> Enrollment:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> Enrollment:
            body = parse(DecideBody, {"status": status.value, "reason": reason})
            enrollment = await enrollments.screen(
                session,
                workspace_id=principal.workspace_id or "",
                enrollment_id=_ref(id),
                target=Status(body.status),
                reason=body.reason,
                actor=principal.actor,
                now=ctx.now(),
            )
            return Enrollment.of(enrollment)

        return await _mutate(info, Scope.ENROLLMENTS_REVIEW, work)

    @mutation(describe_action(Action.REEVALUATE), action_scope(Action.REEVALUATE))
    async def reevaluate_enrollment(
        self, info: Info, id: ID, reason: str | None = None
    ) -> Enrollment:
        return await _act(info, id, Action.REEVALUATE, reason)

    @mutation(
        "approved → unenrolled, through an unenrollment task (scope "
        "enrollments:write): see UnenrollResult. `reason` is kept as metadata.exitReason.",
        Scope.ENROLLMENTS_WRITE,
    )
    async def unenroll_enrollment(self, info: Info, id: ID, input: UnenrollInput) -> UnenrollResult:
        ctx = info_context(info)

        async def work(session: AsyncSession, principal: Principal) -> UnenrollResult:
            body = parse(UnenrollBody, wire(input))
            enrollment, task = await setup.unenroll(
                session,
                workspace_id=principal.workspace_id or "",
                enrollment_id=_ref(id),
                body=body,
                actor=principal.actor,
                now=ctx.now(),
            )
            return UnenrollResult(
                enrollment=Enrollment.of(enrollment),
                service_task=ServiceTask.of(await tasks.snapshot(session, task)),
            )

        return await _mutate(info, Scope.ENROLLMENTS_WRITE, work)


class EnrollSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)


schema = EnrollSchema(
    query=Query,
    mutation=Mutation,
    extensions=[*limits.extensions(), ScopesFirst],
    config=StrawberryConfig(scalar_map={datetime: DATETIME}),
)
